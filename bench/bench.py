# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite.core benchmark: the modules against their floors and their peer, side by side in one run.

Run as root with the project's venv Python (``make bench`` does both); see
bench/README.md for what each row means. Everything happens on a throwaway
loopback btrfs filesystem under a fresh temporary directory, which is torn down
(containers killed, filesystem unmounted, loop device detached, files deleted)
however the run ends.

Settings, from the environment:
  BENCH_N           container counts for figures 1, 2, 4 and 5 (default "10 50")
  BENCH_PEER_N      counts at which community.general.lxc_container runs too
                    (default: BENCH_N; "0" skips the peer)
  BENCH_COMMIT_MIB  data sizes for the commit figure, in MiB (default "1 100 1024")
  BENCH_COMMIT_REPEAT  commits per size and mode; the median counts (default 3)
  BENCH_HOOK_N      containers per config in the lxcfs hook comparison (default 10)
  BENCH_SPLIT_N     loop items in the plays that split an item into module process
                    and controller (default 10, at most N)
  BENCH_REPEAT      runs of each import probe (default 7)
  BENCH_LOOP_SIZE   apparent size of the sparse loop file (default 8G)
  BENCH_TMPDIR      where the temporary directory goes (default: $TMPDIR or /tmp)
  BENCH_STACK_N     containers in the one dockerlite_stack task (default 100; 0 skips it)
  BENCH_QUOTA_N     containers per loop of the quotas off/on figure (default 10; 0 skips the figure)
