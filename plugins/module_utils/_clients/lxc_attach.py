# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Run programs inside running containers through python3-lxc's attach.

``Container.attach`` forks a process that LXC moves into the container's namespaces and
cgroup, with the container's capability bounding set, seccomp profile and personality,
then calls a Python function there. That function (``_attached``) does what a runtime
does before ``execve``: close inherited descriptors, start a session (so a timeout can
kill the whole process group), switch user, change directory and exec the program with
exactly the environment given. Everything it reads (``/etc/passwd``, ``creates`` paths)
it reads inside the container, so no symbolic link in the container leads to the host.

The caller never attaches itself: a helper process (``_helper``), forked by AttachClient
in dockerlite_exec or run by ``main`` for the connection plugin, keeps only the command's
stdin, stdout and stderr pipes and a message pipe, drops the container's log file, and
attaches; so no descriptor of the module, of Ansible or of the host reaches the container.

``attach`` rather than ``attach_wait``: the latter turns exit status 255 into -1. The
attached process is the helper's child (LXC clones it with CLONE_PARENT), so waitpid works;
the helper then ends the way the command ended.

The client raises DockerliteError subclasses and never exits the module.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import resource
import selectors
import signal
import sys
import time

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError, MissingLibraryError
# The same optional import of python3-lxc as the LXC client's.
from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc import LXC_IMPORT_ERROR, _lxc

# Exit codes of the attached process when it fails before exec, as shells use them.
EXIT_NOT_FOUND = 127
EXIT_CANNOT_RUN = 126
# Exit codes of a path test: bit 0 for ``creates``, bit 1 for ``removes``; 4 for an error.
TEST_ERROR = 4
WAIT_FIRST = 0.001
WAIT_MAX = 0.05
PASSWD = '/etc/passwd'
CHUNK = 65536
# Records on the message pipe (kind byte): the attached process could not exec, the helper
# could not attach, the command was killed after its timeout.
ATTACHED_FAILED = b'E'
HELPER_FAILED = b'H'
TIMED_OUT = b'T'
MESSAGE_MAX = 2048
# The helper's exit code when it failed (its reason is on the message pipe), like docker run's.
HELPER_EXIT = 125
# The environment variable that hands the spec to ``main`` (not argv: /proc/<pid>/cmdline is world-readable).
SPEC_ENV = 'DOCKERLITE_ATTACH_SPEC'
GROUP = '/etc/group'


class AttachFailure(DockerliteError):
    """The attached process could not run the program (bad user, directory or program)."""


class ExecResult:
    """What running a program in a container gave."""

    def __init__(self, status, stdout, stderr, timed_out, seconds):
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out
        self.seconds = seconds

    @property
    def rc(self):
        """The exit code, or minus the signal number that killed the program (like subprocess)."""
        return os.waitstatus_to_exitcode(self.status)


# -- inside the container -------------------------------------------------------
#
# These run in the attached process: after fork, in the container's mount namespace.
# They must not import anything (imports would look in the container's file system)
# and must end in execve or os._exit, never return into LXC or Python's shutdown.

