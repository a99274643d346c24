# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Containers whose LXC monitor died: the record of a started container's init, and clearing what it left.

LXC learns a container's state from its monitor process. When the monitor dies (killed,
OOM) LXC reports the container STOPPED, and nobody removes its cgroups. A running
container's init dies with it (LXC gives init a parent-death signal), but a frozen one
cannot act on that signal: its init and every process under it live on in their
namespaces and cgroups, and starting the container again would run a second instance on
the same rootfs, address and MAC. So after every start the client records the init's
pid, its start time (field 22 of /proc/<pid>/stat, which a reused pid does not share),
the boot id and the cgroups of the init and of the monitor in the container's directory.
A container LXC calls stopped is orphaned when its recorded init still lives, or when
its recorded cgroups are still there, empty. Clearing an orphan thaws its cgroups, kills
the processes listed in them (by pid: only the container's own), waits until they are
gone and removes the empty cgroups of the container and of its dead monitor.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import time

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError

RECORD = 'init.json'
BOOT_ID = '/proc/sys/kernel/random/boot_id'
# Seconds the killed processes get to disappear from their cgroups.
KILL_TIMEOUT = 10
KILL_POLL = 0.01


def _read(path):
    with open(path) as handle:
        return handle.read()


def parse_stat(text):
    """(parent pid, state letter, start time in clock ticks) from a /proc/<pid>/stat line.

    The command name in parentheses may hold spaces and parentheses: fields are counted
    after the last ')'."""
    fields = text[text.rindex(')') + 2:].split()
    return int(fields[1]), fields[0], int(fields[19])


def parse_cgroups(text):
    """[(controllers, path)] from a /proc/<pid>/cgroup text; controllers is '' for cgroup v2."""
    found = []
    for line in text.splitlines():
        parts = line.split(':', 2)
        if len(parts) == 3 and parts[2].startswith('/'):
            found.append((parts[1], parts[2]))
    return found


def parse_cgroup_mounts(mountinfo):
    """[(set of super options, mount point)] of the cgroup file systems in a mountinfo text.

    cgroup v2 gets the empty set. Only mounts of a hierarchy's root are used (a bind mount
    of a sub-cgroup would name other paths)."""
    mounts = []
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(' - ')
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or fields[3] != '/':
            continue
        point = fields[4].encode().decode('unicode_escape')
        if tail[0] == 'cgroup2':
            mounts.append((set(), point))
        elif tail[0] == 'cgroup':
            mounts.append((set(tail[2].split(',')), point))
    return mounts


def cgroup_dirs(cgroups, mounts):
    """The directories of ``cgroups`` ([(controllers, path)]) under the ``mounts`` that hold them."""
    dirs = []
    for controllers, path in cgroups:
        wanted = set(controllers.split(',')) if controllers else set()
        for options, point in mounts:
            if (not wanted and not options) or (wanted and wanted <= options):
                dirs.append(os.path.join(point, path.lstrip('/')))
                break
    return dirs


class InitRecord:
    """What was recorded about a started container's init; ``alive()`` tells whether it still runs."""

    def __init__(self, pid, start_time, boot_id, payload_cgroups, monitor_cgroups):
        self.pid = pid
        self.start_time = start_time
        self.boot_id = boot_id
        self.payload_cgroups = payload_cgroups
        self.monitor_cgroups = monitor_cgroups

    @classmethod
    def of_running(cls, pid, proc='/proc'):
        """The record of init ``pid`` (whose parent is the LXC monitor) now, or None if it is gone already."""
        try:
            parent, _state, start_time = parse_stat(_read('%s/%d/stat' % (proc, pid)))
            payload = parse_cgroups(_read('%s/%d/cgroup' % (proc, pid)))
            monitor = parse_cgroups(_read('%s/%d/cgroup' % (proc, parent)))
            boot_id = _read(BOOT_ID).strip()
        except (OSError, ValueError, IndexError):
            return None
        return cls(pid, start_time, boot_id, payload, monitor)

    @classmethod
    def load(cls, path):
        """The record at ``path``, or None when there is none or it is unreadable (a torn write)."""
        try:
            data = json.loads(_read(path))
            return cls(int(data['pid']), int(data['start_time']), str(data['boot_id']),
                       [(str(c), str(p)) for c, p in data['payload_cgroups']],
                       [(str(c), str(p)) for c, p in data['monitor_cgroups']])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, path):
        data = json.dumps({'pid': self.pid, 'start_time': self.start_time, 'boot_id': self.boot_id,
                           'payload_cgroups': self.payload_cgroups, 'monitor_cgroups': self.monitor_cgroups},
                          sort_keys=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)

    def alive(self, proc='/proc'):
        """True while the recorded init runs (a zombie is not running; a reused pid has another start time)."""
        try:
            if _read(BOOT_ID).strip() != self.boot_id:
                return False
            _parent, state, start_time = parse_stat(_read('%s/%d/stat' % (proc, self.pid)))
        except (OSError, ValueError, IndexError):
            return False
        return start_time == self.start_time and state not in ('Z', 'X')

    def live_monitor(self, lxcpath, name, proc='/proc'):
        """The pid of the LXC monitor of container ``name`` in ``lxcpath`` if it is still the live init's parent.

        Then the container is not an orphan, though LXC may call it stopped: its monitor's command socket is an
        abstract unix socket, which only processes of the monitor's network namespace can reach.
        """
        if not self.alive(proc):
            return None
        try:
            parent, _state, _start = parse_stat(_read('%s/%d/stat' % (proc, self.pid)))
            with open('%s/%d/cmdline' % (proc, parent), 'rb') as handle:
                cmdline = handle.read()
        except (OSError, ValueError, IndexError):
            return None
        title = cmdline.replace(b'\0', b' ').decode('utf-8', 'replace').strip()
        return parent if title == '[lxc monitor] %s %s' % (lxcpath, name) else None

    def leftovers(self, mounts):
        """The recorded cgroup directories that are still there and hold no process.

        After a normal stop LXC has removed them; one that holds processes belongs to
        another container of the same name (in another LXC path) by now."""
        dirs = cgroup_dirs(self.payload_cgroups + self.monitor_cgroups, mounts)
        return [path for path in dirs if os.path.isdir(path) and not _pids(path)]


