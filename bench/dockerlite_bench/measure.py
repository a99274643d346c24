# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The measurements.

Each function measures one thing and stores its figures in ``fleet`` (one dict per
container count N) or in ``results`` (once per run); the registries at the end say in
which order they run. Figures 1, 2, 4 and 5 share the same N containers: created by
measure_create_start, rerun, measured on disk, stopped and removed by the functions
after it.
"""

from __future__ import annotations

import glob
import os
import shutil

from .common import (COMMAND, COMMON_CONF, CONTAINER_MODULE, FLOOR_MODULE, IMAGE, IMAGE_MODULE, MIB, PEER_MODULE,
                     log, mean, median, run, timed_ms)
from .peer_figures import measure_peers
from .registry import measure_registry
from .runner import (FLOOR_ARGS, loop_figures, loop_task, names, payload_zip, stack_members, stack_task, state_loop,
                     task_ms)

STACK_FLOOR_TASKS = 10  # separate file no-op tasks per run of the stack's per-task floor
QUOTA_WRITE_MIB = 1     # written into each container of figure 7 before it is removed
# The AnsiballZ file and the module to import from its payload, per kept play.
PAYLOADS = {'file': ('AnsiballZ_file.py', 'ansible.modules.file'),
            'create': ('AnsiballZ_dockerlite_container.py',
                       'ansible_collections.dockerlite.core.plugins.modules.dockerlite_container'),
            'stack': ('AnsiballZ_dockerlite_stack.py',
                      'ansible_collections.dockerlite.core.plugins.modules.dockerlite_stack')}
WORK_PHASES = ('create_start', 'rerun', 'stop', 'remove')


def stack_default_parallel():
    """dockerlite_stack's default for parallel (the benchmark's task leaves it out), imported
    from the collection copy under test (``--build``, on sys.path)."""
    from ansible_collections.dockerlite.core.plugins.module_utils._managers.stack import DEFAULT_PARALLEL

    return DEFAULT_PARALLEL


def container_args(**extra):
    return dict({'name': '{{ item }}', 'image': IMAGE, 'command': COMMAND, 'state': 'started'}, **extra)


def floor_loop(ws, label, n):
    task = loop_task('floor', FLOOR_MODULE, FLOOR_ARGS, names(ws, 'fl', n))
    return loop_figures(ws.ansible.play(label, [task])['tasks'][0], n)


def container_loop(ws, play_name, n):
    """The play of figures 1 and 2: dockerlite_container over the N names in a loop."""
    task = loop_task('create', CONTAINER_MODULE, container_args(), names(ws, 'dl', n))
    return loop_figures(ws.ansible.play(play_name, [task])['tasks'][0], n)


def probe_imports(ws, keep, phase):
    """Median import times of a module from the payload zip of the AnsiballZ file a timed play kept
    in ``keep``, each in a fresh /usr/bin/python3: ansible.module_utils.basic, then the module."""
    filename, module = PAYLOADS[phase]
    wrapper = sorted(glob.glob(os.path.join(keep, '*', filename)))[0]
    zipped = payload_zip(wrapper, keep + '.zip')
    probes = [ws.host('import_probe', {'zip': zipped, 'module': module}, clean_env=True)
              for _probe in range(ws.settings.repeat)]
    return {'basic_ms': median([p['basic_ms'] for p in probes]),
            'module_ms': median([p['module_ms'] for p in probes]),
            'payload_bytes': os.path.getsize(zipped)}


def raw_cycle(ws, raw_names, include=None):
    """The raw floor over ``raw_names``: snapshot + config + start, then stop + delete; ms per step."""
    created = ws.host('raw_create_start', {'lxcpath': ws.raw, 'image_rootfs': ws.image_rootfs, 'names': raw_names,
                                           'command': COMMAND, 'template': ws.template, 'include': include})
    stopped = ws.host('raw_stop_remove', {'lxcpath': ws.raw, 'names': raw_names})
    return dict(created['steps_ms'], **stopped['steps_ms'])


def write_into(ws, name, size_mib):
    """``size_mib`` MiB of random data into container ``name``'s rootfs, from the host."""
    with open(os.path.join(ws.containers, name, 'rootfs', 'bench-data'), 'wb') as handle:
        for _mib in range(size_mib):
            handle.write(os.urandom(MIB))


# -- once, before the measurements ---------------------------------------------

