# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The image, container and commit managers over FakeBtrfs and FakeLxc.

Every scenario runs the same task in check mode and for real on two stores set up
alike: both must report the same actions and diff, check mode must call nothing that
changes LXC or btrfs and leave the store as it was, and a repeated real run must report
no change (except where the module documents that it always changes).
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._managers.commit import CommitManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import ContainerManager
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError, ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image import ImageManager
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import (
    FakeHost, check_mode_run, listing, module_params, run_manager, store_state, twin_hosts)
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import read_json

MODULES = {
    'image': (ImageManager, 'dockerlite_image'),
    'container': (ContainerManager, 'dockerlite_container'),
    'commit': (CommitManager, 'dockerlite_commit'),
}


class Context:
    """Host paths a scenario refers to: a rootfs tree to build images from and mount sources."""

    def __init__(self, base):
        self.src = str(base / 'src-rootfs')
        self.data = str(base / 'data')
        self.missing = str(base / 'no-such-dir')
        for path in ('bin', 'etc', 'sbin'):
            os.makedirs(os.path.join(self.src, path))
        with open(os.path.join(self.src, 'etc', 'hostname'), 'w') as handle:
            handle.write('src\n')
        os.makedirs(self.data)


@pytest.fixture
def ctx(tmp_path):
    return Context(tmp_path)


def run(host, kind, check_mode=False, **params):
    manager, module = MODULES[kind]
    return run_manager(host, manager, module, check_mode=check_mode, **params)


# -- set-ups, each made with the managers themselves ------------------------------

def nothing(host, ctx):
    pass


def base_image(host, ctx, name='base'):
    run(host, 'image', name=name, source='directory', path=ctx.src, env={'PATH': '/bin:/sbin', 'LANG': 'C'},
        labels={'from': 'test'})


def two_images(host, ctx):
    base_image(host, ctx)
    base_image(host, ctx, 'other')


def web(state='started', **options):
    def setup(host, ctx):
        base_image(host, ctx)
        run(host, 'container', name='web', image='base', command=['sleep', '3600'], state=state, **options)
    return setup


def web_from_two_images(host, ctx):
    web()(host, ctx)
    base_image(host, ctx, 'other')


def image_in_use(host, ctx):
    web()(host, ctx)


def init_container(host, ctx):
    base_image(host, ctx)
    run(host, 'container', name='web', image='base')


def legacy(state='started'):
    """A container as made before containers ran unprivileged by default: no privileged, no idmap."""
    def setup(host, ctx):
        web(state, privileged=True)(host, ctx)
        store = host.store()
        path = store.container_paths('web')['meta']
        meta = read_json(path)
        for key in ('privileged', 'isolated_idmap'):
            del meta['spec'][key]
        del meta['idmap']
        with store.session():
            store.write_json(path, meta)
    return setup


def no_subordinate_ids(host, ctx):
    base_image(host, ctx)
    host.ids.subuid = 'alice:100000:65536\n'


def isolated_pair(host, ctx):
    """Two isolated containers, a and b, then a removed: block 1 is free again, block 2 held by b."""
    base_image(host, ctx)
    for name in ('a', 'b'):
        run(host, 'container', name=name, image='base', command=['sleep', '3600'], isolated_idmap=True)
    run(host, 'container', name='a', state='absent')


def committed(host, ctx):
    web()(host, ctx)
    run(host, 'commit', container='web', image='snap')


def committed_then_written(host, ctx):
    committed(host, ctx)
    rootfs = host.store().container_paths('web')['rootfs']
    with open(os.path.join(rootfs, 'etc', 'motd'), 'w') as handle:
        handle.write('changed after the commit\n')


def committed_and_used(host, ctx):
    committed(host, ctx)
    run(host, 'container', name='db', image='snap', command=['sleep', '3600'])


# -- the parity harness -----------------------------------------------------------

def two_hosts(tmp_path, ids, ctx, setup):
    return twin_hosts(ids, lambda label: FakeHost(tmp_path / label / 'store'), lambda host: setup(host, ctx))


def check_then_real(tmp_path, ids, ctx, setup, kind, params):
    check_host, real_host = two_hosts(tmp_path, ids, ctx, setup)
    check = check_mode_run(check_host, lambda: run(check_host, kind, check_mode=True, **params))
    real = run(real_host, kind, **params)
    assert check['actions'] == real['actions']
    assert check['diff'] == real['diff']
    assert check['changed'] is real['changed'] is bool(real['actions'])
    return check, real, real_host


