# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Docker, Podman and a registry as peers on this machine, with their state under one directory.

    peers.py start DIR [--peers docker,podman,registry] [--insecure-registry HOST:PORT ...]
    peers.py stop DIR
    peers.py leftovers DIR

``start`` runs a dockerd of its own: data root and pid file under DIR/docker; exec root and
socket in a short directory of the run's, /run/dlpeers-*, since a unix socket's path has
at most 107 bytes; no bridge, iptables, forwarding or masquerading; cgroupfs, under a cgroup
parent named for the run. For Podman it writes the configuration that makes every podman
call keep its state under DIR/podman (containers.conf, storage.conf, registries.conf; the
run root in the short directory, since Podman wants one within 50 characters). With
``registry``, Debian's docker-registry serves plain HTTP on a free 127.0.0.1 port, its
files under DIR/registry (started and stopped by files/registry.py, which the targets also use
on their own), and both engines are told it is insecure. The state, printed
and kept in DIR/peers.json, gives per peer the argv prefix of its CLI and the environment
to run it with (the registry: ``address`` and ``pid``), or why a peer was skipped.

``stop`` removes the engines' containers, stops dockerd and the registry by pid (containerd
and the shims go with dockerd; whatever still names the run's directories is killed by
pid), unmounts what is left under them, and removes what the peers made outside DIR that
was not there before ``start``: dockerd's /etc/docker/key.json and /run/docker/plugins, the
shims' /run/containerd/s, podman's /run/containers and /var/lib/containers/cache, runc's
/run/runc, the cgroup directories, the short directory. Then it prints what is left
(processes, mounts, those paths) and exits 1 when anything is; ``leftovers`` only looks.

