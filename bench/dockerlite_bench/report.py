# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The table: pure functions of a run's results dict (``results.json``), one per group of rows."""

from __future__ import annotations

import json
import os

from .common import MIB, mean, median

# The targets, printed next to the measured ratios; nothing fails when one is missed.
TARGET_CREATE = 1.15      # create+start per container <= 1.15 x Ansible's per-item floor
TARGET_RERUN = 1.05       # unchanged rerun per container <= 1.05 x that floor
TARGET_COMMIT = 1.5       # commit of 1 GiB synced <= 1.5 x commit of 1 MiB synced
TARGET_DISK_MIB = 1.0     # N containers of one image use <= image + N x 1 MiB
TARGET_PEER = 8.0         # create+start >= 8 x faster than community.general.lxc_container
TARGET_STACK_CREATE = 8.0  # dockerlite_stack create+start of 100, one task <= 8 x Ansible's per-task floor
TARGET_STACK_RERUN = 3.0   # its unchanged rerun <= 3 x that floor
TARGET_PULL = 1.3          # pull of a 3-layer image <= 1.3 x skopeo copy + umoci unpack (and faster than podman pull)
TARGET_REPULL = 1.5        # unchanged re-pull <= 1.5 x Ansible's per-task floor
TARGET_PUSH_BYTES = 1.1 * MIB + 16 * 1024  # bytes uploaded for a commit of 1 MiB on the pulled base


def fmt_ms(value):
    """Three significant digits, at least: 1234 ms, 123 ms, 12.3 ms, 1.23 ms."""
    if value is None:
        return 'n/a'
    return '%.0f ms' % value if value >= 100 else '%.1f ms' % value if value >= 10 else '%.2f ms' % value


def fmt_delta(value):
    """A difference in ms with its sign: +12.3 ms, -4.56 ms."""
    return ('+' if value >= 0 else '-') + fmt_ms(abs(value))


def fmt_mib(value):
    return '%.2f MiB' % (value / MIB)


def fmt_ratio(value):
    return 'n/a' if value is None else '%.2f×' % value


def fmt_steps(steps):
    return ', '.join('%s %s' % (label, fmt_ms(value)) for label, value in sorted(steps.items()))


def met(ok):
    return 'yes' if ok else '**no**'


def joined(*notes):
    """The non-empty notes, separated by '; '."""
    return '; '.join(filter(None, notes))


class Row:
    COLUMNS = ('#', 'Figure', 'N', 'Measured', 'Against', 'Ratio', 'Target', 'Met', 'Bound / note')

    def __init__(self, figure, what, n, measured, against='', ratio='', target='', ok=None, note=''):
        self.cells = (figure, what, '' if n is None else str(n), measured, against, ratio, target,
                      '' if ok is None else met(ok), note)


