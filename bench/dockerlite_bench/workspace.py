# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The throwaway store: a temporary directory with a loopback btrfs mounted in it.

``Workspace.teardown`` undoes all of it however the run ends, and reports anything
it could not undo as ``LEFT BEHIND``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

from .btrfs_quiet import wait_for_cleaner
from .common import HOST_PYTHON, PACKAGE_DIR, BenchError, log, run
from .runner import TIMED_INTERPRETER, Ansible

HOST_OPS = os.path.join(PACKAGE_DIR, 'host_ops.py')


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
        self.peers = None  # BenchPeers while a figure runs them
        self.extra_stores = []  # store roots on the btrfs besides ``root`` (remove_store undoes each)

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

    def host_env(self, clean_env=False):
        """The environment of the managed host's Python: the build copy and the controller's
        ``ansible`` package on its path (unless ``clean_env``)."""
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL': 'C'}
        if not clean_env:
            env['PYTHONPATH'] = os.pathsep.join([self.settings.build, self.shim])
        return env

    def host(self, operation, args, clean_env=False):
        """Run one of host_ops.py's operations with the managed host's Python."""
        proc = subprocess.run([HOST_PYTHON, HOST_OPS, operation], input=json.dumps(args),
                              text=True, capture_output=True, env=self.host_env(clean_env), check=False)
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

    # -- the store's containers -------------------------------------------

    @property
    def containers(self):
        """The store's LXC path: a directory per container."""
        return os.path.join(self.root, 'containers')

    def active(self, lxcpath):
        """Names of the running containers in ``lxcpath`` (none when it does not exist)."""
        return run(['lxc-ls', '--active', '--line', '-P', lxcpath]).split() if os.path.isdir(lxcpath) else []

    def count_members(self, prefix):
        """How many of the store's containers named ``prefix``... exist, and how many run."""
        existing = os.listdir(self.containers) if os.path.isdir(self.containers) else []
        return {'running': sum(name.startswith(prefix) for name in self.active(self.containers)),
                'existing': sum(name.startswith(prefix) for name in existing)}

    # -- stores besides the workspace's own ----------------------------------

    def extra_store(self, name):
        """The root of a fresh store ``name`` on the same btrfs (not made: the modules make it), which
        ``remove_store`` (or the teardown) deletes with its subvolumes."""
        root = os.path.join(self.fs, name)
        if os.path.exists(root):
            raise BenchError('%s exists already' % root)
        self.extra_stores.append(root)
        return root

    def remove_store(self, root):
        """Delete a store made under the btrfs: its subvolumes, deepest first, then its files."""
        top = os.path.relpath(root, self.fs) + '/'
        listed = run(['btrfs', 'subvolume', 'list', self.fs])
        paths = [line.split(' path ', 1)[1] for line in listed.splitlines() if ' path ' in line]
        for path in sorted((p for p in paths if p.startswith(top)), key=lambda p: p.count('/'), reverse=True):
            run(['btrfs', 'subvolume', 'delete', os.path.join(self.fs, path)])
        shutil.rmtree(root, ignore_errors=True)
        if os.path.exists(root):
            raise BenchError('could not delete %s' % root)
        self.extra_stores.remove(root)

    # -- teardown -----------------------------------------------------------

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
        for lxcpath in (self.containers, self.raw):
            for name in self.active(lxcpath):
                subprocess.run(['lxc-stop', '--kill', '-P', lxcpath, '-n', name], check=False,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def mounts_below(self):
        prefix = self.tmp + '/'
        with open('/proc/self/mountinfo') as handle:
            points = [line.split()[4] for line in handle]
        return sorted({p for p in points if p.startswith(prefix)}, reverse=True)

    def teardown(self):
        """Undo everything; each step runs even when an earlier one failed."""
        steps = []
        if self.peers is not None:
            # Before the strays: dockerd, containerd and the registry name this directory too.
            steps.append(('stop the peers', self._stop_peers))
        steps.append(('stop the processes this run started', self.kill_strays))
        if self.device and os.path.ismount(self.fs):
            if self.default_lxcpath and os.path.isdir(self.default_lxcpath):
                steps.append(('destroy the peer containers', self.clean_peer))
            steps.append(('kill the containers', self.kill_containers))
            for root in list(self.extra_stores):
                steps.append(('remove the store %s' % root, lambda root=root: self.remove_store(root)))
        steps += [('unmount', self._unmount), ('detach the loop device', self._detach),
                  ('delete %s' % self.tmp, lambda: shutil.rmtree(self.tmp))]
        for what, step in steps:
            try:
                step()
            except Exception as exc:  # keep tearing down; report at the end
                log('teardown: could not %s: %s' % (what, exc))
        for leftover in self.leftovers():
            log('teardown: LEFT BEHIND: %s' % leftover)

    def _stop_peers(self):
        for leftover in self.peers.stop():
            log('teardown: peers: LEFT BEHIND: %s' % leftover)
        self.peers = None

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
        """Commit the transaction and wait until btrfs has cleaned up deleted subvolumes."""
        try:
            wait_for_cleaner(lambda: run(['btrfs', 'filesystem', 'sync', self.fs]),
                             lambda: run(['btrfs', 'subvolume', 'list', '-d', self.fs]).strip(), timeout)
        except TimeoutError as exc:
            raise BenchError(str(exc)) from None

    def disk_usage(self):
        """Bytes used on the device (data, plus metadata times its DUP ratio), once btrfs is quiet."""
        self.quiesce()
        return parse_usage(run(['btrfs', 'filesystem', 'usage', '-b', self.fs]))

    @staticmethod
    def du(path):
        """btrfs filesystem du -s: bytes referenced, exclusive to ``path`` and shared with others."""
        return parse_du(run(['btrfs', 'filesystem', 'du', '-s', '--raw', path]))

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


def parse_usage(text):
    """The used, data and metadata bytes of ``btrfs filesystem usage -b``."""
    used = int(re.search(r'^\s*Used:\s+(\d+)', text, re.M).group(1))
    data = int(re.search(r'^Data,\S+: Size:\d+, Used:(\d+)', text, re.M).group(1))
    metadata = int(re.search(r'^Metadata,\S+: Size:\d+, Used:(\d+)', text, re.M).group(1))
    return {'used': used, 'data': data, 'metadata': metadata}


def parse_du(text):
    """The totals line of ``btrfs filesystem du -s --raw``."""
    line = text.splitlines()[-1].split()
    return {'total': int(line[0]), 'exclusive': int(line[1]), 'shared': int(line[2])}
