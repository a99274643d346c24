# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The benchmark's table: number formats, ratios, targets met or missed, and notes, from a results dict."""

from __future__ import annotations

import copy

import pytest

from dockerlite_bench import report
from dockerlite_bench.common import MIB, mean, median


@pytest.mark.parametrize('value, text', [
    (None, 'n/a'), (1234.4, '1234 ms'), (100.0, '100 ms'), (99.94, '99.9 ms'), (10.0, '10.0 ms'),
    (9.994, '9.99 ms'), (0.456, '0.46 ms'), (0.0, '0.00 ms'),
])
def test_fmt_ms_keeps_three_significant_digits(value, text):
    assert report.fmt_ms(value) == text


@pytest.mark.parametrize('value, text', [(12.34, '+12.3 ms'), (-4.561, '-4.56 ms'), (0.0, '+0.00 ms'),
                                         (-250.0, '-250 ms')])
def test_fmt_delta_has_a_sign(value, text):
    assert report.fmt_delta(value) == text


def test_ratio_and_size_formats():
    assert report.fmt_ratio(1.149) == '1.15×'
    assert report.fmt_ratio(None) == 'n/a'
    assert report.fmt_mib(3 * MIB / 2) == '1.50 MiB'
    assert report.fmt_steps({'lxc start': 22.04, 'btrfs snapshot': 2.051}) == 'btrfs snapshot 2.05 ms, lxc start 22.0 ms'


def test_median_and_mean_of_nothing_are_none():
    assert median([]) is None and mean([]) is None
    assert median([5.0, 1.0, 3.0, 4.0]) == 3.5
    assert mean([1.0, 2.0]) == 1.5


def test_markdown_table_escapes_pipes_and_leaves_empty_cells():
    row = report.Row('1', 'a | b', None, '1 ms', ok=False)
    lines = report.markdown_table([row]).splitlines()
    assert lines[0] == '| # | Figure | N | Measured | Against | Ratio | Target | Met | Bound / note |'
    assert lines[1] == '|' + '---|' * 9
    assert lines[2] == '| 1 | a \\| b |  | 1 ms |  |  |  | **no** |  |'


def loop(per_item_ms, changed, items):
    return {'per_item_ms': per_item_ms, 'changed': changed, 'items': items}


