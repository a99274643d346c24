# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""One client over libbtrfsutil (Debian's python3-btrfsutil), and the btrfs CLI where it has no call.

libbtrfsutil has no send and no quota calls, so those run ``btrfs`` with an argv list
and LC_ALL=C. The client raises DockerliteError subclasses and never exits the module.
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import stat
import subprocess
import traceback
import uuid

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import (
    CommandError, DockerliteError, MissingLibraryError)
from ansible_collections.dockerlite.core.plugins.module_utils._common.parallel import run_parallel

try:
    import btrfsutil
except ImportError:
    btrfsutil = None
    BTRFSUTIL_IMPORT_ERROR = traceback.format_exc()
else:
    BTRFSUTIL_IMPORT_ERROR = None

# What ``btrfs qgroup show`` says on stderr when quotas are off on the filesystem (LC_ALL=C).
QUOTA_OFF_MESSAGES = ('quotas not enabled', 'quota not enabled')
QGROUP_ID_RE = re.compile(r'[0-9]+/[0-9]+')
# _IOR(BTRFS_IOCTL_MAGIC, 31, struct btrfs_ioctl_fs_info_args): 1024 bytes, the fsid at offset 16.
BTRFS_IOC_FS_INFO = 0x8400941f
SYSFS_BTRFS = '/sys/fs/btrfs'
STREAM_CHUNK = 1 << 20


def _unescape_mountinfo(field):
    """Decode the octal escapes (\\040 for a space ...) of /proc/self/mountinfo."""
    out, i = [], 0
    while i < len(field):
        if field[i] == '\\' and len(field[i + 1:i + 4]) == 3 and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return ''.join(out)


def read_mounts(mountinfo_text):
    """Parse mountinfo text into a list of (mount point, filesystem type)."""
    mounts = []
    for line in mountinfo_text.splitlines():
        fields = line.split()
        if '-' not in fields:
            continue
        sep = fields.index('-')
        mounts.append((_unescape_mountinfo(fields[4]), fields[sep + 1]))
    return mounts


def filesystem_of(path, mounts):
    """Return (mount point, filesystem type) of the mount holding ``path`` (a real path)."""
    best = ('/', 'unknown')
    best_len = -1
    for mount_point, fstype in mounts:
        prefix = mount_point.rstrip('/') + '/'
        # >=: a later mount on the same point hides the earlier one (mountinfo is in mount order).
        if (path == mount_point or path.startswith(prefix) or mount_point == '/') and len(mount_point) >= best_len:
            best, best_len = (mount_point, fstype), len(mount_point)
    return best


def mounts_under(path, mounts):
    """Mount points strictly below ``path`` (a real path)."""
    prefix = path.rstrip('/') + '/'
    return sorted(mount_point for mount_point, _fstype in mounts if mount_point.startswith(prefix))


def _last_line(stderr, rc):
    """What a failed command said last, for the error message."""
    return stderr.strip().splitlines()[-1] if stderr.strip() else 'exit code %d' % rc


def parse_qgroup_show(text):
    """{subvolume id: {'referenced', 'exclusive', 'max_referenced', 'max_exclusive'}} from the text of
    ``btrfs qgroup show --raw -re``: level-0 qgroups only (one per subvolume), a limit None when unset.

    Text, not ``--format json``: btrfs-progs 6.2 aborts in its JSON output once a limit is set.
    """
    qgroups = {}
    for line in text.splitlines():
        fields = line.split()
        if not fields or not QGROUP_ID_RE.fullmatch(fields[0]):
            continue  # the header and its underline
        level, subvolume_id = fields[0].split('/')
        try:
            values = [None if value == 'none' else int(value) for value in fields[1:5]]
        except ValueError:
            values = []
        if len(values) != 4:
            raise DockerliteError('btrfs qgroup show: cannot read the line %r' % line, stdout=text)
        if level == '0':
            qgroups[int(subvolume_id)] = dict(zip(('referenced', 'exclusive', 'max_referenced', 'max_exclusive'),
                                                  values))
    return qgroups


