# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Orphaned containers (their LXC monitor died): the /proc and mountinfo parsers, the init record,
and how dockerlite_container converges one in every state (over FakeLxc)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._clients import lxc_orphan
from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import ContainerManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image import ImageManager
from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc_orphan import (
    InitRecord, cgroup_dirs, parse_cgroup_mounts, parse_cgroups, parse_stat)
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import (
    FakeHost, check_mode_run, run_manager)

MOUNTINFO = '''\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:34 /lxc.payload.x /mnt/bound rw,relatime - cgroup cgroup rw,freezer
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 23 0:40 / /srv/with\\040space rw - ext4 /dev/sda rw
'''
CGROUP = '''\
9:name=systemd:/lxc.payload.box
6:freezer:/lxc.payload.box
2:cpu,cpuacct:/lxc.payload.box
5:devices:/lxc.payload.box
0::/lxc.payload.box
'''


def test_parse_stat_counts_fields_after_the_last_parenthesis():
    line = '8726 (a) b (c)) S 8725 8726 8726 0 -1 4194560 206 0 1 0 0 0 0 0 20 0 1 0 32864 2322 0 0\n'
    assert parse_stat(line) == (8725, 'S', 32864)


def test_cgroup_dirs_follow_the_mounts_of_each_hierarchy():
    mounts = parse_cgroup_mounts(MOUNTINFO)
    assert (set(), '/sys/fs/cgroup/unified') in mounts
    assert all(point != '/mnt/bound' for _options, point in mounts)
    # devices is not mounted here: it has no directory.
    assert cgroup_dirs(parse_cgroups(CGROUP), mounts) == [
        '/sys/fs/cgroup/systemd/lxc.payload.box', '/sys/fs/cgroup/freezer/lxc.payload.box',
        '/sys/fs/cgroup/cpu,cpuacct/lxc.payload.box', '/sys/fs/cgroup/unified/lxc.payload.box']


@pytest.fixture
def paused():
    """A function that forks a child waiting for a signal; the children are killed and reaped afterwards."""
    children = []

    def fork():
        pid = os.fork()
        if pid == 0:
            os.pause()
            os._exit(0)
        children.append(pid)
        return pid
    yield fork
    for pid in children:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except OSError:
            continue  # reaped by the test


def test_record_of_a_process_is_alive_and_a_reused_pid_is_not(tmp_path, paused):
    child = paused()
    record = InitRecord.of_running(child)
    assert record.alive()
    path = str(tmp_path / 'init.json')
    record.save(path)
    assert oct(os.stat(path).st_mode & 0o777) == '0o600'
    loaded = InitRecord.load(path)
    assert loaded.alive() and loaded.pid == child
    assert (loaded.payload_cgroups, loaded.monitor_cgroups) == (record.payload_cgroups, record.monitor_cgroups)
    assert lxc_orphan.orphan_of(loaded, mountinfo='') and not lxc_orphan.orphan_of(None)
    assert not InitRecord(child, record.start_time + 1, record.boot_id, [], []).alive()
    assert not InitRecord(child, record.start_time, 'another-boot', [], []).alive()
    os.kill(child, 9)
    os.waitpid(child, 0)
    assert not loaded.alive()


@pytest.mark.parametrize('text', ['', '{"pid": 1', '[]', '{"pid": "x", "start_time": 1, "boot_id": "b", '
                                  '"payload_cgroups": [], "monitor_cgroups": []}'])
def test_a_torn_or_foreign_record_counts_as_none(tmp_path, text):
    path = tmp_path / 'init.json'
    path.write_text(text)
    assert InitRecord.load(str(path)) is None
    assert InitRecord.load(str(tmp_path / 'missing')) is None


def test_clear_orphan_kills_the_recorded_process_and_keeps_others(paused):
    victim, bystander = paused(), paused()
    record = InitRecord.of_running(victim)
    # No cgroup mounts: nothing of the test runner's cgroups is touched.
    lxc_orphan.clear_orphan('box', record, mountinfo='')
    assert not record.alive()
    assert os.waitpid(victim, 0)[1] == 9
    assert os.waitpid(bystander, os.WNOHANG) == (0, 0)


