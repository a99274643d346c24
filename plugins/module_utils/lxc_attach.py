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

``attach`` rather than ``attach_wait``: the latter turns exit status 255 into -1. The
attached process is our child (LXC clones it with CLONE_PARENT), so waitpid works.

The client raises DockerliteError subclasses and never exits the module.
"""

from __future__ import annotations

import errno
import fcntl
import glob
import os
import signal
import tempfile
import time

from ansible_collections.dockerlite.core.plugins.module_utils.errors import DockerliteError, MissingLibraryError
# The same optional import of python3-lxc as the LXC client's.
from ansible_collections.dockerlite.core.plugins.module_utils.lxc import LXC_IMPORT_ERROR, _lxc

# Exit codes of the attached process when it fails before exec, as shells use them.
EXIT_NOT_FOUND = 127
EXIT_CANNOT_RUN = 126
# Exit codes of a path test: bit 0 for ``creates``, bit 1 for ``removes``; 4 for an error.
TEST_ERROR = 4
WAIT_FIRST = 0.001
WAIT_MAX = 0.05
PASSWD = '/etc/passwd'
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
    entries = []
    for line in b''.join(chunks).decode('utf-8', 'replace').split('\n'):
        if line and not line.startswith('#'):
            entries.append(line.split(':'))
    return entries


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
    message = '%s: %s' % (stage, exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
    try:
        os.write(err_fd, message.encode('utf-8', 'replace'))
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


def _read_pipe(fd):
    """Whatever is in a pipe whose writers are gone (or would block)."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b''.join(chunks).decode('utf-8', 'replace')


class AttachClient:
    """Programs and path tests inside the running containers of one LXC path."""

    def __init__(self, lxcpath):
        if _lxc is None:
            raise MissingLibraryError('python3-lxc', LXC_IMPORT_ERROR)
        self.lxcpath = lxcpath

    def _attach(self, name, spec, stdin, stdout, stderr, timeout):
        """Start ``_attached(spec)`` in the container; return (wait status, timed out, error text).

        After ``timeout`` seconds the process group is killed."""
        container = _lxc.Container(name, self.lxcpath)
        if not container.running:
            raise DockerliteError('container %s is not running' % name)
        err_r, err_w = os.pipe()
        try:
            try:
                pid = container.attach(_attached, dict(spec, err_fd=err_w), env_policy=_lxc.LXC_ATTACH_CLEAR_ENV,
                                       stdin=stdin, stdout=stdout, stderr=stderr)
            finally:
                os.close(err_w)
            if pid <= 0:
                raise DockerliteError('LXC could not attach to container %s' % name)
            status = wait_for(pid, timeout)
            timed_out = status is None
            if timed_out:
                kill_group(pid)
                status = os.waitpid(pid, 0)[1]
            return status, timed_out, _read_pipe(err_r)
        finally:
            os.close(err_r)

    def test_paths(self, name, creates=None, removes=None):
        """(creates matches, removes matches): whether the glob patterns match paths in the container."""
        with open(os.devnull, 'rb') as null_in, open(os.devnull, 'wb') as null_out:
            status, _timed_out, error = self._attach(name, {'mode': 'test', 'creates': creates, 'removes': removes},
                                                     null_in, null_out, null_out, None)
        code = os.waitstatus_to_exitcode(status)
        if error or not 0 <= code < TEST_ERROR:
            raise DockerliteError('cannot test paths in container %s: %s' % (name, error or 'exit status %d' % code))
        return bool(code & 1), bool(code & 2)

    def run(self, name, argv, env, cwd='/', user=None, group=None, stdin=None, timeout=None):
        """Run ``argv`` in the container with exactly ``env`` (plus HOME) and return an ExecResult.

        Raises AttachFailure (with ``rc`` 126 or 127) when the program could not be started.
        """
        spec = {'mode': 'run', 'argv': list(argv), 'env': dict(env), 'cwd': cwd, 'user': user, 'group': group}
        with tempfile.TemporaryFile() as stdin_file, tempfile.TemporaryFile() as out, \
                tempfile.TemporaryFile() as err:
            if stdin is not None:
                stdin_file.write(stdin)
                stdin_file.flush()
                stdin_file.seek(0)
            started = time.monotonic()
            status, timed_out, error = self._attach(name, spec, stdin_file, out, err, timeout)
            seconds = time.monotonic() - started
            out.seek(0)
            err.seek(0)
            result = ExecResult(status, out.read(), err.read(), timed_out, seconds)
        if error and not result.timed_out:
            raise AttachFailure('cannot run %s in container %s: %s' % (argv, name, error),
                                rc=result.rc, cmd=list(argv))
        return result