def resolve(params, ctx):
    """Scenario parameters may name Context attributes as '<src>', '<data>', '<missing>'."""
    def fix(value):
        if isinstance(value, str) and value.startswith('<') and value.endswith('>'):
            return getattr(ctx, value[1:-1])
        if isinstance(value, list):
            return [fix(item) for item in value]
        if isinstance(value, dict):
            return {key: fix(item) for key, item in value.items()}
        return value
    return fix(params)


# (id, setup, kind, params, expected actions, idempotent)
SCENARIOS = [
    ('image build on a missing store', nothing, 'image',
     dict(name='base', source='directory', path='<src>', command=['/bin/sh'], env={'A': '1'}), ['build'], []),
    ('image build empty', nothing, 'image', dict(name='scratch:1', source='empty'), ['build'], []),
    ('image present', base_image, 'image', dict(name='base', source='directory', path='<src>'), [], []),
    ('image metadata', base_image, 'image', dict(name='base', env={'LANG': 'C.UTF-8'}, labels={'v': '2'}),
     ['update_metadata'], []),
    ('image force rebuild', base_image, 'image', dict(name='base', force=True), ['build', 'remove_previous'],
     ['build', 'remove_previous']),
    ('image force rebuild in use', image_in_use, 'image', dict(name='base', force=True),
     ['build', 'untag_previous'], ['build', 'remove_previous']),
    ('image absent', base_image, 'image', dict(name='base', state='absent'), ['remove'], []),
    ('image absent missing', base_image, 'image', dict(name='nope', state='absent'), [], []),
    ('image absent in use, forced', image_in_use, 'image', dict(name='base', state='absent', force=True), ['remove'],
     []),
    ('container create and start', base_image, 'container',
     dict(name='web', image='base', command=['sleep', '3600'], env={'APP': 'x'}), ['create', 'start'], []),
    ('container present', base_image, 'container', dict(name='web', image='base', state='present'), ['create'], []),
    ('container create frozen', base_image, 'container', dict(name='web', image='base', state='frozen'),
     ['create', 'start', 'freeze'], []),
    ('container with mounts', base_image, 'container',
     dict(name='web', image='base', mounts=[{'source': '<data>', 'target': '/data', 'read_only': True}]),
     ['create', 'start'], []),
    ('container unchanged', web(), 'container', dict(name='web', image='base'), [], []),
    ('container start', web('stopped'), 'container', dict(name='web'), ['start'], []),
    ('container stop', web(), 'container', dict(name='web', state='stopped'), ['stop'], []),
    ('container freeze', web(), 'container', dict(name='web', state='frozen'), ['freeze'], []),
    ('container thaw', web('frozen'), 'container', dict(name='web', state='started'), ['unfreeze'], []),
    ('container restart', web(), 'container', dict(name='web', state='restarted'), ['stop', 'start'], ['stop', 'start']),
    ('container new env', web(), 'container', dict(name='web', env={'NEW': '1'}),
     ['stop', 'update_config', 'start'], []),
    ('container new limits stopped', web('stopped'), 'container',
     dict(name='web', state='stopped', memory='64m', pids_limit=50), ['update_config'], []),
    ('container new config frozen', web('frozen'), 'container', dict(name='web', state='frozen', cpus=0.5),
     ['stop', 'update_config', 'start', 'freeze'], []),
    ('container create with a disk limit', base_image, 'container',
     dict(name='web', image='base', command=['sleep', '3600'], disk_limit='64m'), ['create', 'start'], []),
    ('container new disk limit, no restart', web(), 'container', dict(name='web', disk_limit='1g'),
     ['set_disk_limit'], []),
    ('container new disk limit stopped', web('stopped'), 'container', dict(name='web', disk_limit='1g'),
     ['set_disk_limit', 'start'], []),
    ('container new disk limit and env', web(), 'container', dict(name='web', disk_limit='1g', env={'NEW': '1'}),
     ['stop', 'set_disk_limit', 'update_config', 'start'], []),
    ('container disk limit changed', web(disk_limit='64m'), 'container', dict(name='web', disk_limit='128m'),
     ['set_disk_limit'], []),
    ('container disk limit removed', web(disk_limit='64m'), 'container', dict(name='web', disk_limit='none'),
     ['set_disk_limit'], []),
    ('container disk limit 0 without one', web(), 'container', dict(name='web', disk_limit='0'), [], []),
    ('container disk limit left out keeps it', web(disk_limit='64m'), 'container', dict(name='web', memory='64m'),
     ['stop', 'update_config', 'start'], []),
    ('container recreate', web_from_two_images, 'container', dict(name='web', image='other', recreate=True),
     ['stop', 'remove', 'create', 'start'], []),
    ('container absent', web(), 'container', dict(name='web', state='absent'), ['stop', 'remove'], []),
    ('container absent missing', base_image, 'container', dict(name='web', state='absent'), [], []),
    ('container run once', base_image, 'container',
     dict(name='once', image='base', command=['/bin/echo', 'hi'], detach=False), ['create', 'run'], ['run']),
    ('container run once and clean up', base_image, 'container',
     dict(name='once', image='base', command=['/bin/echo', 'hi'], detach=False, cleanup=True),
     ['create', 'run', 'remove'], ['create', 'run', 'remove']),
    ('container privileged to unprivileged', web(privileged=True), 'container', dict(name='web', privileged=False),
     ['stop', 'update_config', 'start'], []),
    ('container unprivileged to privileged', web(), 'container', dict(name='web', privileged=True),
     ['stop', 'update_config', 'start'], []),
    ('container isolated', web(), 'container', dict(name='web', isolated_idmap=True),
     ['stop', 'update_config', 'start'], []),
    ('container isolated in a freed block', isolated_pair, 'container',
     dict(name='c', image='base', isolated_idmap=True), ['create', 'start'], []),
    ('container legacy unchanged', legacy(), 'container', dict(name='web', image='base'), [], []),
    ('container legacy made unprivileged', legacy(), 'container', dict(name='web', privileged=False),
     ['stop', 'update_config', 'start'], []),
    ('commit running', web(), 'commit', dict(container='web', image='snap'), ['commit'], []),
    ('commit stopped', web('stopped'), 'commit', dict(container='web', image='snap:v1'), ['commit'], []),
    ('commit unchanged', committed, 'commit', dict(container='web', image='snap'), [], []),
    ('commit after a write', committed_then_written, 'commit', dict(container='web', image='snap'),
     ['commit', 'remove_previous'], []),
    ('commit new env', committed, 'commit', dict(container='web', image='snap', env={'X': '1'}),
     ['commit', 'remove_previous'], []),
    ('commit over an image in use', committed_and_used, 'commit', dict(container='web', image='snap', labels={'a': 'b'}),
     ['commit', 'untag_previous'], []),
]


