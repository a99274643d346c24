# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_image pulls over FakeBtrfs and FakeRegistry: plan, check-mode parity, reuse, moved tags, failures."""

from __future__ import annotations

import os

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError
from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import ContainerManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image import ImageManager
from ansible_collections.dockerlite.core.plugins.module_utils._store.layers import chain_id
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import (
    FakeHost, check_mode_run, listing, run_manager, store_state, twin_hosts)

REF = '127.0.0.1:5000/team/app:1'
REMOTE = 'docker://' + REF
BASE = {'bin/': None, 'bin/tool': b'tool\n', 'etc/': None, 'etc/old': b'old\n'}
APP = {'etc/.wh.old': b'', 'etc/app.conf': b'app\n'}
SETTINGS = {'Entrypoint': ['/bin/tool'], 'Cmd': ['--serve'], 'Env': ['PATH=/bin', 'MODE=prod'], 'WorkingDir': '/srv',
            'User': '1000', 'Labels': {'org.example': 'app'}, 'ExposedPorts': {'8080/tcp': {}}}


def image(host, check_mode=False, **params):
    params.setdefault('name', 'app:1')
    params.setdefault('source', 'registry')
    params.setdefault('ref', REF)
    params.setdefault('tls_verify', False)
    return run_manager(host, ImageManager, 'dockerlite_image', check_mode=check_mode, **params)


def published(host):
    host.registry.add_image(REMOTE, [BASE, APP], SETTINGS)


def check_then_real(tmp_path, ids, setup, **params):
    check_host, real_host = twin_hosts(ids, lambda label: FakeHost(tmp_path / label / 'store'), setup)
    check = check_mode_run(check_host, lambda: image(check_host, check_mode=True, **params))
    real = image(real_host, **params)
    assert check['actions'] == real['actions']
    assert check['diff'] == real['diff']
    assert check['changed'] is real['changed'] is bool(real['actions'])
    return check, real, real_host


def test_a_pull_makes_the_layers_and_the_image_with_the_config_defaults(tmp_path, ids):
    check, real, host = check_then_real(tmp_path, ids, published)
    assert real['actions'] == ['pull']
    assert check['pull']['layers_added'] == real['pull']['layers_added'] == 2
    assert check['pull']['bytes_downloaded'] is None and real['pull']['bytes_downloaded'] > 0
    assert real['pull']['manifest_digest'].startswith('sha256:')
    store = host.store()
    meta = store.find_image('app:1')
    assert meta['command'] == ['/bin/tool', '--serve']
    assert meta['env'] == {'PATH': '/bin', 'MODE': 'prod'}
    assert (meta['workdir'], meta['user'], meta['stop_signal']) == ('/srv', '1000', 'SIGTERM')
    assert meta['exposed_ports'] == ['8080/tcp'] and meta['labels'] == {'org.example': 'app'}
    bottom, top = meta['layers']
    assert bottom['chain_id'] == bottom['diff_id'] and top['chain_id'] == chain_id(bottom['chain_id'], top['diff_id'])
    assert set(meta['layers'][0]) == {'chain_id', 'diff_id', 'digest', 'media_type', 'size'}
    assert meta['oci']['reference'] == REMOTE and meta['oci']['manifest_digest'] == real['pull']['manifest_digest']
    assert sorted(os.listdir(os.path.join(meta['rootfs'], 'etc'))) == ['app.conf']
    assert host.btrfs.is_read_only(meta['rootfs'])
    assert listing(os.path.join(host.root, 'tmp')) == []
    assert real['diff']['after']['image']['reference'] == REMOTE
    assert real['diff']['before']['image'] == {'state': 'absent'}


def test_a_real_pull_reads_the_config_from_the_copied_blobs_check_mode_asks_for_it(tmp_path):
    registry_calls = ('inspect_raw', 'inspect_config', 'copy_to_layout')
    host = FakeHost(tmp_path / 'store')
    published(host)
    check = image(host, check_mode=True)
    assert [call[0] for call in host.calls if call[0] in registry_calls] == ['inspect_raw', 'inspect_config']
    host.forget_calls()
    real = image(host)
    assert [call[0] for call in host.calls if call[0] in registry_calls] == ['inspect_raw', 'copy_to_layout']
    assert check['pull']['layers_added'] == real['pull']['layers_added'] == 2


def test_a_refused_config_in_a_real_pull_leaves_only_blobs(tmp_path):
    host = FakeHost(tmp_path / 'store')
    host.registry.add_image(REMOTE, [BASE], {'Env': ['A=1\nlxc.hook.pre-start = /bin/evil']})
    with pytest.raises(DockerliteError, match='the image config sha256:'):
        image(host)
    assert host.store().list_images() == []
    layers = os.path.join(host.root, 'layers')
    assert not os.path.isdir(layers) or os.listdir(layers) == []
    assert listing(os.path.join(host.root, 'tmp')) == []


