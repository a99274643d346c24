# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_stack's manager over FakeBtrfs, FakeLxc and fake bridges.

As in test_managers.py, a change runs in check mode and for real on two hosts set up
alike: same actions and diff, nothing touched by check mode, nothing changed by a
second real run. FakeLxc keeps its states in this process, so these runs use
``parallel: 1``; the forked workers are tested on their own with jobs that leave files.
The expected results come from the module's documentation: members take the stack's
state unless they set their own (stopped and absent apply to all), unlisted members are
removed only with prune or absent, and containers of no stack or another one are never
removed by the stack.
"""

from __future__ import annotations

import json
import os
import time
from unittest.mock import ANY

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import ContainerManager
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError, ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image import ImageManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers import stack as stack_manager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.stack import (
    StackManager, duplicate_names, member_state, run_parallel, split_plan)
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import (
    FakeHost, check_mode_run, listing, run_manager, store_state, twin_hosts)

SLEEP = ['sleep', '3600']


@pytest.fixture
def src(tmp_path):
    path = tmp_path / 'src-rootfs'
    (path / 'etc').mkdir(parents=True)
    return str(path)


def member(name, **options):
    options.setdefault('image', 'base')
    options.setdefault('command', SLEEP)
    return dict(options, name=name)


THREE = [member('web'), member('db', env={'ROLE': 'db'}), member('cache', memory='64m')]


def stack(host, containers, check_mode=False, **params):
    params.setdefault('name', 'shop')
    params.setdefault('parallel', 1)
    return run_manager(host, StackManager, 'dockerlite_stack', check_mode=check_mode, containers=containers,
                       **params)


def container(host, **params):
    params.setdefault('command', SLEEP)
    return run_manager(host, ContainerManager, 'dockerlite_container', **params)


def new_host(path, src):
    host = FakeHost(path)
    host.network.add_bridge('br0', '10.213.0.1/24')
    run_manager(host, ImageManager, 'dockerlite_image', name='base', source='directory', path=src)
    return host


def record(host, name='shop'):
    path = os.path.join(host.root, 'stacks', '%s.json' % name)
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def container_id(host, name):
    return host.store().get_container(name)['id']


def actions_of(result):
    """{container: [actions]} of a stack result, and the stack's own under '.stack'.

    Read from the ``actions`` strings, which must say what ``action_details`` says.
    """
    found = {}
    assert len(result['actions']) == len(result['action_details'])
    for text, detail in zip(result['actions'], result['action_details']):
        words = text.split(' ')
        if len(words) == 3 and words[1] == 'stack':
            key, action = '.stack', words[0]
            assert detail == {'what': 'stack', 'name': words[2], 'action': action}
        else:
            (action, key), name = words, words[1]
            assert detail == {'what': 'container', 'name': name, 'action': action}
        found.setdefault(key, []).append(action)
    return found


def parity(tmp_path, ids, src, setup, containers, **params):
    """Run the stack in check mode on one host and for real on another; then again, twice, on the real one."""
    check_host, real_host = twin_hosts(ids, lambda label: new_host(tmp_path / label / 'store', src), setup)
    check = check_mode_run(check_host, lambda: stack(check_host, containers, check_mode=True, **params))
    real = stack(real_host, containers, **params)
    assert (check['actions'], check['diff'], check['stack']) == (real['actions'], real['diff'], real['stack'])
    assert [c['actions'] for c in check['containers']] == [c['actions'] for c in real['containers']]
    assert check['changed'] is real['changed'] is bool(real['actions'])
    again_check = stack(real_host, containers, check_mode=True, **params)
    again = stack(real_host, containers, **params)
    return check, real, again_check, again, real_host


def nothing(host):
    pass


def three(host):
    stack(host, THREE)


# -- pure helpers -----------------------------------------------------------------------

@pytest.mark.parametrize('stack_state, own, expected', [
    ('started', None, 'started'), ('present', None, 'present'), ('stopped', None, 'stopped'),
    ('absent', None, 'absent'), ('started', 'stopped', 'stopped'), ('present', 'frozen', 'frozen'),
    ('started', 'absent', 'absent'), ('stopped', 'started', 'stopped'), ('stopped', 'restarted', 'stopped'),
    ('stopped', 'absent', 'absent'), ('absent', 'started', 'absent'),
])
def test_member_state(stack_state, own, expected):
    assert member_state(stack_state, own) == expected


@pytest.mark.parametrize('actions, expected', [
    ([], ([], [], [])),
    (['create', 'start'], ([], ['create'], ['start'])),
    (['create'], ([], ['create'], [])),
    (['stop', 'update_config', 'start', 'freeze'], (['stop'], ['update_config'], ['start', 'freeze'])),
    (['update_config', 'start'], ([], ['update_config'], ['start'])),
    (['stop', 'remove', 'create', 'start'], (['stop'], ['remove', 'create'], ['start'])),
    (['stop', 'remove'], (['stop'], ['remove'], [])),
    (['stop', 'start'], ([], [], ['stop', 'start'])),
    (['unfreeze'], ([], [], ['unfreeze'])),
    (['kill_orphan', 'start'], ([], [], ['kill_orphan', 'start'])),
    (['kill_orphan', 'update_config', 'start'], (['kill_orphan'], ['update_config'], ['start'])),
    (['kill_orphan', 'remove'], (['kill_orphan'], ['remove'], [])),
    (['create', 'run'], None),
    (['create', 'run', 'remove'], None),
    (['run'], None),
])
def test_split_plan(actions, expected):
    assert split_plan(actions) == expected


def test_split_plan_keeps_every_action_in_order():
    for actions in (['stop', 'update_config', 'start', 'freeze'], ['stop', 'remove', 'create', 'start']):
        before, middle, after = split_plan(actions)
        assert before + middle + after == actions


def test_duplicate_names():
    assert duplicate_names(['a', 'b', 'a', 'c', 'b', 'a']) == {'a': [0, 2, 5], 'b': [1, 4]}
    assert duplicate_names(['a', 'b']) == {}


# -- forked workers -----------------------------------------------------------------------

def _touch(path, fail=False):
    def job():
        with open(path, 'w') as handle:
            handle.write(str(os.getpid()))
        if fail:
            raise DockerliteError('job for %s failed' % os.path.basename(path), path=path)
        return [os.path.basename(path)]
    return job


@pytest.mark.parametrize('workers', [1, 3, 8])
def test_run_parallel_runs_every_job_once_and_reports_in_order(tmp_path, workers):
    paths = [str(tmp_path / ('job%02d' % index)) for index in range(10)]
    results = run_parallel([_touch(path, fail=(index == 4)) for index, path in enumerate(paths)], workers)
    assert [done for done, _error in results[:4]] == [['job%02d' % i] for i in range(4)]
    assert results[4] == ([], {'msg': 'job for job04 failed', 'details': {'path': paths[4]}})
    assert all(error is None for _done, error in results[:4] + results[5:])
    assert all(os.path.exists(path) for path in paths)
    pids = set()
    for path in paths:
        with open(path) as handle:
            pids.add(handle.read())
    if workers == 1:
        assert pids == {str(os.getpid())}
    else:
        assert str(os.getpid()) not in pids and len(pids) <= workers


def test_run_parallel_runs_jobs_at_the_same_time(tmp_path):
    """Each job waits until every job has started: one after the other, the first would time out."""
    def job(index):
        def wait_for_all():
            (tmp_path / str(index)).write_text('')
            deadline = time.monotonic() + 10
            while len(os.listdir(tmp_path)) < 3:
                if time.monotonic() > deadline:
                    raise DockerliteError('job %d waited alone' % index)
                time.sleep(0.01)
            return [index]
        return wait_for_all
    assert run_parallel([job(index) for index in range(3)], 3) == [([0], None), ([1], None), ([2], None)]


def test_run_parallel_reports_unexpected_errors_with_their_traceback(tmp_path):
    def broken():
        raise KeyError('oops')
    results = run_parallel([broken, _touch(str(tmp_path / 'ok'))], 2)
    assert results[0][1]['msg'] == "KeyError: 'oops'"
    assert 'Traceback' in results[0][1]['details']['exception']
    assert results[1] == (['ok'], None)


# -- converging -------------------------------------------------------------------------

def test_create_three(tmp_path, ids, src):
    check, real, again_check, again, host = parity(tmp_path, ids, src, nothing, THREE)
    assert actions_of(real) == {'web': ['create', 'start'], 'db': ['create', 'start'], 'cache': ['create', 'start'],
                                '.stack': ['record']}
    assert [c['name'] for c in real['containers']] == ['web', 'db', 'cache']
    assert [c['container']['state'] for c in real['containers']] == ['running'] * 3
    assert [c['container']['state'] for c in check['containers']] == ['running'] * 3
    assert real['containers'][1]['container']['env']['ROLE'] == 'db'
    assert real['containers'][2]['container']['memory'] == 64 * 1024 * 1024
    assert real['stack'] == {'name': 'shop', 'members': ['cache', 'db', 'web']}
    assert real['diff']['before']['members'] == []
    assert {c['state'] for c in real['diff']['before']['containers'].values()} == {'absent'}
    assert real['diff']['after']['members'] == ['cache', 'db', 'web']
    assert real['diff']['after']['containers']['web']['state'] == 'running'
    assert record(host) == {'stack': 'shop', 'containers': {
        name: container_id(host, name) for name in ('web', 'db', 'cache')}}
    assert host.lxc.states == {'web': 'running', 'db': 'running', 'cache': 'running'}
    assert again_check['actions'] == again['actions'] == []
    assert again['changed'] is False
    assert again['diff']['before'] == again['diff']['after']


def test_one_member_changes_only_that_member_restarts(tmp_path, ids, src):
    changed = [member('web'), member('db', env={'ROLE': 'primary'}), member('cache', memory='64m')]
    _check, real, _again_check, again, host = parity(tmp_path, ids, src, three, changed)
    assert actions_of(real) == {'db': ['stop', 'update_config', 'start']}
    assert list(real['diff']['after']['containers']) == ['db']
    assert real['diff']['after']['containers']['db']['env']['ROLE'] == 'primary'
    assert [c['changed'] for c in real['containers']] == [False, True, False]
    assert again['actions'] == []
    starts = [call for call in host.calls if call[0] == 'start']
    assert [call[1] for call in starts] == ['db']


def test_a_member_disk_limit_changes_without_a_restart(tmp_path, ids, src):
    limited = [member('web', disk_limit='1g'), member('db', env={'ROLE': 'db'}), member('cache', memory='64m')]
    _check, real, _again_check, again, host = parity(tmp_path, ids, src, three, limited)
    assert actions_of(real) == {'web': ['set_disk_limit']}
    assert real['diff']['after']['containers']['web']['disk_limit'] == 1 << 30
    assert again['actions'] == []
    assert [call for call in host.lxc.mutating_calls() if call[0] in ('start', 'stop')] == []
    rootfs = host.store().container_paths('web')['rootfs']
    assert host.btrfs.limit_of(rootfs) == 1 << 30
    # One qgroup listing serves every member's disk_usage.
    assert [c['container']['disk_usage'] for c in again['containers']] == [0, 0, 0]
    assert len([call for call in host.calls if call[0] == 'qgroups']) == 3  # the real run, the check, the rerun


def test_limited_members_turn_quotas_on_once(tmp_path, src):
    host = new_host(tmp_path / 'store', src)
    host.forget_calls()
    result = stack(host, [member(name, disk_limit='%dm' % size) for name, size in (('a', 8), ('b', 16), ('c', 32))])
    assert actions_of(result) == {'a': ['create', 'start'], 'b': ['create', 'start'], 'c': ['create', 'start'],
                                  '.stack': ['record']}
    calls = [call[0] for call in host.calls]
    assert (calls.count('quota_enabled'), calls.count('enable_quota'), calls.count('set_qgroup_limit')) == (1, 1, 3)
    assert [host.btrfs.limit_of(host.store().container_paths(name)['rootfs']) for name in 'abc'] == \
        [8 << 20, 16 << 20, 32 << 20]


def test_stack_stopped_stops_every_member_but_removes_own_absent(tmp_path, ids, src):
    listed = [member('web', state='started'), member('db', state='frozen'), member('cache', state='absent')]
    _check, real, _again_check, again, host = parity(tmp_path, ids, src, three, listed, state='stopped')
    assert actions_of(real) == {'web': ['stop'], 'db': ['stop'], 'cache': ['stop', 'remove'], '.stack': ['record']}
    assert real['stack']['members'] == ['db', 'web']
    assert host.lxc.states.get('web') == host.lxc.states.get('db') == 'stopped'
    assert listing(os.path.join(host.root, 'containers')) == ['db', 'web']
    assert sorted(record(host)['containers']) == ['db', 'web']
    assert again['actions'] == []


def test_member_state_overrides_started(tmp_path, ids, src):
    listed = [member('web'), member('batch', state='stopped'), member('idle', state='present')]
    _check, real, _again_check, _again, host = parity(tmp_path, ids, src, nothing, listed)
    assert actions_of(real) == {'web': ['create', 'start'], 'batch': ['create'], 'idle': ['create'],
                                '.stack': ['record']}
    assert host.lxc.states == {'web': 'running'}


def test_unlisted_member_is_kept_without_prune_and_removed_with_it(tmp_path, ids, src):
    def setup(host):
        three(host)
        container(host, name='loner', image='base')
    two = THREE[:2]
    _check, real, _again_check, again, host = parity(tmp_path, ids, src, setup, two)
    assert real['actions'] == []
    assert any('cache' in warning and 'prune' in warning for warning in real['warnings'])
    assert sorted(record(host)['containers']) == ['cache', 'db', 'web']
    assert real['stack']['members'] == ['cache', 'db', 'web']

    pruned = stack(host, two, prune=True)
    assert actions_of(pruned) == {'cache': ['stop', 'remove'], '.stack': ['record']}
    assert [c['name'] for c in pruned['containers']] == ['web', 'db', 'cache']
    assert pruned['containers'][2]['container'] is None
    assert pruned['stack']['members'] == ['db', 'web']
    assert listing(os.path.join(host.root, 'containers')) == ['db', 'loner', 'web']
    assert sorted(record(host)['containers']) == ['db', 'web']
    assert host.lxc.states['loner'] == 'running'
    assert stack(host, two, prune=True)['actions'] == []


def test_prune_in_check_mode_matches_the_real_run(tmp_path, ids, src):
    _check, real, _again_check, again, host = parity(tmp_path, ids, src, three, THREE[1:], prune=True)
    assert actions_of(real) == {'web': ['stop', 'remove'], '.stack': ['record']}
    assert real['diff']['after']['containers'] == {'web': real['diff']['after']['containers']['web']}
    assert real['diff']['after']['containers']['web']['state'] == 'absent'
    assert again['actions'] == []
    assert listing(os.path.join(host.root, 'containers')) == ['cache', 'db']


def test_a_replaced_member_is_not_the_stacks_any_more(tmp_path, ids, src):
    host = new_host(tmp_path / 'store', src)
    three(host)
    container(host, name='cache', state='absent')
    container(host, name='cache', image='base')
    result = stack(host, THREE[:2], prune=True)
    assert actions_of(result) == {'.stack': ['record']}
    assert host.lxc.states['cache'] == 'running'
    assert sorted(record(host)['containers']) == ['db', 'web']
    absent = stack(host, [], state='absent')
    assert actions_of(absent) == {'web': ['stop', 'remove'], 'db': ['stop', 'remove'], '.stack': ['remove']}
    assert listing(os.path.join(host.root, 'containers')) == ['cache']
    assert record(host) is None


def test_listing_a_container_of_no_stack_adopts_it(tmp_path, ids, src):
    def setup(host):
        container(host, name='web', image='base')
    _check, real, _again_check, again, host = parity(tmp_path, ids, src, setup, [member('web')])
    assert actions_of(real) == {'.stack': ['record']}
    assert record(host)['containers'] == {'web': container_id(host, 'web')}
    assert again['actions'] == []


def test_absent_removes_listed_and_recorded_members_only(tmp_path, ids, src):
    def setup(host):
        three(host)
        container(host, name='loner', image='base')
    _check, real, _again_check, again, host = parity(tmp_path, ids, src, setup, [member('web')], state='absent')
    assert actions_of(real) == {'web': ['stop', 'remove'], 'db': ['stop', 'remove'], 'cache': ['stop', 'remove'],
                                '.stack': ['remove']}
    assert real['stack'] == {'name': 'shop', 'members': []}
    assert listing(os.path.join(host.root, 'containers')) == ['loner']
    assert record(host) is None
    assert again['actions'] == []


def test_empty_stack_present_changes_nothing(tmp_path, ids, src):
    _check, real, _again_check, _again, host = parity(tmp_path, ids, src, nothing, [])
    assert real['actions'] == [] and real['containers'] == []
    assert not os.path.exists(os.path.join(host.root, 'stacks'))


def test_bridged_members_get_distinct_addresses_in_check_mode_too(tmp_path, ids, src):
    listed = [member(name, network={'bridge': 'br0'}) for name in ('a', 'b', 'c')]
    check, real, _again_check, again, _host = parity(tmp_path, ids, src, nothing, listed)
    addresses = [c['container']['ipv4'] for c in real['containers']]
    assert addresses == ['10.213.0.2', '10.213.0.3', '10.213.0.4']
    assert [c['container']['ipv4'] for c in check['containers']] == addresses
    assert again['actions'] == []


def test_isolated_members_get_distinct_id_maps_in_check_mode_too(tmp_path, ids, src):
    listed = [member('a', isolated_idmap=True), member('b'), member('c', isolated_idmap=True),
              member('d', privileged=True)]
    check, real, _again_check, again, _host = parity(tmp_path, ids, src, nothing, listed)
    idmaps = [c['container']['idmap'] for c in real['containers']]
    assert [idmap and idmap['uid'] for idmap in idmaps] == [1065536, 1000000, 1131072, None]
    assert [c['container']['idmap'] for c in check['containers']] == idmaps
    assert again['actions'] == []


def test_a_failing_start_reports_what_was_done_and_records_it(tmp_path, ids, src):
    host = new_host(tmp_path / 'store', src)
    working_start = host.lxc.start

    def start(name, argv, timeout=10):
        if name == 'db':
            raise DockerliteError('LXC could not start container %s' % name, lxc_log='boom')
        working_start(name, argv, timeout)

    host.lxc.start = start
    result = stack(host, THREE)
    assert result['failed'] is True
    assert result['msg'] == 'containers[1] (db): LXC could not start container db'
    assert [c['actions'] for c in result['containers']] == [['create', 'start'], ['create'], ['create', 'start']]
    assert result['containers'][1]['failed'] is True and result['containers'][1]['lxc_log'] == 'boom'
    assert actions_of(result)['.stack'] == ['record']
    assert sorted(record(host)['containers']) == ['cache', 'db', 'web']
    host.lxc.start = working_start
    assert actions_of(stack(host, THREE)) == {'db': ['start']}


def test_a_failing_stop_ends_the_run_before_any_store_change(tmp_path, ids, src):
    host = new_host(tmp_path / 'store', src)
    three(host)
    working_stop = host.lxc.stop

    def stop(name, timeout, halt_signal):
        if name == 'web':
            raise DockerliteError('LXC could not stop container %s' % name)
        working_stop(name, timeout, halt_signal)

    host.lxc.stop = stop
    changed = [member(m['name'], env={'NEW': '1'}) for m in THREE]
    result = stack(host, changed)
    assert result['failed'] is True and result['msg'] == 'containers[0] (web): LXC could not stop container web'
    assert [c['actions'] for c in result['containers']] == [[], ['stop'], ['stop']]
    assert 'record' not in str(result['actions'])
    assert host.lxc.states == {'web': 'running', 'db': 'stopped', 'cache': 'stopped'}
    host.lxc.stop = working_stop
    again = stack(host, changed)
    assert actions_of(again) == {'web': ['stop', 'update_config', 'start'], 'db': ['update_config', 'start'],
                                 'cache': ['update_config', 'start']}


def test_a_failing_one_off_run_fails_the_task_but_not_the_others(tmp_path, ids, src):
    host = new_host(tmp_path / 'store', src)
    host.lxc.execute_result = (3, 'out\n', 'err\n', 0.01)
    listed = [member('once', detach=False, cleanup=True), member('web')]
    check = stack(host, listed, check_mode=True)
    result = stack(host, listed)
    assert (check['actions'], check['stack']) == (result['actions'], result['stack'])
    assert result['stack']['members'] == ['web']
    assert result['failed'] is True
    assert result['msg'].startswith('containers[0] (once): command')
    assert result['containers'][0]['rc'] == 3 and result['containers'][0]['stdout'] == 'out\n'
    assert [c['actions'] for c in result['containers']] == [['create', 'run', 'remove'], ['create', 'start']]
    assert host.lxc.states == {'web': 'running'}
    assert sorted(record(host)['containers']) == ['web']


# -- refusals: nothing is touched ---------------------------------------------------------

@pytest.mark.parametrize('listed, params, message', [
    ([member('bad name')], {}, "containers[1] (bad name): container name 'bad name' is invalid"),
    ([member('db', memory='lots')], {}, "containers[1] (db): memory 'lots'"),
    ([member('db2', image='missing')], {}, 'containers[1] (db2): image missing:latest not found'),
    ([member('db'), member('new')], {},
     'container name new is listed more than once in stack shop: containers[0], containers[2]'),
    ([member('db', mounts=[{'source': '/no/such/dir', 'target': '/data'}])], {},
     'containers[1] (db): mount source /no/such/dir'),
    ([member('db', network={'bridge': 'nobr'})], {}, 'containers[1] (db): bridge nobr does not exist'),
    ([member('db', detach=False)], {'state': 'stopped'}, 'containers[1] (db): detach: false'),
    ([member('db', image='other')], {}, 'containers[1] (db): container db was created from image base:latest'),
    ([member('db')], {'name': 'bad/name'}, "stack name 'bad/name' is invalid"),
    ([member('db')], {'parallel': 0}, 'parallel must be at least 1, got 0'),
])
def test_bad_member_refused_before_anything_is_touched(tmp_path, ids, src, listed, params, message):
    """The first member would be created and db (of the stack, running) changed, were the bad one not there."""
    host = new_host(tmp_path / 'store', src)
    run_manager(host, ImageManager, 'dockerlite_image', name='other', source='directory', path=src)
    three(host)
    host.forget_calls()
    before, states = store_state(host.root), dict(host.lxc.states)
    with pytest.raises(DockerliteError) as caught:
        stack(host, [member('new')] + [dict(m, env={'CHANGED': '1'}) for m in listed], **params)
    assert message in caught.value.msg
    assert host.btrfs.mutating_calls() == [] and host.lxc.mutating_calls() == []
    assert store_state(host.root) == before and host.lxc.states == states


def test_a_container_of_another_stack_is_refused(tmp_path, ids, src):
    host = new_host(tmp_path / 'store', src)
    three(host)
    before = store_state(host.root)
    with pytest.raises(ValidationError) as caught:
        stack(host, [member('other1'), member('db')], name='other')
    assert caught.value.msg == 'containers[1] (db): container db belongs to stack shop; remove it from that stack first'
    assert store_state(host.root) == before


def test_member_stop_timeout_and_deprecated_timeout(tmp_path, src):
    """Members take stop_timeout like the container module; a member's timeout standing in for it is
    reported as deprecated, once, naming the member."""
    host = new_host(tmp_path / 'store', src)
    stack(host, [member('web'), member('db')])
    host.forget_calls()
    result = stack(host, [member('web', stop_timeout=3), member('db', timeout=4)], state='stopped')
    waits = {call[1]: call[2] for call in host.calls if call[0] == 'stop'}
    assert waits == {'web': 3, 'db': 4}
    assert [entry['msg'].split(':')[0] for entry in result['deprecations']] == ['containers[1] (db)']
    assert result['deprecations'][0]['version'] == '1.0.0'


def test_new_members_rootfs_snapshots_are_made_side_by_side(tmp_path, ids, src, monkeypatch):
    """With parallel > 1 the store wave snapshots the new members' rootfs together first (the
    start wave is run in this process here: the fake LXC keeps its states in memory)."""
    monkeypatch.setattr(stack_manager, 'run_parallel', lambda jobs, workers: [stack_manager.call_job(job) for job in jobs])
    host = new_host(tmp_path / 'store', src)
    host.forget_calls()
    real = stack(host, THREE, parallel=4)
    assert [call for call in host.btrfs.calls if call[0] in ('snapshots', 'snapshot')] == [('snapshots', 3, 4)] + [
        ('snapshot', ANY, ANY, False)] * 3
    assert [c['container']['state'] for c in real['containers']] == ['running'] * 3
    assert listing(host.store().tmp_dir) == []


def test_an_unchanged_rerun_asks_lxc_for_each_state_once(tmp_path, ids, src):
    host = new_host(tmp_path / 'store', src)
    stack(host, THREE)
    host.forget_calls()
    again = stack(host, THREE)
    assert again['changed'] is False
    assert [c['container']['state'] for c in again['containers']] == ['running'] * 3
    assert [c['container']['pid'] for c in again['containers']] == [host.lxc.PID] * 3
    assert sorted(call for call in host.lxc.calls if call[0] == 'status') == sorted(
        ('status', name) for name in ('web', 'db', 'cache'))