def build_image(ws, results):
    before = ws.disk_usage()
    result = ws.ansible.play('image', [{'name': 'image', IMAGE_MODULE: {'name': IMAGE, 'source': 'busybox'}}])
    images = os.path.join(ws.root, 'images')
    (image_id,) = os.listdir(images)
    ws.image_rootfs = os.path.join(images, image_id, 'rootfs')
    results['image'] = {'build_ms': task_ms(result['tasks'][0]),
                        'used_delta': ws.disk_usage()['used'] - before['used']}


# -- per N ----------------------------------------------------------------------

def measure_floor(ws, fleet):
    """Ansible's own cost: a no-op ansible.builtin.file, as a loop of N items and as N tasks."""
    n = fleet['n']
    fleet['floor'] = floor_loop(ws, 'floor-loop-%d' % n, n)
    fleet['floor']['before_ms'] = fleet['floor']['per_item_ms']
    fleet['floor_tasks'] = {'per_task_ms': ws.ansible.separate_tasks_ms('floor-tasks-%d' % n, n)}


def measure_floor_again(ws, fleet):
    """The floor loop once more, after the module's loops: the floor is the mean of both runs,
    and a large difference between them shows that the machine was busy."""
    n = fleet['n']
    after = floor_loop(ws, 'floor-loop-again-%d' % n, n)['per_item_ms']
    fleet['floor'].update(after_ms=after, per_item_ms=(fleet['floor']['before_ms'] + after) / 2)


def measure_create_start(ws, fleet):
    """Figures 1 and 4: create+start N containers with dockerlite_container in a loop; disk before and after."""
    n = fleet['n']
    before = ws.disk_usage()
    fleet['create'] = container_loop(ws, 'create-%d' % n, n)
    after = ws.disk_usage()
    first = os.path.join(ws.containers, names(ws, 'dl', n)[0])
    fleet['disk'] = {'before': before, 'after': after, 'image_du': ws.du(ws.image_rootfs),
                     'container_du': ws.du(os.path.join(first, 'rootfs'))}
    ws.keep_template(first)


def measure_rerun(ws, fleet):
    """Figure 2: the same play again, which must change nothing."""
    n = fleet['n']
    fleet['rerun'] = container_loop(ws, 'rerun-%d' % n, n)


def measure_split(ws, fleet):
    """What makes up a loop item: the module process (timed by the interpreter) and the
    controller's share (item - process), for the file no-op, create+start and an unchanged
    rerun, over min(N, BENCH_SPLIT_N) items; then the module imports, from the payload zips."""
    k = min(fleet['n'], ws.settings.split_n)
    items = names(ws, 'sp', fleet['n'])[:k]
    split, kept = {}, {}
    for phase, module, args in (('file', FLOOR_MODULE, FLOOR_ARGS),
                                ('create', CONTAINER_MODULE, container_args()),
                                ('rerun', CONTAINER_MODULE, container_args())):
        label = 'split-%s-%d' % (phase, fleet['n'])
        kept[phase] = os.path.join(ws.tmp, 'keep-' + label)
        played, spans = ws.ansible.timed_play(label, [loop_task(phase, module, args, items)], k, keep=kept[phase])
        split[phase] = dict(loop_figures(played[0], k), process_ms=mean(spans))
    ws.ansible.play('split-remove-%d' % fleet['n'], [state_loop('remove', 'absent', items)])
    split['k'] = k
    fleet['split'] = split
    fleet['imports'] = {phase: probe_imports(ws, kept[phase], phase) for phase in ('file', 'create')}


def measure_in_process(ws, fleet):
    """The module's own work: ContainerManager in-process on /usr/bin/python3, per container.

    Warm: all N containers through each phase in one process. Cold: each phase of
    min(N, BENCH_SPLIT_N) containers in a fresh process of its own, as a module run
    does it, so once-per-process costs (liblxc, the store) count; imports are not in
    either (they are measured from the payload).
    """
    n = fleet['n']
    args = {'root': ws.root, 'image': IMAGE, 'command': COMMAND}
    fleet['work'] = ws.host('managed', dict(args, names=names(ws, 'ip', n)))
    cold = {phase: {'per_container_ms': [], 'steps': []} for phase in WORK_PHASES}
    for name in names(ws, 'ic', n)[:ws.settings.split_n]:
        for phase in WORK_PHASES:
            result = ws.host('managed', dict(args, names=[name], phases=[phase]))[phase]
            cold[phase]['per_container_ms'] += result['per_container_ms']
            cold[phase]['steps'].append(result['steps_ms'])
            cold[phase].setdefault('unexpected', []).extend(result['unexpected'])
    for figures in cold.values():
        figures['steps_ms'] = mean_steps(figures.pop('steps'))
    fleet['work_cold'] = cold