Standard library only: the benchmark imports this file as a module (``Peers``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

DOCKERD = '/usr/sbin/dockerd'
SHORT_PARENT = '/run'
# Debian's docker.io client first: it matches the daemon (another docker CLI may come first on PATH).
DOCKER_CLIS = ('/usr/bin/docker', 'docker')
PODMAN = 'podman'
STATE = 'peers.json'
# Paths outside the run's directory that the peers create when missing. Those that did not
# exist before start are removed by stop (when no other engine process still runs).
OUTSIDE = {
    # /var/lib/docker: never used (a data root of the run's own); listed so that leftovers would show it.
    'docker': ('/var/lib/docker', '/etc/docker/key.json', '/etc/docker', '/run/docker/plugins', '/run/docker',
               '/run/containerd/s', '/run/containerd'),
    'podman': ('/run/containers/networks', '/run/containers', '/var/lib/containers/cache',
               '/var/lib/containers', '/run/runc'),
    'registry': (),
}
# Podman's cgroupfs parent for its containers (dockerd gets one named for the run instead).
PODMAN_CGROUP_PARENT = 'libpod_parent'
# As /proc/PID/stat names them (at most 15 characters).
ENGINE_NAMES = ('dockerd', 'containerd', 'containerd-shim', 'conmon', 'podman')
DOCKER_START_TIMEOUT = 60
STOP_TIMEOUT = 30


def load_sibling(name):
    """Another helper of this directory as a module (the benchmark loads this file by its path)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + '.py')
    spec = importlib.util.spec_from_file_location('dockerlite_test_' + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The registry peer: files/registry.py, which the targets also run on their own; it also holds
# the helpers that stop processes by pid, for dockerd and containerd here.
REGISTRY = load_sibling('registry')
alive, wait_gone, kill, tail = REGISTRY.alive, REGISTRY.wait_gone, REGISTRY.kill, REGISTRY.tail


class PeerError(Exception):
    pass


def run(argv, env=None, check=True, timeout=300):
    proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise PeerError('%s exited %d: %s' % (' '.join(argv), proc.returncode, proc.stderr.strip()))
    return proc


def cgroup_roots():
    """The mount points of the cgroup hierarchies (v1 controllers and v2)."""
    roots = []
    with open('/proc/self/mountinfo') as handle:
        for line in handle:
            fields = line.split()
            fstype = fields[fields.index('-') + 1]
            if fstype in ('cgroup', 'cgroup2'):
                roots.append(fields[4])
    return sorted(set(roots))


def ancestors():
    """This process and its ancestors (a shell that ran this script names the directory too)."""
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open('/proc/%d/stat' % pid) as handle:
                pid = int(handle.read().rsplit(')', 1)[1].split()[1])
        except OSError:
            break
    return pids


def processes():
    """(pid, name, command line) of every process but this one and its ancestors."""
    skip = ancestors()
    found = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                cmdline = handle.read().replace(b'\0', b' ').decode('utf-8', 'replace').strip()
            with open('/proc/%s/stat' % pid) as handle:
                stat = handle.read()
        except OSError:
            continue
        # A zombie has done its work (this machine's PID 1 may be slow to reap them).
        name, state = stat[stat.index('(') + 1:stat.rindex(')')], stat.rsplit(')', 1)[1].split()[0]
        if state == 'Z':
            continue
        if int(pid) not in skip:
            found.append((int(pid), name, cmdline))
    return found


def mounts_under(directory):
    prefix = directory.rstrip('/') + '/'
    with open('/proc/self/mountinfo') as handle:
        points = [line.split()[4].replace('\\040', ' ') for line in handle]
    return sorted({point for point in points if point.startswith(prefix)}, reverse=True)


class Peers:
    """The peers of one run, all under ``directory``; ``state`` is what start recorded."""

    def __init__(self, directory):
        self.dir = os.path.abspath(directory)
        self.state_file = os.path.join(self.dir, STATE)
        self.state = None
        if os.path.exists(self.state_file):
            with open(self.state_file) as handle:
                self.state = json.load(handle)

    # -- start ---------------------------------------------------------------

    def start(self, which=('docker', 'podman'), insecure_registries=()):
        if self.state is not None:
            raise PeerError('%s already holds started peers; stop them first' % self.dir)
        os.makedirs(self.dir, exist_ok=True)
        state = {'dir': self.dir, 'peers': list(which), 'skipped': {}, 'created': [], 'cgroups': []}
        for peer in which:
            state['created'] += [path for path in OUTSIDE[peer] if not os.path.lexists(path)]
        state['cgroups'] = [os.path.join(root, PODMAN_CGROUP_PARENT) for root in cgroup_roots()
                            if not os.path.exists(os.path.join(root, PODMAN_CGROUP_PARENT))] \
            if 'podman' in which else []
        self.state = state
        self._save()
        try:
            if 'registry' in which:
                self._start_registry()
                if 'address' in self.state.get('registry', {}):
                    insecure_registries = list(insecure_registries) + [self.state['registry']['address']]
            if 'podman' in which:
                self._start_podman(insecure_registries)
            if 'docker' in which:
                self._start_docker(insecure_registries)
        except BaseException:
            self.stop()
            raise
        self._save()
        return self.state

    def _save(self):
        tmp = self.state_file + '.tmp'
        with open(tmp, 'w') as handle:
            json.dump(self.state, handle, indent=1)
        os.replace(tmp, self.state_file)

    def _short_dir(self):
        """This run's directory for sockets, made at first use: a unix socket's path is at most 107
        bytes (containerd's under the exec root, conmon's under Podman's runroot, which Podman wants
        within 50 characters), too few for a deep test directory. A tmpfs, as a runroot should be."""
        if not self.state.get('short'):
            self.state['short'] = tempfile.mkdtemp(prefix='dlpeers-', dir=SHORT_PARENT)
            self.state['created'].append(self.state['short'])
            self._save()
        return self.state['short']

    def _start_docker(self, insecure_registries):
        cli = next(filter(None, (shutil.which(name) for name in DOCKER_CLIS)), None)
        if not os.access(DOCKERD, os.X_OK) or not cli:
            self.state['skipped']['docker'] = 'docker.io is not installed (no %s or docker CLI)' % DOCKERD
            return
        base = os.path.join(self.dir, 'docker')
        for sub in ('data', 'client'):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        short = os.path.join(self._short_dir(), 'docker')
        os.mkdir(short)
        sock = 'unix://' + os.path.join(short, 'docker.sock')
        cgroup_parent = 'dlpeers-%s' % secrets.token_hex(4)
        argv = [DOCKERD, '--data-root', os.path.join(base, 'data'), '--exec-root', os.path.join(short, 'exec'),
                '--pidfile', os.path.join(base, 'dockerd.pid'), '-H', sock,
                '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false',
                '--exec-opt', 'native.cgroupdriver=cgroupfs', '--cgroup-parent', cgroup_parent,
                '--storage-driver', 'overlay2', '--config-file', os.path.join(base, 'daemon.json')]
        argv += ['--insecure-registry=%s' % registry for registry in insecure_registries]
        with open(os.path.join(base, 'daemon.json'), 'w') as handle:
            handle.write('{}\n')
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'DOCKER_CONFIG': os.path.join(base, 'client')}
        docker = {'argv': [cli, '-H', sock], 'env': env, 'log': os.path.join(base, 'dockerd.log'),
                  'cgroup_parent': cgroup_parent}
        self.state['docker'] = docker
        self.state['cgroups'] += [os.path.join(root, cgroup_parent) for root in cgroup_roots()]
        with open(docker['log'], 'ab') as log:
            # A session of its own: the caller's signals do not reach it, and it outlives this process.
            # pylint: disable-next=consider-using-with
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                    start_new_session=True, cwd=base)
        docker['pid'] = proc.pid
        self._save()
        deadline = time.monotonic() + DOCKER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise PeerError('dockerd exited %d at start: %s' % (proc.returncode, tail(docker['log'])))
            probe = run(docker['argv'] + ['info', '--format', '{{.Driver}}'], env=env, check=False)
            if probe.returncode == 0:
                docker['storage_driver'] = probe.stdout.strip()
                break
            if time.monotonic() > deadline:
                raise PeerError('dockerd did not answer on %s within %d s: %s'
                                % (sock, DOCKER_START_TIMEOUT, tail(docker['log'])))
            time.sleep(0.2)
        docker['version'] = run(docker['argv'] + ['version', '--format', '{{.Server.Version}}'], env=env).stdout.strip()

    def _start_registry(self):
        if not shutil.which(REGISTRY.REGISTRY):
            self.state['skipped']['registry'] = 'docker-registry is not installed'
            return
        try:
            started = REGISTRY.start(os.path.join(self.dir, 'registry'))
        except REGISTRY.RegistryError as exc:
            raise PeerError(str(exc)) from None
        self.state['registry'] = {key: started[key] for key in ('address', 'pid', 'log')}
        self._save()

    def _start_podman(self, insecure_registries):
        binary = shutil.which(PODMAN)
        if not binary or not shutil.which('runc'):
            self.state['skipped']['podman'] = 'podman or runc is not installed'
            return
        base = os.path.join(self.dir, 'podman')
        paths = {name: os.path.join(base, name) for name in ('root', 'tmp', 'runc', 'networks')}
        for path in paths.values():
            os.makedirs(path, exist_ok=True)
        paths['runroot'] = os.path.join(self._short_dir(), 'podman')
        os.mkdir(paths['runroot'])
        conf = {name: os.path.join(base, name) for name in ('containers.conf', 'storage.conf', 'registries.conf')}
        # runc, because crun refuses hybrid cgroups; ulimits the shell can grant; no network namespace
        # setup (no bridge); every file podman keeps under this directory.
        with open(conf['containers.conf'], 'w') as handle:
            handle.write('[containers]\nnetns = "none"\n'
                         'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
                         '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
                         'events_logfile_path = "%s"\nimage_copy_tmp_dir = "%s"\ntmp_dir = "%s"\n'
                         '[network]\nnetwork_config_dir = "%s"\n'
                         % (os.path.join(base, 'events.log'), paths['tmp'], paths['tmp'], paths['networks']))
        with open(conf['storage.conf'], 'w') as handle:
            handle.write('[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n'
                         % (paths['root'], paths['runroot']))
        with open(conf['registries.conf'], 'w') as handle:
            handle.write('unqualified-search-registries = []\n')
            for registry in insecure_registries:
                handle.write('\n[[registry]]\nlocation = "%s"\ninsecure = true\n' % registry)
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'CONTAINERS_CONF': conf['containers.conf'],
               'CONTAINERS_STORAGE_CONF': conf['storage.conf'], 'CONTAINERS_REGISTRIES_CONF': conf['registries.conf'],
               'TMPDIR': paths['tmp']}
        # runc's own state directory (its default is /run/runc).
        argv = [binary, '--root', paths['root'], '--runroot', paths['runroot'], '--tmpdir', paths['tmp'],
                '--runtime-flag', 'root=' + paths['runc']]
        podman = {'argv': argv, 'env': env}
        self.state['podman'] = podman
        podman['version'] = run(argv + ['version', '--format', '{{.Client.Version}}'], env=env).stdout.strip()
        podman['storage_driver'] = run(argv + ['info', '--format', '{{.Store.GraphDriverName}}'],
                                       env=env).stdout.strip()

    # -- stop ----------------------------------------------------------------

    def own_processes(self):
        """Processes whose command line names this run's directory (dockerd, containerd, shims, conmon)."""
        return [(pid, name, cmdline) for pid, name, cmdline in processes()
                if any(top + '/' in cmdline or (cmdline + ' ').find(top + ' ') >= 0 for top in self.tops())]

    def tops(self):
        """The directories that hold this run's state: DIR, and the short one for sockets."""
        return [self.dir] + ([self.state['short']] if self.state and self.state.get('short') else [])

    def stop(self):
        """Stop everything start made; returns the list of what is left (empty when clean)."""
        if self.state is None:
            return []
        errors = []
        for step in (self._stop_podman, self._stop_docker, self._stop_registry, self._kill_own, self._unmount,
                     self._remove_outside):
            try:
                step()
            except (PeerError, OSError, subprocess.SubprocessError) as exc:
                errors.append('%s: %s' % (step.__name__.strip('_').replace('_', ' '), exc))
        return errors + self.leftovers()

    def _stop_podman(self):
        podman = self.state.get('podman')
        if not podman:
            return
        run(podman['argv'] + ['rm', '--all', '--force', '--time', '0'], env=podman['env'], check=False)

    def _stop_docker(self):
        docker = self.state.get('docker')
        if not docker or 'pid' not in docker:
            return
        if alive(docker['pid']):
            ids = run(docker['argv'] + ['ps', '--all', '--quiet'], env=docker['env'], check=False).stdout.split()
            if ids:
                run(docker['argv'] + ['rm', '--force'] + ids, env=docker['env'], check=False)
        REGISTRY.stop_process(docker['pid'], STOP_TIMEOUT)

    def _stop_registry(self):
        registry = self.state.get('registry')
        if registry and 'pid' in registry:
            try:
                REGISTRY.stop(registry['pid'], STOP_TIMEOUT)
            except REGISTRY.RegistryError as exc:
                raise PeerError(str(exc)) from None

    def _kill_own(self):
        """containerd and its shims normally go with dockerd; whatever still names the directory goes by pid."""
        pids = [pid for pid, _name, _cmd in self.own_processes()]
        if wait_gone(pids, 10):
            kill(pids, signal.SIGTERM)
            if wait_gone(pids, 5):
                kill(pids, signal.SIGKILL)
                wait_gone(pids, 5)

    def _unmount(self):
        for point in [point for top in self.tops() for point in mounts_under(top)]:
            if run(['umount', point], check=False).returncode != 0:
                run(['umount', '--lazy', point])

    def other_engines(self):
        """Engine processes (dockerd, containerd, conmon, ...) of someone else: then shared paths stay."""
        own = {pid for pid, _name, _cmd in self.own_processes()}
        return [(pid, name) for pid, name, _cmd in processes() if name in ENGINE_NAMES and pid not in own]

    def _remove_outside(self):
        # Empty cgroup directories only (rmdir refuses one that holds a process).
        for cgroup in self.state['cgroups']:
            for sub, _dirs, _files in sorted(os.walk(cgroup), key=lambda entry: len(entry[0]), reverse=True):
                try:
                    os.rmdir(sub)
                except OSError:  # gone, or busy: leftovers() reports what stays
                    pass
        # A file goes; a directory goes when empty, or when no other engine runs that could be using it
        # (another run's containerd keeps its shims' sockets in /run/containerd/s). Deepest first.
        others = None
        for path in sorted(self.state['created'], key=len, reverse=True):
            if not os.path.isdir(path) or os.path.islink(path):
                if os.path.lexists(path):
                    os.unlink(path)
            elif path == self.state.get('short') or not os.listdir(path):
                shutil.rmtree(path)
            else:
                others = self.other_engines() if others is None else others
                if others:
                    raise PeerError('left %s in place: other engine processes run (%s)' % (
                        path, ', '.join('%s %d' % (name, pid) for pid, name in others)))
                shutil.rmtree(path)

    def leftovers(self):
        found = ['process %d (%s): %s' % entry for entry in self.own_processes()]
        found += ['mount %s' % point for top in self.tops() for point in mounts_under(top)]
        if self.state:
            found += ['path %s' % path for path in self.state['created'] if os.path.lexists(path)]
            found += ['cgroup %s' % path for path in self.state['cgroups'] if os.path.exists(path)]
        return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('action', choices=('start', 'stop', 'leftovers'))
    parser.add_argument('dir', help="the run's directory (made when missing)")
    parser.add_argument('--peers', default='docker,podman', help='comma-separated: docker, podman, registry')
    parser.add_argument('--insecure-registry', action='append', default=[],
                        help='HOST:PORT of a plain-HTTP registry the peers may use')
    opts = parser.parse_args(argv)
    peers = Peers(opts.dir)
    if opts.action == 'start':
        which = [word for word in opts.peers.split(',') if word]
        unknown = sorted(set(which) - set(OUTSIDE))
        if unknown:
            parser.error('unknown peer %s (known: %s)' % (', '.join(unknown), ', '.join(sorted(OUTSIDE))))
        try:
            print(json.dumps(peers.start(which, opts.insecure_registry)))
        except PeerError as exc:
            sys.exit('peers: %s' % exc)
        return
    left = peers.stop() if opts.action == 'stop' else peers.leftovers()
    print(json.dumps({'left': left}))
    if left:
        sys.exit(1)


if __name__ == '__main__':
    main()
