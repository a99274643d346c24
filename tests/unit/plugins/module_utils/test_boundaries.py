# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The layers keep to their boundaries: managers reach the host only through the Store.

Read from the source (ast), so a manager that reaches past the store again fails here
whether or not a test happens to run that line: a client import, a client reached
through the store (``self.store.lxc``, ``store._btrfs``), or the store's files changed
behind its back (unlocked).
"""

from __future__ import annotations

import ast
import glob
import os

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils import _managers

MANAGERS_DIR = os.path.dirname(_managers.__file__)
PLUGINS_DIR = os.path.dirname(os.path.dirname(MANAGERS_DIR))
MANAGER_FILES = sorted(glob.glob(os.path.join(MANAGERS_DIR, '*.py')))
CLIENT_PACKAGE = 'ansible_collections.dockerlite.core.plugins.module_utils._clients'
# What the store holds its clients in, public or private.
CLIENT_ATTRIBUTES = frozenset(('lxc', 'btrfs', 'attach', '_lxc', '_btrfs', '_attach', '_lxc_client',
                               '_attach_client', '_lxc_factory', '_attach_factory', '_registry', '_registry_factory'))
# The store's files are the store's: it lists them, and changes them under its lock.
FS_MUTATIONS = frozenset(('unlink', 'remove', 'rename', 'replace', 'makedirs', 'mkdir', 'rmdir', 'listdir', 'chmod',
                          'chown', 'symlink', 'link', 'truncate'))


def violations(source, filename='<source>'):
    """[(line, what)] of the ways ``source`` reaches past the store."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.ImportFrom) and node.module and (
                node.module == CLIENT_PACKAGE or node.module.startswith(CLIENT_PACKAGE + '.')):
            found.append((node.lineno, 'imports %s' % node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, 'imports %s' % alias.name) for alias in node.names
                         if alias.name.startswith(CLIENT_PACKAGE) or alias.name == 'shutil')
        elif isinstance(node, ast.Attribute) and node.attr in CLIENT_ATTRIBUTES:
            found.append((node.lineno, 'reaches a client through .%s' % node.attr))
        elif (isinstance(node, ast.Attribute) and node.attr in FS_MUTATIONS and isinstance(node.value, ast.Name)
              and node.value.id in ('os', 'shutil')):
            found.append((node.lineno, 'handles files itself: %s.%s' % (node.value.id, node.attr)))
    return sorted(found)


def test_there_are_managers_to_check():
    names = {os.path.basename(path) for path in MANAGER_FILES}
    assert {'base.py', 'container.py', 'image.py', 'commit.py', 'exec.py', 'info.py', 'stack.py'} <= names


@pytest.mark.parametrize('path', MANAGER_FILES, ids=os.path.basename)
def test_a_manager_reaches_the_host_only_through_the_store(path):
    with open(path) as handle:
        found = violations(handle.read(), path)
    assert found == [], '%s reaches past the store: %s' % (
        os.path.basename(path), '; '.join('line %d %s' % item for item in found))


@pytest.mark.parametrize('source, what', [
    ('state = self.store.lxc.status(name)[0]', 'reaches a client through .lxc'),
    ('lxc = self.store.lxc', 'reaches a client through .lxc'),
    ('ro = store.btrfs.is_read_only(path)', 'reaches a client through .btrfs'),
    ('self.store._btrfs.send(snapshot)', 'reaches a client through ._btrfs'),
    ('from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc import ORPHANED',
     'imports ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc'),
    ('from ansible_collections.dockerlite.core.plugins.module_utils._clients import lxc',
     'imports ansible_collections.dockerlite.core.plugins.module_utils._clients'),
    ('os.unlink(path)', 'handles files itself: os.unlink'),
    ('os.makedirs(directory, exist_ok=True)', 'handles files itself: os.makedirs'),
])
def test_the_scan_sees_each_way_past_the_store(source, what):
    assert violations(source) == [(1, what)]


def test_the_scan_leaves_the_store_api_alone():
    source = ('state, pid = self.store.container_status(name)\n'
              'self.store.write_stack_record(stack, members)\n'
              'exists = os.path.exists(mount["source"])\n')
    assert violations(source) == []


@pytest.mark.parametrize('plugin', ['connection/dockerlite.py', 'inventory/dockerlite.py'])
def test_controller_plugins_compute_paths_without_a_store(plugin):
    """They read paths and metadata (StorePaths, read_container); a Store without clients is no store."""
    with open(os.path.join(PLUGINS_DIR, plugin)) as handle:
        tree = ast.parse(handle.read())
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert 'StorePaths' in names
    assert 'Store' not in names | imported


COLLECTION_PREFIX = 'ansible_collections.dockerlite.core.plugins.'


def static_imports(relative):
    """The collection's files that ``relative`` (a path under plugins/) imports, directly or not, as Ansible's
    payload builder finds them: every import statement, wherever it stands."""
    seen, todo = set(), [relative]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        with open(os.path.join(PLUGINS_DIR, path), encoding='utf-8') as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(COLLECTION_PREFIX):
                for name in [node.module] + ['%s.%s' % (node.module, alias.name) for alias in node.names]:
                    candidate = name[len(COLLECTION_PREFIX):].replace('.', '/') + '.py'
                    if os.path.isfile(os.path.join(PLUGINS_DIR, candidate)):
                        todo.append(candidate)
    return seen


@pytest.mark.parametrize('module', ['dockerlite_image', 'dockerlite_image_push', 'dockerlite_image_export',
                                    'dockerlite_prune'])
def test_the_modules_that_move_images_do_not_carry_the_container_manager(module):
    # Every task sends (and the controller parses) the whole payload: an unchanged re-pull pays for each file.
    found = static_imports('modules/%s.py' % module)
    assert 'module_utils/_store/image_store.py' in found
    assert not found & {'module_utils/_managers/container.py', 'module_utils/_store/network.py',
                        'module_utils/_store/lxc_config.py'}
