# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""One client over python3-lxc, plus lxc-execute where the library gives no exit code.

Every call names the LXC path explicitly (python3-lxc otherwise falls back to
/var/lib/lxc). The client raises DockerliteError subclasses and never exits the module.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import traceback

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import (
    CommandError, DockerliteError, MissingLibraryError)
from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc_orphan import (
    InitRecord, clear_orphan, orphan_of, record_path)

try:
    import lxc as _lxc
except ImportError:
    _lxc = None
    LXC_IMPORT_ERROR = traceback.format_exc()
else:
    LXC_IMPORT_ERROR = None

STATE_NAMES = {
    'RUNNING': 'running', 'THAWED': 'running', 'STARTING': 'running',
    'FROZEN': 'frozen', 'FREEZING': 'frozen',
    'STOPPED': 'stopped', 'STOPPING': 'stopped', 'ABORTING': 'stopped',
}
# LXC says stopped, but the init it started lives on: its monitor died (see lxc_orphan).
ORPHANED = 'orphaned'
LOG_TAIL_LINES = 20
# Seconds lxc-execute gets to exit after its container was stopped.
EXECUTE_EXIT_TIMEOUT = 10
# Seconds between two looks at a container's addresses while waiting for one.
WAIT_POLL = 0.05


@contextlib.contextmanager
def direct_id_maps():
    """Let LXC, run by root, write a starting container's id maps itself, not through newuidmap.

    LXC writes /proc/<pid>/{u,g}id_map through the setuid newuidmap/newgidmap (a shell
    and a setuid program per map, per start) whenever they are on PATH, as they are
    where Debian's recommended ``uidmap`` package is installed; else, as root, it writes
    them directly. Both give the same maps (from root's /etc/subuid and /etc/subgid range,
    which idmap checks before any start), the direct write in half the start time. LXC
    reads PATH in the process it forks to monitor the container, and clears the
    environment of the container's init, so PATH is left out only for the call.
    The module process is single-threaded (the stack's workers are forked processes).
    """
    if os.geteuid() != 0 or 'PATH' not in os.environ:
        yield
        return
    saved = os.environ.pop('PATH')
    try:
        yield
    finally:
        os.environ['PATH'] = saved


def signal_number(name):
    """Map a signal name such as SIGUSR1 or SIGRTMIN+3 to its number."""
    if name.startswith('SIGRTMIN+'):
        return signal.SIGRTMIN + int(name[len('SIGRTMIN+'):])
    return int(signal.Signals[name])


def catches_signal(status_text, signum):
    """True when a /proc/<pid>/status text shows a handler for ``signum`` (SigCgt)."""
    for line in status_text.splitlines():
        if line.startswith('SigCgt:'):
            return bool(int(line.split()[1], 16) & (1 << (signum - 1)))
    return False


def cgroup_layout(controllers=('devices', 'memory', 'cpu', 'pids'), root='/sys/fs/cgroup'):
    """Which hierarchy holds each controller: 'v1' when mounted on its own, else 'v2'."""
    return {name: 'v1' if os.path.isdir(os.path.join(root, name)) else 'v2' for name in controllers}