"""

from __future__ import annotations

import argparse
import base64
import glob
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HOST_PYTHON = '/usr/bin/python3'
MIB = 1024 * 1024
# PID 1 of every benchmark container: no handler for the halt signal, so a stop is a kill
# and no figure waits for an init system to shut down.
COMMAND = ['/bin/sleep', '2147483647']
IMAGE = 'busybox'
CONTAINER_MODULE = 'dockerlite.core.dockerlite_container'
PEER_MODULE = 'community.general.lxc_container'
FLOOR_MODULE = 'ansible.builtin.file'
COMMON_CONF = '/usr/share/lxc/config/common.conf'

# The targets of issue 6, printed next to the measured ratios.
TARGET_CREATE = 1.15      # create+start per container <= 1.15 x Ansible's per-item floor
TARGET_RERUN = 1.05       # unchanged rerun per container <= 1.05 x that floor
TARGET_COMMIT = 1.5       # commit of 1 GiB synced <= 1.5 x commit of 1 MiB synced
TARGET_DISK_MIB = 1.0     # N containers of one image use <= image + N x 1 MiB
TARGET_PEER = 8.0         # create+start >= 8 x faster than community.general.lxc_container
TARGET_STACK_CREATE = 8.0  # dockerlite_stack create+start of 100, one task <= 8 x Ansible's per-task floor
TARGET_STACK_RERUN = 3.0   # its unchanged rerun <= 3 x that floor
STACK_MODULE = 'dockerlite.core.dockerlite_stack'
STACK_FLOOR_TASKS = 10     # separate file no-op tasks per run of the stack's per-task floor


class BenchError(Exception):
    pass


def log(message):
    print('[bench %6.1fs] %s' % (time.monotonic() - STARTED, message), file=sys.stderr, flush=True)


STARTED = time.monotonic()


def run(argv, **kwargs):
    """Run a command, failing with its output if it fails."""
    kwargs.setdefault('stdout', subprocess.PIPE)
    kwargs.setdefault('stderr', subprocess.PIPE)
    proc = subprocess.run(argv, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        raise BenchError('%s exited %d: %s' % (' '.join(argv), proc.returncode, (proc.stderr or '').strip()))
    return proc.stdout


def median(values):
    return statistics.median(values) if values else None


def mean(values):
    return statistics.fmean(values) if values else None


def env_ints(name, default):
    return [int(word) for word in os.environ.get(name, default).split()]


class Settings:
    def __init__(self, build, output):
        self.build = os.path.abspath(build)
        self.output = os.path.abspath(output)
        self.ns = env_ints('BENCH_N', '10 50')
        peer = os.environ.get('BENCH_PEER_N', '').split()
        self.peer_ns = self.ns if not peer else [int(word) for word in peer if int(word) > 0]
        self.commit_mib = env_ints('BENCH_COMMIT_MIB', '1 100 1024')
        self.commit_repeat = int(os.environ.get('BENCH_COMMIT_REPEAT', '3'))
        self.hook_n = int(os.environ.get('BENCH_HOOK_N', '10'))
        self.repeat = int(os.environ.get('BENCH_REPEAT', '7'))
        self.split_n = int(os.environ.get('BENCH_SPLIT_N', '10'))
        self.loop_size = os.environ.get('BENCH_LOOP_SIZE', '8G')
        self.tmp_parent = os.environ.get('BENCH_TMPDIR') or None
        self.stack_n = int(os.environ.get('BENCH_STACK_N', '100'))
        self.quota_n = int(os.environ.get('BENCH_QUOTA_N', '10'))
        self.bin = os.path.dirname(sys.executable)


# -- the throwaway store ----------------------------------------------------

class Workspace:
    """A temporary directory with a loopback btrfs mounted in it; ``teardown`` undoes all of it."""

    def __init__(self, settings):
        self.settings = settings
        self.tmp = tempfile.mkdtemp(prefix='dlbench-', dir=settings.tmp_parent)
        # Unprivileged containers' mapped root must traverse every directory above their rootfs.
        os.chmod(self.tmp, 0o711)
        # Every container this run makes starts with this, so teardown finds them all.
        self.prefix = 'b%s-' % secrets.token_hex(3)
        self.loopfile = os.path.join(self.tmp, 'btrfs.img')
        self.fs = os.path.join(self.tmp, 'fs')
        self.root = os.path.join(self.fs, 'store')
        self.raw = os.path.join(self.fs, 'raw')
        self.peer = os.path.join(self.fs, 'peer')
        self.device = None
        self.default_lxcpath = None
        self.ansible = Ansible(self)
        self.shim = os.path.join(self.tmp, 'pythonpath')
        self.timed_interpreter = os.path.join(self.tmp, 'timed-python')
        self.template = None
        self.image_rootfs = None

    def setup(self):
        run(['truncate', '--size', self.settings.loop_size, self.loopfile])
        self.device = run(['losetup', '--find', '--show', self.loopfile]).strip()
        run(['mkfs.btrfs', '--quiet', self.device])
        os.mkdir(self.fs)
        run(['mount', '-o', 'noatime', self.device, self.fs])
        for path in (self.raw, self.peer):
            os.mkdir(path)
        # The host's Python imports the build copy and, for ansible.module_utils, the
        # controller's ansible package (the same files AnsiballZ would ship).
        import ansible
        os.mkdir(self.shim)
        os.symlink(os.path.dirname(ansible.__file__), os.path.join(self.shim, 'ansible'))
        self.default_lxcpath = run(['lxc-config', 'lxc.lxcpath']).strip()
        with open(self.timed_interpreter, 'w') as handle:
            handle.write(TIMED_INTERPRETER)
        os.chmod(self.timed_interpreter, 0o755)
        log('store on %s (%s, %s sparse) at %s' % (self.device, self.loopfile, self.settings.loop_size, self.root))

    def host(self, operation, args, clean_env=False):
        """Run one of host_ops.py's operations with the managed host's Python."""
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL': 'C'}
        if not clean_env:
            env['PYTHONPATH'] = os.pathsep.join([self.settings.build, self.shim])
        proc = subprocess.run([HOST_PYTHON, os.path.join(HERE, 'host_ops.py'), operation], input=json.dumps(args),
                              text=True, capture_output=True, env=env, check=False)
        if proc.returncode != 0:
            raise BenchError('host_ops %s failed (rc %d):\n%s' % (operation, proc.returncode, proc.stderr))
        return json.loads(proc.stdout)

    def in_peer_namespace(self, argv):
        """argv run in a private mount namespace with the peer's directory over LXC's default path."""
        return ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c',
                'mount --bind "$0" "$1" && shift && exec "$@"', self.peer, self.default_lxcpath] + argv

    def clean_peer(self):
        """Kill and destroy the peer's containers (their LXC path exists only in such a namespace)."""
        script = ('for c in $(lxc-ls --active); do lxc-stop --kill -n "$c"; done; '
                  'for c in $(lxc-ls); do lxc-destroy -n "$c"; done')
        run(self.in_peer_namespace(['/bin/sh', '-c', script]))

    def processes(self):
        """(pid, command line) of every process naming this run's directory or container prefix."""
        found = []
        for pid in filter(str.isdigit, os.listdir('/proc')):
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                    cmdline = handle.read().replace(b'\0', b' ').decode('utf-8', 'replace').strip()
            except OSError:
                continue
            if int(pid) != os.getpid() and (self.tmp in cmdline or ' ' + self.prefix in cmdline):
                found.append((int(pid), cmdline))
        return found

    def kill_strays(self):
        """Kill what an interrupted play left running (ansible-playbook, its workers, modules), so
        that nothing makes containers while they are torn down; LXC monitors go with lxc-stop."""
        for attempt in range(20):
            strays = [pid for pid, cmdline in self.processes() if '[lxc monitor]' not in cmdline]
            if not strays:
                return
            for pid in strays:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1 * (attempt + 1))

    def kill_containers(self):
        for lxcpath in (os.path.join(self.root, 'containers'), self.raw):
            if not os.path.isdir(lxcpath):
                continue
            for name in run(['lxc-ls', '--active', '--line', '-P', lxcpath]).split():
                subprocess.run(['lxc-stop', '--kill', '-P', lxcpath, '-n', name], check=False,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def mounts_below(self):
        prefix = self.tmp + '/'
        with open('/proc/self/mountinfo') as handle:
            points = [line.split()[4] for line in handle]
        return sorted({p for p in points if p.startswith(prefix)}, reverse=True)

    def teardown(self):
        """Undo everything; each step runs even when an earlier one failed."""
        steps = [('stop the processes this run started', self.kill_strays)]
        if self.device and os.path.ismount(self.fs):
            if self.default_lxcpath and os.path.isdir(self.default_lxcpath):
                steps.append(('destroy the peer containers', self.clean_peer))
            steps.append(('kill the containers', self.kill_containers))
        steps += [('unmount', self._unmount), ('detach the loop device', self._detach),
                  ('delete %s' % self.tmp, lambda: shutil.rmtree(self.tmp))]
        for what, step in steps:
            try:
                step()
            except Exception as exc:  # keep tearing down; report at the end
                log('teardown: could not %s: %s' % (what, exc))
        for leftover in self.leftovers():
            log('teardown: LEFT BEHIND: %s' % leftover)

    def _unmount(self):
        for point in self.mounts_below():
            for attempt in range(5):
                if subprocess.run(['umount', point], check=False, stderr=subprocess.DEVNULL).returncode == 0:
                    break
                time.sleep(0.5 * (attempt + 1))
            else:
                run(['umount', '--lazy', point])

    def _detach(self):
        if self.device:
            backing = subprocess.run(['losetup', '--list', '--noheadings', '--output', 'BACK-FILE', self.device],
                                     capture_output=True, text=True, check=False).stdout.strip()
            if backing.startswith(self.tmp):
                run(['losetup', '--detach', self.device])

    def leftovers(self):
        found = ['mount %s' % point for point in self.mounts_below()]
        loops = run(['losetup', '--list', '--noheadings', '--output', 'NAME,BACK-FILE'])
        found += ['loop device %s' % line.strip() for line in loops.splitlines() if self.tmp in line]
        found += ['process %d: %s' % (pid, cmdline) for pid, cmdline in self.processes()]
        if os.path.exists(self.tmp):
            found.append('directory %s' % self.tmp)
        return found

    # -- disk measures --------------------------------------------------

    def quiesce(self, timeout=300):
        """Commit the transaction and wait until btrfs has cleaned up deleted subvolumes.

        The cleaner runs after a transaction commit; ``btrfs subvolume sync`` alone
        would wait for the next periodic one (30 s by default).
        """
        deadline = time.monotonic() + timeout
        while True:
            run(['btrfs', 'filesystem', 'sync', self.fs])
            if not run(['btrfs', 'subvolume', 'list', '-d', self.fs]).strip():
                break
            if time.monotonic() > deadline:
                raise BenchError('btrfs did not clean up deleted subvolumes within %d s' % timeout)
            time.sleep(0.05)
        run(['btrfs', 'filesystem', 'sync', self.fs])

    def disk_usage(self):
        """Bytes used on the device (data, plus metadata times its DUP ratio), once btrfs is quiet."""
        self.quiesce()
        text = run(['btrfs', 'filesystem', 'usage', '-b', self.fs])
        used = int(re.search(r'^\s*Used:\s+(\d+)', text, re.M).group(1))
        data = int(re.search(r'^Data,\S+: Size:\d+, Used:(\d+)', text, re.M).group(1))
        metadata = int(re.search(r'^Metadata,\S+: Size:\d+, Used:(\d+)', text, re.M).group(1))
        return {'used': used, 'data': data, 'metadata': metadata}

    @staticmethod
    def du(path):
        """btrfs filesystem du -s: bytes referenced, exclusive to ``path`` and shared with others."""
        line = run(['btrfs', 'filesystem', 'du', '-s', '--raw', path]).splitlines()[-1].split()
        return {'total': int(line[0]), 'exclusive': int(line[1]), 'shared': int(line[2])}

    def keep_template(self, directory):
        """Copy the files the module wrote for a container (not its rootfs or metadata): the raw
        floor and the lxcfs hook comparison start containers with this same config."""
        copy = os.path.join(self.tmp, 'template')
        shutil.rmtree(copy, ignore_errors=True)
        os.mkdir(copy)
        for entry in os.listdir(directory):
            path = os.path.join(directory, entry)
            if entry not in ('rootfs', 'container.json', 'lxc.log') and os.path.isfile(path):
                shutil.copy(path, copy)
        self.template = {'copy': copy, 'dir': directory, 'name': os.path.basename(directory)}


# -- Ansible ----------------------------------------------------------------

class Ansible:
    """Runs generated plays with the bench_timer callback and returns its task times."""

    def __init__(self, workspace):
        self.ws = workspace
        self.count = 0

    def play(self, name, tasks, wrap=(), env=None, interpreter=HOST_PYTHON):
        ws, settings = self.ws, self.ws.settings
        self.count += 1
        base = os.path.join(ws.tmp, 'play-%02d-%s' % (self.count, name))
        config = os.path.join(ws.tmp, 'ansible.cfg')
        if not os.path.exists(config):
            with open(config, 'w') as handle:
                handle.write('[defaults]\n')
        defaults = {module: {'root': ws.root} for module in (
            'dockerlite.core.dockerlite_image', CONTAINER_MODULE, 'dockerlite.core.dockerlite_commit')}
        # JSON is YAML: the generated plays need no YAML library and are never linted.
        with open(base + '.json', 'w') as handle:
            json.dump([{'name': name, 'hosts': 'localhost', 'gather_facts': False, 'module_defaults': defaults,
                        'tasks': tasks}], handle, indent=1)
        play_env = dict(os.environ, ANSIBLE_CONFIG=config, ANSIBLE_COLLECTIONS_PATH=settings.build,
                        ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'callback_plugins'),
                        ANSIBLE_CALLBACKS_ENABLED='bench_timer', BENCH_TIMER_OUT=base + '.times.json',
                        ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0',
                        ANSIBLE_LOCAL_TEMP=os.path.join(ws.tmp, 'ansible-local'),
                        ANSIBLE_REMOTE_TMP=os.path.join(ws.tmp, 'ansible-remote'),
                        PATH=settings.bin + os.pathsep + os.environ.get('PATH', ''))
        play_env.update(env or {})
        argv = list(wrap) + [os.path.join(settings.bin, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                             '-e', 'ansible_python_interpreter=' + interpreter, base + '.json']
        started = time.monotonic()
        with open(base + '.log', 'w') as output:
            proc = subprocess.run(argv, stdout=output, stderr=subprocess.STDOUT, cwd=ws.tmp, env=play_env,
                                  check=False)
        wall = time.monotonic() - started
        if proc.returncode != 0:
            with open(base + '.log') as output:
                raise BenchError('play %s failed (rc %d):\n%s' % (name, proc.returncode, output.read()[-3000:]))
        with open(base + '.times.json') as handle:
            tasks = json.load(handle)
        return {'wall_s': wall, 'tasks': tasks}


def loop_task(name, module, args, items):
    return {'name': name, module: args, 'loop': items, 'loop_control': {'label': '{{ item }}'}}


def container_args(**extra):
    return dict({'name': '{{ item }}', 'image': IMAGE, 'command': COMMAND, 'state': 'started'}, **extra)


FLOOR_ARGS = {'path': '/', 'state': 'directory'}


def loop_figures(task, n):
    """Per-item ms of a loop task, and how many items reported changed."""
    return {'per_item_ms': (task['end'] - task['start']) * 1000.0 / n,
            'changed': sum(item['changed'] for item in task['items']), 'items': len(task['items'])}


# -- measurements -------------------------------------------------------------
#
# Each function measures one thing and stores its figures in ``fleet`` (one dict
# per container count N); the registries below say in which order they run. Figures
# 1, 2, 4 and 5 share the same N containers: created by measure_create_start,
# rerun, measured on disk, stopped and removed by the functions after it.

def names(ws, kind, n):
    return ['%s%s%d-%d' % (ws.prefix, kind, n, index) for index in range(n)]


def floor_loop(ws, label, n):
    task = loop_task('floor', FLOOR_MODULE, FLOOR_ARGS, names(ws, 'fl', n))
    return loop_figures(ws.ansible.play(label, [task])['tasks'][0], n)


def measure_floor(ws, fleet):
    """Ansible's own cost: a no-op ansible.builtin.file, as a loop of N items and as N tasks."""
    n = fleet['n']
    fleet['floor'] = floor_loop(ws, 'floor-loop-%d' % n, n)
    fleet['floor']['before_ms'] = fleet['floor']['per_item_ms']
    tasks = [{'name': 'floor %d' % index, FLOOR_MODULE: FLOOR_ARGS} for index in range(n)]
    separate = ws.ansible.play('floor-tasks-%d' % n, tasks)['tasks']
    fleet['floor_tasks'] = {'per_task_ms': (separate[-1]['end'] - separate[0]['start']) * 1000.0 / n}


def measure_floor_again(ws, fleet):
    """The floor loop once more, after the module's loops: the floor is the mean of both runs,
    and a large difference between them shows that the machine was busy."""
    n = fleet['n']
    after = floor_loop(ws, 'floor-loop-again-%d' % n, n)['per_item_ms']
    fleet['floor'].update(after_ms=after, per_item_ms=(fleet['floor']['before_ms'] + after) / 2)


def container_loop(ws, play_name, n):
    """The play of figures 1 and 2: dockerlite_container over the N names in a loop."""
    task = loop_task('create', CONTAINER_MODULE, container_args(), names(ws, 'dl', n))
    return loop_figures(ws.ansible.play(play_name, [task])['tasks'][0], n)


def measure_create_start(ws, fleet):
    """Figures 1 and 4: create+start N containers with dockerlite_container in a loop; disk before and after."""
    n = fleet['n']
    before = ws.disk_usage()
    fleet['create'] = container_loop(ws, 'create-%d' % n, n)
    after = ws.disk_usage()
    first = os.path.join(ws.root, 'containers', names(ws, 'dl', n)[0])
    fleet['disk'] = {'before': before, 'after': after, 'image_du': ws.du(ws.image_rootfs),
                     'container_du': ws.du(os.path.join(first, 'rootfs'))}
    ws.keep_template(first)


def measure_rerun(ws, fleet):
    """Figure 2: the same play again, which must change nothing."""
    n = fleet['n']
    fleet['rerun'] = container_loop(ws, 'rerun-%d' % n, n)


def payload_zip(wrapper, path):
    """Write the module payload (the zip AnsiballZ embeds) of ``wrapper`` to ``path``."""
    with open(wrapper) as handle:
        match = re.search(r"^zip_data='([A-Za-z0-9+/=]+)'", handle.read(), re.M)
    if not match:
        raise BenchError('no zip_data in %s: the AnsiballZ format changed' % wrapper)
    with open(path, 'wb') as handle:
        handle.write(base64.b64decode(match.group(1)))
    return path


# The module interpreter for the split plays: /usr/bin/python3, with the start and end of
# each module process (ns) appended to $BENCH_PROCESS_LOG. The shell and two date(1)
# calls add a few ms, to the file no-op and to dockerlite_container alike.
TIMED_INTERPRETER = '''#!/bin/sh
started=$(date +%%s%%N)
%s "$@"
rc=$?
echo "$started $(date +%%s%%N)" >> "$BENCH_PROCESS_LOG"
exit $rc
''' % HOST_PYTHON
PAYLOADS = {'file': ('AnsiballZ_file.py', 'ansible.modules.file'),
            'create': ('AnsiballZ_dockerlite_container.py',
                       'ansible_collections.dockerlite.core.plugins.modules.dockerlite_container')}


def split_loop(ws, label, task, k):
    """Run a loop of ``k`` items with the timed interpreter, keeping the AnsiballZ files.

    Returns per-item ms, the mean module process ms (as the timed interpreter saw it)
    and the directory with the kept files.
    """
    keep = os.path.join(ws.tmp, 'keep-' + label)
    process_log = keep + '.processes'
    result = ws.ansible.play(label, [task], interpreter=ws.timed_interpreter, env={
        'ANSIBLE_KEEP_REMOTE_FILES': '1', 'ANSIBLE_REMOTE_TMP': keep, 'BENCH_PROCESS_LOG': process_log})
    with open(process_log) as handle:
        spans = [[int(word) for word in line.split()] for line in handle if line.strip()]
    if len(spans) != k:
        raise BenchError('%s: %d module processes logged for %d items' % (label, len(spans), k))
    figures = loop_figures(result['tasks'][0], k)
    figures['process_ms'] = mean([(end - start) / 1e6 for start, end in spans])
    return figures, keep


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
        task = loop_task(phase, module, args, items)
        split[phase], kept[phase] = split_loop(ws, 'split-%s-%d' % (phase, fleet['n']), task, k)
    ws.ansible.play('split-remove-%d' % fleet['n'], [loop_task('remove', CONTAINER_MODULE, {
        'name': '{{ item }}', 'state': 'absent'}, items)])
    imports = {}
    for phase, (filename, module) in PAYLOADS.items():
        wrapper = sorted(glob.glob(os.path.join(kept[phase], '*', filename)))[0]
        zipped = payload_zip(wrapper, kept[phase] + '.zip')
        probes = [ws.host('import_probe', {'zip': zipped, 'module': module}, clean_env=True)
                  for _probe in range(ws.settings.repeat)]
        imports[phase] = {'basic_ms': median([p['basic_ms'] for p in probes]),
                          'module_ms': median([p['module_ms'] for p in probes]),
                          'payload_bytes': os.path.getsize(zipped)}
    split['k'] = k
    fleet['split'] = split
    fleet['imports'] = imports


WORK_PHASES = ('create_start', 'rerun', 'stop', 'remove')


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
        runs = figures.pop('steps')
        labels = sorted({label for steps in runs for label in steps})
        figures['steps_ms'] = {label: mean([steps.get(label, 0.0) for steps in runs]) for label in labels}
    fleet['work_cold'] = cold


def measure_stop_remove(ws, fleet):
    """Figure 5 (module): stop the N containers, then remove them, each as a loop."""
    n = fleet['n']
    items = names(ws, 'dl', n)
    stop = ws.ansible.play('stop-%d' % n, [loop_task('stop', CONTAINER_MODULE, {'name': '{{ item }}',
                                                                                'state': 'stopped'}, items)])
    remove = ws.ansible.play('remove-%d' % n, [loop_task('remove', CONTAINER_MODULE, {'name': '{{ item }}',
                                                                                      'state': 'absent'}, items)])
    fleet['stop'] = loop_figures(stop['tasks'][0], n)
    fleet['remove'] = loop_figures(remove['tasks'][0], n)


def measure_raw_floor(ws, fleet):
    """Figures 1 and 5 (raw floor): a /usr/bin/python3 loop of snapshot + config + start, then stop + delete."""
    n = fleet['n']
    raw_names = names(ws, 'raw', n)
    created = ws.host('raw_create_start', {'lxcpath': ws.raw, 'image_rootfs': ws.image_rootfs, 'names': raw_names,
                                           'command': COMMAND, 'template': ws.template})
    stopped = ws.host('raw_stop_remove', {'lxcpath': ws.raw, 'names': raw_names})
    fleet['raw'] = dict(created['steps_ms'], **stopped['steps_ms'])


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
    args = {'name': '{{ item }}', 'template': 'busybox', 'backing_store': 'btrfs', 'config': config,
            'state': 'started'}
    items = names(ws, 'lc', n)
    try:
        create = ws.ansible.play('peer-create-%d' % n, [loop_task('create', PEER_MODULE, args, items)],
                                 wrap=ws.in_peer_namespace([]))
        rerun = ws.ansible.play('peer-rerun-%d' % n, [loop_task('create', PEER_MODULE, args, items)],
                                wrap=ws.in_peer_namespace([]))
    finally:
        ws.clean_peer()
    fleet['peer_create'] = loop_figures(create['tasks'][0], n)
    fleet['peer_rerun'] = loop_figures(rerun['tasks'][0], n)


def stack_floor(ws, label):
    """Ansible's per-task floor: STACK_FLOOR_TASKS separate no-op file tasks, ms per task."""
    tasks = [{'name': 'floor %d' % index, FLOOR_MODULE: FLOOR_ARGS} for index in range(STACK_FLOOR_TASKS)]
    times = ws.ansible.play(label, tasks)['tasks']
    return (times[-1]['end'] - times[0]['start']) * 1000.0 / len(times)


def running_names(ws, prefix):
    lxcpath = os.path.join(ws.root, 'containers')
    active = run(['lxc-ls', '--active', '--line', '-P', lxcpath]).split() if os.path.isdir(lxcpath) else []
    return [name for name in active if name.startswith(prefix)]


def existing_names(ws, prefix):
    lxcpath = os.path.join(ws.root, 'containers')
    return [name for name in (os.listdir(lxcpath) if os.path.isdir(lxcpath) else []) if name.startswith(prefix)]


def measure_stack(ws, results):
    """Figure 6: one dockerlite_stack task converging BENCH_STACK_N containers (create+start), the same
    task again (unchanged) and state=absent, against Ansible's per-task floor, measured just before and
    just after. The stack plays run with the timed interpreter, so each task splits into the module
    process (one, with its forked start/stop workers) and the controller's share; the module's
    imports are probed from the payload zip, as for dockerlite_container."""
    n = ws.settings.stack_n
    if n <= 0:
        return
    stack_names = names(ws, 'st', n)
    prefix = '%sst%d-' % (ws.prefix, n)
    stack_name = ws.prefix + 'stack'
    members = [{'name': name, 'image': IMAGE, 'command': COMMAND} for name in stack_names]
    parallel = option_default_parallel(ws)
    figures = {'n': n, 'parallel': parallel, 'floor_before_ms': stack_floor(ws, 'stack-floor-%d' % n)}
    keep = os.path.join(ws.tmp, 'keep-stack')
    for phase, state in (('create', 'started'), ('rerun', 'started'), ('absent', 'absent')):
        label = 'stack-%s-%d' % (phase, n)
        process_log = os.path.join(ws.tmp, label + '.processes')
        env = {'BENCH_PROCESS_LOG': process_log}
        if phase == 'create':
            env.update(ANSIBLE_KEEP_REMOTE_FILES='1', ANSIBLE_REMOTE_TMP=keep)
        task = {'name': phase, STACK_MODULE: {'root': ws.root, 'name': stack_name, 'state': state,
                                              'containers': members if state != 'absent' else []}}
        played = ws.ansible.play(label, [task], interpreter=ws.timed_interpreter, env=env)['tasks'][0]
        with open(process_log) as handle:
            spans = [[int(word) for word in line.split()] for line in handle if line.strip()]
        if len(spans) != 1:
            raise BenchError('%s: %d module processes logged for one task' % (label, len(spans)))
        figures[phase] = {'task_ms': (played['end'] - played['start']) * 1000.0, 'changed': played['changed'],
                          'process_ms': (spans[0][1] - spans[0][0]) / 1e6,
                          'running': len(running_names(ws, prefix)), 'existing': len(existing_names(ws, prefix))}
        log('stack %s: %.0f ms, changed %s, %d running'
            % (phase, figures[phase]['task_ms'], played['changed'], figures[phase]['running']))
    figures['floor_after_ms'] = stack_floor(ws, 'stack-floor-again-%d' % n)
    figures['floor_ms'] = (figures['floor_before_ms'] + figures['floor_after_ms']) / 2
    wrapper = sorted(glob.glob(os.path.join(keep, '*', 'AnsiballZ_dockerlite_stack.py')))[0]
    zipped = payload_zip(wrapper, keep + '.zip')
    module = 'ansible_collections.dockerlite.core.plugins.modules.dockerlite_stack'
    probes = [ws.host('import_probe', {'zip': zipped, 'module': module}, clean_env=True)
              for _probe in range(ws.settings.repeat)]
    figures['imports'] = {'basic_ms': median([p['basic_ms'] for p in probes]),
                          'module_ms': median([p['module_ms'] for p in probes]),
                          'payload_bytes': os.path.getsize(zipped)}
    shutil.rmtree(keep, ignore_errors=True)
    results['stack'] = figures


def option_default_parallel(ws):
    """The module's default for parallel, from its documentation (the task leaves it out)."""
    path = os.path.join(ws.settings.build, 'ansible_collections', 'dockerlite', 'core', 'plugins', 'modules',
                        'dockerlite_stack.py')
    with open(path) as handle:
        match = re.search(r'^  parallel:\n(?:    .*\n)*?    default: (\d+)', handle.read(), re.M)
    return int(match.group(1)) if match else None


def measure_commit(ws, results):
    """Figure 3: commit time against data written in a running container, synced before or not."""
    log('commit: %s MiB, synced and not' % ', '.join(map(str, ws.settings.commit_mib)))
    results['commit'] = ws.host('commit', {'root': ws.root, 'image': IMAGE, 'command': COMMAND,
                                           'sizes_mib': ws.settings.commit_mib,
                                           'repeat': ws.settings.commit_repeat})['cases']


def measure_lxcfs_hook(ws, results):
    """Figure 5 (config): start and stop with our config against the same config including LXC's common.conf."""
    n = ws.settings.hook_n
    if not os.path.exists(COMMON_CONF):
        results['hook'] = {'skipped': '%s does not exist' % COMMON_CONF}
        return
    hook = {}
    for variant, include in (('ours', None), ('common_conf', COMMON_CONF)):
        hook_names = names(ws, 'hk-' + variant.replace('_', '') + '-', n)
        created = ws.host('raw_create_start', {'lxcpath': ws.raw, 'image_rootfs': ws.image_rootfs, 'names': hook_names,
                                               'command': COMMAND, 'template': ws.template, 'include': include})
        stopped = ws.host('raw_stop_remove', {'lxcpath': ws.raw, 'names': hook_names})
        hook[variant] = dict(created['steps_ms'], **stopped['steps_ms'])
    hooks_dir = os.path.join(os.path.dirname(COMMON_CONF), 'common.conf.d')
    hook['hooks'] = sorted(os.listdir(hooks_dir)) if os.path.isdir(hooks_dir) else []
    results['hook'] = hook


def build_image(ws, results):
    before = ws.disk_usage()
    result = ws.ansible.play('image', [{'name': 'image', 'dockerlite.core.dockerlite_image': {
        'name': IMAGE, 'source': 'busybox'}}])
    task = result['tasks'][0]
    images = os.path.join(ws.root, 'images')
    (image_id,) = os.listdir(images)
    ws.image_rootfs = os.path.join(images, image_id, 'rootfs')
    results['image'] = {'build_ms': (task['end'] - task['start']) * 1000.0,
                        'used_delta': ws.disk_usage()['used'] - before['used']}


def timed_ms(call):
    started = time.monotonic()
    call()
    return (time.monotonic() - started) * 1000.0


def write_into(ws, name, size_mib):
    """``size_mib`` MiB of random data into container ``name``'s rootfs, from the host."""
    with open(os.path.join(ws.root, 'containers', name, 'rootfs', 'bench-data'), 'wb') as handle:
        for _mib in range(size_mib):
            handle.write(os.urandom(MIB))


QUOTA_WRITE_MIB = 1  # written into each container of figure 7 before it is removed


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
        remove = ws.ansible.play('quota-%s-remove' % mode, [loop_task('remove', CONTAINER_MODULE, {
            'name': '{{ item }}', 'state': 'absent'}, items)])
        mode_figures.update(create=loop_figures(create['tasks'][0], n), remove=loop_figures(remove['tasks'][0], n),
                            cleaner_ms=timed_ms(ws.quiesce))
        mode_figures['commit'] = ws.host('commit', {'root': ws.root, 'image': IMAGE, 'command': COMMAND,
                                                    'sizes_mib': [1], 'repeat': ws.settings.commit_repeat})['cases']
        if ws.settings.stack_n > 0:
            members = [dict({'name': name, 'image': IMAGE, 'command': COMMAND}, **limit)
                       for name in names(ws, 'qs%s' % mode, ws.settings.stack_n)]
            for phase, state in (('create', 'started'), ('absent', 'absent')):
                task = {'name': phase, STACK_MODULE: {'root': ws.root, 'name': ws.prefix + 'qstack' + mode,
                                                      'state': state, 'containers': members}}
                played = ws.ansible.play('quota-%s-stack-%s' % (mode, phase), [task])['tasks'][0]
                mode_figures['stack_' + phase] = {'task_ms': (played['end'] - played['start']) * 1000.0,
                                                  'changed': played['changed']}
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
    measure_quota,  # last: it leaves quotas on
)