def _read_database(path):
    """The colon-separated entries of /etc/passwd or /etc/group, read in the container."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return []
        raise
    chunks = []
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    return database_entries(b''.join(chunks))


def database_entries(raw):
    """The colon-separated fields of each entry of an /etc/passwd or /etc/group text (bytes)."""
    return [line.split(':') for line in raw.decode('utf-8', 'replace').split('\n')
            if line and not line.startswith('#')]


def _number(text):
    return int(text) if text.isdigit() else None


def resolve_identity(user, group, passwd, groups_db):
    """(uid, gid, supplementary gids, home) for ``user``/``group`` (names or numbers).

    A user found in passwd gets its primary group and the groups that list it as a
    member; a numeric uid that passwd does not know gets gid = uid. Raises LookupError.
    """
    entry = None
    for fields in passwd:
        if len(fields) < 7:
            continue
        if (isinstance(user, int) and _number(fields[2]) == user) or fields[0] == user:
            entry = fields
            break
    if entry is None and not isinstance(user, int):
        raise LookupError('user %s not found in %s' % (user, PASSWD))
    uid = user if isinstance(user, int) else _number(entry[2])
    gid = _number(entry[3]) if entry is not None else uid
    name = entry[0] if entry is not None else None
    home = entry[5] if entry is not None and entry[5] else '/'
    if uid is None or gid is None:
        raise LookupError('user %s has a malformed entry in %s' % (user, PASSWD))
    if group is not None:
        gid = group if isinstance(group, int) else None
        for fields in groups_db:
            if len(fields) >= 3 and fields[0] == group and _number(fields[2]) is not None:
                gid = _number(fields[2])
                break
        if gid is None:
            raise LookupError('group %s not found in %s' % (group, GROUP))
    supplementary = [gid]
    if name is not None and group is None:
        for fields in groups_db:
            if len(fields) >= 4 and name in fields[3].split(',') and _number(fields[2]) is not None \
                    and _number(fields[2]) not in supplementary:
                supplementary.append(_number(fields[2]))
    return uid, gid, supplementary, home


def _fail(err_fd, stage, exc, code):
    text = '%s: %s' % (stage, exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
    try:
        os.write(err_fd, message(ATTACHED_FAILED, text))
    finally:
        os._exit(code)


def _prepare(spec):
    """Reset what a Python parent leaves behind: ignored signals and open descriptors."""
    for signum in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(signum, signal.SIG_DFL)
    err_fd = spec['err_fd']
    os.closerange(3, err_fd)
    os.closerange(err_fd + 1, os.sysconf('SC_OPEN_MAX'))
    os.setsid()


def _attached(spec):
    """Entry point in the attached process: exec the program, or test paths."""
    err_fd = spec['err_fd']
    stage = 'preparing'
    try:
        _prepare(spec)
        if spec['mode'] == 'test':
            stage = 'testing paths'
            code = 0
            for bit, pattern in ((1, spec['creates']), (2, spec['removes'])):
                if pattern is not None and glob.glob(pattern):
                    code |= bit
            os._exit(code)
        env = dict(spec['env'])
        stage = 'looking up the user'
        passwd = _read_database(PASSWD)
        if spec['user'] is None:
            home = resolve_identity(0, None, passwd, [])[3]
        else:
            uid, gid, groups, home = resolve_identity(spec['user'], spec['group'], passwd, _read_database(GROUP))
            stage = 'switching to uid %d gid %d' % (uid, gid)
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
        env.setdefault('HOME', home)
        stage = 'changing directory to %s' % spec['cwd']
        os.chdir(spec['cwd'])
        stage = 'running %s' % spec['argv'][0]
        os.execvpe(spec['argv'][0], spec['argv'], env)
    except BaseException as exc:  # pylint: disable=broad-exception-caught
        # Nothing may escape into LXC; the parent reads the reason from err_fd.
        not_found = isinstance(exc, OSError) and exc.errno == errno.ENOENT and stage.startswith('running')
        _fail(err_fd, stage, exc, TEST_ERROR if spec['mode'] == 'test'
              else EXIT_NOT_FOUND if not_found else EXIT_CANNOT_RUN)
    os._exit(EXIT_CANNOT_RUN)


# -- on the host ----------------------------------------------------------------
#
# The module never attaches itself: python3-lxc's attach forks the attached process from
# the caller, which would then hold every descriptor of the caller until ``_prepare``
# closes them (a container process allowed to ptrace could take them with pidfd_getfd in
# that window). A helper forked for the purpose keeps only the pipes it hands over, opens
# the container with no log file, attaches, and reports through the message pipe.

def wait_for(pid, timeout):
    """The wait status of child ``pid``, or None if it is still running after ``timeout`` seconds."""
    if timeout is None:
        return os.waitpid(pid, 0)[1]
    deadline = time.monotonic() + timeout
    pause = WAIT_FIRST
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, WAIT_MAX)


def kill_group(pid):
    """Kill the attached process and its process group (it started a session of its own)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            continue


def keep_only(fds):
    """Close every descriptor of this process except ``fds``."""
    low = 0
    for fd in sorted(set(fds)) + [max(os.sysconf('SC_OPEN_MAX'), max(fds) + 1)]:
        # Never an empty range: Python 3.11 passes closerange(n, n) on as close_range(n, n - 1),
        # which the kernel reads as "up to the largest descriptor".
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1


