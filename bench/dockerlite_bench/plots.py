# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The PNG figures 1 to 5, from a run's results dict (matplotlib, imported only here)."""

from __future__ import annotations

import os

from .common import MIB, mean, median
from .report import TARGET_DISK_MIB


def bars(ax, groups, series, ylabel, log=False, colors=None):
    """Grouped bars: one group per label of ``groups``, one bar per (label, values) of ``series``;
    ``colors`` maps a series' label to its colour (default: matplotlib's cycle)."""
    width = 0.8 / len(series)
    for index, (label, values) in enumerate(series):
        xs = [pos + (index - (len(series) - 1) / 2) * width for pos in range(len(groups))]
        drawn = ax.bar(xs, [v or 0 for v in values], width, label=label, color=(colors or {}).get(label))
        ax.bar_label(drawn, labels=['%.0f' % v if v else '' for v in values], fontsize=7)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale('log')
    ax.legend(fontsize=8)


PEER_COLORS = {'Ansible floor': 'grey', 'dockerlite': 'C0', 'docker': 'C1', 'podman': 'C2'}


def plot_peers(plt, figures):
    """Figure 9: dockerlite.core, Docker and Podman side by side: through Ansible, directly, memory."""
    tools = ['dockerlite'] + [peer for peer in figures['peers'] if peer in figures.get('ansible', {})]
    ansible, direct, commit = figures.get('ansible', {}), figures.get('direct', {}), figures.get('commit', {})
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    phases = ('create', 'rerun', 'stop', 'remove', 'oneoff')
    bars(axes[0], list(phases), [('Ansible floor', [mean([ansible[t]['floor_ms'] for t in tools if t in ansible])
                                                    for _phase in phases])] +
         [(tool, [ansible.get(tool, {}).get(phase, {}).get('per_item_ms') for phase in phases]) for tool in tools],
         'ms per container', colors=PEER_COLORS)
    axes[0].set_title('9a. through Ansible (%d-item loops)' % figures['n'])
    sizes = sorted({int(size) for data in commit.values() for size in data})
    groups = ['create+start', 'one-off'] + ['commit %d MiB' % size for size in sizes]
    bars(axes[1], groups, [(tool, [direct.get(tool, {}).get('create_ms'), direct.get(tool, {}).get('oneoff_ms')]
                            + [commit.get(tool, {}).get(str(size)) for size in sizes]) for tool in tools],
         'ms (log)', log=True, colors=PEER_COLORS)
    axes[1].set_title('9b. directly (module without a controller vs CLI)')
    memory = [(tool, [ansible[tool]['memory']['monitor_kib'] / 1024, ansible[tool]['memory']['init_kib'] / 1024])
              for tool in tools if tool in ansible]
    bars(axes[2], ['monitor', 'PID 1'], memory, 'MiB RSS per idle container', colors=PEER_COLORS)
    axes[2].set_title('9c. memory per idle container')
    return fig


def plot_all(results, output):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    written = []

    def save(fig, name):
        path = os.path.join(output, name)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    fleets = results['fleets']
    groups = ['N = %d' % fleet['n'] for fleet in fleets]

    fig, ax = plt.subplots(figsize=(8, 4.5))
    bars(ax, groups, [
        ('raw floor (snapshot + start)', [mean(f['raw']['total']) for f in fleets]),
        ('Ansible floor (file no-op)', [f['floor']['per_item_ms'] for f in fleets]),
        ('dockerlite_container', [f['create']['per_item_ms'] for f in fleets]),
        ('lxc_container', [f.get('peer_create', {}).get('per_item_ms') for f in fleets]),
    ], 'ms per container (log)', log=True)
    ax.set_title('1. create+start, per container')
    save(fig, 'create_start.png')

    fig, ax = plt.subplots(figsize=(8, 4.5))
    bars(ax, groups, [
        ('Ansible floor (file no-op)', [f['floor']['per_item_ms'] for f in fleets]),
        ('dockerlite_container', [f['rerun']['per_item_ms'] for f in fleets]),
        ('lxc_container', [f.get('peer_rerun', {}).get('per_item_ms') for f in fleets]),
    ], 'ms per container')
    ax.set_title('2. unchanged rerun, per container')
    save(fig, 'rerun.png')

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for synced, label in ((True, 'synced first'), (False, 'not synced')):
        cases = sorted((c for c in results['commit'] if c['synced'] == synced), key=lambda c: c['mib'])
        ax.plot([c['mib'] for c in cases], [c['commit_ms'] for c in cases], marker='o', label=label)
    ax.set_xscale('log')
    ax.set_yscale('log')
    ax.set_xlabel('MiB written in the container before the commit')
    ax.set_ylabel('commit ms (log)')
    ax.set_title('3. commit time against data written')
    ax.legend()
    save(fig, 'commit.png')

    fig, ax = plt.subplots(figsize=(8, 4.5))
    bars(ax, groups, [
        ('image', [f['disk']['image_du']['total'] / MIB for f in fleets]),
        ('N containers (used delta)', [(f['disk']['after']['used'] - f['disk']['before']['used']) / MIB
                                       for f in fleets]),
        ('target: N × 1 MiB', [f['n'] * TARGET_DISK_MIB for f in fleets]),
    ], 'MiB')
    ax.set_title('4. disk used by N containers of one image')
    save(fig, 'disk.png')

    fig, ax = plt.subplots(figsize=(8, 4.5))
    labels = []
    values = []
    for fleet in fleets:
        labels += ['stop N=%d' % fleet['n'], 'remove N=%d' % fleet['n']]
        values += [fleet['stop']['per_item_ms'], fleet['remove']['per_item_ms']]
    hook = results.get('hook', {})
    if 'ours' in hook:
        labels += ['raw stop, our config', 'raw stop, common.conf']
        values += [median(hook['ours']['stop']), median(hook['common_conf']['stop'])]
    drawn = ax.bar(range(len(values)), values)
    ax.bar_label(drawn, labels=['%.0f' % v for v in values], fontsize=7)
    ax.set_xticks(range(len(values)), labels, rotation=20, fontsize=8)
    ax.axhline(median([f['floor']['per_item_ms'] for f in fleets]), color='grey', linestyle='--',
               label='Ansible floor')
    ax.set_ylabel('ms per container')
    ax.set_title('5. stop and remove (module loops), and the lxcfs hook on a raw stop')
    ax.legend()
    save(fig, 'stop_remove.png')

    if results.get('peers', {}).get('ansible'):
        save(plot_peers(plt, results['peers']), 'peers.png')
    return written