# -- the table ----------------------------------------------------------------

def fmt_ms(value):
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


def met(ok):
    return 'yes' if ok else '**no**'


class Row:
    COLUMNS = ('#', 'Figure', 'N', 'Measured', 'Against', 'Ratio', 'Target', 'Met', 'Bound / note')

    def __init__(self, figure, what, n, measured, against='', ratio='', target='', ok=None, note=''):
        self.cells = (figure, what, '' if n is None else str(n), measured, against, ratio, target,
                      '' if ok is None else met(ok), note)


def fmt_steps(steps):
    return ', '.join('%s %s' % (label, fmt_ms(value)) for label, value in sorted(steps.items()))


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


def rows_create_start(results):
    rows = []
    for fleet in results['fleets']:
        n, floor, create = fleet['n'], fleet['floor']['per_item_ms'], fleet['create']['per_item_ms']
        ratio = create / floor
        note = changed_note(fleet['create'], n)
        if ratio > TARGET_CREATE:
            note = '; '.join(filter(None, [note, 'over the floor by %s: %s' % (
                fmt_ms(create - floor), split_note(fleet, 'create', 'create_start'))]))
        rows.append(Row('1', 'create+start per container: dockerlite_container loop', n, fmt_ms(create),
                        'Ansible floor %s (file no-op loop; runs %s, %s)' % (
                            fmt_ms(floor), fmt_ms(fleet['floor']['before_ms']), fmt_ms(fleet['floor']['after_ms'])),
                        fmt_ratio(ratio),
                        '≤ %.2f×' % TARGET_CREATE, ratio <= TARGET_CREATE and not changed_note(fleet['create'], n),
                        note))
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
                note = '; '.join(filter(None, [note, 'no loop item can beat the floor: the best possible is '
                                               '%s / %s = %s' % (fmt_ms(peer), fmt_ms(floor),
                                                                 fmt_ratio(peer / floor))]))
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
            note = '; '.join(filter(None, [note, 'over the floor by %s: %s' % (
                fmt_ms(rerun - floor), split_note(fleet, 'rerun', 'rerun'))]))
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
                    fmt_ms(process), fmt_ms(imports['basic_ms'] + imports['module_ms']), fmt_ms(imports['basic_ms']),
                    fmt_ms(imports['module_ms']), fmt_ms(process - imports['basic_ms'] - imports['module_ms']),
                    fmt_ms((process - imports['basic_ms'] - imports['module_ms']) / n), stack['parallel'],
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
        label = '%d MiB written, %s' % (case['mib'], 'synced first' if case['synced'] else 'not synced')
        target, ok, note = '', None, fmt_steps(case['steps_ms'])
        if case['synced'] and case['mib'] == largest and largest > smallest:
            ratio = case['commit_ms'] / base
            target, ok = '≤ %.1f× (%d MiB synced)' % (TARGET_COMMIT, largest), ratio <= TARGET_COMMIT
        if case['synced']:
            note = 'sync before it %s; %s' % (fmt_ms(case['sync_ms']), note)
        rows.append(Row('3', 'commit (CommitManager in-process): ' + label, None, fmt_ms(case['commit_ms']),
                        'commit of %d MiB %s' % (smallest, 'synced' if case['synced'] else 'unsynced'),
                        fmt_ratio(case['commit_ms'] / base), target, ok, note))
    return rows