class LxcClient:
    """Start, stop, freeze and run containers defined under one LXC path."""

    def __init__(self, lxcpath):
        if _lxc is None:
            raise MissingLibraryError('python3-lxc', LXC_IMPORT_ERROR)
        self.lxcpath = lxcpath

    def _container(self, name):
        return _lxc.Container(name, self.lxcpath)

    def _log_tail(self, name):
        try:
            with open(os.path.join(self.lxcpath, name, 'lxc.log')) as handle:
                return ''.join(handle.readlines()[-LOG_TAIL_LINES:])
        except OSError:
            return ''

    def status(self, name):
        """(state, pid) with state one of running, frozen, stopped, orphaned; pid is None when stopped."""
        container = self._container(name)
        state = STATE_NAMES.get(container.state, container.state.lower())
        if state == 'stopped':
            orphan = self._orphan(name)
            if orphan is None:
                return state, None
            return ORPHANED, orphan.pid if orphan.alive() else None
        pid = container.init_pid
        return state, (pid if pid and pid > 0 else None)

    def _orphan(self, name):
        """The record of the container's init if its LXC monitor died leaving it or its cgroups, else None."""
        record = InitRecord.load(record_path(self.lxcpath, name))
        if not orphan_of(record):
            return None
        monitor = record.live_monitor(self.lxcpath, name)
        if monitor:
            # Not an orphan: never kill it. Its monitor lives in another network namespace.
            raise DockerliteError(
                'container %s runs (init pid %d) under its LXC monitor (pid %d), which cannot be reached from this '
                'network namespace: LXC\'s command socket belongs to the namespace the container was started from. '
                'Manage it from that namespace (the same connection to the host)' % (name, record.pid, monitor))
        return record

    def _refuse_orphan(self, name):
        """Never start a second instance on the rootfs, address and MAC of an orphan."""
        orphan = self._orphan(name)
        if orphan:
            raise DockerliteError('container %s is orphaned: its LXC monitor died, leaving its init (pid %d) or its '
                                  'cgroups behind; converge it with dockerlite_container (any state) to clear them'
                                  % (name, orphan.pid), state=ORPHANED)

    def kill_orphan(self, name):
        """Kill the processes of a container whose monitor died, and remove the cgroups left behind."""
        record = InitRecord.load(record_path(self.lxcpath, name))
        if record is not None:
            clear_orphan(name, record)

    def start(self, name, argv, timeout=10):
        """Start detached with ``argv`` as PID 1; arguments are passed whole, not via lxc.init.cmd."""
        self._refuse_orphan(name)
        container = self._container(name)
        with direct_id_maps():
            started = container.start(useinit=False, daemonize=True, close_fds=True, cmd=tuple(argv))
        if not started or not container.wait('RUNNING', timeout):
            raise DockerliteError('LXC could not start container %s with command %s' % (name, argv),
                                  lxc_log=self._log_tail(name))
        record = InitRecord.of_running(container.init_pid)
        if record is not None:
            record.save(record_path(self.lxcpath, name))

    def stop(self, name, timeout, halt_signal):
        """Send the halt signal, wait up to ``timeout`` seconds, then kill what is left.

        The kernel drops a signal sent from outside to a namespace's PID 1 unless PID 1
        handles it; in that case there is nothing to wait for, so kill at once.
        """
        container = self._container(name)
        if container.state in ('FROZEN', 'FREEZING'):
            container.unfreeze()
        pid = container.init_pid
        if timeout and pid > 0 and self._pid_catches(pid, signal_number(halt_signal)):
            if container.shutdown(timeout):
                return
        if not container.stop() and container.state != 'STOPPED':
            raise DockerliteError('LXC could not stop container %s' % name, lxc_log=self._log_tail(name))
        container.wait('STOPPED', timeout or 10)

    @staticmethod
    def _pid_catches(pid, signum):
        try:
            with open('/proc/%d/status' % pid) as handle:
                return catches_signal(handle.read(), signum)
        except OSError:
            return False

    def ipv4_addresses(self, name, interface):
        """The IPv4 addresses on ``interface`` inside the running container (read through attach)."""
        return list(self._container(name).get_ips(interface=interface, family='inet'))

    def wait_for_ipv4(self, name, address, interface, timeout):
        """Return once ``address`` is configured on ``interface`` in the container, or raise after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.status(name)[0]
            found = self.ipv4_addresses(name, interface) if state == 'running' else []
            if address in found:
                return
            if state != 'running':
                raise DockerliteError('container %s is %s; its IPv4 address %s was never seen on its %s'
                                      % (name, state, address, interface), lxc_log=self._log_tail(name))
            if time.monotonic() > deadline:
                raise DockerliteError('IPv4 address %s did not appear on %s in container %s within %s seconds '
                                      '(addresses there: %s)' % (address, interface, name, timeout,
                                                                 ', '.join(found) or 'none'),
                                      lxc_log=self._log_tail(name))
            time.sleep(WAIT_POLL)

    def freeze(self, name):
        if not self._container(name).freeze():
            raise DockerliteError('LXC could not freeze container %s' % name, lxc_log=self._log_tail(name))

    def unfreeze(self, name):
        if not self._container(name).unfreeze():
            raise DockerliteError('LXC could not unfreeze container %s' % name, lxc_log=self._log_tail(name))

    def kill(self, name):
        self._container(name).stop()

    def execute(self, name, argv, timeout=None):
        """Run ``argv`` in a stopped container to completion; return (rc, stdout, stderr, seconds).

        lxc-execute returns the command's exit code (255 when LXC itself failed) and keeps
        stdout and stderr apart, which python3-lxc cannot do.
        """
        self._refuse_orphan(name)
        cmd = ['lxc-execute', '-n', name, '-P', self.lxcpath, '--'] + list(argv)
        # lxc-execute stays PID 1 in the container, where its environment is visible: keep it minimal.
        env = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL': 'C'}
        started = time.time()
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env)
        except OSError as exc:
            raise CommandError('cannot run lxc-execute: %s' % exc, cmd, None, '', '')
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Stop the container through LXC and let lxc-execute (its monitor) exit by
            # itself: killing lxc-execute instead would leave its cgroups behind.
            self.kill(name)
            try:
                stdout, stderr = proc.communicate(timeout=EXECUTE_EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, stderr = proc.communicate()
            raise CommandError('command in container %s did not finish within %s seconds and was killed'
                               % (name, timeout), cmd, None, _text(stdout), _text(stderr))
        return proc.returncode, _text(stdout), _text(stderr), time.time() - started


def _text(data):
    if data is None:
        return ''
    return data.decode('utf-8', 'replace') if isinstance(data, bytes) else data