def mean_steps(runs):
    """The mean ms of each step over ``runs`` (dicts of step: ms), a missing step counting as 0."""
    labels = sorted({label for steps in runs for label in steps})
    return {label: mean([steps.get(label, 0.0) for steps in runs]) for label in labels}


def measure_stop_remove(ws, fleet):
    """Figure 5 (module): stop the N containers, then remove them, each as a loop."""
    n = fleet['n']
    items = names(ws, 'dl', n)
    stop = ws.ansible.play('stop-%d' % n, [state_loop('stop', 'stopped', items)])
    remove = ws.ansible.play('remove-%d' % n, [state_loop('remove', 'absent', items)])
    fleet['stop'] = loop_figures(stop['tasks'][0], n)
    fleet['remove'] = loop_figures(remove['tasks'][0], n)


def measure_raw_floor(ws, fleet):
    """Figures 1 and 5 (raw floor): a /usr/bin/python3 loop of snapshot + config + start, then stop + delete."""
    fleet['raw'] = raw_cycle(ws, names(ws, 'raw', fleet['n']))


def measure_peer(ws, fleet):
    """Figures 1 and 2 (peer): community.general.lxc_container, template busybox, backing store btrfs,
    in a private mount namespace where the throwaway store's peer/ directory covers LXC's default path."""
    n = fleet['n']
    if n not in ws.settings.peer_ns:
        return
    if not os.path.isdir(ws.default_lxcpath):
        fleet['peer_skipped'] = 'LXC default path %s does not exist' % ws.default_lxcpath
        return
    config = os.path.join(ws.tmp, 'peer.conf')
    with open(config, 'w') as handle:
        # /etc/lxc/default.conf wants a bridge (lxcbr0) that is not there.
        handle.write('lxc.net.0.type = empty\n')
    task = loop_task('create', PEER_MODULE, {'name': '{{ item }}', 'template': 'busybox', 'backing_store': 'btrfs',
                                             'config': config, 'state': 'started'}, names(ws, 'lc', n))
    try:
        create = ws.ansible.play('peer-create-%d' % n, [task], wrap=ws.in_peer_namespace([]))
        rerun = ws.ansible.play('peer-rerun-%d' % n, [task], wrap=ws.in_peer_namespace([]))
    finally:
        ws.clean_peer()
    fleet['peer_create'] = loop_figures(create['tasks'][0], n)
    fleet['peer_rerun'] = loop_figures(rerun['tasks'][0], n)


# -- once per run -------------------------------------------------------------

def measure_stack(ws, results):
    """Figure 6: one dockerlite_stack task converging BENCH_STACK_N containers (create+start), the same
    task again (unchanged) and state=absent, against Ansible's per-task floor, measured just before and
    just after. The stack plays run with the timed interpreter, so each task splits into the module
    process (one, with its forked start/stop workers) and the controller's share; the module's
    imports are probed from the payload zip, as for dockerlite_container."""
    n = ws.settings.stack_n
    if n <= 0:
        return
    members = stack_members(names(ws, 'st', n))
    prefix = '%sst%d-' % (ws.prefix, n)
    figures = {'n': n, 'parallel': stack_default_parallel(),
               'floor_before_ms': ws.ansible.separate_tasks_ms('stack-floor-%d' % n, STACK_FLOOR_TASKS)}
    keep = os.path.join(ws.tmp, 'keep-stack')
    for phase, state in (('create', 'started'), ('rerun', 'started'), ('absent', 'absent')):
        task = stack_task(phase, ws.root, ws.prefix + 'stack', state, members if state != 'absent' else [])
        played, spans = ws.ansible.timed_play('stack-%s-%d' % (phase, n), [task], 1,
                                              keep=keep if phase == 'create' else None)
        figures[phase] = dict({'task_ms': task_ms(played[0]), 'changed': played[0]['changed'],
                               'process_ms': spans[0]}, **ws.count_members(prefix))
        log('stack %s: %.0f ms, changed %s, %d running'
            % (phase, figures[phase]['task_ms'], played[0]['changed'], figures[phase]['running']))
    figures['floor_after_ms'] = ws.ansible.separate_tasks_ms('stack-floor-again-%d' % n, STACK_FLOOR_TASKS)
    figures['floor_ms'] = (figures['floor_before_ms'] + figures['floor_after_ms']) / 2
    figures['imports'] = probe_imports(ws, keep, 'stack')
    shutil.rmtree(keep, ignore_errors=True)
    results['stack'] = figures


