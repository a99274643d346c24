# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The table of figure 9 (dockerlite.core, Docker and Podman side by side): pure functions of ``results['peers']``.

A column per peer that ran, and per row: ours over the faster peer, the target, whether it is met
and whether ours is faster (or smaller) than every peer. Where a target is missed, the note says
what bounds the figure, from the same run; ``NOTES`` adds a measured explanation per row key.
"""

from __future__ import annotations

from .report import fmt_delta, fmt_mib, fmt_ms, fmt_ratio, joined, markdown_lines, met

# Ours over the faster peer (ratios within one run).
TARGETS = {
    'ansible_create': 0.6, 'ansible_rerun': 0.6, 'ansible_remove': 0.6, 'ansible_oneoff': 0.8,
    'direct_create': 1.0, 'direct_oneoff': 1.0, 'commit_small': 1.0, 'commit_large': 0.1,
}
TARGET_RERUN_FLOOR = 1.05  # dockerlite_container's unchanged rerun <= 1.05 x Ansible's per-item floor
# Measured explanations of a missed target, by row key (filled from real runs); shown after the computed note.
NOTES = {
    'direct_create': 'bound: a module run starts Python and imports ansible.module_utils.basic before any work '
                     '(the figure above), about what a Go CLI takes for the whole run; the work itself is the rest',
    'direct_oneoff': 'bound: as for create+start, the module\'s interpreter start and imports (above)',
    'commit_small': 'bound: the module\'s interpreter start and imports (above); the commit itself is the rest',
    'commit_large': 'bound: btrfs writes the written data out before it snapshots (the sync above); a commit of '
                    'data already on disk takes the time given above, a fraction of the peers\'',
}

ANSIBLE_PHASES = (('create', 'create+start'), ('rerun', 'unchanged rerun'), ('stop', 'stop'),
                  ('remove', 'removal (stopped)'), ('oneoff', 'one-off run with output (detach: false)'))
COLUMNS_BEFORE = ('#', 'Figure', 'N', 'dockerlite.core')
COLUMNS_AFTER = ('Ours / faster peer', 'Target', 'Met', 'Faster than every peer', 'Bound / note')


def compare(ours, peers, target=None):
    """Ours against the peers' values (lower is better; None: not measured): the ratio to the best
    peer, whether ours is below every peer, and whether the target (a ratio) is met (None: no target)."""
    values = [value for value in peers.values() if value is not None]
    if ours is None or not values:
        return None
    ratio = ours / min(values)
    return {'ratio': ratio, 'faster_than_all': all(ours < value for value in values),
            'met': None if target is None else ratio <= target}


class PeerRow:
    """One row: a key (for TARGETS and NOTES), a label, N, and each tool's value and cell text."""

    def __init__(self, key, label, n, values, cells, note=''):
        self.key, self.label, self.n, self.values, self.cells, self.note = key, label, n, values, cells, note

    def render(self, peers):
        target = TARGETS.get(self.key)
        verdict = compare(self.values.get('dockerlite'), {peer: self.values.get(peer) for peer in peers}, target)
        note = self.note
        missed = verdict is not None and verdict['met'] is False
        if missed and NOTES.get(self.key):
            note = joined(note, NOTES[self.key])
        cells = [self.label, '' if self.n is None else str(self.n), self.cells.get('dockerlite', 'n/a')]
        cells += [self.cells.get(peer, 'n/a') for peer in peers]
        if verdict is None:
            cells += ['', '', '', '']
        else:
            cells += [fmt_ratio(verdict['ratio']), '' if target is None else '≤ %.2f×' % target,
                      '' if verdict['met'] is None else met(verdict['met']),
                      'yes' if verdict['faster_than_all'] else '**no**']
        return ['9'] + cells + [note]