def nearest_existing(path):
    """The path itself if it exists, else its nearest existing ancestor."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return os.path.realpath(path)


class BtrfsClient:
    """Subvolume operations on one host, through libbtrfsutil."""

    def __init__(self):
        if btrfsutil is None:
            raise MissingLibraryError('python3-btrfsutil', BTRFSUTIL_IMPORT_ERROR)

    @staticmethod
    def _fail(action, path, exc):
        return DockerliteError('btrfs: cannot %s %s: %s' % (action, path, exc))

    @staticmethod
    def _mounts():
        with open('/proc/self/mountinfo') as handle:
            return read_mounts(handle.read())

    def filesystem(self, path):
        """(mount point, filesystem type) for ``path`` or its nearest existing ancestor."""
        return filesystem_of(nearest_existing(path), self._mounts())

    def is_subvolume(self, path):
        try:
            return btrfsutil.is_subvolume(path)
        except btrfsutil.BtrfsUtilError:
            return False

    def create_subvolume(self, path):
        try:
            btrfsutil.create_subvolume(path)
        except btrfsutil.BtrfsUtilError as exc:
            raise self._fail('create subvolume', path, exc)

    def snapshot(self, source, path, read_only=False):
        """An O(1) snapshot of ``source`` at ``path``."""
        try:
            btrfsutil.create_snapshot(source, path, read_only=read_only)
        except btrfsutil.BtrfsUtilError as exc:
            raise self._fail('snapshot %s to' % source, path, exc)

    def snapshots(self, pairs, workers):
        """Snapshot each (source, path) of ``pairs``, up to ``workers`` at once, each in a forked process.

        libbtrfsutil keeps the GIL through the ioctl, so threads would take their turns;
        processes let btrfs commit several snapshots in one transaction (measured here: 40
        snapshots in 150-250 ms with 8 processes, 300-580 ms one after another). Fails naming
        the first pair that could not be made; the caller removes what was made.
        """
        results = run_parallel([functools.partial(self._snapshot_job, source, path) for source, path in pairs],
                               workers)
        for _done, error in results:
            if error:
                raise DockerliteError(error['msg'])

    def _snapshot_job(self, source, path):
        self.snapshot(source, path)
        return []

    def delete_subvolume(self, path):
        """Delete a subvolume and any subvolumes nested in it (works on read-only ones too)."""
        try:
            btrfsutil.delete_subvolume(path, recursive=True)
        except btrfsutil.BtrfsUtilError as exc:
            raise self._fail('delete subvolume', path, exc)

    def set_read_only(self, path, read_only=True):
        try:
            btrfsutil.set_subvolume_read_only(path, read_only)
        except btrfsutil.BtrfsUtilError as exc:
            raise self._fail('set the read-only flag of', path, exc)

    def is_read_only(self, path):
        try:
            return btrfsutil.get_subvolume_read_only(path)
        except btrfsutil.BtrfsUtilError as exc:
            raise self._fail('read the read-only flag of', path, exc)

    def generation(self, path):
        """The subvolume's generation, made current first by committing the transaction."""
        try:
            btrfsutil.sync(path)
            return btrfsutil.subvolume_info(path).generation
        except btrfsutil.BtrfsUtilError as exc:
            raise self._fail('read the generation of', path, exc)

    def created_transaction(self, path):
        """The transaction id in which the subvolume (or snapshot) was created."""
        try:
            return btrfsutil.subvolume_info(path).otransid
        except btrfsutil.BtrfsUtilError as exc:
            raise self._fail('read subvolume info of', path, exc)

    def subvolume_id(self, path):
        try:
            return btrfsutil.subvolume_id(path)
        except btrfsutil.BtrfsUtilError as exc:
            raise self._fail('read the subvolume id of', path, exc)

    def sync(self, path):
        """Commit the filesystem's transaction: qgroup numbers are only current after one."""
        try:
            btrfsutil.sync(path)
        except btrfsutil.BtrfsUtilError as exc:
            raise self._fail('sync', path, exc)

    @staticmethod
    def _run(args, what, timeout=600):
        """Run ``btrfs ARGS`` in the C locale; (cmd, rc, stdout bytes, stderr text). Only a failure to run raises."""
        cmd = ['btrfs'] + list(args)
        env = dict(os.environ, LC_ALL='C')
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=env, timeout=timeout, check=False)
        except OSError as exc:
            raise CommandError('%s: cannot run btrfs: %s' % (what, exc), cmd, None, '', '')
        except subprocess.TimeoutExpired:
            raise CommandError('%s did not finish within %s seconds' % (what, timeout), cmd, None, '', '')
        return cmd, proc.returncode, proc.stdout, proc.stderr.decode('utf-8', 'replace')

    def _check(self, args, what, quota_off=False, timeout=600):
        """stdout of ``btrfs ARGS``; CommandError if it fails, but None for quotas being off if ``quota_off``."""
        cmd, rc, stdout, stderr = self._run(args, what, timeout)
        stdout = stdout.decode('utf-8', 'replace')
        if rc != 0:
            if quota_off and any(message in stderr for message in QUOTA_OFF_MESSAGES):
                return None
            raise CommandError('%s failed: %s' % (what, _last_line(stderr, rc)), cmd, rc, stdout, stderr)
        return stdout

    def qgroups(self, path):
        """Every subvolume's qgroup numbers on the filesystem of ``path`` (see parse_qgroup_show), or None
        when quotas are off there. Call ``sync`` first for current numbers."""
        stdout = self._check(['qgroup', 'show', '--raw', '-re', path], 'btrfs qgroup show on %s' % path,
                             quota_off=True)
        return None if stdout is None else parse_qgroup_show(stdout)

    @staticmethod
    def fsid(path):
        """The filesystem's UUID (the name of its directory under /sys/fs/btrfs), or None if unreadable."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            args = bytearray(1024)
            fcntl.ioctl(fd, BTRFS_IOC_FS_INFO, args)
        except OSError:
            return None
        finally:
            os.close(fd)
        return str(uuid.UUID(bytes=bytes(args[16:32])))

    def quota_enabled(self, path):
        """Whether quotas are on for the filesystem of ``path``: sysfs has a ``qgroups`` directory for the
        filesystem exactly then (no process to start); without sysfs, ``btrfs qgroup show`` tells."""
        fsid = self.fsid(path)
        sysfs = os.path.join(SYSFS_BTRFS, fsid) if fsid else None
        if sysfs and os.path.isdir(sysfs):
            return os.path.isdir(os.path.join(sysfs, 'qgroups'))
        return self.qgroups(path) is not None

    def enable_quota(self, path):
        """Turn quotas on for the filesystem of ``path`` and wait for the rescan that accounts
        what is already there (its cost grows with the filesystem's metadata)."""
        self._check(['quota', 'enable', path], 'btrfs quota enable on %s' % path)
        self._check(['quota', 'rescan', '-W', path], 'waiting for the btrfs quota rescan of %s' % path)

    def set_qgroup_limit(self, path, limit, via):
        """Limit the exclusive bytes of subvolume ``path`` to ``limit``; None removes the limit.

        The ioctl goes through ``via``, another subvolume of the filesystem (the store root): the
        kernel reserves the transaction's metadata in the qgroup of the subvolume it is called on,
        so called on ``path`` itself it fails with EDQUOT once that subvolume is full, and a full
        container could never be given a higher limit.
        """
        value = 'none' if limit is None else str(int(limit))
        qgroup = '0/%d' % self.subvolume_id(path)
        self._check(['qgroup', 'limit', '-e', value, qgroup, via],
                    'btrfs qgroup limit -e %s on %s (qgroup %s)' % (value, path, qgroup))

    @staticmethod
    def send(subvolume, parent=None, no_data=True, timeout=600):
        """The ``btrfs send`` stream of read-only ``subvolume`` as bytes, incremental from ``parent``.

        libbtrfsutil has no send, so this runs the btrfs CLI. ``no_data`` leaves file contents
        out (the stream then says where extents changed, not what they hold), which is all a
        comparison needs and keeps the stream small.
        """
        args = ['-q', 'send']
        if no_data:
            args.append('--no-data')
        if parent is not None:
            args += ['-p', parent]
        args.append(subvolume)
        cmd, rc, stdout, stderr = BtrfsClient._run(args, 'btrfs send', timeout)
        if rc != 0:
            raise CommandError('btrfs send of %s failed: %s' % (subvolume, _last_line(stderr, rc)), cmd, rc, '', stderr)
        return stdout

    @staticmethod
    def free_bytes(path):
        """The free bytes of the filesystem of ``path`` (statvfs), after committing its transaction:
        freed extents only count once the transaction that frees them has committed."""
        try:
            btrfsutil.sync(path)
            info = os.statvfs(path)
        except (btrfsutil.BtrfsUtilError, OSError) as exc:
            raise DockerliteError('btrfs: cannot read the free space of %s: %s' % (path, exc))
        return info.f_bfree * info.f_frsize

    def wait_for_cleaner(self, path, timeout=120):
        """Wait until the btrfs cleaner has dropped every deleted subvolume of the filesystem of ``path``.

        Deleting a subvolume only unlinks it; its extents are freed later in the background.
        libbtrfsutil lists deleted subvolumes but cannot wait for them, so this runs
        ``btrfs subvolume sync``.
        """
        self._check(['subvolume', 'sync', path], 'btrfs subvolume sync on %s' % path, timeout=timeout)

    def subvolume_uuids(self, path):
        """{uuid, parent_uuid, received_uuid} of subvolume ``path`` as hexadecimal strings, None for unset ones.

        ``received_uuid`` is set on a subvolume that ``btrfs receive`` made: the uuid of the
        subvolume it was sent from, the name under which an incremental stream finds it.
        """
        try:
            info = btrfsutil.subvolume_info(path)
        except btrfsutil.BtrfsUtilError as exc:
            raise self._fail('read subvolume info of', path, exc)
        return {key: (None if not any(value) else value.hex())
                for key, value in (('uuid', info.uuid), ('parent_uuid', info.parent_uuid),
                                   ('received_uuid', info.received_uuid))}

    @staticmethod
    def _popen(args, what, **kwargs):
        cmd = ['btrfs'] + list(args)
        try:
            return cmd, subprocess.Popen(cmd, stderr=subprocess.PIPE, env=dict(os.environ, LC_ALL='C'), **kwargs)
        except OSError as exc:
            raise CommandError('%s: cannot run btrfs: %s' % (what, exc), cmd, None, '', '')

    @staticmethod
    def _finish(proc, cmd, what, timeout):
        if proc.stdin is not None and proc.stdin.closed:
            proc.stdin = None  # fed and closed by the caller: communicate() must not flush it
        try:
            stderr = proc.communicate(timeout=timeout)[1].decode('utf-8', 'replace')
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise CommandError('%s did not finish within %s seconds' % (what, timeout), cmd, None, '', '')
        if proc.returncode != 0:
            raise CommandError('%s failed: %s' % (what, _last_line(stderr, proc.returncode)),
                               cmd, proc.returncode, '', stderr)

    def send_to(self, subvolume, write, parent=None, timeout=3600):
        """Pass the full ``btrfs send`` stream of read-only ``subvolume`` (incremental from read-only
        ``parent``) to ``write(chunk)`` as it is produced; CommandError if send fails."""
        args = ['-q', 'send'] + (['-p', parent] if parent is not None else []) + [subvolume]
        what = 'btrfs send of %s' % subvolume
        cmd, proc = self._popen(args, what, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        try:
            for chunk in iter(lambda: proc.stdout.read(STREAM_CHUNK), b''):
                write(chunk)
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
        self._finish(proc, cmd, what, timeout)

    def receive_from(self, directory, chunks, timeout=3600):
        """``btrfs receive`` the stream that the iterable ``chunks`` yields into ``directory``.

        The receiving process is confined to ``directory`` (``--chroot``): whatever paths or
        symbolic links a stream holds, it cannot write outside it. ``-e`` ends it at the
        stream's end marker; a stream without one is an error (truncated).
        """
        what = 'btrfs receive into %s' % directory
        cmd, proc = self._popen(['-q', 'receive', '-e', '--chroot', directory], what,
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        try:
            for chunk in chunks:
                proc.stdin.write(chunk)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # receive stopped early; its exit status and message say why
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
        self._finish(proc, cmd, what, timeout)

    def remove_tree(self, path):
        """Delete a directory tree that may hold subvolumes; refuse if anything is mounted in it.

        os.path.ismount cannot tell (a subvolume has its own st_dev), so mountinfo decides.
        """
        self.check_unmounted(path)
        self._remove_tree(path)

    def check_unmounted(self, path):
        """Refuse to go on if ``path`` or anything below it is a mount point."""
        real = os.path.realpath(path)
        mounts = self._mounts()
        busy = mounts_under(real, mounts) + [mount for mount, _fstype in mounts if mount == real]
        if busy:
            raise DockerliteError('refusing to delete %s: %s mounted there' % (path, ', '.join(busy)), mounts=busy)

    def _remove_tree(self, path):
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISDIR(mode):
            os.unlink(path)
            return
        if self.is_subvolume(path):
            self.delete_subvolume(path)
            return
        for entry in os.listdir(path):
            self._remove_tree(os.path.join(path, entry))
        os.rmdir(path)