@pytest.mark.parametrize('setup, kind, params, actions, again',
                         [scenario[1:] for scenario in SCENARIOS], ids=[scenario[0] for scenario in SCENARIOS])
def test_check_mode_parity(tmp_path, ids, ctx, setup, kind, params, actions, again):
    params = resolve(params, ctx)
    _check, real, host = check_then_real(tmp_path, ids, ctx, setup, kind, params)
    assert real['actions'] == actions
    second_check = run(host, kind, check_mode=True, **params)
    second = run(host, kind, **params)
    assert second_check['actions'] == second['actions'] == again
    assert second_check['changed'] is second['changed'] is bool(again)
    if not again:
        assert second['diff']['before'] == second['diff']['after']


# -- what the real runs did ---------------------------------------------------------

def test_image_build(tmp_path, ctx):
    host = FakeHost(tmp_path / 'store')
    result = run(host, 'image', name='base', source='directory', path=ctx.src, command='sleep 1', env={'A': 1})
    image = result['image']
    assert image['name'] == 'base:latest'
    assert image['read_only'] is True
    assert image['rootfs'] == os.path.join(host.root, 'images', image['id'], 'rootfs')
    assert image['command'] == ['sleep', '1']
    assert image['env'] == {'A': '1'}
    with open(os.path.join(image['rootfs'], 'etc', 'hostname')) as handle:
        assert handle.read() == 'src\n'
    assert listing(os.path.join(host.root, 'tmp')) == []


