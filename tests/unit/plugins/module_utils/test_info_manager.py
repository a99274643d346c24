# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The info managers and the store's diff snapshot, over FakeBtrfs and FakeLxc."""

from __future__ import annotations

import os

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._managers.commit import CommitManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import (
    ContainerManager, container_view)
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError, ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image import ImageManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.info import (
    ContainerInfoManager, ImageInfoManager)
from ansible_collections.dockerlite.core.plugins.module_utils._store.network import container_ipv4
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import read_json
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import (
    FakeHost, listing, run_manager, store_state)


@pytest.fixture
def host(tmp_path):
    src = tmp_path / 'src'
    for path in ('bin', 'etc', 'var/log'):
        os.makedirs(str(src / path))
    for path, text in (('etc/passwd', 'root:x:0:0::/root:/bin/sh\n'), ('etc/hosts', 'localhost\n'),
                       ('var/log/old', 'x')):
        (src / path).write_text(text)
    fake = FakeHost(tmp_path / 'store')
    run_manager(fake, ImageManager, 'dockerlite_image', name='base', source='directory', path=str(src))
    return fake


def container(host, name, state='stopped'):
    run_manager(host, ContainerManager, 'dockerlite_container', name=name, image='base', command=['sleep', '60'],
                state=state)
    return os.path.join(host.root, 'containers', name, 'rootfs')


def image_info(host, **params):
    return run_manager(host, ImageInfoManager, 'dockerlite_image_info', **params)


def container_info(host, check_mode=False, **params):
    return run_manager(host, ContainerInfoManager, 'dockerlite_container_info', check_mode=check_mode, **params)


# -- images ------------------------------------------------------------------------

def test_image_info_lists_and_looks_up(host):
    listed = image_info(host)
    assert listed['changed'] is False and 'exists' not in listed
    assert [image['name'] for image in listed['images']] == ['base:latest']
    image = listed['images'][0]
    assert image['read_only'] is True and image['parent'] is None and image['labels'] == {}
    assert image['rootfs'] == os.path.join(host.root, 'images', image['id'], 'rootfs')
    assert set(image) >= {'name', 'id', 'parent', 'created', 'labels', 'read_only', 'rootfs'}
    assert image_info(host, name='base') == dict(listed, exists=True)
    assert image_info(host, name='base:other') == {'changed': False, 'images': [], 'exists': False}


def test_info_on_a_missing_store_creates_nothing(tmp_path):
    host = FakeHost(tmp_path / 'nothing')
    assert image_info(host) == {'changed': False, 'images': []}
    assert container_info(host, name='web') == {'changed': False, 'containers': [], 'exists': False}
    assert store_state(host.root) is None and host.btrfs.mutating_calls() == []


def test_bad_names_are_refused(host):
    with pytest.raises(ValidationError, match="'Bad Name'"):
        image_info(host, name='Bad Name')
    with pytest.raises(ValidationError, match="'../x'"):
        container_info(host, name='../x')


# -- containers --------------------------------------------------------------------

def test_container_info_reports_state_and_settings(host):
    container(host, 'web', 'started')
    container(host, 'db')
    listed = container_info(host)
    assert [(c['name'], c['state'], c['pid']) for c in listed['containers']] == [
        ('db', 'stopped', None), ('web', 'running', host.lxc.PID)]
    web = listed['containers'][1]
    assert web['ipv4'] is None and web['image'] == 'base:latest' and web['command'] == ['sleep', '60']
    assert web['rootfs'] == os.path.join(host.root, 'containers', 'web', 'rootfs')
    assert 'changes' not in web and len(web['id']) == 64 and web['created']
    assert container_info(host, name='web') == {'changed': False, 'containers': [web], 'exists': True}


@pytest.mark.parametrize('spec, address', [
    ({}, None),
    ({'network': {'mode': 'none'}}, None),
    ({'network': {'mode': 'bridge', 'bridge': 'dlbr0', 'ipv4': '10.1.0.5/24', 'gateway': None}}, '10.1.0.5'),
])
def test_container_view_ipv4(spec, address):
    assert container_ipv4(spec.get('network')) == address


def test_changes_of_a_stopped_container(host):
    rootfs = container(host, 'web')
    os.remove(os.path.join(rootfs, 'etc/hosts'))
    os.makedirs(os.path.join(rootfs, 'opt/app'))
    with open(os.path.join(rootfs, 'etc/passwd'), 'a') as handle:
        handle.write('app:x:1000:1000::/opt/app:/bin/sh\n')
    host.forget_calls()
    result = container_info(host, name='web', changes=True)
    assert result['containers'][0]['changes'] == {
        'added': ['/opt', '/opt/app'], 'modified': ['/etc', '/etc/passwd'], 'deleted': ['/etc/hosts']}
    sends = [call for call in host.calls if call[0] == 'send']
    assert len(sends) == 1 and sends[0][2].endswith('/rootfs') and sends[0][3] is True
    # The snapshot was staged under tmp/ and is gone again; a stopped container is not frozen.
    assert listing(os.path.join(host.root, 'tmp')) == []
    assert not [call for call in host.calls if call[0] in ('freeze', 'unfreeze')]