def message(kind, text=''):
    """One record of the message pipe: a kind byte, the text, a NUL."""
    data = kind + text.encode('utf-8', 'replace')[:MESSAGE_MAX].replace(b'\0', b' ')
    return data + b'\0'


def parse_messages(data):
    """{kind: text} of the records read from the message pipe (the first record of each kind wins)."""
    found = {}
    for record in data.split(b'\0'):
        if record:
            found.setdefault(record[:1], record[1:].decode('utf-8', 'replace'))
    return found


def exit_like(status):
    """End this process the way the waited-for process ended, so that its wait status is ours."""
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if signum not in (signal.SIGKILL, signal.SIGSTOP):
                signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        except (OSError, ValueError):
            pass
        os._exit(128 + signum)
    os._exit(os.waitstatus_to_exitcode(status) & 0xff)


def _helper(lxcpath, name, spec, timeout, stdio, msg_fd):
    """The helper process: attach ``spec`` to container ``name``, wait, exit like the attached process.

    Never returns. It keeps only ``stdio`` (as 0, 1, 2) and ``msg_fd``; python3-lxc opens the
    container's lxc.log when it reads the config, so the log is pointed at /dev/null (LXC closes
    the previous file) before attaching."""
    try:
        for target, fd in enumerate(stdio):
            os.dup2(fd, target)
        keep_only((0, 1, 2, msg_fd))
        container = _lxc.Container(name, lxcpath)
        if not container.set_config_item('lxc.log.file', os.devnull):
            raise DockerliteError('cannot detach the log file of container %s' % name)
        if not container.running:
            raise DockerliteError('container %s is not running' % name)
        pid = container.attach(_attached, dict(spec, err_fd=msg_fd), env_policy=_lxc.LXC_ATTACH_CLEAR_ENV)
        if pid <= 0:
            raise DockerliteError('LXC could not attach to container %s' % name)
        os.closerange(0, 3)
        status = wait_for(pid, timeout)
        if status is None:
            kill_group(pid)
            status = os.waitpid(pid, 0)[1]
            os.write(msg_fd, message(TIMED_OUT))
        os.close(msg_fd)
        exit_like(status)
    except BaseException as exc:  # pylint: disable=broad-exception-caught
        # Nothing may return into the module's code in this forked process.
        try:
            os.write(msg_fd, message(HELPER_FAILED, getattr(exc, 'msg', None) or str(exc) or repr(exc)))
        finally:
            os._exit(HELPER_EXIT)
    os._exit(HELPER_EXIT)


def _pump(stdin, out_r, err_r, msg_r, in_w):
    """Feed ``stdin`` to ``in_w`` and read the three pipes until the message pipe ends.

    The message pipe ends when the helper exits (the attached command only had it until
    exec). Output still in the pipes then is read; a background process of the command
    that keeps stdout open is not waited for. Returns (stdout, stderr, messages) bytes."""
    chunks = {out_r: [], err_r: [], msg_r: []}
    pending = stdin or b''
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        if pending:
            os.set_blocking(in_w, False)
            selector.register(in_w, selectors.EVENT_WRITE)
        else:
            os.close(in_w)
        while msg_r in selector.get_map():
            for key, _events in selector.select():
                fd = key.fd
                if fd == in_w:
                    try:
                        pending = pending[os.write(in_w, pending[:CHUNK]):]
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:
                        pending = b''  # the command stopped reading; its exit status tells why
                    if not pending:
                        selector.unregister(in_w)
                        os.close(in_w)
                    continue
                data = os.read(fd, CHUNK)
                if data:
                    chunks[fd].append(data)
                else:
                    selector.unregister(fd)
        if in_w in selector.get_map():
            os.close(in_w)
    for fd in (out_r, err_r):
        chunks[fd].append(_read_pipe(fd))
    return b''.join(chunks[out_r]), b''.join(chunks[err_r]), b''.join(chunks[msg_r])


def _read_pipe(fd):
    """Whatever is in a pipe now (without waiting for writers that are still there)."""
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, CHUNK)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b''.join(chunks)


