# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Every module's RETURN documents exactly what its manager returns, nested dicts included.

Each module is run through its manager over the fakes, in the situations that fill
every key (a bridged, limited, idmapped container; a one-off run; a rebuilt image; a
commit; a stack with a one-off member; the info modules with changes), in check mode
and for real. Each result is then compared with the module's RETURN: every key
returned is documented, every key documented as returned always is there, and every
dict (or list of dicts) that is not free-form (env, labels) is documented with
``contains``, recursively. The objects come from one view builder each
(``container_view``, ``image_view``, ``stack_view``), so this also pins those.
"""

from __future__ import annotations

import importlib
import os

import pytest
import yaml

from ansible_collections.dockerlite.core.plugins.module_utils._managers.commit import CommitManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import (
    ContainerManager, container_view)
from ansible_collections.dockerlite.core.plugins.module_utils._managers.exec import ExecManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image import ImageManager, image_view
from ansible_collections.dockerlite.core.plugins.module_utils._managers.info import (
    ContainerInfoManager, ImageInfoManager)
from ansible_collections.dockerlite.core.plugins.module_utils._managers.push import ExportManager, PushManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.stack import StackManager, stack_view
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import FakeHost, MODULES, run_manager

# Keys every Ansible module may return without documenting them (Ansible's common return values).
COMMON = {'changed', 'failed', 'msg', 'warnings', 'diff', 'skipped', 'invocation', 'deprecations'}
# Dicts whose keys are the user's (variables, labels): documented without ``contains``.
FREE_FORM = {'env', 'labels'}
SLEEP = ['sleep', '3600']


def return_doc(module):
    return yaml.safe_load(importlib.import_module(MODULES + module).RETURN)


def check_keys(doc, value, where, optional=()):
    """``value`` (a dict) has the keys ``doc`` (a RETURN mapping) documents; recurse into ``contains``.

    Keys in ``optional`` may be returned undocumented (COMMON at the top level).
    """
    undocumented = set(value) - set(doc) - set(optional)
    assert not undocumented, '%s returns undocumented keys %s' % (where, sorted(undocumented))
    missing = {key for key, entry in doc.items() if entry.get('returned', 'always') == 'always'} - set(value)
    assert not missing, '%s lacks keys documented as returned always: %s' % (where, sorted(missing))
    for key, item in value.items():
        if key not in doc or item is None:
            continue
        entry, path = doc[key], '%s.%s' % (where, key)
        if isinstance(item, dict) and key not in FREE_FORM:
            assert 'contains' in entry, '%s is a dict; its RETURN entry needs contains' % path
            check_keys(entry['contains'], item, path)
        elif isinstance(item, list) and any(isinstance(element, dict) for element in item):
            assert entry.get('elements') == 'dict' and 'contains' in entry, \
                '%s is a list of dicts; its RETURN entry needs elements: dict and contains' % path
            for index, element in enumerate(item):
                if not element.get('failed'):  # a failed member also carries its error's details
                    check_keys(entry['contains'], element, '%s[%d]' % (path, index))


@pytest.fixture
def host(tmp_path, monkeypatch):
    src, data = tmp_path / 'src', tmp_path / 'data'
    for path in (src / 'etc', data):
        path.mkdir(parents=True)
    (src / 'etc' / 'hostname').write_text('src\n')
    fake = FakeHost(tmp_path / 'store')
    fake.network.add_bridge('br0', '10.213.0.1/24')
    fake.src, fake.data = str(src), str(data)
    # dockerlite_exec: every path exists in the container, so creates and removes both apply.
    monkeypatch.setattr(fake.attach, 'test_paths',
                        lambda name, creates=None, removes=None: (creates is not None, removes is not None))
    return fake


def run(host, manager, module, check_mode=False, **params):
    return run_manager(host, manager, module, check_mode=check_mode, **params)


def container_params(host, name='web', **extra):
    return dict(name=name, image='base', command=SLEEP, env={'A': '1'}, memory='64m', disk_limit='1g', cpus=0.5,
                pids_limit=50, hostname='web.example', capabilities=['sys_ptrace'], cap_drop=['mknod'],
                isolated_idmap=True, network={'bridge': 'br0'},
                mounts=[{'source': host.data, 'target': '/data', 'idmap': True}], **extra)


def results(host):
    """(module, result) of every module, in check mode and for real, with every optional key filled."""
    found = []
    image = dict(name='base', source='directory', path=host.src, command=SLEEP, env={'A': '1'}, labels={'v': '1'})
    for check_mode in (True, False):
        found.append(('dockerlite_image', run(host, ImageManager, 'dockerlite_image', check_mode, **image)))
    found.append(('dockerlite_image', run(host, ImageManager, 'dockerlite_image', name='base', force=True)))
    host.registry.add_image('docker://registry.example/app:1', [{'etc/': None, 'etc/app': b'app'}], {'Cmd': ['sh']})
    for check_mode in (True, False):
        found.append(('dockerlite_image', run(host, ImageManager, 'dockerlite_image', check_mode, name='app:1',
                                              source='registry', ref='registry.example/app:1')))
    for check_mode in (True, False):
        found.append(('dockerlite_container', run(host, ContainerManager, 'dockerlite_container', check_mode,
                                                  **container_params(host))))
    found.append(('dockerlite_container', run(host, ContainerManager, 'dockerlite_container', name='once',
                                              image='base', command=['/bin/true'], detach=False)))
    for check_mode in (True, False):
        found.append(('dockerlite_commit', run(host, CommitManager, 'dockerlite_commit', check_mode, container='web',
                                               image='snap')))
        found.append(('dockerlite_exec', run(host, ExecManager, 'dockerlite_exec', check_mode, container='web',
                                             argv=['true'], removes='/etc')))
        members = [container_params(host, 'a'), dict(name='b', image='base', command=['/bin/true'], detach=False)]
        found.append(('dockerlite_stack', run(host, StackManager, 'dockerlite_stack', check_mode, name='app',
                                              containers=members, parallel=1)))
    for check_mode in (True, False, False):
        found.append(('dockerlite_image_push', run(host, PushManager, 'dockerlite_image_push', check_mode,
                                                   name='snap', ref='127.0.0.1:5000/snap', tls_verify=False)))
        found.append(('dockerlite_image_export', run(host, ExportManager, 'dockerlite_image_export', check_mode,
                                                     name='snap', path=os.path.join(host.data, 'snap.tar'))))
    skipped = run(host, ExecManager, 'dockerlite_exec', container='web', argv=['true'], creates='/etc')
    assert skipped['actions'] == [] and 'msg' in skipped
    found.append(('dockerlite_exec', skipped))
    for name in (None, 'base'):
        found.append(('dockerlite_image_info', run(host, ImageInfoManager, 'dockerlite_image_info', name=name)))
    for name in (None, 'web'):
        found.append(('dockerlite_container_info', run(host, ContainerInfoManager, 'dockerlite_container_info',
                                                       name=name, changes=True)))
    return found


def test_every_module_returns_what_its_return_doc_says(host):
    checked = set()
    for module, result in results(host):
        check_keys(return_doc(module), result, module, COMMON)
        checked.add(module)
    assert checked == {name[:-3] for name in os.listdir(os.path.dirname(importlib.import_module(
        MODULES + 'dockerlite_image').__file__)) if name.startswith('dockerlite_')}


def test_the_objects_come_from_one_view_builder_each(host):
    """The documented keys of each object are exactly its view builder's, in every module that returns it."""
    run(host, ImageManager, 'dockerlite_image', name='base', source='directory', path=host.src)
    run(host, ContainerManager, 'dockerlite_container', **container_params(host))
    store = host.store()
    with store.session(check_mode=True):
        views = {'container': container_view(store, store.get_container('web'), 'running', 1),
                 'image': image_view(store, store.find_image('base:latest')), 'stack': stack_view('app', ['web'])}
    docs = {
        'container': [return_doc('dockerlite_container')['container'],
                      return_doc('dockerlite_container_info')['containers'],
                      return_doc('dockerlite_stack')['containers']['contains']['container']],
        'image': [return_doc('dockerlite_image')['image'], return_doc('dockerlite_image_info')['images'],
                  return_doc('dockerlite_commit')['image']],
        'stack': [return_doc('dockerlite_stack')['stack']],
    }
    extra = {'changes'}  # dockerlite_container_info's, with changes=true
    for kind, entries in docs.items():
        for entry in entries:
            assert set(entry['contains']) - extra == set(views[kind]), kind
    # The same nested keys wherever a container is shown.
    nested = [{key: sorted(entry['contains'][key]['contains']) for key in ('mounts', 'network', 'idmap')}
              for entry in docs['container']]
    assert nested[0] == nested[1] == nested[2]