def test_leftover_cgroups_count_only_while_empty(tmp_path):
    mountinfo = '41 31 0:38 / %s rw - cgroup2 cgroup2 rw\n' % tmp_path
    (tmp_path / 'lxc.payload.box').mkdir()
    (tmp_path / 'lxc.payload.box' / 'cgroup.procs').write_text('')
    record = InitRecord(1, 0, 'gone-boot', [('', '/lxc.payload.box')], [('', '/lxc.monitor.box')])
    assert lxc_orphan.orphan_of(record, mountinfo)
    (tmp_path / 'lxc.payload.box' / 'cgroup.procs').write_text('4242\n')
    assert not lxc_orphan.orphan_of(record, mountinfo)


@pytest.fixture
def host(tmp_path):
    os.makedirs(str(tmp_path / 'src' / 'bin'))
    fake = FakeHost(tmp_path / 'store')
    run_manager(fake, ImageManager, 'dockerlite_image', name='base', source='directory', path=str(tmp_path / 'src'))
    run_manager(fake, ContainerManager, 'dockerlite_container', name='web', image='base', command=['sleep', '60'])
    fake.lxc.states['web'] = 'orphaned'
    fake.forget_calls()
    return fake


@pytest.mark.parametrize('state, actions, final', [
    ('started', ['kill_orphan', 'start'], 'running'),
    ('restarted', ['kill_orphan', 'start'], 'running'),
    ('frozen', ['kill_orphan', 'start', 'freeze'], 'frozen'),
    ('present', ['kill_orphan'], 'stopped'),
    ('stopped', ['kill_orphan'], 'stopped'),
    ('absent', ['kill_orphan', 'remove'], 'absent'),
])
def test_an_orphan_is_killed_first_whatever_the_state(host, state, actions, final):
    check = check_mode_run(host, lambda: run_manager(host, ContainerManager, 'dockerlite_container', check_mode=True,
                                                     name='web', state=state))
    result = run_manager(host, ContainerManager, 'dockerlite_container', name='web', state=state)
    assert result['actions'] == check['actions'] == actions
    assert result['changed']
    assert [call[0] for call in host.lxc.mutating_calls()][:1] == ['kill_orphan']
    assert (result['container'] or {'state': 'absent'})['state'] == final
    assert result['diff']['before']['state'] == 'orphaned'


def test_an_orphan_with_a_new_config_is_reconfigured_after_the_kill(host):
    result = run_manager(host, ContainerManager, 'dockerlite_container', name='web', memory='64m')
    assert result['actions'] == ['kill_orphan', 'update_config', 'start']


def _fake_proc(tmp_path, init_pid, parent, start_time, parent_cmdline):
    proc = tmp_path / 'proc'
    (proc / str(init_pid)).mkdir(parents=True)
    (proc / str(init_pid) / 'stat').write_text('%d (sleep) S %d %s %d 0\n' % (
        init_pid, parent, ' '.join(['0'] * 17), start_time))
    (proc / str(parent)).mkdir()
    (proc / str(parent) / 'cmdline').write_bytes(parent_cmdline)
    return str(proc)


@pytest.mark.parametrize('cmdline, expected', [
    (b'[lxc monitor] /srv/store/containers box\0', 4242),
    (b'[lxc monitor] /srv/store/containers box', 4242),
    (b'[lxc monitor] /srv/other/containers box\0', None),
    (b'[lxc monitor] /srv/store/containers box2\0', None),
    (b'/sbin/init\0', None),
])
def test_a_live_init_under_its_own_monitor_is_no_orphan(tmp_path, cmdline, expected):
    # The monitor lives (it may only be out of reach, in another network namespace): never kill that container.
    proc = _fake_proc(tmp_path, 100, 4242, 777, cmdline)
    boot_id = open(lxc_orphan.BOOT_ID).read().strip()
    record = InitRecord(100, 777, boot_id, [], [])
    assert record.alive(proc)
    assert record.live_monitor('/srv/store/containers', 'box', proc) == expected
    assert InitRecord(100, 778, boot_id, [], []).live_monitor('/srv/store/containers', 'box', proc) is None