def ansible_rows(figures, peers):
    ansible = figures.get('ansible')
    if not ansible:
        return []
    n, rows = figures['n'], []
    for phase, label in ANSIBLE_PHASES:
        values = {tool: data[phase]['per_item_ms'] for tool, data in ansible.items()}
        floors = {tool: data['floor_ms'] for tool, data in ansible.items()}
        cells = {tool: '%s (%s floor)' % (fmt_ms(value), fmt_ratio(value / floors[tool]))
                 for tool, value in values.items()}
        note = ''
        verdict = compare(values.get('dockerlite'), {peer: values.get(peer) for peer in peers}, TARGETS.get(
            'ansible_' + phase))
        if verdict and verdict['met'] is False:
            best = min(values[peer] for peer in peers if peer in values)
            floor = floors['dockerlite']
            note = ('the Ansible floor (file no-op loop item, same play) is %s: no loop item goes below %s of '
                    'the faster peer; ours is the floor %s' % (fmt_ms(floor), fmt_ratio(floor / best),
                                                               fmt_delta(values['dockerlite'] - floor)))
        rows.append(PeerRow('ansible_' + phase, '%s per container, through Ansible (loop)' % label, n, values, cells,
                            joined(wrong_changes(ansible, phase, n), note)))
    ours = ansible.get('dockerlite')
    if ours:
        ratio = ours['rerun']['per_item_ms'] / ours['floor_ms']
        rows.append(PeerRow('rerun_floor', 'dockerlite_container unchanged rerun against the Ansible floor', n, {},
                            {'dockerlite': '%s, floor %s: %s (target ≤ %.2f×: %s)' % (
                                fmt_ms(ours['rerun']['per_item_ms']), fmt_ms(ours['floor_ms']), fmt_ratio(ratio),
                                TARGET_RERUN_FLOOR, met(ratio <= TARGET_RERUN_FLOOR))},
                            'floor runs %s, %s' % (fmt_ms(ours['floor_before']['per_item_ms']),
                                                   fmt_ms(ours['floor_after']['per_item_ms']))))
    rows.append(PeerRow('disk', 'disk added per container (N running, before they write)', n,
                        {tool: data['disk_bytes'] / n for tool, data in ansible.items()},
                        {tool: fmt_mib(data['disk_bytes'] / n) for tool, data in ansible.items()},
                        'dockerlite: the btrfs device\'s used bytes (data + metadata as DUP stores it); peers: the '
                        'allocated bytes of their storage directory (du)'))
    memory = {tool: (data['memory']['monitor_kib'] + data['memory']['init_kib']) * 1024
              for tool, data in ansible.items()}
    rows.append(PeerRow('memory', 'memory (RSS) per idle container: monitor + PID 1', n, memory,
                        {tool: '%s (%s %s + PID 1 %s)' % (
                            fmt_mib(memory[tool]), data['memory']['monitor'],
                            fmt_mib(data['memory']['monitor_kib'] * 1024), fmt_mib(data['memory']['init_kib'] * 1024))
                         for tool, data in ansible.items()},
                        joined('the daemons (dockerd, containerd) are not counted', anon_note(ansible))))
    return rows


def anon_note(ansible):
    """The monitors' anonymous memory (their own, not shared with a file), when measured."""
    known = [(tool, data['memory']['monitor_anon_kib']) for tool, data in ansible.items()
             if 'monitor_anon_kib' in data['memory']]
    if not known:
        return ''
    listed = ', '.join('%s %s' % (tool, fmt_mib(kib * 1024)) for tool, kib in known)
    return "the monitor's anonymous memory: %s" % listed


def wrong_changes(ansible, phase, n):
    """Which tools reported a change count other than expected (none for the rerun, every item else)."""
    expected = 0 if phase == 'rerun' else n
    return ', '.join('%s reported changed on %d of %d items (expected %d)' % (
        tool, data[phase]['changed'], data[phase]['items'], expected)
        for tool, data in sorted(ansible.items()) if data[phase]['changed'] != expected)


def start_bound(ours, field):
    """What a direct module run cannot go below: the interpreter's start and the module's import."""
    if field not in ours:
        return ''
    return ('of ours: interpreter start %s + import of the module (with ansible.module_utils.basic; compiled '
            'files cached) %s = %s' % (fmt_ms(ours['python_ms']), fmt_ms(ours[field]),
                                       fmt_ms(ours['python_ms'] + ours[field])))


def direct_rows(figures, peers):
    direct = figures.get('direct')
    if not direct:
        return []
    rows = []
    bound = start_bound(direct.get('dockerlite', {}), 'import_ms')
    for key, label, field in (('direct_create', 'create+start, directly (module without a controller vs '
                               'the CLI\'s run --detach)', 'create_ms'),
                              ('direct_oneoff', 'one-off run with output, directly (module with detach: false and '
                               'cleanup vs the CLI\'s run --rm)', 'oneoff_ms')):
        values = {tool: data[field] for tool, data in direct.items()}
        rows.append(PeerRow(key, label, figures['n'], values, {tool: fmt_ms(value) for tool, value in values.items()},
                            bound))
    return rows