def test_image_force_rebuild_keeps_the_old_one_for_its_container(tmp_path, ctx):
    host = FakeHost(tmp_path / 'store')
    image_in_use(host, ctx)
    old = host.store().get_container('web')['image_id']
    result = run(host, 'image', name='base', force=True)
    store = host.store()
    assert result['image']['id'] != old
    assert store.get_image(old)['name'] is None
    assert store.find_image('base:latest')['id'] == result['image']['id']
    # Rebuilt the way it was built: same source and path, metadata kept.
    assert result['image']['source'] == 'directory'
    assert result['image']['env'] == {'PATH': '/bin:/sbin', 'LANG': 'C'}


def test_container_create(tmp_path, ctx):
    host = FakeHost(tmp_path / 'store')
    base_image(host, ctx)
    result = run(host, 'container', name='web', image='base', command='sleep 3600', env={'APP': 'x'},
                 mounts=[{'source': ctx.data, 'target': '/data'}], memory='64m')
    container = result['container']
    assert (container['state'], container['pid'], container['image']) == ('running', host.lxc.PID, 'base:latest')
    assert host.lxc.mutating_calls() == [('start', 'web', ('sleep', '3600'))]
    with open(os.path.join(host.root, 'containers', 'web', 'config')) as handle:
        config = handle.read().split('\n')
    assert 'lxc.environment = APP=x' in config
    assert 'lxc.environment = LANG=C' in config
    assert 'lxc.signal.halt = SIGTERM' in config
    assert 'lxc.mount.entry = %s data none bind,create=dir 0 0' % ctx.data in config
    assert 'lxc.init.cmd = sleep 3600' in config
    assert container['memory'] == 64 * 1024 * 1024
    assert os.path.isfile(os.path.join(container['rootfs'], 'etc', 'hostname'))


def test_disk_limit_is_a_qgroup_limit_changed_without_a_restart(tmp_path, ctx):
    host = FakeHost(tmp_path / 'store')
    base_image(host, ctx)
    result = run(host, 'container', name='web', image='base', command='sleep 3600')
    assert result['container']['disk_limit'] is None
    assert result['container']['disk_usage'] is None  # quotas are off until a limit needs them
    assert not host.btrfs.quota and ('enable_quota', host.root) not in host.calls
    # With quotas off, reporting disk_usage neither syncs nor lists qgroups.
    assert not {'sync', 'qgroups'} & {call[0] for call in host.calls}

    result = run(host, 'container', name='web', disk_limit='64m')
    rootfs = result['container']['rootfs']
    assert result['actions'] == ['set_disk_limit']
    assert host.btrfs.quota and host.btrfs.limit_of(rootfs) == 64 << 20
    assert host.store().get_container('web')['spec']['disk_limit'] == 64 << 20
    assert host.lxc.mutating_calls() == [('start', 'web', ('sleep', '3600'))]  # no restart
    host.btrfs.usage[host.btrfs.subvolume_id(rootfs)] = 12345
    assert run(host, 'container', name='web')['container']['disk_usage'] == 12345

    result = run(host, 'container', name='web', disk_limit='none')
    assert result['actions'] == ['set_disk_limit']
    assert host.btrfs.limit_of(rootfs) is None
    assert result['container']['disk_limit'] is None
    assert host.lxc.mutating_calls() == [('start', 'web', ('sleep', '3600'))]


def test_disk_limit_of_a_new_container_is_set_before_it_is_moved_into_place(tmp_path, ctx):
    host = FakeHost(tmp_path / 'store')
    base_image(host, ctx)
    host.forget_calls()
    result = run(host, 'container', name='web', image='base', command='sleep 3600', disk_limit='1g')
    names = [call[0] for call in host.calls]
    assert names.index('snapshot') < names.index('enable_quota') < names.index('set_qgroup_limit')
    limited = [call for call in host.calls if call[0] == 'set_qgroup_limit']
    assert limited[0][1].startswith(os.path.join(host.root, 'tmp')) and limited[0][2] == 1 << 30
    assert limited[0][3] == host.root  # not through the (maybe full) subvolume itself
    assert host.btrfs.limit_of(result['container']['rootfs']) == 1 << 30
    assert result['container']['disk_usage'] == 0