def test_changes_freeze_a_running_container_for_the_snapshot_only(host):
    container(host, 'web', 'started')
    host.forget_calls()
    result = container_info(host, check_mode=True, changes=True)
    assert result['containers'][0]['changes'] == {'added': [], 'modified': [], 'deleted': []}
    names = [call[0] for call in host.calls if call[0] in ('freeze', 'snapshot', 'unfreeze', 'send', 'remove_tree')]
    assert names == ['freeze', 'snapshot', 'unfreeze', 'send', 'remove_tree']
    assert host.lxc.states['web'] == 'running'


def test_changes_are_null_with_a_warning_when_the_image_is_gone(host):
    container(host, 'web')
    run_manager(host, ImageManager, 'dockerlite_image', name='base', state='absent', force=True)
    result = container_info(host, changes=True)
    assert result['containers'][0]['changes'] is None
    assert 'no longer exists' in result['warnings'][0] and 'base:latest' in result['warnings'][0]


def test_the_snapshot_is_removed_when_the_comparison_fails(host, monkeypatch):
    container(host, 'web')

    def broken_send(*_args, **_kwargs):
        raise DockerliteError('btrfs send failed: boom')
    monkeypatch.setattr(host.btrfs, 'send', broken_send)
    with pytest.raises(DockerliteError, match='boom'):
        container_info(host, changes=True)
    assert listing(os.path.join(host.root, 'tmp')) == []


def test_diff_snapshot_keeps_commit_idempotent(host):
    rootfs = container(host, 'web', 'started')
    commit = dict(container='web', image='web:v1')
    assert run_manager(host, CommitManager, 'dockerlite_commit', **commit)['changed'] is True
    container_info(host, changes=True)
    assert run_manager(host, CommitManager, 'dockerlite_commit', **commit)['changed'] is False
    # A write after the last commit is still seen, diff or no diff.
    with open(os.path.join(rootfs, 'etc/motd'), 'w') as handle:
        handle.write('hi\n')
    container_info(host, changes=True)
    assert run_manager(host, CommitManager, 'dockerlite_commit', **commit)['changed'] is True


def test_a_failed_snapshot_leaves_no_staging_directory(host, monkeypatch):
    container(host, 'web')

    def broken_snapshot(*_args, **_kwargs):
        raise DockerliteError('btrfs: cannot snapshot')
    monkeypatch.setattr(host.btrfs, 'snapshot', broken_snapshot)
    with pytest.raises(DockerliteError, match='cannot snapshot'):
        container_info(host, changes=True)
    assert listing(os.path.join(host.root, 'tmp')) == []


def test_discard_snapshot_deletes_only_staged_snapshots(host):
    container(host, 'web')
    store = host.store()
    with store.session():
        with pytest.raises(DockerliteError, match='not a staged snapshot'):
            store.discard_snapshot(os.path.join(host.root, 'containers', 'web', 'rootfs'))
    assert os.path.isdir(os.path.join(host.root, 'containers', 'web', 'rootfs'))


@pytest.mark.parametrize('meta, expected', [
    # Made before containers ran unprivileged by default: privileged, no id map.
    ({'spec': {'command': ['/sbin/init']}}, (True, False, None)),
    ({'spec': {'privileged': False, 'isolated_idmap': True}, 'idmap': {'uid': 1065536, 'gid': 1065536, 'size': 65536}},
     (False, True, {'uid': 1065536, 'gid': 1065536, 'size': 65536})),
])
def test_container_view_user_namespace_keys(host, meta, expected):
    meta = dict(meta, name='web', id='1' * 64, image='base:latest', image_id='2' * 64, created='now', rootfs='/r')
    view = container_view(host.store(), meta, 'stopped', None)
    assert (view['privileged'], view['isolated_idmap'], view['idmap']) == expected


def test_container_info_shows_the_network_of_a_container_made_before_networking(host):
    """container.json without spec.network: the info module shows mode none, as dockerlite_container does."""
    container(host, 'web')
    store = host.store()
    meta = read_json(store.container_paths('web')['meta'])
    del meta['spec']['network']
    with store.session():
        store.write_json(store.container_paths('web')['meta'], meta)
    found = container_info(host, name='web')['containers'][0]
    assert (found['network'], found['ipv4']) == ({'mode': 'none'}, None)
    shown = run_manager(host, ContainerManager, 'dockerlite_container', name='web', state='stopped')['container']
    assert shown == found


def test_container_info_reports_disk_usage_when_quotas_are_on(host):
    rootfs = container(host, 'web')
    assert container_info(host, name='web')['containers'][0]['disk_usage'] is None
    run_manager(host, ContainerManager, 'dockerlite_container', name='web', disk_limit='10m')
    host.btrfs.usage[host.btrfs.subvolume_id(rootfs)] = 4096
    found = container_info(host, name='web')['containers'][0]
    assert (found['disk_usage'], found['disk_limit']) == (4096, 10 << 20)
    assert ('sync', host.root) in host.calls  # qgroup numbers are current only after a commit
