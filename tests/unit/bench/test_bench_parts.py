# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The benchmark's pure parts outside the table: settings, parsers, the cleaner wait, step means."""

from __future__ import annotations

import pytest

from dockerlite_bench import btrfs_quiet
from dockerlite_bench.common import Settings
from dockerlite_bench.measure import mean_steps
from dockerlite_bench.runner import loop_figures, process_spans_ms
from dockerlite_bench.workspace import parse_du, parse_usage


def test_settings_defaults():
    settings = Settings('build', 'out', environ={})
    assert (settings.ns, settings.peer_ns, settings.commit_mib) == ([10, 50], [10, 50], [1, 100, 1024])
    assert (settings.commit_repeat, settings.stack_n, settings.quota_n, settings.loop_size) == (3, 100, 10, '8G')
    assert settings.tmp_parent is None


def test_settings_from_the_environment():
    settings = Settings('build', 'out', environ={'BENCH_N': '3', 'BENCH_PEER_N': '0', 'BENCH_COMMIT_MIB': '1 10',
                                                 'BENCH_STACK_N': '0', 'BENCH_TMPDIR': '/var/tmp'})
    assert (settings.ns, settings.peer_ns, settings.commit_mib, settings.stack_n) == ([3], [], [1, 10], 0)
    assert settings.tmp_parent == '/var/tmp'
    assert Settings('b', 'o', environ={'BENCH_N': '10 50', 'BENCH_PEER_N': '10'}).peer_ns == [10]


def test_process_spans_and_loop_figures():
    assert process_spans_ms('1000000 3500000\n\n2000000 2250000\n') == [2.5, 0.25]
    task = {'start': 1.0, 'end': 1.5, 'items': [{'changed': True}, {'changed': False}]}
    assert loop_figures(task, 2) == {'per_item_ms': 250.0, 'changed': 1, 'items': 2}


def test_mean_steps_counts_a_missing_step_as_zero():
    assert mean_steps([{'lxc start': 10.0, 'other': 1.0}, {'other': 3.0}]) == {'lxc start': 5.0, 'other': 2.0}


USAGE = '''Overall:
    Device size:                  2147483648
    Device allocated:              243269632
    Device unallocated:           1904214016
    Used:                            2424832
    Free (estimated):             1916796928      (min: 964689920)

Data,single: Size:8388608, Used:1982464 (23.63%)
   /dev/loop3      8388608

Metadata,DUP: Size:117440512, Used:212992 (0.18%)
   /dev/loop3    234881024

System,DUP: Size:8388608, Used:16384 (0.20%)
   /dev/loop3     16777216
'''


def test_parse_usage_and_du():
    assert parse_usage(USAGE) == {'used': 2424832, 'data': 1982464, 'metadata': 212992}
    du = '     Total   Exclusive  Set shared  Filename\n   1982464           0     1982464  /x/rootfs\n'
    assert parse_du(du) == {'total': 1982464, 'exclusive': 0, 'shared': 1982464}


def test_wait_for_cleaner_syncs_until_nothing_is_pending_then_once_more():
    calls, pending = [], [2]

    def still_pending():
        pending[0] -= 1
        return pending[0] >= 0

    btrfs_quiet.wait_for_cleaner(lambda: calls.append('sync'), still_pending, poll=0)
    # pending twice, then clear: three syncs in the loop and the last one.
    assert calls == ['sync'] * 4


def test_wait_for_cleaner_gives_up_after_its_timeout():
    with pytest.raises(TimeoutError, match='within 0 s'):
        btrfs_quiet.wait_for_cleaner(lambda: None, lambda: True, timeout=0, poll=0)