def test_container_run_once(tmp_path, ctx):
    host = FakeHost(tmp_path / 'store')
    base_image(host, ctx)
    host.lxc.execute_result = (3, 'out\nput\n', 'err\n', 0.1)
    result = run(host, 'container', name='once', image='base', command=['/bin/false'], detach=False, timeout=30)
    assert (result['rc'], result['stdout'], result['stderr']) == (3, 'out\nput\n', 'err\n')
    assert result['stdout_lines'] == ['out', 'put']
    assert result['failed'] is True
    assert 'rc 3' in result['msg']
    assert ('execute', 'once', ('/bin/false',), 30) in host.calls


def test_container_run_once_cleanup(tmp_path, ctx):
    host = FakeHost(tmp_path / 'store')
    base_image(host, ctx)
    result = run(host, 'container', name='once', image='base', command=['/bin/true'], detach=False, cleanup=True)
    assert result['rc'] == 0 and 'failed' not in result
    assert result['container'] is None
    assert listing(os.path.join(host.root, 'containers')) == []


def test_container_reconfigured_stops_with_its_own_signal(tmp_path, ctx):
    """A running init container is stopped with the halt signal of the config it was started with.

    The new config (a command, so SIGTERM) is for the next start; writing it before the
    stop makes LXC halt the old PID 1 with the new signal, and a run killed between
    the two steps leaves a running container whose metadata already looks up to date.
    """
    host = FakeHost(tmp_path / 'store')
    init_container(host, ctx)
    host.forget_calls()
    result = run(host, 'container', name='web', command=['sleep', '3600'])
    assert 'stop' in result['actions'] and 'update_config' in result['actions']
    stops = [call for call in host.calls if call[0] == 'stop']
    assert len(stops) == 1
    _stop, _name, _timeout, signal_passed, signal_in_config = stops[0]
    assert (signal_passed, signal_in_config) == ('SIGPWR', 'SIGPWR')


def test_container_reconfiguration_converges_after_a_failed_stop(tmp_path, ctx):
    """A run that dies while stopping (LXC error, killed task) must not leave the new config
    recorded for a container still running the old command: the next run restarts it."""
    host = FakeHost(tmp_path / 'store')
    web()(host, ctx)

    def broken_stop(name, timeout, halt_signal):
        raise DockerliteError('LXC could not stop container %s' % name)

    working_stop = host.lxc.stop
    host.lxc.stop = broken_stop
    with pytest.raises(DockerliteError):
        run(host, 'container', name='web', command=['sleep', '7200'])
    host.lxc.stop = working_stop
    result = run(host, 'container', name='web', command=['sleep', '7200'])
    assert sorted(result['actions']) == ['start', 'stop', 'update_config']
    assert host.lxc.states['web'] == 'running'
    assert host.lxc.argv['web'] == ('sleep', '7200')


def test_container_absent_stops_before_removing(tmp_path, ctx):
    host = FakeHost(tmp_path / 'store')
    web()(host, ctx)
    host.forget_calls()
    run(host, 'container', name='web', state='absent')
    names = [call[0] for call in host.calls if call[0] in ('stop', 'check_unmounted', 'remove_tree')]
    assert names == ['stop', 'check_unmounted', 'remove_tree']
    assert listing(os.path.join(host.root, 'containers')) == []


def test_container_image_changed_warns(tmp_path, ctx):
    host = FakeHost(tmp_path / 'store')
    web()(host, ctx)
    run(host, 'image', name='base', force=True)
    result = run(host, 'container', name='web', image='base')
    assert result['changed'] is False
    assert any('recreate' in warning for warning in result['warnings'])
    result = run(host, 'container', name='web', image='base', recreate=True)
    assert result['actions'] == ['stop', 'remove', 'create', 'start']


@pytest.mark.parametrize('pause, freezes', [(True, True), (False, False)])
def test_commit_pauses_a_running_container(tmp_path, ctx, pause, freezes):
    host = FakeHost(tmp_path / 'store')
    web()(host, ctx)
    host.forget_calls()
    result = run(host, 'commit', container='web', image='snap', pause=pause)
    names = [call[0] for call in host.calls if call[0] in ('freeze', 'unfreeze', 'snapshot')]
    assert names == (['freeze', 'snapshot', 'unfreeze'] if freezes else ['snapshot'])
    assert host.lxc.states['web'] == 'running'
    image = result['image']
    assert (image['name'], image['source'], image['read_only']) == ('snap:latest', 'commit', True)
    assert image['parent'] == host.store().get_container('web')['image_id']
    assert image['command'] == ['sleep', '3600']


