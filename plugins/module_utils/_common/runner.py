# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""What every dockerlite module shares: the store option and the run-and-report step."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.dockerlite.core.plugins.module_utils._clients.btrfs import BtrfsClient
from ansible_collections.dockerlite.core.plugins.module_utils._common import codecache
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import (
    MissingLibraryError,
    as_dockerlite_error,
)
from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc import LxcClient
from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc_attach import AttachClient
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import Store

DEFAULT_ROOT = '/var/lib/dockerlite'
COLLECTION_NAME = 'dockerlite.core'

STORE_ARGUMENT_SPEC = dict(
    root=dict(type='path', default=DEFAULT_ROOT, fallback=(env_fallback, ['DOCKERLITE_ROOT'])),
)


def argument_spec(**options):
    """A module's own options merged with the shared ones."""
    spec = dict(STORE_ARGUMENT_SPEC)
    spec.update(options)
    return spec


def open_store(root, store_class=None):
    """The store at ``root`` with the host's clients: a ``Store``, or the manager's ``store_class``
    (``ImageStore`` for the modules that move images, which brings the registry client)."""
    return (store_class or Store)(root, BtrfsClient(), lxc_factory=LxcClient, attach_factory=AttachClient)


def run_module(module, manager_class):
    """Build the store, let the manager plan and act, and report its result.

    Managers and everything below them raise DockerliteError; only here does an
    error become ``fail_json``, and so does any other exception (a full store, an OS
    error, metadata the code could not use): no module ends in a raw traceback. A
    failure after some steps reports them (``changed``, ``actions``). A result with
    ``failed`` set (a command that exited non-zero) fails the task but keeps every
    other key. Warnings of the store (damaged entries it skipped) and the manager's
    deprecation notices (an option spelled the way that will change) are emitted either way.
    """
    # What the module imported lives until the process ends: out of the collector's reach.
    codecache.freeze()
    root = module.params['root']
    store = manager = None
    try:
        store = open_store(root, manager_class.store_class)
        manager = manager_class(module.params, store, check_mode=module.check_mode)
        result = manager.run()
    except MissingLibraryError as exc:
        module.fail_json(msg=missing_required_lib(exc.library), exception=exc.import_error)
    except Exception as exc:  # pylint: disable=broad-except  # every error ends as a clear failure, cause kept
        error = as_dockerlite_error(exc, root)
        _warn(module, store, manager.warnings if manager else [])
        _deprecate(module, manager.deprecations if manager else [])
        done = manager.completed() if manager else []
        module.fail_json(msg=error.msg, **dict(error.details, changed=bool(done), actions=done))
    _warn(module, store, result.pop('warnings', []))
    _deprecate(module, result.pop('deprecations', []))
    if not module._diff:
        result.pop('diff', None)
    if result.pop('failed', False):
        module.fail_json(**result)
    module.exit_json(**result)


def _warn(module, store, warnings):
    """Emit the store's warnings and the manager's, each once."""
    emitted = []
    for warning in (store.warnings if store else []) + list(warnings):
        if warning not in emitted:
            emitted.append(warning)
            module.warn(warning)


def _deprecate(module, deprecations):
    """Emit each deprecation notice once, as this collection's (``{'msg', 'version'}`` dicts)."""
    emitted = []
    for entry in deprecations:
        if entry not in emitted:
            emitted.append(entry)
            module.deprecate(entry['msg'], version=entry['version'], collection_name=COLLECTION_NAME)
