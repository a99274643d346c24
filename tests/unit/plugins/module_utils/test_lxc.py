# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""lxc.py pure helpers: signal names and handlers, and the cgroup layout."""

from __future__ import annotations

import signal

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._clients import lxc
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import MissingLibraryError


@pytest.mark.parametrize('name, number', [
    ('SIGHUP', 1), ('SIGINT', 2), ('SIGKILL', 9), ('SIGUSR1', 10), ('SIGUSR2', 12), ('SIGTERM', 15),
    ('SIGPWR', 30), ('SIGRTMIN+3', int(signal.SIGRTMIN) + 3), ('SIGRTMIN+0', int(signal.SIGRTMIN)),
])
def test_signal_number(name, number):
    assert lxc.signal_number(name) == number


@pytest.mark.parametrize('name', ['SIGFOO', 'sigterm', 'TERM'])
def test_signal_number_unknown(name):
    with pytest.raises((KeyError, ValueError)):
        lxc.signal_number(name)


def status_text(sigcgt):
    return ('Name:\tinit\nState:\tS (sleeping)\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000001000\n'
            'SigCgt:\t%s\nCapInh:\t0000000000000000\n' % sigcgt)


@pytest.mark.parametrize('sigcgt, signum, expected', [
    ('0000000000000200', signal.SIGUSR1, True),
    ('0000000000000200', signal.SIGTERM, False),
    ('0000000000004000', signal.SIGTERM, True),
    ('0000000020000000', signal.SIGPWR, True),
    ('0000000000000001', signal.SIGHUP, True),
    ('0000000000000000', signal.SIGUSR1, False),
    ('fffffffe7ffbfeff', signal.SIGKILL, False),
    ('0000000400000000', int(signal.SIGRTMIN) + 1, True),
])
def test_catches_signal(sigcgt, signum, expected):
    assert lxc.catches_signal(status_text(sigcgt), int(signum)) is expected


def test_catches_signal_ignores_sigign():
    """SigIgn (bit 13, SIGPIPE here) is not a handler."""
    assert lxc.catches_signal(status_text('0000000000000000'), signal.SIGPIPE) is False


def test_catches_signal_without_sigcgt():
    assert lxc.catches_signal('Name:\tx\nState:\tZ (zombie)\n', signal.SIGTERM) is False


def test_catches_signal_of_this_process():
    previous = signal.signal(signal.SIGUSR2, lambda *_args: None)
    try:
        with open('/proc/self/status') as handle:
            text = handle.read()
        assert lxc.catches_signal(text, signal.SIGUSR2) is True
        signal.signal(signal.SIGUSR2, signal.SIG_DFL)
        with open('/proc/self/status') as handle:
            assert lxc.catches_signal(handle.read(), signal.SIGUSR2) is False
    finally:
        signal.signal(signal.SIGUSR2, previous)


@pytest.mark.parametrize('present, expected', [
    ((), {'devices': 'v2', 'memory': 'v2', 'cpu': 'v2', 'pids': 'v2'}),
    (('devices', 'memory', 'cpu', 'pids'), {'devices': 'v1', 'memory': 'v1', 'cpu': 'v1', 'pids': 'v1'}),
    (('devices', 'pids', 'unified', 'freezer'), {'devices': 'v1', 'memory': 'v2', 'cpu': 'v2', 'pids': 'v1'}),
])
def test_cgroup_layout(tmp_path, present, expected):
    for name in present:
        (tmp_path / name).mkdir()
    assert lxc.cgroup_layout(root=str(tmp_path)) == expected


def test_cgroup_layout_follows_controller_links(tmp_path):
    """Hybrid hosts mount cpu and cpuacct together and link cpu to cpu,cpuacct."""
    (tmp_path / 'cpu,cpuacct').mkdir()
    (tmp_path / 'cpu').symlink_to('cpu,cpuacct')
    (tmp_path / 'memory').write_text('a file is no hierarchy')
    assert lxc.cgroup_layout(root=str(tmp_path)) == {'devices': 'v2', 'memory': 'v2', 'cpu': 'v1', 'pids': 'v2'}


def test_cgroup_layout_controllers(tmp_path):
    (tmp_path / 'freezer').mkdir()
    assert lxc.cgroup_layout(('freezer', 'blkio'), str(tmp_path)) == {'freezer': 'v1', 'blkio': 'v2'}


def test_client_needs_the_library(monkeypatch):
    monkeypatch.setattr(lxc, '_lxc', None)
    with pytest.raises(MissingLibraryError) as info:
        lxc.LxcClient('/var/lib/dockerlite/containers')
    assert info.value.library == 'python3-lxc'


def test_direct_id_maps_leaves_path_out_only_inside(monkeypatch):
    monkeypatch.setenv('PATH', '/usr/sbin:/usr/bin')
    monkeypatch.setattr(lxc.os, 'geteuid', lambda: 0)
    with lxc.direct_id_maps():
        assert 'PATH' not in lxc.os.environ
    assert lxc.os.environ['PATH'] == '/usr/sbin:/usr/bin'


def test_direct_id_maps_restores_path_after_an_error(monkeypatch):
    monkeypatch.setenv('PATH', '/bin')
    monkeypatch.setattr(lxc.os, 'geteuid', lambda: 0)
    with pytest.raises(RuntimeError):
        with lxc.direct_id_maps():
            raise RuntimeError('start failed')
    assert lxc.os.environ['PATH'] == '/bin'


def test_direct_id_maps_keeps_path_for_other_users(monkeypatch):
    # Without root, LXC needs newuidmap/newgidmap to map more than the caller's own id.
    monkeypatch.setenv('PATH', '/bin')
    monkeypatch.setattr(lxc.os, 'geteuid', lambda: 1000)
    with lxc.direct_id_maps():
        assert lxc.os.environ['PATH'] == '/bin'