def test_commit_then_run_from_it_sees_the_files(tmp_path, ctx):
    host = FakeHost(tmp_path / 'store')
    web()(host, ctx)
    rootfs = host.store().container_paths('web')['rootfs']
    with open(os.path.join(rootfs, 'etc', 'motd'), 'w') as handle:
        handle.write('from web\n')
    run(host, 'commit', container='web', image='snap')
    result = run(host, 'container', name='db', image='snap')
    with open(os.path.join(result['container']['rootfs'], 'etc', 'motd')) as handle:
        assert handle.read() == 'from web\n'


# -- refusals: the same error in both modes, and nothing touched ---------------------

ERRORS = [
    ('image absent in use', image_in_use, 'image', dict(name='base', state='absent'), 'in use'),
    ('image without source', base_image, 'image', dict(name='new'), 'set source'),
    ('image directory missing', base_image, 'image', dict(name='new', source='directory', path='<missing>'),
     '<missing>'),
    ('image bad name', base_image, 'image', dict(name='Bad/Name', source='empty'), "'Bad/Name'"),
    ('image env newline', base_image, 'image', dict(name='new', source='empty', env={'A': 'x\ny'}), "'x\\ny'"),
    ('container bad name', base_image, 'container', dict(name='../web', image='base'), "'../web'"),
    ('container name too long', base_image, 'container', dict(name='w' * 65, image='base'), 'w' * 65),
    ('container unknown image', base_image, 'container', dict(name='web', image='nope'), 'nope:latest'),
    ('container without image', base_image, 'container', dict(name='web'), 'image is needed'),
    ('container missing mount source', base_image, 'container',
     dict(name='web', image='base', mounts=[{'source': '<missing>', 'target': '/m'}]), '<missing>'),
    ('container env newline', base_image, 'container', dict(name='web', image='base', env={'A': 'x\ny'}),
     "'x\\ny'"),
    ('container bad memory', base_image, 'container', dict(name='web', image='base', memory='lots'), "'lots'"),
    ('container bad disk_limit', base_image, 'container', dict(name='web', image='base', disk_limit='lots'),
     "disk_limit 'lots'"),
    ('container negative disk_limit', web(), 'container', dict(name='web', disk_limit='-1g'), "disk_limit '-1g'"),
    ('container unknown capability', base_image, 'container',
     dict(name='web', image='base', capabilities=['CAP_FLY']), "'CAP_FLY'"),
    ('container other image', web_from_two_images, 'container', dict(name='web', image='other'), 'recreate'),
    ('container run while running', web(), 'container', dict(name='web', detach=False), 'running'),
    ('container detach false stopped', web(), 'container', dict(name='web', detach=False, state='stopped'),
     'stopped'),
    ('container cleanup detached', base_image, 'container', dict(name='web', image='base', cleanup=True), 'cleanup'),
    ('container autostart with spaces', base_image, 'container',
     dict(name='web', image='base', command=['/bin/sh', '-c', 'sleep 1'], autostart=True), 'autostart'),
    ('container without subordinate ids', no_subordinate_ids, 'container', dict(name='web', image='base'),
     '/etc/subuid and in /etc/subgid'),
    ('container privileged and isolated', base_image, 'container',
     dict(name='web', image='base', privileged=True, isolated_idmap=True), 'isolated_idmap'),
    ('commit missing container', base_image, 'commit', dict(container='web', image='snap'), 'web'),
    ('commit bad image name', web(), 'commit', dict(container='web', image='Snap'), "'Snap'"),
]


@pytest.mark.parametrize('setup, kind, params, fragment', [error[1:] for error in ERRORS],
                         ids=[error[0] for error in ERRORS])
