# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The host side of the attach helper that needs no container: descriptors, messages, exit status."""

from __future__ import annotations

import os
import signal

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._clients import lxc_attach
from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc_attach import (
    ATTACHED_FAILED, HELPER_FAILED, TIMED_OUT, exit_like, keep_only, message, parse_messages)


def open_descriptors():
    """{fd: what it points to} for this process, from /proc/self/fd."""
    found = {}
    for entry in os.listdir('/proc/self/fd'):
        try:
            found[int(entry)] = os.readlink('/proc/self/fd/%s' % entry)
        except OSError:
            continue  # the descriptor that listed the directory, closed meanwhile
    return found


def in_child(function):
    """Run ``function`` in a forked child; return its wait status and what it wrote to its pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            function(write_end)
        finally:
            os._exit(99)
    os.close(write_end)
    data = b''
    while True:
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        data += chunk
    os.close(read_end)
    return os.waitpid(pid, 0)[1], data


def test_keep_only_closes_everything_else(tmp_path):
    held = [os.open(str(tmp_path), os.O_RDONLY) for dummy in range(3)]

    def child(out):
        keep_only((0, 1, 2, out, held[1]))
        os.write(out, repr((sorted(open_descriptors()), out)).encode())
        os._exit(0)

    status, data = in_child(child)
    for fd in held:
        os.close(fd)
    kept, out = eval(data.decode())  # pylint: disable=eval-used
    assert os.waitstatus_to_exitcode(status) == 0
    assert kept == sorted({0, 1, 2, out, held[1]})


def test_keep_only_with_adjacent_descriptors_keeps_them_all():
    def child(out):
        keep_only((0, 1, 2, out))
        os.write(out, repr((sorted(open_descriptors()), out)).encode())
        os._exit(0)

    status, data = in_child(child)
    assert os.waitstatus_to_exitcode(status) == 0
    kept, out = eval(data.decode())  # pylint: disable=eval-used
    assert kept == [0, 1, 2, out]


def test_messages_round_trip_and_first_of_a_kind_wins():
    data = message(ATTACHED_FAILED, 'running /x: No such file') + message(TIMED_OUT) \
        + message(ATTACHED_FAILED, 'second') + message(HELPER_FAILED, 'nul\0inside')
    assert parse_messages(data) == {ATTACHED_FAILED: 'running /x: No such file', TIMED_OUT: '',
                                    HELPER_FAILED: 'nul inside'}
    assert parse_messages(b'') == {}
    assert len(message(HELPER_FAILED, 'x' * 10000)) == lxc_attach.MESSAGE_MAX + 2


@pytest.mark.parametrize('status_of', [
    lambda: os._exit(0),
    lambda: os._exit(3),
    lambda: os._exit(255),
    lambda: os.kill(os.getpid(), signal.SIGTERM),
    lambda: os.kill(os.getpid(), signal.SIGKILL),
    lambda: os.kill(os.getpid(), signal.SIGUSR1),
])
def test_exit_like_gives_the_same_wait_status(status_of):
    def grandchild_then_mirror(_out):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            status_of()
            os._exit(98)
        exit_like(os.waitpid(pid, 0)[1])

    expected = in_child(lambda _out: status_of())[0]
    mirrored = in_child(grandchild_then_mirror)[0]
    assert os.waitstatus_to_exitcode(mirrored) == os.waitstatus_to_exitcode(expected)