def rows_disk(results):
    rows = []
    image_bytes = None
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
        for phase, label, raw_key in (('stop', 'stop', 'stop'), ('remove', 'remove (stopped)', 'remove')):
            value = fleet[phase]['per_item_ms']
            work = fleet['work'][phase]
            rows.append(Row('5', '%s per container: dockerlite_container loop' % label, n, fmt_ms(value),
                            'Ansible floor %s' % fmt_ms(floor), fmt_ratio(value / floor), '', None,
                            '; '.join(filter(None, [changed_note(fleet[phase], n),
                                                    'work in-process %s (fresh process), %s warm; raw %s %s' % (
                                                        fmt_ms(mean(fleet['work_cold'][phase]['per_container_ms'])),
                                                        fmt_ms(mean(work['per_container_ms'])), raw_key,
                                                        fmt_ms(mean(raw[raw_key])))]))))
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
        pairs.append(('commit (CommitManager in-process): 1 MiB written, %s'
                      % ('synced first' if case_on['synced'] else 'not synced'), None, case_off['commit_ms'],
                      case_on['commit_ms'], ''))
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


ROWS = (
    rows_create_start,
    rows_rerun,
    rows_commit,
    rows_disk,
    rows_stop_remove,
    rows_stack,
    rows_quota,
)