def test_refusals(tmp_path, ids, ctx, setup, kind, params, fragment):
    params = resolve(params, ctx)
    fragment = resolve(fragment, ctx)
    messages = []
    for host, check_mode in zip(two_hosts(tmp_path, ids, ctx, setup), (True, False)):
        before, states = store_state(host.root), dict(host.lxc.states)
        with pytest.raises(DockerliteError) as info:
            run(host, kind, check_mode=check_mode, **params)
        assert fragment in info.value.msg
        assert store_state(host.root) == before
        assert host.btrfs.mutating_calls() == [] and host.lxc.mutating_calls() == []
        assert host.lxc.states == states
        messages.append(info.value.msg.replace(host.root, '<root>'))
    assert messages[0] == messages[1]


def test_bad_input_is_refused_before_the_store_is_touched(tmp_path):
    host = FakeHost(tmp_path / 'store')
    with pytest.raises(ValidationError):
        run(host, 'container', name='web\x00', image='base')
    assert not os.path.exists(host.root)
    assert host.calls == []


def test_module_params_follow_the_modules(tmp_path):
    params = module_params('dockerlite_container', name='web', root=str(tmp_path))
    assert (params['state'], params['detach'], params['recreate'], params['command']) == ('started', True, False, None)
    params = module_params('dockerlite_image', name='x', root=str(tmp_path))
    assert (params['state'], params['variant'], params['force']) == ('present', 'minbase', False)
    params = module_params('dockerlite_commit', container='web', image='x', root=str(tmp_path))
    assert params['pause'] is True


# -- user namespaces ----------------------------------------------------------------

def config_lines(host, name):
    with open(os.path.join(host.root, 'containers', name, 'config')) as handle:
        return handle.read().split('\n')


def test_new_containers_are_unprivileged_and_share_the_first_block(tmp_path, ctx):
    host = FakeHost(tmp_path / 'store')
    base_image(host, ctx)
    for name in ('a', 'b'):
        result = run(host, 'container', name=name, image='base', command=['sleep', '3600'])
        assert result['container']['privileged'] is False
        assert result['container']['idmap'] == {'uid': 1000000, 'gid': 1000000, 'size': 65536}
        meta = read_json(host.store().container_paths(name)['meta'])
        assert meta['idmap'] == {'uid': 1000000, 'gid': 1000000, 'size': 65536}
        assert (meta['spec']['privileged'], meta['spec']['isolated_idmap']) == (False, False)
        lines = config_lines(host, name)
        assert 'lxc.idmap = u 0 1000000 65536' in lines and 'lxc.idmap = g 0 1000000 65536' in lines
        assert 'lxc.rootfs.options = idmap=container,noatime' in lines


def test_privileged_container_has_no_idmap(tmp_path, ctx):
    host = FakeHost(tmp_path / 'store')
    base_image(host, ctx)
    result = run(host, 'container', name='web', image='base', privileged=True)
    assert result['container']['idmap'] is None
    assert read_json(host.store().container_paths('web')['meta'])['idmap'] is None
    lines = config_lines(host, 'web')
    assert [line for line in lines if line.startswith('lxc.idmap')] == []
    assert 'lxc.rootfs.options = noatime' in lines
    assert any(line.startswith('lxc.cap.keep = ') for line in lines)


def test_left_out_privileged_keeps_the_containers_value(tmp_path, ctx):
    host = FakeHost(tmp_path / 'store')
    base_image(host, ctx)
    run(host, 'container', name='web', image='base', privileged=True)
    result = run(host, 'container', name='web', env={'A': '1'})
    assert result['container']['privileged'] is True
    assert result['actions'] == ['stop', 'update_config', 'start']


def test_isolated_idmaps_are_distinct_and_freed_on_removal(tmp_path, ctx):
    host = FakeHost(tmp_path / 'store')
    base_image(host, ctx)
    uids = {}
    for name in ('a', 'b', 'c'):
        uids[name] = run(host, 'container', name=name, image='base', isolated_idmap=True)['container']['idmap']['uid']
    assert uids == {'a': 1065536, 'b': 1131072, 'c': 1196608}
    run(host, 'container', name='b', state='absent')
    assert run(host, 'container', name='d', image='base', isolated_idmap=True)['container']['idmap']['uid'] == 1131072
    # A rerun keeps each container's block; going back to shared gives it up.
    assert run(host, 'container', name='a', isolated_idmap=True)['changed'] is False
    assert run(host, 'container', name='a', isolated_idmap=False)['container']['idmap']['uid'] == 1000000
    assert run(host, 'container', name='e', image='base', isolated_idmap=True)['container']['idmap']['uid'] == 1065536