def measure_commit(ws, results):
    """Figure 3: commit time against data written in a running container, synced before or not."""
    log('commit: %s MiB, synced and not' % ', '.join(map(str, ws.settings.commit_mib)))
    results['commit'] = commit_cases(ws, ws.settings.commit_mib)


def commit_cases(ws, sizes_mib):
    return ws.host('commit', {'root': ws.root, 'image': IMAGE, 'command': COMMAND, 'sizes_mib': sizes_mib,
                              'repeat': ws.settings.commit_repeat})['cases']


def measure_lxcfs_hook(ws, results):
    """Figure 5 (config): start and stop with our config against the same config including LXC's common.conf."""
    n = ws.settings.hook_n
    if not os.path.exists(COMMON_CONF):
        results['hook'] = {'skipped': '%s does not exist' % COMMON_CONF}
        return
    hook = {variant: raw_cycle(ws, names(ws, 'hk-' + variant.replace('_', '') + '-', n), include)
            for variant, include in (('ours', None), ('common_conf', COMMON_CONF))}
    hooks_dir = os.path.join(os.path.dirname(COMMON_CONF), 'common.conf.d')
    hook['hooks'] = sorted(os.listdir(hooks_dir)) if os.path.isdir(hooks_dir) else []
    results['hook'] = hook


def measure_quota(ws, results):
    """Figure 7: btrfs quotas (qgroups) off, then on, in the same run: create+start of BENCH_QUOTA_N
    containers in a loop (with quotas on each gets a disk_limit, so the limit is set too), their removal
    once each has QUOTA_WRITE_MIB written, the btrfs cleaner's time to drop the deleted subvolumes
    (qgroups make it account for every extent it frees), a commit, and a dockerlite_stack of BENCH_STACK_N
    members created and removed, with the cleaner after it. Runs last, since quotas stay on."""
    n = ws.settings.quota_n
    if n <= 0:
        return
    figures = {'n': n, 'stack_n': ws.settings.stack_n, 'write_mib': QUOTA_WRITE_MIB}
    for mode in ('off', 'on'):
        mode_figures = figures[mode] = {}
        limit = {}
        if mode == 'on':
            mode_figures['enable_ms'] = timed_ms(lambda: (run(['btrfs', 'quota', 'enable', ws.fs]),
                                                          run(['btrfs', 'quota', 'rescan', '-W', ws.fs])))
            limit = {'disk_limit': '1g'}
        ws.quiesce()
        items = names(ws, 'q%s' % mode, n)
        create = ws.ansible.play('quota-%s-create' % mode, [loop_task('create', CONTAINER_MODULE,
                                                                      container_args(**limit), items)])
        for name in items:
            write_into(ws, name, QUOTA_WRITE_MIB)
        ws.quiesce()
        remove = ws.ansible.play('quota-%s-remove' % mode, [state_loop('remove', 'absent', items)])
        mode_figures.update(create=loop_figures(create['tasks'][0], n), remove=loop_figures(remove['tasks'][0], n),
                            cleaner_ms=timed_ms(ws.quiesce))
        mode_figures['commit'] = commit_cases(ws, [1])
        if ws.settings.stack_n > 0:
            members = stack_members(names(ws, 'qs%s' % mode, ws.settings.stack_n), **limit)
            for phase, state in (('create', 'started'), ('absent', 'absent')):
                task = stack_task(phase, ws.root, ws.prefix + 'qstack' + mode, state, members)
                played = ws.ansible.play('quota-%s-stack-%s' % (mode, phase), [task])['tasks'][0]
                mode_figures['stack_' + phase] = {'task_ms': task_ms(played), 'changed': played['changed']}
            mode_figures['stack_cleaner_ms'] = timed_ms(ws.quiesce)
        log('quotas %s: create %.0f ms, remove %.0f ms per container, cleaner %.0f ms'
            % (mode, mode_figures['create']['per_item_ms'], mode_figures['remove']['per_item_ms'],
               mode_figures['cleaner_ms']))
    results['quota'] = figures


# The registries. Per container count N, in this order, on one set of N containers:
PER_N = (
    measure_floor,
    measure_create_start,
    measure_rerun,
    measure_floor_again,
    # dockerlite_stack is measured once per run, at its own count (BENCH_STACK_N): see ONCE.
    measure_split,
    measure_in_process,
    measure_stop_remove,
    measure_raw_floor,
    measure_peer,
)
# Once per run, after the above:
ONCE = (
    measure_stack,
    measure_commit,
    measure_lxcfs_hook,
    measure_registry,
    measure_peers,
    measure_quota,  # last: it leaves quotas on
)