def markdown_table(rows):
    lines = ['| ' + ' | '.join(Row.COLUMNS) + ' |', '|' + '---|' * len(Row.COLUMNS)]
    for row in rows:
        lines.append('| ' + ' | '.join(cell.replace('|', '\\|') for cell in row.cells) + ' |')
    return '\n'.join(lines)


# -- plots --------------------------------------------------------------------

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

    def bars(ax, groups, series, ylabel, log=False):
        width = 0.8 / len(series)
        for index, (label, values) in enumerate(series):
            xs = [pos + (index - (len(series) - 1) / 2) * width for pos in range(len(groups))]
            drawn = ax.bar(xs, [v or 0 for v in values], width, label=label)
            ax.bar_label(drawn, labels=['%.0f' % v if v else '' for v in values], fontsize=7)
        ax.set_xticks(range(len(groups)), groups)
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale('log')
        ax.legend(fontsize=8)

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
    return written


# -- main ---------------------------------------------------------------------

def machine(settings):
    def first(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, check=False)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return 'n/a'

    with open('/proc/cpuinfo') as handle:
        models = re.findall(r'^model name\s*:\s*(.*)$', handle.read(), re.M)
    with open('/proc/meminfo') as handle:
        mem_kib = int(re.search(r'^MemTotal:\s+(\d+)', handle.read(), re.M).group(1))
    try:
        with open('/etc/debian_version') as handle:
            debian = handle.read().strip()
    except OSError:
        debian = 'n/a'
    return {
        'cpu': '%d × %s' % (len(models), models[0] if models else 'unknown'),
        'memory': '%.1f GiB' % (mem_kib / 1024 / 1024), 'kernel': platform.release(), 'debian': debian,
        'host_python': first([HOST_PYTHON, '--version']),
        'ansible': first([os.path.join(settings.bin, 'ansible-playbook'), '--version']),
        'lxc': first(['lxc-start', '--version']), 'btrfs': first(['btrfs', '--version']),
    }