def test_legacy_container_warns_until_privileged_is_given(tmp_path, ctx):
    host = FakeHost(tmp_path / 'store')
    legacy()(host, ctx)
    result = run(host, 'container', name='web')
    assert result['changed'] is False
    assert result['container']['privileged'] is True and result['container']['idmap'] is None
    assert len(result['warnings']) == 1
    assert 'still runs privileged' in result['warnings'][0] and 'privileged: false' in result['warnings'][0]
    assert 'rootfs is left as it is' in result['warnings'][0]
    result = run(host, 'container', name='web', privileged=True)
    assert 'warnings' not in result and result['changed'] is False
    result = run(host, 'container', name='web', privileged=False)
    assert result['actions'] == ['stop', 'update_config', 'start']
    assert result['diff']['before']['privileged'] is True and result['diff']['after']['privileged'] is False
    assert result['container']['idmap'] == {'uid': 1000000, 'gid': 1000000, 'size': 65536}
    assert 'warnings' not in run(host, 'container', name='web')


# -- timeout and stop_timeout ----------------------------------------------------------

@pytest.mark.parametrize('options, waited, deprecated', [
    ({}, 10, False),
    ({'stop_timeout': 3}, 3, False),
    ({'stop_timeout': 0}, 0, False),
    # timeout still stands in for stop_timeout, for one release, with a deprecation notice.
    ({'timeout': 4}, 4, True),
    ({'timeout': 2.5}, 3, True),
    ({'timeout': 0}, 0, True),
    ({'timeout': 4, 'stop_timeout': 7}, 7, False),
])
@pytest.mark.parametrize('check_mode', [False, True])
def test_container_stop_waits_stop_timeout(tmp_path, ctx, options, waited, deprecated, check_mode):
    host = FakeHost(tmp_path / 'store')
    web()(host, ctx)
    host.forget_calls()
    result = run(host, 'container', check_mode=check_mode, name='web', state='stopped', **options)
    assert result['actions'] == ['stop']
    stops = [call[2] for call in host.calls if call[0] == 'stop']
    assert stops == ([] if check_mode else [waited])
    if deprecated:
        assert [entry['version'] for entry in result['deprecations']] == ['1.0.0']
        assert 'Set stop_timeout instead' in result['deprecations'][0]['msg']
    else:
        assert 'deprecations' not in result


def test_container_timeout_with_detach_is_deprecated_even_without_a_stop(tmp_path, ctx):
    """With detach, timeout has no other meaning than the stop wait: say so on every run, not only on a stop."""
    host = FakeHost(tmp_path / 'store')
    web()(host, ctx)
    result = run(host, 'container', name='web', timeout=30)
    assert result['actions'] == [] and len(result['deprecations']) == 1


@pytest.mark.parametrize('options, stop_waited, deprecated', [
    ({'timeout': 1.5}, 10, False),  # nothing to stop: timeout only limits the run
    ({'timeout': 1.5, 'stop_timeout': 5}, 10, False),
])
def test_container_run_once_timeout_is_the_run_limit(tmp_path, ctx, options, stop_waited, deprecated):
    host = FakeHost(tmp_path / 'store')
    base_image(host, ctx)
    result = run(host, 'container', name='once', image='base', command=['/bin/true'], detach=False, **options)
    assert ('execute', 'once', ('/bin/true',), 1.5) in host.calls
    assert ('deprecations' in result) is deprecated


@pytest.mark.parametrize('options, message', [
    ({'detach': False, 'timeout': 0}, 'timeout 0.0 must be a positive number of seconds'),
    ({'detach': False, 'timeout': -2}, 'timeout -2.0 must be a positive number of seconds'),
    ({'timeout': -1}, 'timeout -1.0 must not be negative'),
    ({'stop_timeout': -1}, 'stop_timeout -1 must be a whole number of seconds, 0 or more'),
])
def test_container_bad_timeouts(tmp_path, ctx, options, message):
    host = FakeHost(tmp_path / 'store')
    base_image(host, ctx)
    host.forget_calls()
    with pytest.raises(ValidationError, match=message):
        run(host, 'container', name='once', image='base', command=['/bin/true'], **options)
    assert not os.path.exists(os.path.join(host.root, 'containers', 'once'))