def test_pull_missing_does_not_ask_the_registry_again(tmp_path):
    host = FakeHost(tmp_path / 'store')
    published(host)
    image(host)
    host.forget_calls()
    again = image(host)
    assert again['changed'] is False and 'pull' not in again
    assert [call for call in host.calls if call[0] in ('inspect_raw', 'inspect_config', 'copy_to_layout')] == []


def test_pull_always_unchanged_costs_one_manifest_request_and_touches_nothing(tmp_path):
    host = FakeHost(tmp_path / 'store')
    published(host)
    image(host, pull='always')
    before = store_state(host.root)
    host.forget_calls()
    again = image(host, pull='always')
    assert again['changed'] is False and again['actions'] == []
    assert [call[0] for call in host.calls if call[0] in ('inspect_raw', 'inspect_config', 'copy_to_layout')] == [
        'inspect_raw']
    assert host.btrfs.mutating_calls() == []
    assert store_state(host.root) == before


def test_pull_always_follows_a_moved_tag_and_reuses_the_shared_layer(tmp_path, ids):
    def moved(host):
        published(host)
        image(host, pull='always')
        host.registry.add_image(REMOTE, [BASE, {'etc/': None, 'etc/app.conf': b'app v2\n'}], SETTINGS)
    _check, real, host = check_then_real(tmp_path, ids, moved, pull='always')
    assert real['actions'] == ['pull', 'remove_previous']
    assert (real['pull']['layers_added'], real['pull']['layers_reused']) == (1, 1)
    store = host.store()
    assert len(store.list_images()) == 1
    assert open(os.path.join(store.find_image('app:1')['rootfs'], 'etc', 'app.conf')).read() == 'app v2\n'
    assert len(os.listdir(os.path.join(host.root, 'layers'))) == 3


def test_a_moved_tag_keeps_the_old_image_for_its_container(tmp_path):
    host = FakeHost(tmp_path / 'store')
    published(host)
    image(host)
    run_manager(host, ContainerManager, 'dockerlite_container', name='web', image='app:1', state='present')
    host.registry.add_image(REMOTE, [BASE], SETTINGS)
    result = image(host, pull='always')
    assert result['actions'] == ['pull', 'untag_previous']
    assert [meta['name'] for meta in host.store().list_images()] == [None, 'app:1']


def test_the_task_overrides_the_config_defaults(tmp_path):
    host = FakeHost(tmp_path / 'store')
    published(host)
    result = image(host, command=['/bin/sh'], env={'MODE': 'dev'})
    assert result['image']['command'] == ['/bin/sh'] and result['image']['env'] == {'MODE': 'dev'}
    assert image(host, command=['/bin/sh'], env={'MODE': 'dev'})['changed'] is False


def test_a_container_with_only_image_runs_the_image_command(tmp_path):
    host = FakeHost(tmp_path / 'store')
    published(host)
    image(host)
    result = run_manager(host, ContainerManager, 'dockerlite_container', name='web', image='app:1')
    spec = host.store().get_container('web')['spec']
    assert spec['command'] == ['/bin/tool', '--serve'] and spec['env']['MODE'] == 'prod'
    assert result['container']['command'] == ['/bin/tool', '--serve']


def test_a_refused_layer_fails_naming_the_reference_and_leaves_no_image(tmp_path):
    host = FakeHost(tmp_path / 'store')
    host.registry.add_image(REMOTE, [BASE, {'../../canary': b'x'}])
    with pytest.raises(DockerliteError, match=r'pull of docker://127.0.0.1:5000/team/app:1: layer sha256:.*canary'):
        image(host)
    store = host.store()
    assert store.list_images() == []
    assert len(os.listdir(os.path.join(host.root, 'layers'))) == 1  # the whole base layer stays
    assert listing(os.path.join(host.root, 'tmp')) == []
    assert not os.path.exists(os.path.join(tmp_path, 'canary'))


def test_a_missing_image_fails_in_check_mode_too(tmp_path):
    host = FakeHost(tmp_path / 'store')
    for check_mode in (True, False):
        with pytest.raises(DockerliteError, match='docker://127.0.0.1:5000/team/app:1.*manifest unknown'):
            image(host, check_mode=check_mode)
    assert host.store().list_images() == []


@pytest.mark.parametrize('params, problem', [
    ({'source': 'busybox', 'ref': 'x'}, 'ref only apply when source is one of'),
    ({'source': 'oci-archive', 'path': '/no/such/file'}, 'is not a file'),
    ({'platform': 'linux'}, 'platform'),
    ({'ref': '--insecure'}, 'not a registry reference'),
])
def test_bad_pull_options_are_refused_before_the_store_is_touched(tmp_path, params, problem):
    host = FakeHost(tmp_path / 'store')
    with pytest.raises(DockerliteError, match=problem):
        image(host, **params)
    assert not os.path.exists(host.root)