def preflight():
    if os.geteuid() != 0:
        raise BenchError('the benchmark needs root (loop devices, mounts, LXC)')
    for tool in ('truncate', 'losetup', 'mkfs.btrfs', 'btrfs', 'lxc-ls', 'lxc-stop', 'lxc-config', 'unshare'):
        if not shutil.which(tool):
            raise BenchError('%s not found; install btrfs-progs, lxc and util-linux' % tool)
    probe = subprocess.run([HOST_PYTHON, '-c', 'import btrfsutil, lxc'], capture_output=True, text=True,
                           check=False)
    if probe.returncode != 0:
        raise BenchError('%s cannot import btrfsutil and lxc (python3-btrfsutil, python3-lxc): %s'
                         % (HOST_PYTHON, probe.stderr.strip()))


def write_report(results, settings):
    rows = [row for build_rows in ROWS for row in build_rows(results)]
    info = results['machine']
    header = ['Machine: %s, %s RAM, kernel %s, Debian %s; %s; %s; %s; %s.' % (
        info['cpu'], info['memory'], info['kernel'], info['debian'], info['ansible'], info['host_python'],
        'LXC ' + info['lxc'], info['btrfs']),
        'Run: %s, %.0f s, load average %.2f before, %.2f after; N = %s; lxc_container at N = %s; '
        'image %s (build %s); loop file grew to %s.' % (
        results['date'], results['seconds'], results['load_before'][0], results['load_after'][0],
        ' '.join(map(str, settings.ns)),
        ' '.join(map(str, settings.peer_ns)) or 'skipped', fmt_mib(results['image']['used_delta']),
        fmt_ms(results['image']['build_ms']), fmt_mib(results.get('loopfile_allocated', 0)))]
    if results['load_before'][0] > 0.5 * (os.cpu_count() or 1):
        header.append('**The machine was busy** (load average %.2f on %d CPUs when the run began): the '
                      'figures are noisy.' % (results['load_before'][0], os.cpu_count()))
    text = '\n'.join(header) + '\n\n' + markdown_table(rows) + '\n'
    with open(os.path.join(settings.output, 'results.md'), 'w') as handle:
        handle.write(text)
    with open(os.path.join(settings.output, 'results.json'), 'w') as handle:
        json.dump(results, handle, indent=1)
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--build', default=os.path.join(os.path.dirname(HERE), '.build'),
                        help='directory holding ansible_collections/dockerlite/core (make collection)')
    parser.add_argument('--output', default=os.path.join(HERE, 'output'), help='where results and plots go')
    parser.add_argument('--from-json', metavar='RESULTS',
                        help='measure nothing: make the table and plots again from a results.json')
    opts = parser.parse_args()
    settings = Settings(opts.build, opts.output)
    if opts.from_json:
        with open(opts.from_json) as handle:
            results = json.load(handle)
        settings.ns = [fleet['n'] for fleet in results['fleets']]
        settings.peer_ns = [fleet['n'] for fleet in results['fleets'] if 'peer_create' in fleet]
        os.makedirs(settings.output, exist_ok=True)
        print(write_report(results, settings))
        plot_all(results, settings.output)
        return
    if not os.path.isdir(os.path.join(settings.build, 'ansible_collections', 'dockerlite', 'core')):
        raise BenchError('no collection copy under %s; run make collection' % settings.build)
    preflight()
    os.makedirs(settings.output, exist_ok=True)

    # SIGTERM and SIGHUP unwind like Ctrl-C, so the teardown below runs.
    def interrupted(signum, _frame):
        raise KeyboardInterrupt('signal %d' % signum)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupted)

    results = {'machine': machine(settings), 'date': time.strftime('%Y-%m-%d %H:%M:%S %Z'), 'fleets': [],
               'hook_n': settings.hook_n, 'load_before': os.getloadavg()}
    ws = Workspace(settings)
    try:
        ws.setup()
        build_image(ws, results)
        for n in settings.ns:
            fleet = {'n': n}
            results['fleets'].append(fleet)
            for measure in PER_N:
                log('N=%d: %s' % (n, measure.__name__))
                measure(ws, fleet)
        for measure in ONCE:
            log(measure.__name__)
            measure(ws, results)
    finally:
        if os.path.exists(ws.loopfile):
            results['loopfile_allocated'] = os.stat(ws.loopfile).st_blocks * 512
        log('teardown')
        ws.teardown()
    results['seconds'] = time.monotonic() - STARTED
    if results['load_before'][0] > 0.5 * (os.cpu_count() or 1):
        log('the machine was busy (load average %.2f on %d CPUs): the figures are noisy'
            % (results['load_before'][0], os.cpu_count()))
    results['load_after'] = os.getloadavg()
    text = write_report(results, settings)
    plots = plot_all(results, settings.output)
    print(text)
    print('Results: %s; plots: %s' % (os.path.join(settings.output, 'results.json'), ', '.join(plots)))


if __name__ == '__main__':
    try:
        main()
    except BenchError as exc:
        sys.exit('bench: %s' % exc)
    except KeyboardInterrupt as exc:
        sys.exit('bench: interrupted (%s); the store was torn down' % (exc or 'Ctrl-C'))