def split_note(fleet, phase, work_phase):
    """What a dockerlite_container loop item adds to Ansible's per-item floor, from measured parts:
    the split plays' module process and controller share (item - process) against the file
    no-op's; the imports from the payload zips; the manager's work in a fresh process (and warm).
    "rest" is what is left of the process difference: argument handling and the result, less
    the file module's own work (not measured, so it can come out below zero)."""
    split, imports = fleet['split'], fleet['imports']
    cold, warm = fleet['work_cold'][work_phase], fleet['work'][work_phase]
    ours, floor = split[phase], split['file']
    extra_process = ours['process_ms'] - floor['process_ms']
    extra_import = imports['create']['module_ms'] - imports['file']['module_ms']
    work_ms = mean(cold['per_container_ms'])
    controller, file_controller = ours['per_item_ms'] - ours['process_ms'], floor['per_item_ms'] - floor['process_ms']
    return ('split over %d items: item %s vs file %s = module process %s vs %s (%s: imports %s, ours %s vs file '
            '%s; work %s in a fresh process [%s], %s warm; rest %s) + controller %s vs %s (%s); payload %d vs %d KiB'
            % (split['k'], fmt_ms(ours['per_item_ms']), fmt_ms(floor['per_item_ms']),
               fmt_ms(ours['process_ms']), fmt_ms(floor['process_ms']), fmt_delta(extra_process),
               fmt_delta(extra_import), fmt_ms(imports['create']['module_ms']), fmt_ms(imports['file']['module_ms']),
               fmt_ms(work_ms), fmt_steps(cold['steps_ms']), fmt_ms(mean(warm['per_container_ms'])),
               fmt_delta(extra_process - extra_import - work_ms), fmt_ms(controller), fmt_ms(file_controller),
               fmt_delta(controller - file_controller),
               imports['create']['payload_bytes'] // 1024, imports['file']['payload_bytes'] // 1024))


def changed_note(figures, expected):
    if figures['changed'] != expected:
        return 'reported changed on %d of %d items (expected %d)' % (
            figures['changed'], figures['items'], expected)
    return ''


def over_floor_note(fleet, phase, work_phase, value, floor):
    return 'over the floor by %s: %s' % (fmt_ms(value - floor), split_note(fleet, phase, work_phase))


def rows_create_start(results):
    rows = []
    for fleet in results['fleets']:
        n, floor, create = fleet['n'], fleet['floor']['per_item_ms'], fleet['create']['per_item_ms']
        ratio = create / floor
        changed = changed_note(fleet['create'], n)
        note = changed
        if ratio > TARGET_CREATE:
            note = joined(note, over_floor_note(fleet, 'create', 'create_start', create, floor))
        rows.append(Row('1', 'create+start per container: dockerlite_container loop', n, fmt_ms(create),
                        'Ansible floor %s (file no-op loop; runs %s, %s)' % (
                            fmt_ms(floor), fmt_ms(fleet['floor']['before_ms']), fmt_ms(fleet['floor']['after_ms'])),
                        fmt_ratio(ratio), '≤ %.2f×' % TARGET_CREATE, ratio <= TARGET_CREATE and not changed, note))
        raw = fleet['raw']
        rows.append(Row('1', 'create+start per container: raw floor (snapshot + the module\'s config + python3-lxc start)', n,
                        fmt_ms(mean(raw['total'])), 'dockerlite_container %s' % fmt_ms(create),
                        fmt_ratio(create / mean(raw['total'])), '', None,
                        'snapshot %s, config %s, start %s' % (fmt_ms(mean(raw['snapshot'])),
                                                              fmt_ms(mean(raw['config'])),
                                                              fmt_ms(mean(raw['start'])))))
        rows.append(Row('1', 'Ansible floor as N separate file tasks, per task', n,
                        fmt_ms(fleet['floor_tasks']['per_task_ms']), 'the loop floor %s' % fmt_ms(floor),
                        fmt_ratio(fleet['floor_tasks']['per_task_ms'] / floor)))
        if 'peer_create' in fleet:
            peer = fleet['peer_create']['per_item_ms']
            speedup = peer / create
            note = changed_note(fleet['peer_create'], n)
            if speedup < TARGET_PEER:
                note = joined(note, 'no loop item can beat the floor: the best possible is %s / %s = %s' % (
                    fmt_ms(peer), fmt_ms(floor), fmt_ratio(peer / floor)))
            rows.append(Row('1', 'create+start per container: community.general.lxc_container loop', n,
                            fmt_ms(peer), 'dockerlite_container %s' % fmt_ms(create),
                            '%s faster' % fmt_ratio(speedup), '≥ %.0f× faster' % TARGET_PEER,
                            speedup >= TARGET_PEER, note))
        elif fleet.get('peer_skipped'):
            rows.append(Row('1', 'community.general.lxc_container', n, 'skipped', note=fleet['peer_skipped']))
    return rows


def rows_rerun(results):
    rows = []
    for fleet in results['fleets']:
        n, floor, rerun = fleet['n'], fleet['floor']['per_item_ms'], fleet['rerun']['per_item_ms']
        ratio = rerun / floor
        unchanged = changed_note(fleet['rerun'], 0)
        note = unchanged
        if ratio > TARGET_RERUN:
            note = joined(note, over_floor_note(fleet, 'rerun', 'rerun', rerun, floor))
        rows.append(Row('2', 'unchanged rerun per container: dockerlite_container loop', n, fmt_ms(rerun),
                        'Ansible floor %s' % fmt_ms(floor), fmt_ratio(ratio), '≤ %.2f×' % TARGET_RERUN,
                        ratio <= TARGET_RERUN and not unchanged, note))
        if 'peer_rerun' in fleet:
            peer = fleet['peer_rerun']['per_item_ms']
            rows.append(Row('2', 'unchanged rerun per container: community.general.lxc_container loop', n,
                            fmt_ms(peer), 'dockerlite_container %s' % fmt_ms(rerun),
                            fmt_ratio(peer / rerun) + (' faster' if peer >= rerun else ' (ours is slower)'), '', None,
                            changed_note(fleet['peer_rerun'], 0)))
    return rows


def rows_stack(results):
    stack = results.get('stack')
    if not stack:
        return []
    n, floor = stack['n'], stack['floor_ms']
    imports = stack['imports']
    imports_ms = imports['basic_ms'] + imports['module_ms']
    rows = []
    for phase, label, target, expect in (
            ('create', 'dockerlite_stack create+start of N containers, one task', TARGET_STACK_CREATE,
             dict(changed=True, running=n, existing=n)),
            ('rerun', 'dockerlite_stack unchanged rerun of that task', TARGET_STACK_RERUN,
             dict(changed=False, running=n, existing=n)),
            ('absent', 'dockerlite_stack tear-down (state absent), one task', None,
             dict(changed=True, running=0, existing=0))):
        figures = stack[phase]
        value, process = figures['task_ms'], figures['process_ms']
        ratio = value / floor
        wrong = ['%s %s (expected %s)' % (key, figures[key], want) for key, want in expect.items()
                 if figures[key] != want]
        note = ('task = module process %s (imports %s: basic %s + module %s; the rest %s = interpreter start, '
                'arguments, work, result: %s per container; parallel %s) + controller %s' % (
                    fmt_ms(process), fmt_ms(imports_ms), fmt_ms(imports['basic_ms']), fmt_ms(imports['module_ms']),
                    fmt_ms(process - imports_ms), fmt_ms((process - imports_ms) / n), stack['parallel'],
                    fmt_ms(value - process)))
        if phase == 'create':
            note += '; per container %s (a dockerlite_container loop item costs ≥ the floor)' % fmt_ms(value / n)
        if wrong:
            note = 'WRONG RESULT: %s; %s' % (', '.join(wrong), note)
        rows.append(Row('6', label, n, fmt_ms(value),
                        'Ansible per-task floor %s (file no-op task; runs %s, %s)' % (
                            fmt_ms(floor), fmt_ms(stack['floor_before_ms']), fmt_ms(stack['floor_after_ms'])),
                        fmt_ratio(ratio), '' if target is None else '≤ %.0f×' % target,
                        None if target is None else (ratio <= target and not wrong), note))
    return rows


def rows_commit(results):
    cases = results['commit']
    by_key = {(case['mib'], case['synced']): case for case in cases}
    smallest, largest = min(case['mib'] for case in cases), max(case['mib'] for case in cases)
    rows = []
    for case in cases:
        base = by_key[(smallest, case['synced'])]['commit_ms']
        target, ok, note = '', None, fmt_steps(case['steps_ms'])
        if case['synced'] and case['mib'] == largest and largest > smallest:
            ratio = case['commit_ms'] / base
            target, ok = '≤ %.1f× (%d MiB synced)' % (TARGET_COMMIT, largest), ratio <= TARGET_COMMIT
        if case['synced']:
            note = 'sync before it %s; %s' % (fmt_ms(case['sync_ms']), note)
        rows.append(Row('3', commit_label(case['mib'], case['synced']), None, fmt_ms(case['commit_ms']),
                        'commit of %d MiB %s' % (smallest, 'synced' if case['synced'] else 'unsynced'),
                        fmt_ratio(case['commit_ms'] / base), target, ok, note))
    return rows


def commit_label(mib, synced):
    return 'commit (CommitManager in-process): %d MiB written, %s' % (mib, 'synced first' if synced else 'not synced')


def rows_disk(results):
    rows = []
    for fleet in results['fleets']:
        n, disk = fleet['n'], fleet['disk']
        image_bytes = disk['image_du']['total']
        delta = disk['after']['used'] - disk['before']['used']
        bound = image_bytes + n * TARGET_DISK_MIB * MIB
        measured = image_bytes + delta
        meta_delta = disk['after']['metadata'] - disk['before']['metadata']
        data_delta = disk['after']['data'] - disk['before']['data']
        note = ('containers add %s (%s per container: data %s, metadata %s before DUP); one container: '
                'exclusive %d B, shared %s' % (
                    fmt_mib(delta), fmt_mib(delta / n), fmt_mib(data_delta), fmt_mib(meta_delta),
                    disk['container_du']['exclusive'], fmt_mib(disk['container_du']['shared'])))
        rows.append(Row('4', 'disk: image + N running containers (before they write)', n, fmt_mib(measured),
                        'image %s + N × 1 MiB = %s' % (fmt_mib(image_bytes), fmt_mib(bound)),
                        fmt_ratio(measured / bound), '≤ 1.00×', measured <= bound, note))
    return rows


def rows_stop_remove(results):
    rows = []
    for fleet in results['fleets']:
        n, floor = fleet['n'], fleet['floor']['per_item_ms']
        raw = fleet['raw']
        for phase, label in (('stop', 'stop'), ('remove', 'remove (stopped)')):
            value = fleet[phase]['per_item_ms']
            work = 'work in-process %s (fresh process), %s warm; raw %s %s' % (
                fmt_ms(mean(fleet['work_cold'][phase]['per_container_ms'])),
                fmt_ms(mean(fleet['work'][phase]['per_container_ms'])), phase, fmt_ms(mean(raw[phase])))
            rows.append(Row('5', '%s per container: dockerlite_container loop' % label, n, fmt_ms(value),
                            'Ansible floor %s' % fmt_ms(floor), fmt_ratio(value / floor), '', None,
                            joined(changed_note(fleet[phase], n), work)))
    hook = results.get('hook', {})
    if 'skipped' in hook:
        rows.append(Row('5', 'lxcfs hook', None, 'skipped', note=hook['skipped']))
    elif hook:
        ours, common = median(hook['ours']['stop']), median(hook['common_conf']['stop'])
        rows.append(Row('5', 'stop (python3-lxc): config including LXC common.conf, median', results['hook_n'],
                        fmt_ms(common), 'our config %s' % fmt_ms(ours), fmt_ratio(common / ours), '', None,
                        'the hook costs %s per stop; common.conf.d: %s; start %s vs ours %s' % (
                            fmt_ms(common - ours), ', '.join(hook['hooks']) or 'empty',
                            fmt_ms(median(hook['common_conf']['start'])), fmt_ms(median(hook['ours']['start'])))))
    return rows


def rows_quota(results):
    """Figure 7: each figure with quotas on against the same with quotas off."""
    quota = results.get('quota')
    if not quota:
        return []
    off, on, n = quota['off'], quota['on'], quota['n']
    pairs = [
        ('create+start per container, loop (on: with disk_limit)', n, off['create']['per_item_ms'],
         on['create']['per_item_ms'], 'turning quotas on took %s' % fmt_ms(on['enable_ms'])),
        ('remove per container, loop (%d MiB written in each)' % quota['write_mib'], n,
         off['remove']['per_item_ms'], on['remove']['per_item_ms'], ''),
        ('btrfs cleaner after those removals (snapshot deletion)', n, off['cleaner_ms'], on['cleaner_ms'],
         'until btrfs subvolume list -d is empty'),
    ]
    for case_off, case_on in zip(off['commit'], on['commit']):
        pairs.append((commit_label(1, case_on['synced']), None, case_off['commit_ms'], case_on['commit_ms'], ''))
    if 'stack_create' in on:
        stack_n = quota['stack_n']
        pairs += [('dockerlite_stack create+start, one task (on: with disk_limit)', stack_n,
                   off['stack_create']['task_ms'], on['stack_create']['task_ms'], ''),
                  ('dockerlite_stack tear-down (state absent), one task', stack_n, off['stack_absent']['task_ms'],
                   on['stack_absent']['task_ms'], ''),
                  ('btrfs cleaner after the stack tear-down', stack_n, off['stack_cleaner_ms'],
                   on['stack_cleaner_ms'], '')]
    return [Row('7', 'quotas on: ' + label, count, fmt_ms(with_quota), 'quotas off %s' % fmt_ms(without),
                fmt_ratio(with_quota / without) if without else '', '', None, note)
            for label, count, without, with_quota, note in pairs]


def fmt_bytes(value):
    return '%.2f MiB' % (value / MIB) if abs(value) >= MIB else '%.1f KiB' % (value / 1024)


def faster(ours, peer):
    """'1.23× faster' or '0.81× (ours is slower)': the peer's time over ours."""
    ratio = peer / ours
    return fmt_ratio(ratio) + (' faster' if ratio >= 1 else ' (ours is slower)')


def rows_registry(results):
    """Figure 8: pull and push through a local registry (bench/dockerlite_bench/registry.py)."""
    reg = results.get('registry')
    if not reg:
        return []
    if 'skipped' in reg:
        return [Row('8', 'registry pull and push', None, 'skipped', note=reg['skipped'])]
    rows = []
    size = '%d MiB' % reg['total_mib']
    pull, floor, podman = reg['pull'], reg['floor_ms'], reg['podman_pull']
    ratio = pull['ms'] / floor
    ok = ratio <= TARGET_PULL and pull['ms'] < podman['ms'] and pull['changed']
    rows.append(Row('8', 'pull of a 3-layer %s image from the local registry: dockerlite_image, one task' % size, None,
                    fmt_ms(pull['ms']), 'skopeo copy + umoci unpack %s' % fmt_ms(floor), fmt_ratio(ratio),
                    '≤ %.1f× and faster than podman pull' % TARGET_PULL, ok,
                    joined('' if pull['changed'] else 'reported no change',
                           'podman pull %s: ours %s' % (fmt_ms(podman['ms']), faster(pull['ms'], podman['ms'])),
                           'bytes written %s (podman %s)' % (fmt_bytes(pull['bytes_written']),
                                                             fmt_bytes(podman['bytes_written'])),
                           'includes the Ansible task (per-task floor %s)' % fmt_ms(reg['task_floor_ms']))))
    second, podman2 = reg['second'], reg['podman_second']
    rows.append(Row('8', 'pull of a second image sharing the lower two layers (its own: %.0f MiB)'
                    % reg['layers_mib'][-1], None,
                    '%s, %s written' % (fmt_ms(second['ms']), fmt_bytes(second['bytes_written'])),
                    'podman pull %s, %s written' % (fmt_ms(podman2['ms']), fmt_bytes(podman2['bytes_written'])),
                    faster(second['ms'], podman2['ms']), '', None,
                    'dockerlite: the device\'s used bytes (data + metadata); podman: its storage\'s allocated bytes'))
    repull = reg['repull']
    ratio = repull['ms'] / reg['task_floor_ms']
    # Results of runs before the re-pull was measured as the floor is (several tasks, one play) have no 'tasks'.
    shape = 'per task of %d in one play' % repull['tasks'] if repull.get('tasks') else 'one task'
    rows.append(Row('8', 'unchanged re-pull (pull: always), %s' % shape, None, fmt_ms(repull['ms']),
                    'Ansible per-task floor %s' % fmt_ms(reg['task_floor_ms']), fmt_ratio(ratio),
                    '≤ %.1f×' % TARGET_REPULL, ratio <= TARGET_REPULL and not repull['changed'],
                    joined('reported changed' if repull['changed'] else '',
                           'the first task %s (it also builds the module\'s payload)' % fmt_ms(repull['first_ms'])
                           if repull.get('first_ms') is not None else '',
                           'bytes written %s' % fmt_bytes(repull['bytes_written']))))
    push, podman_push = reg.get('push'), reg.get('podman_push')
    if push:
        rows.append(Row('8', 'push of a commit of 1 MiB written on the pulled %s image: dockerlite_image_push' % size,
                        None, '%s uploaded, %s' % (fmt_bytes(push['bytes_uploaded']), fmt_ms(push['ms'])),
                        'podman push of the same change: %s, %s' % (fmt_bytes(podman_push['bytes_uploaded']),
                                                                    fmt_ms(podman_push['ms'])),
                        faster(push['ms'], podman_push['ms']), '≤ %s uploaded' % fmt_bytes(TARGET_PUSH_BYTES),
                        push['bytes_uploaded'] <= TARGET_PUSH_BYTES and push['changed'],
                        joined('' if push['changed'] else 'reported no change',
                               'bytes uploaded: growth of the registry\'s storage (blobs, manifest, links)')))
    return rows + rows_pull_like_for_like(reg, size)


# A like-for-like pull is complete when Podman's storage grew by at least this share of what its first pull wrote.
PULL_REDOWNLOAD_SHARE = 0.9


def rows_pull_like_for_like(reg, size):
    """Figure 8's pull with both sides on the same footing: ours run directly (no controller) against the
    podman pull CLI, and ours in a one-task play against containers.podman.podman_image in a one-task play.
    Absent from results of runs before they were measured."""
    rows, podman = [], reg['podman_pull']
    direct = reg.get('direct_pull')
    if direct:
        # Runs that measured them take turns with podman pull into an emptied storage; older ones had one of each.
        fresh = reg.get('podman_pull_fresh') or podman
        rounds = direct.get('runs_ms')
        ratio = direct['ms'] / fresh['ms']
        rows.append(Row('8', 'pull of the 3-layer %s image, directly: dockerlite_image without a controller, into a '
                        'fresh store of its own' % size, None, fmt_ms(direct['ms']),
                        'podman pull %s (the CLI)' % fmt_ms(fresh['ms']), fmt_ratio(ratio), 'faster than podman',
                        ratio < 1 and direct['changed'],
                        joined('' if direct['changed'] else 'reported no change',
                               'ours / podman; /usr/bin/python3 -m ...dockerlite_image ARGS.json, nothing shared '
                               'with the store of the pulls above',
                               'medians of %d rounds taking turns, each podman pull after podman rmi --all: ours %s, '
                               'podman %s' % (len(rounds), ' '.join(fmt_ms(ms) for ms in rounds),
                                              ' '.join(fmt_ms(ms) for ms in fresh['runs_ms'])) if rounds else '',
                               'bytes written %s (podman %s)' % (fmt_bytes(direct['bytes_written']),
                                                                 fmt_bytes(fresh['bytes_written'])))))
    if reg.get('podman_image_skipped'):
        rows.append(Row('8', 'pull through Ansible on both sides: containers.podman.podman_image', None, 'skipped',
                        note=reg['podman_image_skipped']))
    module = reg.get('podman_image_pull')
    if module:
        pull = reg['pull']
        ratio = pull['ms'] / module['ms']
        complete = module['bytes_written'] >= PULL_REDOWNLOAD_SHARE * podman['bytes_written']
        rows.append(Row('8', 'pull of the 3-layer %s image through Ansible on both sides: dockerlite_image, one task'
                        % size, None, fmt_ms(pull['ms']),
                        'containers.podman.podman_image, one task: %s' % fmt_ms(module['ms']), fmt_ratio(ratio),
                        'faster than podman', ratio < 1 and pull['changed'] and module['changed'] and complete,
                        joined('' if module['changed'] else 'podman_image reported no change',
                               '' if complete else 'podman_image did not download the layers again (it wrote %s, '
                               'the podman pull CLI %s)' % (fmt_bytes(module['bytes_written']),
                                                            fmt_bytes(podman['bytes_written'])),
                               'ours / podman_image; podman_image on %s, after podman rmi of every image of '
                               'those layers (Podman\'s storage %s before, %s after, images left: %s); it wrote %s'
                               % (module['interpreter'], fmt_bytes(module['storage_before_rmi']),
                                  fmt_bytes(module['storage_before']), len(module['images_left']) or 'none',
                                  fmt_bytes(module['bytes_written'])))))
    return rows


# Figures measured alone with BENCH_ONLY, and their rows.
ONLY_ROWS = {'registry': (rows_registry,)}

ROWS = (
    rows_create_start,
    rows_rerun,
    rows_commit,
    rows_disk,
    rows_stop_remove,
    rows_stack,
    rows_registry,
    rows_quota,
)


def markdown_lines(columns, cell_rows):
    """A markdown table of ``columns`` and rows of cells (a '|' in a cell escaped)."""
    lines = ['| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
    for cells in cell_rows:
        lines.append('| ' + ' | '.join(cell.replace('|', '\\|') for cell in cells) + ' |')
    return '\n'.join(lines)


def markdown_table(rows):
    return markdown_lines(Row.COLUMNS, [row.cells for row in rows])


def busy(load, cpus):
    """Whether a load average says the machine was busy: above half the CPU count."""
    return load > 0.5 * cpus


def report_text(results, ns, peer_ns, cpus):
    """The header (machine, run, a warning when the machine was busy) and the table."""
    only = results.get('only')
    builders = [build for name in only for build in ONLY_ROWS.get(name, ())] if only else ROWS
    rows = [row for build_rows in builders for row in build_rows(results)]
    info = results['machine']
    header = ['Machine: %s, %s RAM, kernel %s, Debian %s; %s; %s; %s; %s.' % (
        info['cpu'], info['memory'], info['kernel'], info['debian'], info['ansible'], info['host_python'],
        'LXC ' + info['lxc'], info['btrfs']),
        'Run: %s, %.0f s, load average %.2f before, %.2f after; N = %s; lxc_container at N = %s; '
        'image %s (build %s); loop file grew to %s.' % (
            results['date'], results['seconds'], results['load_before'][0], results['load_after'][0],
            'none (BENCH_ONLY=%s)' % ' '.join(only) if only else ' '.join(map(str, ns)),
            'skipped' if only else ' '.join(map(str, peer_ns)) or 'skipped',
            fmt_mib(results['image']['used_delta']), fmt_ms(results['image']['build_ms']),
            fmt_mib(results.get('loopfile_allocated', 0)))]
    if busy(results['load_before'][0], cpus):
        header.append('**The machine was busy** (load average %.2f on %d CPUs when the run began): the '
                      'figures are noisy.' % (results['load_before'][0], cpus))
    # Figure 9 (Docker and Podman) has a column per peer: a table of its own, after this one.
    from .peer_report import peer_section  # pylint: disable=import-outside-toplevel,cyclic-import

    return '\n'.join(header) + '\n\n' + markdown_table(rows) + '\n' + (
        peer_section(results) if not only or 'peers' in only else '')


def write_report(results, settings):
    """results.md (header and table) and results.json in the output directory; returns the text."""
    text = report_text(results, settings.ns, settings.peer_ns, os.cpu_count() or 1)
    with open(os.path.join(settings.output, 'results.md'), 'w') as handle:
        handle.write(text)
    with open(os.path.join(settings.output, 'results.json'), 'w') as handle:
        json.dump(results, handle, indent=1)
    from .peer_report import peer_summary  # pylint: disable=import-outside-toplevel,cyclic-import

    summary, path = peer_summary(results), os.path.join(settings.output, 'peers-summary.md')
    if summary:
        with open(path, 'w') as handle:
            handle.write(summary)
    elif os.path.exists(path):  # an earlier run's
        os.unlink(path)
    return text