class AttachClient:
    """Programs and path tests inside the running containers of one LXC path."""

    def __init__(self, lxcpath):
        if _lxc is None:
            raise MissingLibraryError('python3-lxc', LXC_IMPORT_ERROR)
        self.lxcpath = lxcpath

    def _attach(self, name, spec, stdin, timeout):
        """Run ``_attached(spec)`` in the container through a helper process.

        Returns (wait status, timed out, stdout, stderr, error text of the attached process).
        After ``timeout`` seconds the command's process group is killed."""
        pipes = [os.pipe() for dummy in range(4)]
        (in_r, in_w), (out_r, out_w), (err_r, err_w), (msg_r, msg_w) = pipes
        try:
            pid = os.fork()
            if pid == 0:
                _helper(self.lxcpath, name, spec, timeout, (in_r, out_w, err_w), msg_w)
            for fd in (in_r, out_w, err_w, msg_w):
                os.close(fd)
            try:
                stdout, stderr, messages = _pump(stdin, out_r, err_r, msg_r, in_w)
            finally:
                status = os.waitpid(pid, 0)[1]
        finally:
            for fd in (in_r, in_w, out_r, out_w, err_r, err_w, msg_r, msg_w):
                try:
                    os.close(fd)
                except OSError:
                    pass
        messages = parse_messages(messages)
        if HELPER_FAILED in messages:
            raise DockerliteError('cannot attach to container %s: %s' % (name, messages[HELPER_FAILED]))
        return status, TIMED_OUT in messages, stdout, stderr, messages.get(ATTACHED_FAILED, '')

    def test_paths(self, name, creates=None, removes=None):
        """(creates matches, removes matches): whether the glob patterns match paths in the container."""
        status, _timed_out, _out, _err, error = self._attach(
            name, {'mode': 'test', 'creates': creates, 'removes': removes}, None, None)
        code = os.waitstatus_to_exitcode(status)
        if error or not 0 <= code < TEST_ERROR:
            raise DockerliteError('cannot test paths in container %s: %s' % (name, error or 'exit status %d' % code))
        return bool(code & 1), bool(code & 2)

    def run(self, name, argv, env, cwd='/', user=None, group=None, stdin=None, timeout=None):
        """Run ``argv`` in the container with exactly ``env`` (plus HOME) and return an ExecResult.

        stdin, stdout and stderr of the command are pipes. Raises AttachFailure (with ``rc``
        126 or 127) when the program could not be started.
        """
        spec = {'mode': 'run', 'argv': list(argv), 'env': dict(env), 'cwd': cwd, 'user': user, 'group': group}
        started = time.monotonic()
        status, timed_out, out, err, error = self._attach(name, spec, stdin, timeout)
        result = ExecResult(status, out, err, timed_out, time.monotonic() - started)
        if error and not result.timed_out:
            raise AttachFailure('cannot run %s in container %s: %s' % (argv, name, error),
                                rc=result.rc, cmd=list(argv))
        return result


def main():
    """``python3 -m <this module> LXCPATH NAME``: run the spec in $DOCKERLITE_ATTACH_SPEC with this stdin, stdout, stderr.

    The connection plugin's helper (the controller's Python may lack python3-lxc). It forks
    the same helper as AttachClient, and exits like the command; when the command could not
    start, with 126 or 127 (125 when LXC could not attach) and the reason on stderr."""
    if _lxc is None:
        os.write(2, b'dockerlite attach: python3-lxc is not importable by %s\n' % sys.executable.encode())
        os._exit(HELPER_EXIT)
    lxcpath, name = sys.argv[1:3]
    spec = json.loads(os.environ.pop(SPEC_ENV))
    msg_r, msg_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(msg_r)
        _helper(lxcpath, name, spec, None, (0, 1, 2), msg_w)
    os.close(msg_w)
    chunks = []
    while True:
        chunk = os.read(msg_r, CHUNK)
        if not chunk:
            break
        chunks.append(chunk)
    status = os.waitpid(pid, 0)[1]
    messages = parse_messages(b''.join(chunks))
    for kind in (HELPER_FAILED, ATTACHED_FAILED):
        if kind in messages:
            os.write(2, ('dockerlite attach: %s\n' % messages[kind]).encode('utf-8', 'replace'))
    exit_like(status)


if __name__ == '__main__':
    main()
