# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Figure 9: dockerlite.core side by side with Docker and Podman, in the same run, on the same rootfs.

The benchmark starts its own dockerd and Podman through the peers helper (``peers.py``; all
their state under the run's directory, stopped by pid however the run ends) and imports the
busybox rootfs it built into each (``docker import`` / ``podman import`` of a tarball of it).
A peer that is not installed is skipped with one line. Then, for dockerlite.core and each peer:

- through Ansible (``ansible``), BENCH_PEERS_N-item loops of the container module
  (dockerlite_container, community.docker.docker_container, containers.podman.podman_container),
  all three on the same module interpreter (BENCH_MODULE_PYTHON): create+start, unchanged rerun,
  stop, removal and a one-off run with output (``detach: false``), with a no-op
  ``ansible.builtin.file`` loop of as many items in the same plays (before the create loop and
  after the one-off loop; the floor is their mean); after the create loop, the disk the N
  containers added and the memory (RSS) of each idle container: PID 1 and its parent (the LXC
  monitor, containerd-shim, conmon);
- directly (``direct``), the module run by ``/usr/bin/python3 -m`` with an arguments file (no
  controller) against the peer's CLI: create+start, a one-off ``run --rm`` with output, and
  the interpreter's start and the module's import, which bound the module's time;
- commit of a running container after the smallest and the largest of BENCH_COMMIT_MIB
  written into it from the host (into the rootfs; for a peer, through its merged overlay),
  dockerlite_commit run directly against ``docker commit`` / ``podman commit``; and dockerlite's
  commit once more with the data flushed first (the flush timed), which bounds its figure;
- the stack: BENCH_STACK_N containers, one dockerlite_stack task against a loop of as many
  items of the peer's module.

Every stop is a kill: PID 1 (``sleep``) has no handler for SIGTERM; the tasks say
``stop_timeout: 0`` (dockerlite.core kills at once anyway when PID 1 has no handler).
"""

from __future__ import annotations

import os
import subprocess
import time

from .common import COLLECTION_MODULES, COMMAND, CONTAINER_MODULE, FLOOR_MODULE, HOST_PYTHON, IMAGE, STACK_MODULE, \
    BenchError, log, mean, median, module_ms, run, timed_ms
from .peers import BenchPeers, podman_wrapper
from .registry import du_bytes, random_file
from .runner import FLOOR_ARGS, loop_figures, loop_task, names, stack_members, stack_task, task_ms

DOCKER_MODULE = 'community.docker.docker_container'
PODMAN_MODULE = 'containers.podman.podman_container'
MODULES = {'dockerlite': CONTAINER_MODULE, 'docker': DOCKER_MODULE, 'podman': PODMAN_MODULE}
CODES = {'dockerlite': 'dl', 'docker': 'dk', 'podman': 'pm'}  # in the names of each tool's containers
PEER_IMAGE = 'dlbench-busybox:latest'
ONE_OFF = ['/bin/echo', 'bench']
PHASES = ('create', 'rerun', 'stop', 'remove', 'oneoff')


class Tool:
    """One of the three: how its Ansible module and its direct runs are called."""

    def __init__(self, name, ws, peers):
        self.name, self.ws, self.peers = name, ws, peers
        self.module, self.code = MODULES[name], CODES[name]
        self.image = IMAGE if name == 'dockerlite' else PEER_IMAGE
        self.base = {'name': '{{ item }}', 'stop_timeout': 0}
        if name == 'docker':
            self.base['docker_host'] = peers.state['docker']['argv'][2]
        elif name == 'podman':
            self.base['executable'] = podman_wrapper(ws, peers)

    # -- through Ansible --------------------------------------------------

    def task_args(self, phase):
        args = dict(self.base)
        if phase in ('create', 'rerun'):
            args.update(image=self.image, command=COMMAND, state='started')
        elif phase == 'stop':
            args.update(state='stopped')
        elif phase == 'remove':
            args.update(state='absent')
        else:  # a one-off run: attached, its output returned, the container removed after it
            args.update(image=self.image, command=ONE_OFF, state='started', detach=False)
            args['rm' if self.name == 'podman' else 'cleanup'] = True
        if self.name == 'docker' and phase in ('create', 'rerun', 'oneoff'):
            args['network_mode'] = 'none'  # the bench's dockerd has no bridge
        return args

    # -- directly -----------------------------------------------------------

    def direct_create(self, name):
        """create+start, timed: the module run directly, or ``run --detach`` of the peer's CLI."""
        if self.name == 'dockerlite':
            return module_ms(self.ws, 'dockerlite_container', {'name': name, 'image': IMAGE, 'command': COMMAND,
                                                               'state': 'started'})
        return self.peers.timed_cli(self.name, ['run', '--detach', '--name', name] + self.net() + [self.image]
                                    + COMMAND)

    def direct_one_off(self, name):
        """A one-off run with output, the container removed after it; timed."""
        if self.name == 'dockerlite':
            return module_ms(self.ws, 'dockerlite_container', {'name': name, 'image': IMAGE, 'command': ONE_OFF,
                                                               'detach': False, 'cleanup': True},
                             expect_stdout='bench')
        started = time.monotonic()
        out = self.peers.cli(self.name, ['run', '--rm'] + self.net() + [self.image] + ONE_OFF)
        elapsed = (time.monotonic() - started) * 1000.0
        if out.strip() != 'bench':
            raise BenchError('%s run --rm printed %r, expected bench' % (self.name, out))
        return elapsed

    def direct_commit(self, name, image):
        if self.name == 'dockerlite':
            return module_ms(self.ws, 'dockerlite_commit', {'container': name, 'image': image})
        return self.peers.timed_cli(self.name, ['commit', name, image])

    def remove(self, container_names):
        """Remove containers (untimed)."""
        if not container_names:
            return
        if self.name == 'dockerlite':
            for name in container_names:
                module_ms(self.ws, 'dockerlite_container', {'name': name, 'state': 'absent', 'stop_timeout': 0})
        else:
            self.peers.cli(self.name, ['rm', '--force'] + (['--time', '0'] if self.name == 'podman' else [])
                           + list(container_names))

    def remove_image(self, image):
        if self.name == 'dockerlite':
            module_ms(self.ws, 'dockerlite_image', {'name': image, 'state': 'absent'})
        else:
            self.peers.cli(self.name, ['rmi', '--force', image])

    def net(self):
        return ['--network', 'none'] if self.name == 'docker' else []

    def writable_dir(self, name):
        """Where data written from the host lands in the container's own layer."""
        if self.name == 'dockerlite':
            return os.path.join(self.ws.containers, name, 'rootfs')
        return self.peers.cli(self.name, ['inspect', '--format', '{{.GraphDriver.Data.MergedDir}}', name]).strip()

    def pids(self, container_names):
        """PID 1 of each running container."""
        if self.name == 'dockerlite':
            return [int(run(['lxc-info', '--pid', '--no-humanize', '-P', self.ws.containers, '-n', name]))
                    for name in container_names]
        return [int(word) for word in self.peers.cli(self.name, ['inspect', '--format', '{{.State.Pid}}']
                                                     + list(container_names)).split()]

    def storage_bytes(self):
        """What a peer's storage holds (allocated bytes); dockerlite: the btrfs device's used bytes."""
        if self.name == 'dockerlite':
            return self.ws.disk_usage()['used']
        if self.name == 'docker':
            return du_bytes(os.path.join(self.peers.state['dir'], 'docker', 'data'))
        argv = self.peers.state['podman']['argv']
        return du_bytes(argv[argv.index('--root') + 1])


def python_ms(ws, code):
    """One run of ``/usr/bin/python3 -c code`` with the module's environment, in ms."""
    return timed_ms(lambda: run([HOST_PYTHON, '-c', code], env=ws.host_env()))


def rss_kib(pid, field='VmRSS'):
    """A memory figure of /proc/PID/status in KiB: VmRSS (resident), RssAnon (its anonymous part)."""
    with open('/proc/%d/status' % pid) as handle:
        for line in handle:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return 0


def parent(pid):
    """(ppid, name) of a process's parent; the name from its command line (an LXC monitor forked by
    a Python process keeps ``python`` as its comm but calls itself ``[lxc monitor]``)."""
    with open('/proc/%d/stat' % pid) as handle:
        ppid = int(handle.read().rsplit(')', 1)[1].split()[1])
    with open('/proc/%d/cmdline' % ppid, 'rb') as handle:
        return ppid, process_name(handle.read().decode('utf-8', 'replace'))


def process_name(cmdline):
    """'lxc monitor' for an LXC monitor's command line, else the program's base name."""
    if cmdline.startswith('[lxc monitor]'):
        return 'lxc monitor'
    return os.path.basename(cmdline.split('\0', 1)[0].split(' ', 1)[0])


def idle_memory(pids):
    """RSS of each container's PID 1 and of its parent (its monitor): mean KiB, and the parents' names."""
    init, monitor, anon, monitor_names = [], [], [], set()
    for pid in pids:
        ppid, name = parent(pid)
        init.append(rss_kib(pid))
        monitor.append(rss_kib(ppid))
        anon.append(rss_kib(ppid, 'RssAnon'))
        monitor_names.add(name)
    return {'init_kib': mean(init), 'monitor_kib': mean(monitor), 'monitor_anon_kib': mean(anon),
            'monitor': ', '.join(sorted(monitor_names))}


# -- the measurements -----------------------------------------------------------

def import_images(ws, peers, tools):
    """The benchmark's busybox rootfs, as a tarball, imported into each peer; ms per peer."""
    tarball = os.path.join(ws.tmp, 'busybox-rootfs.tar')
    run(['tar', '--create', '--file', tarball, '--numeric-owner', '-C', ws.image_rootfs, '.'])
    return {tool.name: peers.timed_cli(tool.name, ['import', tarball, PEER_IMAGE])
            for tool in tools if tool.name != 'dockerlite'}


def ansible_figures(ws, tools, n):
    """The five loops of each tool through Ansible, the tools one after the other in the same plays
    (so a change of the machine's load hits all three alike), with a floor loop first in the first
    play and last in the second; between the plays, the disk the N containers of each tool added
    and their idle memory. Per tool: its figures, each with the same floor."""
    items = {tool.name: names(ws, 'p' + tool.code, n) for tool in tools}
    oneoff = {tool.name: names(ws, 'po' + tool.code, n) for tool in tools}
    floor_task = loop_task('floor', FLOOR_MODULE, FLOOR_ARGS, names(ws, 'pf', n))
    python = ws.settings.module_python
    before = {tool.name: tool.storage_bytes() for tool in tools}
    first = ws.ansible.play('peers-create', [floor_task] + [
        loop_task('create ' + tool.name, tool.module, tool.task_args('create'), items[tool.name]) for tool in tools],
        interpreter=python)['tasks']
    figures = {tool.name: {'create': loop_figures(task, n), 'disk_bytes': tool.storage_bytes() - before[tool.name],
                           'memory': idle_memory(tool.pids(items[tool.name]))}
               for tool, task in zip(tools, first[1:])}
    tasks = [loop_task('%s %s' % (phase, tool.name), tool.module, tool.task_args(phase),
                       (oneoff if phase == 'oneoff' else items)[tool.name])
             for phase in PHASES[1:] for tool in tools]
    second = ws.ansible.play('peers-rest', tasks + [floor_task], interpreter=python)['tasks']
    for index, (phase, tool) in enumerate((phase, tool) for phase in PHASES[1:] for tool in tools):
        figures[tool.name][phase] = loop_figures(second[index], n)
    floors = {'floor_before': loop_figures(first[0], n), 'floor_after': loop_figures(second[-1], n)}
    floors['floor_ms'] = (floors['floor_before']['per_item_ms'] + floors['floor_after']['per_item_ms']) / 2
    for tool in tools:
        figures[tool.name].update(floors)
        log('peers: %s through Ansible: %s per item (floor %.0f ms)' % (tool.name, ', '.join(
            '%s %.0f ms' % (phase, figures[tool.name][phase]['per_item_ms']) for phase in PHASES), floors['floor_ms']))
    return figures


def direct_figures(ws, tools, n):
    """create+start, then a one-off run, N times each directly, the tools taking turns; medians."""
    runs = {tool.name: {'create_ms': [], 'oneoff_ms': []} for tool in tools}
    for field, kind, call in (('create_ms', 'd', Tool.direct_create), ('oneoff_ms', 'x', Tool.direct_one_off)):
        items = {tool.name: names(ws, kind + tool.code, n) for tool in tools}
        for index in range(n):
            for tool in tools:
                runs[tool.name][field].append(call(tool, items[tool.name][index]))
        if field == 'create_ms':
            for tool in tools:
                tool.remove(items[tool.name])
    figures = {tool: {field: median(values) for field, values in fields.items()} for tool, fields in runs.items()}
    # What bounds a direct module run: the interpreter's start, and the module's imports (cached .pyc).
    ours = figures['dockerlite']
    ours['python_ms'] = median([python_ms(ws, 'pass') for _run in range(n)])
    for field, module in (('import_ms', 'dockerlite_container'), ('import_commit_ms', 'dockerlite_commit')):
        ours[field] = median([python_ms(ws, 'import ' + COLLECTION_MODULES + module)
                              for _run in range(n)]) - ours['python_ms']
    for tool, data in figures.items():
        log('peers: %s directly: create+start %.0f ms, one-off %.0f ms' % (tool, data['create_ms'],
                                                                           data['oneoff_ms']))
    return figures


def commit_figures(ws, tools, sizes_mib):
    """Commit of a fresh running container after each size written into it from the host (not synced),
    each size for every tool in turn; ms per tool and size."""
    figures = {tool.name: {} for tool in tools}
    for size in sizes_mib:
        for tool in tools:
            name = '%sc%s%d' % (ws.prefix, tool.code, size)
            image = '%scommit-%s:%d' % (ws.prefix, tool.name, size) if tool.name == 'dockerlite' \
                else 'dlbench-commit:%d' % size
            tool.direct_create(name)
            random_file(os.path.join(tool.writable_dir(name), 'bench-data'), size)
            figures[tool.name][str(size)] = tool.direct_commit(name, image)
            tool.remove([name])
            tool.remove_image(image)
            if tool.name == 'dockerlite':
                ws.quiesce()
            log('peers: %s commit after %d MiB: %.0f ms' % (tool.name, size, figures[tool.name][str(size)]))
    return figures


def synced_commit_figures(ws, tool, sizes_mib):
    """dockerlite's commit with the written data flushed first (``btrfs filesystem sync``, timed): the
    commit flushes unsynced data itself, and this shows that share. Per size: sync ms and commit ms."""
    figures = {}
    for size in sizes_mib:
        name, image = '%scs%d' % (ws.prefix, size), '%scommit-synced:%d' % (ws.prefix, size)
        tool.direct_create(name)
        random_file(os.path.join(tool.writable_dir(name), 'bench-data'), size)
        figures[str(size)] = {'sync_ms': timed_ms(lambda: run(['btrfs', 'filesystem', 'sync', ws.fs])),
                              'commit_ms': tool.direct_commit(name, image)}
        tool.remove([name])
        tool.remove_image(image)
        ws.quiesce()
    return figures


def stack_figures(ws, tool, n):
    """BENCH_STACK_N containers: one dockerlite_stack task, or a loop of as many items of the peer's module."""
    items = names(ws, 's' + tool.code, n)
    python = ws.settings.module_python
    if tool.name == 'dockerlite':
        task = stack_task('create', ws.root, ws.prefix + 'pstack', 'started', stack_members(items))
        played = ws.ansible.play('peers-stack-dockerlite', [task], interpreter=python)['tasks'][0]
        figures = {'ms': task_ms(played), 'how': 'one %s task' % STACK_MODULE}
        ws.ansible.play('peers-stack-dockerlite-absent', [stack_task('absent', ws.root, ws.prefix + 'pstack',
                                                                     'absent', [])], interpreter=python)
    else:
        task = loop_task('create', tool.module, tool.task_args('create'), items)
        played = ws.ansible.play('peers-stack-%s' % tool.name, [task], interpreter=python)['tasks'][0]
        figures = {'ms': task_ms(played), 'how': 'a %d-item %s loop' % (n, tool.module)}
        if tool.name == 'docker':
            figures['how'] += ' (no Compose plugin is used)'
        tool.remove(items)
    log('peers: %s stack of %d: %.0f ms (%s)' % (tool.name, n, figures['ms'], figures['how']))
    return figures


def measure_peers(ws, results):
    """Figure 9 (see the module's docstring); nothing when BENCH_PEERS is none."""
    settings = ws.settings
    if not settings.peers:
        return
    figures = {'n': settings.peers_n, 'peers': list(settings.peers), 'skipped': {},
               'module_python': settings.module_python, 'stack_n': settings.stack_n}
    results['peers'] = figures

    def skip(peer, why):
        figures['skipped'][peer] = why
        log('skipped: %s' % why)
    which = list(settings.peers)
    if 'docker' in which and subprocess.run([settings.module_python, '-c', 'import requests'], capture_output=True,
                                            check=False).returncode != 0:
        which.remove('docker')
        skip('docker', 'docker: community.docker needs requests, which %s cannot import (make bench-module-venv)'
             % settings.module_python)
    peers = BenchPeers(os.path.join(ws.tmp, 'engines'), which)
    ws.peers = peers
    try:
        tools = [Tool('dockerlite', ws, peers)]
        for peer in which:
            if peers.available(peer):
                tools.append(Tool(peer, ws, peers))
                figures.setdefault('versions', {})[peer] = peers.state[peer].get('version')
            else:
                skip(peer, '%s not installed (%s)' % (peer, peers.skipped(peer)))
        if len(tools) == 1:
            return
        figures['import_ms'] = import_images(ws, peers, tools)
        commit_sizes = sorted({min(settings.commit_mib), max(settings.commit_mib)})
        for key, measure, arg in (('ansible', ansible_figures, settings.peers_n),
                                  ('direct', direct_figures, settings.peers_n),
                                  ('commit', commit_figures, commit_sizes)):
            if arg:
                figures[key] = measure(ws, tools, arg)
        figures['commit_synced'] = synced_commit_figures(ws, tools[0], commit_sizes)
        if settings.stack_n:
            figures['stack'] = {tool.name: stack_figures(ws, tool, settings.stack_n) for tool in tools}
    finally:
        left = peers.stop()
        ws.peers = None
        for leftover in left:
            log('peers: LEFT BEHIND: %s' % leftover)