def results(create_ms=110.0, rerun_ms=102.0, n=2):
    """A whole run's results, with round figures: the floor is 100 ms per loop item."""
    process = {'per_item_ms': 100.0, 'process_ms': 80.0}
    work = {'per_container_ms': [10.0, 20.0], 'steps_ms': {'lxc start': 8.0, 'other': 2.0}, 'unexpected': []}
    fleet = {
        'n': n, 'floor': dict(loop(100.0, 0, n), before_ms=90.0, after_ms=110.0),
        'floor_tasks': {'per_task_ms': 120.0},
        'create': loop(create_ms, n, n), 'rerun': loop(rerun_ms, 0, n),
        'stop': loop(150.0, n, n), 'remove': loop(125.0, n, n),
        'disk': {'before': {'used': 10 * MIB, 'data': 4 * MIB, 'metadata': 3 * MIB},
                 'after': {'used': 10 * MIB + n * MIB // 4, 'data': 4 * MIB, 'metadata': 3 * MIB + n * MIB // 8},
                 'image_du': {'total': 2 * MIB, 'exclusive': 0, 'shared': 0},
                 'container_du': {'total': 2 * MIB, 'exclusive': 0, 'shared': 2 * MIB}},
        'raw': {'snapshot': [2.0], 'config': [1.0], 'start': [17.0], 'total': [20.0], 'stop': [5.0],
                'remove': [1.0]},
        'split': {'k': n, 'file': dict(process), 'create': {'per_item_ms': 130.0, 'process_ms': 100.0},
                  'rerun': {'per_item_ms': 105.0, 'process_ms': 84.0}},
        'imports': {'file': {'basic_ms': 50.0, 'module_ms': 10.0, 'payload_bytes': 128 * 1024},
                    'create': {'basic_ms': 50.0, 'module_ms': 25.0, 'payload_bytes': 180 * 1024}},
        'work': {phase: work for phase in ('create_start', 'rerun', 'stop', 'remove')},
        'work_cold': {phase: work for phase in ('create_start', 'rerun', 'stop', 'remove')},
    }
    commit = [{'mib': mib, 'synced': synced, 'commit_ms': ms, 'sync_ms': 1.0 if synced else None,
               'steps_ms': {'btrfs snapshot': 1.0}}
              for mib, synced, ms in ((1, True, 10.0), (1, False, 12.0), (100, True, 14.0), (100, False, 60.0))]
    stack_phase = {'task_ms': 1000.0, 'process_ms': 700.0, 'changed': True, 'running': 4, 'existing': 4}
    quota_mode = {'create': loop(100.0, 1, 1), 'remove': loop(50.0, 1, 1), 'cleaner_ms': 10.0,
                  'commit': commit[:2], 'stack_create': {'task_ms': 900.0}, 'stack_absent': {'task_ms': 400.0},
                  'stack_cleaner_ms': 0.0}
    return {
        'machine': {'cpu': '2 × CPU', 'memory': '1.0 GiB', 'kernel': 'k', 'debian': '12', 'ansible': 'a',
                    'host_python': 'Python 3', 'lxc': '5.0.2', 'btrfs': 'btrfs-progs v6.2'},
        'date': '2026-01-01 00:00:00 UTC', 'seconds': 60.0, 'load_before': [0.5, 0, 0], 'load_after': [1.5, 0, 0],
        'image': {'used_delta': 2 * MIB, 'build_ms': 500.0}, 'loopfile_allocated': 40 * MIB,
        'fleets': [fleet], 'commit': commit, 'hook_n': 1,
        'hook': {'ours': {'stop': [4.0], 'start': [15.0]}, 'common_conf': {'stop': [504.0], 'start': [20.0]},
                 'hooks': ['00-lxcfs.conf']},
        'stack': {'n': 4, 'parallel': 8, 'floor_ms': 400.0, 'floor_before_ms': 390.0, 'floor_after_ms': 410.0,
                  'imports': {'basic_ms': 200.0, 'module_ms': 60.0, 'payload_bytes': 1},
                  'create': dict(stack_phase), 'rerun': dict(stack_phase, task_ms=800.0, changed=False),
                  'absent': dict(stack_phase, running=0, existing=0)},
        'quota': {'n': 1, 'stack_n': 4, 'write_mib': 1, 'off': quota_mode,
                  'on': dict(quota_mode, enable_ms=9.0, cleaner_ms=40.0, stack_cleaner_ms=5.0)},
    }


def cells(rows, figure, start):
    """The cells of the first row of ``figure`` whose Figure column starts with ``start``."""
    return next(dict(zip(report.Row.COLUMNS, row.cells)) for row in rows
                if row.cells[0] == figure and row.cells[1].startswith(start))


def test_create_start_within_its_target_has_no_note():
    row = cells(report.rows_create_start(results(create_ms=110.0)), '1', 'create+start per container: dockerlite')
    assert (row['Measured'], row['Ratio'], row['Target'], row['Met'], row['Bound / note']) == (
        '110 ms', '1.10×', '≤ 1.15×', 'yes', '')
    assert row['Against'] == 'Ansible floor 100 ms (file no-op loop; runs 90.0 ms, 110 ms)'


def test_create_start_over_its_target_is_split_into_measured_parts():
    row = cells(report.rows_create_start(results(create_ms=130.0)), '1', 'create+start per container: dockerlite')
    assert row['Met'] == '**no**'
    # process +20 ms of which imports +15 ms and work 15 ms: the rest is -10 ms; controller 30 vs 20 ms.
    assert row['Bound / note'] == (
        'over the floor by 30.0 ms: split over 2 items: item 130 ms vs file 100 ms = module process 100 ms vs '
        '80.0 ms (+20.0 ms: imports +15.0 ms, ours 25.0 ms vs file 10.0 ms; work 15.0 ms in a fresh process '
        '[lxc start 8.00 ms, other 2.00 ms], 15.0 ms warm; rest -10.0 ms) + controller 30.0 ms vs 20.0 ms '
        '(+10.0 ms); payload 180 vs 128 KiB')


def test_a_loop_that_reports_the_wrong_changes_misses_its_target():
    data = results(create_ms=110.0)
    data['fleets'][0]['create']['changed'] = 1
    row = cells(report.rows_create_start(data), '1', 'create+start per container: dockerlite')
    assert row['Met'] == '**no**'
    assert row['Bound / note'] == 'reported changed on 1 of 2 items (expected 2)'


def test_raw_floor_and_separate_tasks_rows():
    rows = report.rows_create_start(results(create_ms=110.0))
    raw = cells(rows, '1', 'create+start per container: raw floor')
    assert (raw['Measured'], raw['Ratio'], raw['Bound / note']) == (
        '20.0 ms', '5.50×', 'snapshot 2.00 ms, config 1.00 ms, start 17.0 ms')
    assert cells(rows, '1', 'Ansible floor as N separate')['Ratio'] == '1.20×'


def test_peer_row_gives_the_best_any_loop_could_do():
    data = results(create_ms=110.0)
    data['fleets'][0].update(peer_create=loop(440.0, 2, 2), peer_rerun=loop(100.0, 0, 2))
    row = cells(report.rows_create_start(data), '1', 'create+start per container: community')
    assert (row['Ratio'], row['Target'], row['Met']) == ('4.00× faster', '≥ 8× faster', '**no**')
    assert row['Bound / note'] == 'no loop item can beat the floor: the best possible is 440 ms / 100 ms = 4.40×'
    rerun = cells(report.rows_rerun(data), '2', 'unchanged rerun per container: community')
    assert rerun['Ratio'] == '0.98× (ours is slower)'


def test_rerun_target():
    assert cells(report.rows_rerun(results(rerun_ms=104.0)), '2', 'unchanged')['Met'] == 'yes'
    missed = cells(report.rows_rerun(results(rerun_ms=106.0)), '2', 'unchanged')
    assert missed['Met'] == '**no**' and missed['Bound / note'].startswith('over the floor by 6.00 ms: split over 2')


def test_commit_ratios_are_against_the_smallest_size_in_the_same_mode():
    rows = report.rows_commit(results())
    assert [row.cells[5] for row in rows] == ['1.00×', '1.00×', '1.40×', '5.00×']
    # Only the largest synced commit has a target.
    assert [(row.cells[6], row.cells[7]) for row in rows] == [
        ('', ''), ('', ''), ('≤ 1.5× (100 MiB synced)', 'yes'), ('', '')]
    assert rows[0].cells[1] == 'commit (CommitManager in-process): 1 MiB written, synced first'
    assert rows[0].cells[8] == 'sync before it 1.00 ms; btrfs snapshot 1.00 ms'
    assert rows[1].cells[8] == 'btrfs snapshot 1.00 ms'


def test_disk_row():
    (row,) = report.rows_disk(results(n=2))
    # image 2 MiB, the two containers add 0.5 MiB, against 2 + 2 x 1 MiB.
    assert row.cells[3:8] == ('2.50 MiB', 'image 2.00 MiB + N × 1 MiB = 4.00 MiB', '0.62×', '≤ 1.00×', 'yes')
    assert row.cells[8].startswith('containers add 0.50 MiB (0.25 MiB per container: data 0.00 MiB, metadata 0.25')


def test_stop_remove_and_hook_rows():
    rows = report.rows_stop_remove(results())
    assert rows[0].cells[8] == 'work in-process 15.0 ms (fresh process), 15.0 ms warm; raw stop 5.00 ms'
    assert rows[1].cells[1] == 'remove (stopped) per container: dockerlite_container loop'
    assert rows[1].cells[8].endswith('raw remove 1.00 ms')
    hook = rows[2]
    assert hook.cells[2:6] == ('1', '504 ms', 'our config 4.00 ms', '126.00×')
    assert hook.cells[8] == 'the hook costs 500 ms per stop; common.conf.d: 00-lxcfs.conf; start 20.0 ms vs ours 15.0 ms'


def test_stack_rows_flag_a_wrong_result():
    data = results()
    rows = report.rows_stack(data)
    assert [row.cells[7] for row in rows] == ['yes', 'yes', '']
    assert rows[0].cells[8] == (
        'task = module process 700 ms (imports 260 ms: basic 200 ms + module 60.0 ms; the rest 440 ms = interpreter '
        'start, arguments, work, result: 110 ms per container; parallel 8) + controller 300 ms; per container 250 ms '
        '(a dockerlite_container loop item costs ≥ the floor)')
    data['stack']['rerun']['running'] = 3
    rows = report.rows_stack(data)
    assert rows[1].cells[7] == '**no**'
    assert rows[1].cells[8].startswith('WRONG RESULT: running 3 (expected 4); task = module process')


def test_quota_rows_leave_the_ratio_out_when_quotas_off_took_no_time():
    rows = report.rows_quota(results())
    assert len(rows) == 8
    assert rows[0].cells[5] == '1.00×' and rows[0].cells[8] == 'turning quotas on took 9.00 ms'
    assert rows[2].cells[5] == '4.00×'
    assert rows[-1].cells[1] == 'quotas on: btrfs cleaner after the stack tear-down'
    assert rows[-1].cells[5] == ''


def test_parts_of_a_run_that_were_skipped_add_no_rows():
    data = results()
    for key in ('stack', 'quota', 'hook'):
        del data[key]
    text = report.report_text(data, [2], [], cpus=2)
    assert '| 6 |' not in text and '| 7 |' not in text and 'common.conf' not in text
    data['hook'] = {'skipped': '/usr/share/lxc/config/common.conf does not exist'}
    assert '| 5 | lxcfs hook |  | skipped |' in report.report_text(data, [2], [], cpus=2)


def test_report_header_and_busy_warning():
    data = results()
    text = report.report_text(data, [2], [], cpus=2)
    lines = text.splitlines()
    assert lines[0] == ('Machine: 2 × CPU, 1.0 GiB RAM, kernel k, Debian 12; a; Python 3; LXC 5.0.2; '
                        'btrfs-progs v6.2.')
    assert lines[1] == ('Run: 2026-01-01 00:00:00 UTC, 60 s, load average 0.50 before, 1.50 after; N = 2; '
                        'lxc_container at N = skipped; image 2.00 MiB (build 500 ms); loop file grew to 40.00 MiB.')
    assert 'busy' not in text
    busy = report.report_text(copy.deepcopy(dict(data, load_before=[1.5, 0, 0])), [2], [2], cpus=2)
    assert '**The machine was busy** (load average 1.50 on 2 CPUs when the run began)' in busy
    assert 'lxc_container at N = 2;' in busy
    # Every row group contributes: 3 + 1 + 4 + 1 + 3 + 3 + 8 rows, under a header of two lines.
    assert len(lines) == 2 + 1 + 2 + 23


def registry_results(pull_ms=900.0, repull_changed=False, push_bytes=MIB + 4096):
    """Figure 8's results with round figures: the floor 800 ms, podman pull 1000 ms, the task floor 400 ms."""
    return {'registry': {
        'total_mib': 100, 'layers_mib': [60.0, 30.0, 10.0], 'floor_ms': 800.0, 'task_floor_ms': 400.0,
        'pull': {'ms': pull_ms, 'changed': True, 'bytes_written': 101 * MIB},
        'podman_pull': {'ms': 1000.0, 'bytes_written': 102 * MIB},
        'second': {'ms': 300.0, 'changed': True, 'bytes_written': 10 * MIB},
        'podman_second': {'ms': 600.0, 'bytes_written': 11 * MIB},
        'repull': {'ms': 500.0, 'first_ms': 900.0, 'tasks': 10, 'changed': repull_changed, 'bytes_written': 0},
        'push': {'ms': 700.0, 'changed': True, 'bytes_uploaded': push_bytes},
        'podman_push': {'ms': 1400.0, 'bytes_uploaded': MIB + 8192},
    }}


def test_registry_rows_meet_their_targets():
    rows = report.rows_registry(registry_results())
    cells = [row.cells for row in rows]
    assert [c[5] for c in cells] == ['1.12×', '2.00× faster', '1.25×', '2.00× faster']
    assert [c[7] for c in cells] == ['yes', '', 'yes', 'yes']
    assert 'podman pull 1000 ms: ours 1.11× faster' in cells[0][8]
    assert cells[3][3] == '1.00 MiB uploaded, 700 ms'
    assert 'per task of 10 in one play' in cells[2][1] and 'the first task 900 ms' in cells[2][8]


def test_a_repull_measured_as_one_task_still_makes_its_row():
    results_ = registry_results()
    results_['registry']['repull'] = {'ms': 500.0, 'changed': False, 'bytes_written': 0}
    row = report.rows_registry(results_)[2]
    assert row.cells[1].endswith('one task') and row.cells[5] == '1.25×' and 'first task' not in row.cells[8]


@pytest.mark.parametrize('change, missed_row', [
    ({'pull_ms': 1100.0}, 0),            # 1.38x the floor
    ({'repull_changed': True}, 2),        # an unchanged re-pull must report no change
    ({'push_bytes': 2 * MIB}, 3),         # over 1.1 MiB + 16 KiB
])
def test_registry_rows_say_when_a_target_is_missed(change, missed_row):
    rows = report.rows_registry(registry_results(**change))
    assert rows[missed_row].cells[7] == '**no**'


def test_pull_slower_than_podman_misses_the_target_even_within_the_floor_ratio():
    results_ = registry_results()
    results_['registry']['podman_pull']['ms'] = 850.0
    row = report.rows_registry(results_)[0]
    assert row.cells[7] == '**no**' and '(ours is slower)' in row.cells[8]


def test_registry_rows_skipped_with_the_reason_or_absent():
    rows = report.rows_registry({'registry': {'skipped': 'dockerlite_image_push does not exist'}})
    assert [row.cells[3] for row in rows] == ['skipped']
    assert rows[0].cells[8] == 'dockerlite_image_push does not exist'
    assert report.rows_registry({}) == []


def like_for_like_results(direct_ms=900.0, module_ms=1100.0, module_written=101 * MIB):
    """registry_results with the two like-for-like pulls: ours directly against podman pull (1000 ms), ours
    in a one-task play (900 ms) against podman_image in one (``module_ms``)."""
    results_ = registry_results()
    results_['registry'].update({
        'direct_pull': {'ms': direct_ms, 'changed': True, 'bytes_written': 103 * MIB},
        'podman_image_pull': {'ms': module_ms, 'changed': True, 'bytes_written': module_written,
                              'storage_before_rmi': 125 * MIB, 'storage_before': 64 * 1024, 'images_left': [],
                              'interpreter': '/venv/bin/python'}})
    return results_


def test_like_for_like_pull_rows_follow_the_others_and_compare_ours_over_podman():
    rows = report.rows_registry(like_for_like_results())
    assert len(rows) == 6
    direct, ansible = rows[4].cells, rows[5].cells
    assert 'directly' in direct[1] and direct[3] == '900 ms' and direct[4] == 'podman pull 1000 ms (the CLI)'
    assert (direct[5], direct[6], direct[7]) == ('0.90×', 'faster than podman', 'yes')
    assert 'through Ansible on both sides' in ansible[1] and ansible[3] == '900 ms'
    assert ansible[4] == 'containers.podman.podman_image, one task: 1100 ms'
    assert (ansible[5], ansible[6], ansible[7]) == ('0.82×', 'faster than podman', 'yes')
    assert 'podman_image on /venv/bin/python' in ansible[8] and 'images left: none' in ansible[8]
    assert 'did not download' not in ansible[8]


@pytest.mark.parametrize('change, row, note', [
    ({'direct_ms': 1000.0}, 4, ''),                  # as fast as podman is not faster
    ({'module_ms': 850.0}, 5, ''),                   # podman_image faster than our one-task pull
    ({'module_written': 10 * MIB}, 5, 'did not download the layers again'),  # it found the layers still there
])
def test_like_for_like_pull_rows_say_when_ours_is_not_faster(change, row, note):
    cells = report.rows_registry(like_for_like_results(**change))[row].cells
    assert cells[7] == '**no**' and note in cells[8]


def test_like_for_like_pull_rows_skipped_with_the_reason_or_absent_from_older_results():
    results_ = registry_results()
    results_['registry']['podman_image_skipped'] = 'containers.podman.podman_image not found by ansible-doc'
    rows = report.rows_registry(results_)
    assert len(rows) == 5 and rows[4].cells[3] == 'skipped' and 'not found' in rows[4].cells[8]
    assert len(report.rows_registry(registry_results())) == 4


def test_direct_pull_row_uses_the_rounds_taken_in_turns_with_podman_pull_into_an_emptied_storage():
    results_ = like_for_like_results(direct_ms=1500.0)
    results_['registry']['direct_pull']['runs_ms'] = [1600.0, 1500.0, 1400.0]
    results_['registry']['podman_pull_fresh'] = {'ms': 1800.0, 'runs_ms': [1900.0, 1800.0, 1700.0],
                                                 'bytes_written': 102 * MIB}
    cells = report.rows_registry(results_)[4].cells
    assert cells[3] == '1500 ms' and cells[4] == 'podman pull 1800 ms (the CLI)'
    assert (cells[5], cells[7]) == ('0.83×', 'yes')
    assert 'medians of 3 rounds' in cells[8] and '1600 ms 1500 ms 1400 ms' in cells[8]
    assert '1900 ms 1800 ms 1700 ms' in cells[8]