def orphan_of(record, mountinfo=None):
    """True when ``record`` (an InitRecord or None) shows an orphan: its init lives, or its cgroups were left."""
    if record is None:
        return False
    if record.alive():
        return True
    if mountinfo is None:
        mountinfo = _read('/proc/self/mountinfo')
    return bool(record.leftovers(parse_cgroup_mounts(mountinfo)))


def record_path(lxcpath, name):
    return os.path.join(lxcpath, name, RECORD)


def _write(path, text):
    with open(path, 'w') as handle:
        handle.write(text)


def _pids(cgroup_dir):
    """The pids in a cgroup directory and every cgroup below it."""
    pids = set()
    for top, _dirs, files in os.walk(cgroup_dir):
        if 'cgroup.procs' in files:
            try:
                pids.update(int(line) for line in _read(os.path.join(top, 'cgroup.procs')).split())
            except OSError:
                continue
    return pids


def _thaw(cgroup_dir):
    """Thaw a cgroup tree (v1 freezer.state, v2 cgroup.freeze): a frozen process cannot die."""
    for top, _dirs, files in os.walk(cgroup_dir):
        for name, value in (('freezer.state', 'THAWED'), ('cgroup.freeze', '0')):
            if name in files:
                try:
                    _write(os.path.join(top, name), value)
                except OSError:
                    continue


def _remove_tree(cgroup_dir):
    """rmdir a cgroup directory and the cgroups below it, deepest first; the paths that stayed."""
    left = []
    for top, _dirs, _files in os.walk(cgroup_dir, topdown=False):
        try:
            os.rmdir(top)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                left.append('%s (%s)' % (top, exc.strerror))
    return left


def clear_orphan(name, record, mountinfo=None, timeout=KILL_TIMEOUT):
    """Kill the processes of orphaned container ``name`` and remove its and its monitor's empty cgroups.

    Processes are looked up only while the recorded init lives (its cgroups are then read
    from /proc, so they are the container's). Raises DockerliteError naming what could not
    be cleared."""
    if mountinfo is None:
        mountinfo = _read('/proc/self/mountinfo')
    mounts = parse_cgroup_mounts(mountinfo)
    payload = []
    if record.alive():
        try:
            payload = cgroup_dirs(parse_cgroups(_read('/proc/%d/cgroup' % record.pid)), mounts)
        except OSError:
            payload = []
    deadline = time.monotonic() + timeout
    while True:
        for cgroup_dir in payload:
            _thaw(cgroup_dir)
        pids = set().union(*[_pids(cgroup_dir) for cgroup_dir in payload])
        if record.alive():
            pids.add(record.pid)
        if not pids:
            break
        if time.monotonic() > deadline:
            raise DockerliteError('container %s: its LXC monitor died and processes %s of the container did not die '
                                  'within %s seconds of SIGKILL; kill them and run again'
                                  % (name, ', '.join(map(str, sorted(pids))), timeout))
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                continue
        time.sleep(KILL_POLL)
    left = []
    for cgroup_dir in record.leftovers(mounts):
        left.extend(_remove_tree(cgroup_dir))
    if left:
        raise DockerliteError('container %s: its processes are gone, but these cgroups could not be removed: %s'
                              % (name, '; '.join(left)))
