#!/usr/bin/env python
# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""A test fleet: N hosts on this machine, each in its own network namespace, reached over SSH.

    tests/fleet/fleet_test.py --hosts 4 --containers 10 [--rolling] [--keep-going]

Each host is a network namespace made here (``ip netns add``), joined by a veth to a
bridge made here, with an address from a private /24 that no route or address of this
machine overlaps; an sshd runs in it (entered with ``nsenter --net`` only, so that LXC
still sees the cgroup mounts), with throwaway host and client keys, listening only on
the host's address; its store is a loopback btrfs file under the temporary directory,
made and mounted by playbooks/fleet.yml (the dockerlite_volume role, scratch fstab).
Every host uses the same container names, so containers of different stores with the
same name run side by side.

What it runs and checks (the JSON callback's stats, not the text):
  0. Images are built once, on the build host (the first host), and shipped to the others: their
     image records say they were received (same id, received from the build host's image).
  1. fleet.yml, the first run, while one host is broken: once its store is mounted,
     its sshd (the listener and its sessions) is killed. The other hosts finish with no
     failure; the recap shows exactly that one host failed or unreachable.
  2. Its sshd is started again; fleet.yml repairs it: no failure, the broken host
     changed, every other host changed=0.
  3. fleet.yml again: changed=0 everywhere (the unchanged rerun, timed; not with --no-rerun).
  4. The floor: a play of as many no-op tasks (ansible.builtin.ping) as the rerun ran
     on one host, over the same hosts and connection.
  Then every host runs all its containers; their memory (LXC monitors + PID 1s) is summed.
  With --rolling, app:v2 is committed on the build host (app:v1 plus 1 MiB), then
  playbooks/rolling_update.yml from app:v1 to app:v2 (see there), one host at a time, with a
  health check that fails on purpose on the second host: the first host is on v2, the second
  (which received v2 as an increment on v1) rolled back to v1, the rest untouched on v1 without
  v2; then without the fault, in one batch: all on v2, the one stream of v2 at most 1.1 x its
  change + 16 KiB; then again: changed=0.

Everything is torn down even on failure: sshds by pid, containers of each store,
mounts, loop devices, veths, namespaces, the bridge; then it checks that nothing is
left and that /etc/passwd, shadow, group, fstab, subuid, subgid are unchanged.
Prints the timings side by side and the memory per container. Exit status 0 on success.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ETC_FILES = ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/fstab', '/etc/subuid', '/etc/subgid']
SLEEP = ['/bin/sh', '-c', 'exec sleep 2147483647']


class TestFailure(Exception):
    pass


def run(argv, check=True, **kwargs):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False, **kwargs)
    if check and proc.returncode != 0:
        raise TestFailure('%s: rc=%d %s' % (' '.join(argv), proc.returncode, proc.stderr.strip()))
    return proc


def log(msg):
    print('[fleet %s] %s' % (time.strftime('%H:%M:%S'), msg), flush=True)


def pick_subnet():
    """A /24 in 10.216.0.0/16 that no address or route of this machine overlaps."""
    used = []
    for line in run(['ip', '-4', '-o', 'addr', 'show']).stdout.splitlines():
        used.append(ipaddress.ip_network(line.split()[3], strict=False))
    for line in run(['ip', '-4', 'route', 'show', 'table', 'all']).stdout.splitlines():
        dest = line.split()[0]
        if dest in ('broadcast', 'local', 'unreachable', 'blackhole', 'prohibit', 'throw'):
            dest = line.split()[1]
        if dest == 'default':
            continue
        try:
            used.append(ipaddress.ip_network(dest, strict=False))
        except ValueError:
            continue
    candidates = list(range(256))
    random.shuffle(candidates)
    for third in candidates:
        net = ipaddress.ip_network('10.216.%d.0/24' % third)
        if not any(net.overlaps(other) for other in used):
            return net
    raise TestFailure('no free /24 in 10.216.0.0/16')


class Fleet:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.tag = '%04x' % random.randrange(0x10000)
        self.bridge = 'dlf%sb' % self.tag
        self.hosts = ['fleet%02d' % (i + 1) for i in range(args.hosts)]
        self.net = None
        self.made = {'bridge': False, 'netns': [], 'veth': [], 'privsep': False}
        self.sshd_pids = {}
        self.env = dict(os.environ)
        self.env.update({
            'ANSIBLE_COLLECTIONS_PATH': args.build,
            'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.json',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_HOST_KEY_CHECKING': '0',
            'ANSIBLE_TIMEOUT': '10',
        })
        if args.venv:
            self.env['PATH'] = os.path.join(args.venv, 'bin') + ':' + os.environ.get('PATH', '/usr/bin:/bin')
        self.env.pop('ANSIBLE_CONFIG', None)

    # -- names ----
    def ns(self, i):
        return 'dlf%sn%d' % (self.tag, i)

    def veth(self, i):
        return 'dlf%sv%d' % (self.tag, i)

    def addr(self, i):
        return str(self.net.network_address + 10 + i)

    @property
    def ssh_args(self):
        return ('-o ControlMaster=auto -o ControlPersist=120s -o ControlPath=%s/cp/%%h '
                '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null '
                '-o IdentitiesOnly=yes -o LogLevel=ERROR -o ConnectTimeout=10' % self.tmp)

    @property
    def ship_cache(self):
        return os.path.join(self.tmp, 'ship-cache')

    def hdir(self, host):
        return os.path.join(self.tmp, host)

    def store(self, host):
        return os.path.join(self.hdir(host), 'store')

    # -- set up ----
    def setup(self):
        self.net = pick_subnet()
        gateway = '%s/24' % (self.net.network_address + 1)
        log('subnet %s, bridge %s, %d hosts' % (self.net, self.bridge, len(self.hosts)))
        run(['ip', 'link', 'add', self.bridge, 'type', 'bridge'])
        self.made['bridge'] = True
        run(['ip', 'addr', 'add', gateway, 'dev', self.bridge])
        run(['ip', 'link', 'set', self.bridge, 'up'])
        if not os.path.isdir('/run/sshd'):
            os.mkdir('/run/sshd', 0o755)
            self.made['privsep'] = True
        for name in ('host_key', 'client_key'):
            run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'dockerlite test fleet',
                 '-f', os.path.join(self.tmp, name)])
        shutil.copy(os.path.join(self.tmp, 'client_key.pub'), os.path.join(self.tmp, 'authorized_keys'))
        os.mkdir(os.path.join(self.tmp, 'cp'), 0o700)
        for i, host in enumerate(self.hosts):
            ns, veth = self.ns(i), self.veth(i)
            run(['ip', 'netns', 'add', ns])
            self.made['netns'].append(ns)
            run(['ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns])
            self.made['veth'].append(veth)
            run(['ip', 'link', 'set', veth, 'master', self.bridge, 'up'])
            run(['ip', '-n', ns, 'addr', 'add', '%s/24' % self.addr(i), 'dev', 'eth0'])
            run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up'])
            run(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
            os.makedirs(self.hdir(host), mode=0o711)
            with open(os.path.join(self.hdir(host), 'fstab'), 'w') as f:
                f.write('# scratch fstab for %s\n' % host)
            with open(os.path.join(self.hdir(host), 'sshd_config'), 'w') as f:
                f.write('\n'.join([
                    'Port 22',
                    'ListenAddress %s' % self.addr(i),
                    'HostKey %s/host_key' % self.tmp,
                    'PidFile %s/sshd.pid' % self.hdir(host),
                    'AuthorizedKeysFile %s/authorized_keys' % self.tmp,
                    'PermitRootLogin prohibit-password',
                    'PasswordAuthentication no',
                    'KbdInteractiveAuthentication no',
                    'UsePAM no',
                    'StrictModes no',
                    'MaxStartups 100:30:200',
                    'Subsystem sftp internal-sftp',
                    '']))
        for i in range(len(self.hosts)):
            self.start_sshd(i)
        self.write_inventory()

    def start_sshd(self, i):
        host = self.hosts[i]
        pidfile = os.path.join(self.hdir(host), 'sshd.pid')
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        run(['nsenter', '--net=/run/netns/%s' % self.ns(i), '/usr/sbin/sshd',
             '-f', os.path.join(self.hdir(host), 'sshd_config'), '-E', os.path.join(self.hdir(host), 'sshd.log')])
        # sshd's parent exits before the daemon has written its pid: wait for a whole pid and the port.
        deadline = time.time() + 20
        while time.time() < deadline:
            pid = self._read_pid(pidfile)
            if pid is not None:
                try:
                    with socket.create_connection((self.addr(i), 22), timeout=1):
                        break
                except OSError:
                    pass
            time.sleep(0.1)
        else:
            raise TestFailure('sshd of %s did not come up' % host)
        self.sshd_pids[host] = pid

    @staticmethod
    def _read_pid(pidfile):
        """The pid in ``pidfile``; None while it is missing or not yet written whole."""
        try:
            with open(pidfile) as f:
                text = f.read()
        except FileNotFoundError:
            return None
        return int(text) if text.endswith('\n') and text.strip().isdigit() else None

    def write_inventory(self, extra_host_vars=None):
        hosts = {}
        for i, host in enumerate(self.hosts):
            hv = {
                'ansible_host': self.addr(i),
                'dockerlite_root': self.store(host),
                'dockerlite_volume_file': os.path.join(self.hdir(host), 'volume.img'),
                'dockerlite_volume_fstab': os.path.join(self.hdir(host), 'fstab'),
                # Streams in transit: the test hosts share this machine's /var/tmp.
                'dockerlite_ship_remote_tmp': self.hdir(host),
            }
            hv.update((extra_host_vars or {}).get(host, {}))
            hosts[host] = hv
        group_vars = {
            'ansible_port': 22,
            'ansible_user': 'root',
            'ansible_connection': 'ssh',
            'ansible_ssh_private_key_file': os.path.join(self.tmp, 'client_key'),
            # Connection sharing as Ansible does by default, with the masters' sockets here:
            # teardown ends the masters (ssh -O exit, then by pid).
            'ansible_ssh_args': self.ssh_args,
            'ansible_pipelining': True,
            'ansible_python_interpreter': '/usr/bin/python3',
            # The test hosts share this machine's packages, /etc/subuid and kernel: checking them
            # from 20 hosts at once is the same check 20 times, and racy (dpkg lock, one file).
            'dockerlite_prerequisites_install': False,
            'dockerlite_prerequisites_subids': False,
            'dockerlite_prerequisites_check_kernel': False,
            'dockerlite_volume_size': '%dM' % max(300, 4 * self.args.containers + 200),
            # Built on the build host only (the first host), shipped to the others.
            'dockerlite_images': [{'name': 'app:v1', 'source': 'busybox', 'env': {'APP_VERSION': '1'}}],
            'dockerlite_ship_cache': self.ship_cache,
            'dockerlite_containers': [
                {'name': 'c%02d' % k, 'image': 'app:v1', 'command': SLEEP} for k in range(self.args.containers)],
            # playbooks/rolling_update.yml
            'dockerlite_rolling_from': 'app:v1',
            'dockerlite_rolling_to': 'app:v2',
            # No dockerlite_rolling_image: app:v2 is committed on the build host beforehand (test_rolling).
            'dockerlite_rolling_health_command': ['/bin/sh', '-c', 'test "$APP_VERSION" = 2'],
            # The check is deterministic here: one attempt (a failing host would run ten more).
            'dockerlite_rolling_health_retries': 0,
            'dockerlite_rolling_health_delay': 0,
        }
        inventory = {'all': {'children': {'dockerlite': {'vars': group_vars, 'hosts': hosts}}}}
        # JSON is YAML.
        with open(os.path.join(self.tmp, 'inventory.yml'), 'w') as f:
            json.dump(inventory, f, indent=1)

    # -- playbooks ----
    def playbook(self, playbook, extra=(), watcher=None, inventory=None):
        argv = ['ansible-playbook', '-i', inventory or os.path.join(self.tmp, 'inventory.yml'),
                '--forks', str(self.args.forks)]
        argv += list(extra) + [playbook]
        start = time.monotonic()
        out_path = os.path.join(self.tmp, 'run-%d.json' % int(start * 1000))
        with open(out_path, 'w') as out, open(out_path + '.err', 'w') as err:
            proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=self.tmp, env=self.env,
                                    stdin=subprocess.DEVNULL)
            try:
                if watcher:
                    watcher(proc)
                proc.wait()
            finally:
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait()
        elapsed = time.monotonic() - start
        with open(out_path) as f:
            text = f.read()
        try:
            result = json.loads(text[text.index('{'):])
        except ValueError:
            with open(out_path + '.err') as f:
                raise TestFailure('%s: no JSON output (rc=%d)\n%s\n%s' % (playbook, proc.returncode, text[-3000:],
                                                                          f.read()[-3000:]))
        result['rc'] = proc.returncode
        result['elapsed'] = elapsed
        log('%s: rc=%d, %.1f s; slowest tasks: %s' % (playbook, proc.returncode, elapsed, slowest(result)))
        return result

    @staticmethod
    def failures(result):
        """Messages of the failed or unreachable task results, per host."""
        out = {}
        for play in result.get('plays', []):
            for task in play.get('tasks', []):
                for host, res in task.get('hosts', {}).items():
                    if res.get('failed') or res.get('unreachable'):
                        msg = res.get('msg') or ''
                        for item in res.get('results', []) or []:
                            if item.get('failed'):
                                msg += ' | %s' % (item.get('msg') or item.get('stderr') or '')
                        out.setdefault(host, []).append('%s: %s' % (task['task']['name'], str(msg)[:600]))
        return out

    @staticmethod
    def task_count(result, host):
        n = 0
        for play in result.get('plays', []):
            for task in play.get('tasks', []):
                res = task.get('hosts', {}).get(host)
                if res is not None and not res.get('skipped'):
                    n += 1
        return n

    def expect(self, what, cond, result=None):
        if not cond:
            detail = ''
            if result is not None:
                detail = '\nstats: %s\nfailures: %s' % (json.dumps(result.get('stats')),
                                                        json.dumps(self.failures(result), indent=1))
            raise TestFailure('%s%s' % (what, detail))
        log('ok: %s' % what)

    # -- breaking a host ----
    def kill_sshd(self, i):
        """Kill the host's sshd: the listener and its sessions (every sshd in its namespace)."""
        host = self.hosts[i]
        pids = run(['ip', 'netns', 'pids', self.ns(i)], check=False).stdout.split()
        killed = []
        for pid in pids:
            try:
                with open('/proc/%s/comm' % pid) as f:
                    comm = f.read().strip()
            except OSError:
                continue
            if comm.startswith('sshd'):
                try:
                    os.kill(int(pid), signal.SIGKILL)
                    killed.append(int(pid))
                except ProcessLookupError:
                    pass
        self.sshd_pids.pop(host, None)
        return killed

    def break_when_mounted(self, i):
        store = self.store(self.hosts[i])

        def watcher(proc):
            while proc.poll() is None:
                if os.path.ismount(store):
                    killed = self.kill_sshd(i)
                    log('broke %s mid-run: its store is mounted; killed sshd pids %s' % (self.hosts[i], killed))
                    self.broken_at = time.monotonic()
                    return
                time.sleep(0.05)
        self.broken_at = None
        return watcher

    # -- containers ----
    def lxcpath(self, host):
        return os.path.join(self.store(host), 'containers')

    def active(self, host):
        """The host's running containers. LXC's command socket is an abstract unix socket, which
        belongs to a network namespace: ask from the host's own namespace, where its sshd started them."""
        if not os.path.isdir(self.lxcpath(host)):
            return []
        i = self.hosts.index(host)
        return run(['nsenter', '--net=/run/netns/%s' % self.ns(i), 'lxc-ls', '--lxcpath', self.lxcpath(host),
                    '--line', '--active'], check=False).stdout.split()

    def monitors(self):
        """{(lxcpath, name): pid} of the LXC monitors of the containers under the temporary directory."""
        out = {}
        for pid in os.listdir('/proc'):
            if not pid.isdigit():
                continue
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as f:
                    cmd = f.read().replace(b'\0', b' ').decode(errors='replace').strip()
            except OSError:
                continue
            if cmd.startswith('[lxc monitor] '):
                path, _sep, name = cmd[len('[lxc monitor] '):].rpartition(' ')
                if path.startswith(self.tmp + '/'):
                    out[(path, name)] = int(pid)
        return out

    def memory(self):
        """Total RSS (KiB) of the containers' LXC monitors and PID 1s (the monitors' children), and their number."""
        monitors = self.monitors()
        children = {}
        for pid in os.listdir('/proc'):
            if pid.isdigit():
                try:
                    with open('/proc/%s/stat' % pid) as f:
                        ppid = int(f.read().rsplit(')', 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(pid))
        rss = pss = 0
        for pid in monitors.values():
            for one in [pid] + children.get(pid, []):
                rss += rss_kib(one)
                pss += pss_kib(one)
        return rss, pss, len(monitors)

    def container_images(self, host):
        """{name: image} of the host's containers, from their records."""
        out = {}
        base = self.lxcpath(host)
        for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            path = os.path.join(base, name, 'container.json')
            if os.path.exists(path):
                with open(path) as f:
                    meta = json.load(f)
                out[name] = meta.get('image')
        return out

    def images(self, host):
        """{name or id: image.json} of the host's images, from their records."""
        out = {}
        base = os.path.join(self.store(host), 'images')
        for image_id in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            path = os.path.join(base, image_id, 'image.json')
            if os.path.exists(path):
                with open(path) as f:
                    meta = json.load(f)
                out[meta.get('name') or image_id] = meta
        return out

    def check_shipped(self, name, receivers, parent=None):
        """Image ``name`` was made on the build host only (no ``received`` record there), and every host of
        ``receivers`` received it from there as a stream (same id, ``received`` record), from ``parent``."""
        build = self.hosts[0]
        built = self.images(build).get(name)
        self.expect('%s was made on the build host %s, not received' % (name, build),
                    built is not None and not built.get('received'))
        for host in receivers:
            got = self.images(host).get(name)
            self.expect('%s received %s from the build host as a stream (%s)' % (
                host, name, 'incremental from %s' % parent if parent else 'in full'),
                got is not None and got['id'] == built['id'] and bool(got.get('received'))
                and (got['received'].get('parent') == (self.images(build)[parent]['id'] if parent else None)))
        return built

    # -- tear down ----
    def ssh_masters(self):
        """Pids of the controller's ssh connection masters of this fleet (their ControlPath is here)."""
        out = []
        marker = ('%s/cp/' % self.tmp).encode()  # in its argv, or its title once it runs as a master
        for pid in os.listdir('/proc'):
            if pid.isdigit():
                try:
                    with open('/proc/%s/cmdline' % pid, 'rb') as f:
                        cmd = f.read()
                except OSError:
                    continue
                if cmd.startswith(b'ssh') and marker in cmd and int(pid) != os.getpid():
                    out.append(int(pid))
        return out

    def teardown(self):
        problems = []
        for pid in self.ssh_masters():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for i in range(len(self.hosts)):
            if i < len(self.made['netns']):
                self.kill_sshd(i)
        for pid in list(self.sshd_pids.values()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # From each monitor's own network namespace (see active()); it may outlive `ip netns del`.
        for (path, name), pid in self.monitors().items():
            run(['nsenter', '--net=/proc/%d/ns/net' % pid, 'lxc-stop', '--kill', '--lxcpath', path, '--name', name],
                check=False)
        mounts = [line.split()[1] for line in open('/proc/self/mounts')]
        for target in sorted((m for m in mounts if m.startswith(self.tmp + '/')), reverse=True):
            for attempt in range(5):
                if run(['umount', target], check=False).returncode == 0:
                    break
                time.sleep(attempt + 1)
            else:
                problems.append('could not unmount %s' % target)
        for line in run(['losetup', '--list', '--noheadings', '--output', 'NAME,BACK-FILE']).stdout.splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[1].strip().startswith(self.tmp + '/'):
                run(['losetup', '--detach', parts[0]], check=False)
        for veth in self.made['veth']:
            run(['ip', 'link', 'del', veth], check=False)
        for ns in self.made['netns']:
            run(['ip', 'netns', 'del', ns], check=False)
        if self.made['bridge']:
            run(['ip', 'link', 'del', self.bridge], check=False)
        if self.made['privsep']:
            os.rmdir('/run/sshd')
        # Nothing left?
        links = run(['ip', '-o', 'link', 'show']).stdout
        netns = run(['ip', 'netns', 'list']).stdout
        loops = run(['losetup', '-a']).stdout
        mounts = open('/proc/self/mounts').read()
        if 'dlf%s' % self.tag in links:
            problems.append('links left: %s' % [ln for ln in links.splitlines() if 'dlf' + self.tag in ln])
        if 'dlf%s' % self.tag in netns:
            problems.append('namespaces left: %s' % netns)
        if self.tmp + '/' in loops:
            problems.append('loop devices left: %s' % loops)
        if self.tmp + '/' in mounts:
            problems.append('mounts left')
        if self.monitors():
            problems.append('containers left: %s' % sorted(self.monitors()))
        for pid in self.sshd_pids.values():
            if os.path.exists('/proc/%d' % pid):
                problems.append('sshd %d left' % pid)
        time.sleep(0.5)
        if self.ssh_masters():
            problems.append('ssh masters left: %s' % self.ssh_masters())
        return problems


def rss_kib(pid):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def slowest(result, count=3):
    """The count slowest tasks of a run (all hosts), as 'name seconds'."""
    def seconds(stamp):
        return time.mktime(time.strptime(stamp[:19], '%Y-%m-%dT%H:%M:%S')) + float('0' + stamp[19:].rstrip('Z')[:7])
    durations = []
    for play in result.get('plays', []):
        for task in play.get('tasks', []):
            span = task['task'].get('duration') or {}
            if span.get('start') and span.get('end'):
                durations.append((seconds(span['end']) - seconds(span['start']), task['task']['name']))
    return ', '.join('%s %.1f' % (name, secs) for secs, name in sorted(durations, reverse=True)[:count])


def pss_kib(pid):
    """Proportional set size: shared pages divided among their users."""
    try:
        with open('/proc/%d/smaps_rollup' % pid) as f:
            for line in f:
                if line.startswith('Pss:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def stats_of(result, host):
    return result.get('stats', {}).get(host, {})


def bad_hosts(result):
    return sorted(h for h, s in result.get('stats', {}).items() if s.get('failures') or s.get('unreachable'))


def test_fleet(fleet, report):
    hosts = fleet.hosts
    victim = 1 if len(hosts) > 1 else 0
    vhost = hosts[victim]
    fleet_yml = 'dockerlite.core.fleet'

    log('first run of fleet.yml, breaking %s mid-run' % vhost)
    first = fleet.playbook(fleet_yml, watcher=fleet.break_when_mounted(victim))
    report['first'] = first['elapsed']
    fleet.expect('%s was broken while the play ran' % vhost, fleet.broken_at is not None, first)
    fleet.expect('first run: exactly one host failed, %s (got %s)' % (vhost, bad_hosts(first)),
                 bad_hosts(first) == [vhost], first)
    for host in hosts:
        if host != vhost:
            fleet.expect('first run: %s converged its %d containers' % (host, fleet.args.containers),
                         len(fleet.active(host)) == fleet.args.containers and stats_of(first, host).get('changed'),
                         first)

    fleet.check_shipped('app:v1', [h for h in hosts[1:] if h != vhost])

    fleet.start_sshd(victim)
    log('repair run (%s sshd restarted)' % vhost)
    repair = fleet.playbook(fleet_yml)
    report['repair'] = repair['elapsed']
    fleet.expect('repair run: no failure', repair['rc'] == 0 and not bad_hosts(repair), repair)
    fleet.expect('repair run: %s changed' % vhost, stats_of(repair, vhost).get('changed', 0) > 0, repair)
    fleet.expect('repair run: changed=0 on the %d healthy hosts' % (len(hosts) - 1),
                 all(stats_of(repair, h).get('changed', -1) == 0 for h in hosts if h != vhost), repair)

    fleet.check_shipped('app:v1', hosts[1:])

    if not fleet.args.no_rerun:
        log('unchanged rerun')
        rerun = fleet.playbook(fleet_yml)
        report['rerun'] = rerun['elapsed']
        fleet.expect('rerun: changed=0 on every host',
                     rerun['rc'] == 0 and all(stats_of(rerun, h).get('changed', -1) == 0 for h in hosts), rerun)
    for host in hosts:
        fleet.expect('%s runs its %d containers (same names on every host)' % (host, fleet.args.containers),
                     len(fleet.active(host)) == fleet.args.containers)

    total, pss, count = fleet.memory()
    report['rss_kib'] = total
    report['pss_kib'] = pss
    report['containers'] = count
    if fleet.args.no_floor or fleet.args.no_rerun:
        return

    tasks = fleet.task_count(rerun, hosts[0])
    floor_yml = os.path.join(fleet.tmp, 'floor.yml')
    with open(floor_yml, 'w') as f:
        json.dump([{'name': 'The floor', 'hosts': 'dockerlite', 'gather_facts': False, 'become': True,
                    'tasks': [{'name': 'No-op %d' % k, 'ansible.builtin.ping': None} for k in range(tasks)]}], f)
    log('floor: %d no-op tasks' % tasks)
    floor = fleet.playbook(floor_yml)
    fleet.expect('floor play ran', floor['rc'] == 0, floor)
    report['floor'] = floor['elapsed']
    report['tasks'] = tasks


def test_remote_inventory(fleet):
    """The inventory plugin lists every host's containers over SSH; a task reaches one of them on a remote host
    through the connection plugin (SSH to that host, then lxc-attach there)."""
    hosts = fleet.hosts
    config = os.path.join(fleet.tmp, 'fleet.dockerlite.yml')
    with open(config, 'w') as f:
        json.dump({'plugin': 'dockerlite.core.dockerlite', 'ssh_args': fleet.ssh_args,
                   'hosts': [{'name': host, 'address': fleet.addr(i), 'root': fleet.store(host), 'user': 'root',
                              'port': 22, 'private_key_file': os.path.join(fleet.tmp, 'client_key')}
                             for i, host in enumerate(hosts)]}, f)
    listed = run(['ansible-inventory', '-i', config, '--list'], env=fleet.env, cwd=fleet.tmp)
    # ansible-inventory writes a string an inventory source gave as {"__ansible_unsafe": string}.
    inventory = json.loads(listed.stdout, object_hook=lambda obj: obj.get('__ansible_unsafe', obj)
                           if list(obj) == ['__ansible_unsafe'] else obj)
    for host in hosts:
        members = sorted(inventory.get('host_%s' % host, {}).get('hosts', []))
        fleet.expect('inventory: group host_%s holds its %d containers' % (host, fleet.args.containers),
                     members == ['c%02d.%s' % (k, host) for k in range(fleet.args.containers)])
    target, where = 'c%02d.%s' % (fleet.args.containers - 1, hosts[-1]), hosts[-1]
    meta = inventory['_meta']['hostvars'][target]
    fleet.expect('inventory: %s has dockerlite_host=%s, is running, and is reached over SSH (%s)'
                 % (target, where, {k: v for k, v in meta.items() if k.startswith(('dockerlite_s', 'dockerlite_h'))}),
                 meta.get('dockerlite_host') == where and meta.get('dockerlite_state') == 'running'
                 and meta.get('dockerlite_ssh_host') == fleet.addr(len(hosts) - 1))
    marker = 'reached %s through the inventory' % target
    play = [{'name': 'Reach a container on a remote host', 'hosts': target, 'gather_facts': False,
             'tasks': [{'name': 'Write a file inside it', 'ansible.builtin.raw': 'echo "%s" > /tmp/reached; hostname'
                        % marker}]}]
    path = os.path.join(fleet.tmp, 'reach.yml')
    with open(path, 'w') as f:
        json.dump(play, f)
    reach = fleet.playbook(path, inventory=config)
    written = os.path.join(fleet.lxcpath(where), target.split('.')[0], 'rootfs', 'tmp', 'reached')
    try:
        with open(written) as f:
            got = f.read().strip()
    except OSError:
        got = None
    fleet.expect('a task ran in %s on %s through the connection plugin (the file is in that store: %r)'
                 % (target, where, got), reach['rc'] == 0 and got == marker, reach)


V2_CHANGE = 1048576


def make_v2(fleet):
    """Commit app:v2 on the build host: app:v1 with a file of V2_CHANGE random bytes and APP_VERSION=2."""
    maker = 'v2maker'
    play = [{'name': 'Commit app:v2 on the build host', 'hosts': fleet.hosts[0], 'gather_facts': False, 'become': True,
             'module_defaults': {'group/dockerlite.core.dockerlite': {'root': '{{ dockerlite_root }}'}},
             'tasks': [
                 {'name': 'A container from app:v1',
                  'dockerlite.core.dockerlite_container': {'name': maker, 'image': 'app:v1', 'command': SLEEP}},
                 {'name': 'Change it',
                  'dockerlite.core.dockerlite_exec': {
                      'container': maker,
                      'argv': ['/bin/sh', '-c', 'head -c %d /dev/urandom > /app-v2.bin' % V2_CHANGE]}},
                 {'name': 'Commit it as app:v2',
                  'dockerlite.core.dockerlite_commit': {'container': maker, 'image': 'app:v2',
                                                        'env': {'APP_VERSION': '2'}}},
                 {'name': 'Remove the container',
                  'dockerlite.core.dockerlite_container': {'name': maker, 'state': 'absent'}}]}]
    path = os.path.join(fleet.tmp, 'make-v2.yml')
    with open(path, 'w') as f:
        json.dump(play, f)
    result = fleet.playbook(path)
    fleet.expect('app:v2 committed on %s' % fleet.hosts[0], result['rc'] == 0, result)


def test_rolling(fleet, report):
    hosts = fleet.hosts
    bad = hosts[1]
    rolling = 'dockerlite.core.rolling_update'
    make_v2(fleet)
    fault = {bad: {'dockerlite_rolling_health_command': ['/bin/sh', '-c', 'echo unhealthy on purpose >&2; exit 1']}}
    fleet.write_inventory(fault)
    log('rolling update with a health check that fails on %s' % bad)
    r1 = fleet.playbook(rolling)
    report['rolling1'] = r1['elapsed']
    fleet.expect('rolling update stopped: rc != 0, only %s failed' % bad, r1['rc'] != 0 and bad_hosts(r1) == [bad], r1)
    fleet.expect('rolling update: %s moved to app:v2' % hosts[0],
                 set(fleet.container_images(hosts[0]).values()) == {'app:v2'}, r1)
    fleet.expect('rolling update: %s rolled back to app:v1' % bad,
                 set(fleet.container_images(bad).values()) == {'app:v1'}, r1)
    fleet.expect('rolling update: %s rolled back, its containers run' % bad,
                 len(fleet.active(bad)) == fleet.args.containers, r1)
    for host in hosts[2:]:
        fleet.expect('rolling update: %s not reached, still on app:v1, untouched' % host,
                     set(fleet.container_images(host).values()) == {'app:v1'} and host not in r1.get('stats', {})
                     and 'app:v2' not in fleet.images(host), r1)
    fleet.check_shipped('app:v2', [bad], parent='app:v1')

    # The one-host batches and the stop were shown above: the rest of the fleet goes in one batch.
    whole = ['-e', 'dockerlite_rolling_batch=%d' % len(hosts)]
    fleet.write_inventory()
    log('rolling update without the fault, the whole fleet in one batch')
    r2 = fleet.playbook(rolling, extra=whole)
    report['rolling2'] = r2['elapsed']
    fleet.expect('rolling update: every host on app:v2',
                 r2['rc'] == 0 and all(set(fleet.container_images(h).values()) == {'app:v2'} for h in hosts), r2)
    fleet.expect('rolling update: %s had nothing to do' % hosts[0], stats_of(r2, hosts[0]).get('changed') == 0, r2)
    v2 = fleet.check_shipped('app:v2', hosts[1:], parent='app:v1')
    v1_id = fleet.images(hosts[0])['app:v1']['id']
    streams = {name: os.path.getsize(os.path.join(fleet.ship_cache, name)) for name in os.listdir(fleet.ship_cache)
               if name.startswith(v2['id'])}
    fleet.expect('app:v2 travelled as one incremental stream from app:v1 of at most 1.1 x %d + 16 KiB bytes (%s)'
                 % (V2_CHANGE, streams),
                 list(streams) == ['%s-%s.stream' % (v2['id'], v1_id)]
                 and max(streams.values()) <= 1.1 * V2_CHANGE + 16384)
    report['v2_stream'] = max(streams.values())
    log('rolling update again, everything on app:v2')
    r3 = fleet.playbook(rolling, extra=whole)
    report['rolling3'] = r3['elapsed']
    fleet.expect('rolling update again: changed=0 everywhere',
                 r3['rc'] == 0 and all(stats_of(r3, h).get('changed', -1) == 0 for h in hosts), r3)
    for host in hosts:
        fleet.expect('%s runs its containers on app:v2' % host, len(fleet.active(host)) == fleet.args.containers)


def print_report(args, report):
    floor = report.get('floor')
    print()
    print('Test fleet: %d hosts x %d containers, --forks %d' % (args.hosts, args.containers, args.forks))
    if not floor:
        for key, label in (('first', 'first run (one host broken)'), ('repair', 'repair run'),
                           ('rerun', 'unchanged rerun')):
            if key in report:
                print('  %-34s %8.1f' % (label, report[key]))
    if floor:
        print('  %-34s %8s %8s' % ('run', 'seconds', 'x floor'))
        for key, label in (('floor', 'floor (%d no-op tasks)' % report['tasks']),
                           ('first', 'first run (one host broken)'), ('repair', 'repair run'),
                           ('rerun', 'unchanged rerun')):
            print('  %-34s %8.1f %8.2f' % (label, report[key], report[key] / floor))
    for key in ('rolling1', 'rolling2', 'rolling3'):
        if key in report:
            print('  %-34s %8.1f' % ({'rolling1': 'rolling update (stops at fault)',
                                      'rolling2': 'rolling update (rest of fleet)',
                                      'rolling3': 'rolling update (no change)'}[key], report[key]))
    if report.get('containers'):
        print('  memory, %d containers, LXC monitors + PID 1s: RSS %.1f MiB total, %.0f KiB per container; '
              'PSS (shared pages divided) %.1f MiB, %.0f KiB per container' % (
                  report['containers'], report['rss_kib'] / 1024.0, report['rss_kib'] / report['containers'],
                  report['pss_kib'] / 1024.0, report['pss_kib'] / report['containers']))
    if floor:
        print('  targets: rerun <= 2 x floor: %s; first run <= 4 x floor: %s' % (
            'yes' if report['rerun'] <= 2 * floor else 'NO', 'yes' if report['first'] <= 4 * floor else 'NO'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--hosts', type=int, default=4)
    parser.add_argument('--containers', type=int, default=10)
    parser.add_argument('--forks', type=int, default=10)
    parser.add_argument('--rolling', action='store_true', help='also test playbooks/rolling_update.yml')
    parser.add_argument('--no-floor', action='store_true', help='skip the floor play (and the ratios)')
    parser.add_argument('--no-rerun', action='store_true',
                        help='skip the unchanged rerun (and the floor): the repair run already checks changed=0 '
                             'on the healthy hosts')
    parser.add_argument('--strict-targets', action='store_true',
                        help='fail when the rerun or first run misses its target against the floor')
    parser.add_argument('--venv', default=os.environ.get('VENV'),
                        help='the virtualenv with ansible-playbook (default: the one on PATH)')
    parser.add_argument('--build', default=os.environ.get('BUILD'),
                        help='the directory holding ansible_collections/dockerlite/core (default: '
                             'ANSIBLE_COLLECTIONS_PATH, else .build)')
    parser.add_argument('--tmpdir', default=os.environ.get('DLT_TEST_TMPDIR') or None)
    args = parser.parse_args()
    if not args.build:
        args.build = os.environ.get('ANSIBLE_COLLECTIONS_PATH') or os.path.join(REPO, '.build')
    if os.geteuid() != 0:
        sys.exit('fleet_test: needs root (namespaces, loop devices, LXC)')
    if args.hosts < 2 or args.hosts > 200:
        sys.exit('fleet_test: --hosts must be between 2 and 200, not %d' % args.hosts)
    if args.rolling and args.hosts < 3:
        sys.exit('fleet_test: --rolling needs at least 3 hosts')

    tmp = tempfile.mkdtemp(prefix='dlt-fleet-', dir=args.tmpdir)
    os.chmod(tmp, 0o711)
    etc_copy = os.path.join(tmp, 'etc-before')
    os.mkdir(etc_copy)
    for path in ETC_FILES:
        if os.path.exists(path):
            shutil.copy2(path, etc_copy)
    fleet = Fleet(args, tmp)
    report = {}
    ok = False
    interrupted = []

    def on_signal(signum, _frame):
        interrupted.append(signum)
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    try:
        fleet.setup()
        test_fleet(fleet, report)
        test_remote_inventory(fleet)
        if args.rolling:
            test_rolling(fleet, report)
        ok = True
        if args.strict_targets and not (args.no_floor or args.no_rerun) and not (
                report['rerun'] <= 2 * report['floor'] and report['first'] <= 4 * report['floor']):
            ok = False
            log('FAIL: a run missed its target against the floor')
    except TestFailure as exc:
        log('FAIL: %s' % exc)
    except KeyboardInterrupt:
        log('interrupted')
    finally:
        problems = fleet.teardown()
        for path in ETC_FILES:
            saved = os.path.join(etc_copy, os.path.basename(path))
            if os.path.exists(saved) and run(['cmp', saved, path], check=False).returncode != 0:
                problems.append('%s changed' % path)
        if problems:
            ok = False
            for problem in problems:
                log('LEFT BEHIND: %s' % problem)
            log('keeping %s' % tmp)
        else:
            log('torn down: no namespace, link, mount, loop device, container or sshd left; /etc unchanged')
            shutil.rmtree(tmp, ignore_errors=True)
    print_report(args, report)
    print('fleet test: %s' % ('PASS' if ok else 'FAIL'))
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