def commit_rows(figures, peers):
    commit = figures.get('commit')
    if not commit:
        return []
    sizes = sorted({int(size) for data in commit.values() for size in data})
    rows = []
    for size in sizes:
        key = 'commit_large' if size == sizes[-1] and len(sizes) > 1 else 'commit_small'
        values = {tool: data.get(str(size)) for tool, data in commit.items()}
        synced = figures.get('commit_synced', {}).get(str(size))
        rows.append(PeerRow(key, 'commit of a running container after %d MiB written (not synced), directly' % size,
                            None, values, {tool: fmt_ms(value) for tool, value in values.items()},
                            joined('dockerlite_commit run directly vs docker commit / podman commit',
                                   synced and 'ours with the data flushed first (btrfs filesystem sync %s before '
                                              'it): %s' % (fmt_ms(synced['sync_ms']), fmt_ms(synced['commit_ms'])),
                                   start_bound(figures.get('direct', {}).get('dockerlite', {}), 'import_commit_ms'))))
    return rows


def stack_rows(figures, peers):
    stack = figures.get('stack')
    if not stack:
        return []
    values = {tool: data['ms'] for tool, data in stack.items()}
    return [PeerRow('stack', 'stack: create+start of %d containers through Ansible' % figures['stack_n'],
                    figures['stack_n'], values,
                    {tool: fmt_ms(value) for tool, value in values.items()},
                    '; '.join('%s: %s' % (tool, data['how']) for tool, data in stack.items()))]


def peer_section(results):
    """The heading, the skipped peers and the table of figure 9; '' when no peer was asked for."""
    figures = results.get('peers')
    if not figures:
        return ''
    peers = measured_peers(figures)
    lines = ['', 'Figure 9: compared with %s, in the same run on the same busybox rootfs; the three modules on %s.'
             % (', '.join('%s %s' % (peer.capitalize(), figures.get('versions', {}).get(peer) or '')
                          for peer in peers) or 'no peer', figures['module_python'])]
    for _peer, why in sorted(figures['skipped'].items()):
        lines.append('skipped: %s' % why)
    if not peers:
        return '\n'.join(lines) + '\n'
    lines += ['', markdown_lines(COLUMNS_BEFORE + tuple(peers) + COLUMNS_AFTER,
                                 [row.render(peers) for row in all_rows(figures, peers)])]
    return '\n'.join(lines) + '\n'


def measured_peers(figures):
    measured = set(figures.get('ansible', {})) | set(figures.get('direct', {}))
    return [peer for peer in figures['peers'] if peer in measured]


def all_rows(figures, peers):
    return [row for build in (ansible_rows, direct_rows, commit_rows, stack_rows) for row in build(figures, peers)]


def peer_summary(results):
    """A short table for the project's README (``peers-summary.md``): the machine and the date, and per
    row each tool's figure and whether ours is faster than every peer; '' when no peer ran."""
    figures = results.get('peers') or {}
    peers = measured_peers(figures) if figures else []
    if not peers:
        return ''
    info = results['machine']
    lines = ['From `make bench` on %s, %s RAM, kernel %s, %s (load average %.2f before the run, %.2f after); '
             'through Ansible: %d-item loops, ms per container and, in brackets, the ratio to Ansible\'s own '
             'cost (a no-op `ansible.builtin.file` loop item in the same play).' % (
                 info['cpu'], info['memory'], info['kernel'], results['date'], results['load_before'][0],
                 results.get('load_after', [0.0])[0], figures['n']), '']
    columns = ('', 'dockerlite.core') + tuple('%s %s' % (peer.capitalize(), figures.get('versions', {}).get(peer, ''))
                                              for peer in peers) + ('faster than every peer',)
    cells = []
    for row in all_rows(figures, peers):
        if row.key == 'rerun_floor':
            continue
        rendered = row.render(peers)
        cells.append([row.label.replace(' per container, through Ansible (loop)', ', through Ansible')]
                     + rendered[3:4 + len(peers)] + [rendered[-2]])
    return '\n'.join(lines + [markdown_lines(columns, cells)]) + '\n'
