# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Apply one OCI or Docker image layer (a tar changeset, plain, gzip or zstd) onto a directory.

The directory is a writable snapshot of the parent layer. Entries are applied with the OCI
image-spec semantics (whiteouts, opaque directories, hard links, numeric ownership, modes,
xattrs, device nodes, timestamps), and every path is walked one component at a time with
directory file descriptors and O_NOFOLLOW: an entry that would leave the directory (``..``,
an absolute path, a symbolic link on its way, a hard link to such a path) is refused with
a LayerError naming the layer and the entry. The caller throws the snapshot away then.
"""

from __future__ import annotations

import decimal
import errno
import hashlib
import itertools
import os
import queue
import shutil
import stat
import subprocess
import tarfile
import tempfile
import threading
import zlib

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError

GZIP_MAGIC = b'\x1f\x8b'
ZSTD_MAGIC = b'\x28\xb5\x2f\xfd'
WHITEOUT_PREFIX = '.wh.'
OPAQUE_MARKER = '.wh..wh..opq'
# Other ``.wh..wh.`` names are aufs bookkeeping (hard-link directories) that Docker skips too.
WHITEOUT_META_PREFIX = '.wh..wh.'
CHUNK = 1024 * 1024
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


class LayerError(DockerliteError):
    """A layer that cannot be applied; names the layer digest and, when one is to blame, the entry."""

    def __init__(self, digest, entry, problem):
        if entry is None:
            msg = 'layer %s: %s' % (digest, problem)
        else:
            msg = 'layer %s: entry %r: %s' % (digest, entry, problem)
        super().__init__(msg, layer=digest, entry=entry)
        self.digest = digest
        self.entry = entry
        self.problem = problem


def sha256_digest(data):
    """The ``sha256:<hex>`` digest of bytes."""
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def chain_id(parent_chain_id, diff_id):
    """The chain id of a layer: its diff id at the bottom, else sha256 of ``<parent chain id> <diff id>``."""
    if parent_chain_id is None:
        return diff_id
    return sha256_digest(('%s %s' % (parent_chain_id, diff_id)).encode('ascii'))


def chain_ids(diff_ids):
    """The chain id of every layer of a stack of diff ids, bottom first."""
    result, parent = [], None
    for diff_id in diff_ids:
        parent = chain_id(parent, diff_id)
        result.append(parent)
    return result


def _blob_chunks(blob):
    """The bytes of the open blob file in CHUNK pieces."""
    while True:
        data = blob.read(CHUNK)
        if not data:
            return
        yield data


def _hashed(chunks, hasher):
    """``chunks`` passed on, each added to ``hasher``."""
    for data in chunks:
        hasher.update(data)
        yield data


def _inflate(decompressor, data):
    """The output of ``decompressor`` for ``data``, never more than CHUNK bytes at a time (a small blob
    may inflate to gigabytes)."""
    while True:
        out = decompressor.decompress(data, CHUNK)
        if out:
            yield out
        data = decompressor.unconsumed_tail
        if not data and (len(out) < CHUNK or decompressor.eof):
            return


def _gunzip(chunks, digest):
    """The uncompressed bytes of gzip ``chunks``: one or more members, then only zero bytes, as gzip reads them."""
    decompressor = None
    for data in chunks:
        while data:
            if decompressor is None:
                # Between and after members only zero padding (as gzip and Python's gzip accept).
                data = data.lstrip(b'\0')
                if not data:
                    break
                decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            yield from _inflate(decompressor, data)
            if decompressor.eof:
                data, decompressor = decompressor.unused_data, None
            else:
                data = b''
    if decompressor is not None:
        raise LayerError(digest, None, 'not a readable tar stream: the gzip stream ends before its end marker')


class _ZstdReader:
    """Decompress zstd through the ``zstd`` CLI (Python 3.11 has no zstd module); fed by a thread."""

    def __init__(self, chunks, what):
        self.what = what
        self.stderr = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(['zstd', '--decompress', '--stdout', '--quiet'], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=self.stderr,
                                         env=dict(os.environ, LC_ALL='C'))
        except OSError as exc:
            self.stderr.close()
            raise LayerError(what, None, 'zstd-compressed, and the zstd command cannot run: %s' % exc)
        self.feed_error = None
        self.thread = threading.Thread(target=self._feed, args=(chunks,), daemon=True)
        self.thread.start()

    def _feed(self, chunks):
        try:
            for data in chunks:
                self.proc.stdin.write(data)
        except (OSError, ValueError) as exc:  # zstd stopped reading: its exit status tells why
            self.feed_error = exc
        finally:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def chunks(self):
        while True:
            data = self.proc.stdout.read(CHUNK)
            if not data:
                return
            yield data

    def close(self, check):
        """Wait for zstd; with ``check``, a failed decompression is an error."""
        self.proc.stdout.close()
        self.thread.join()
        rc = self.proc.wait()
        self.stderr.seek(0)
        err = self.stderr.read().decode('utf-8', 'replace').strip()
        self.stderr.close()
        if check and rc != 0:
            raise LayerError(self.what, None, 'zstd decompression failed: %s' % (err or 'exit code %d' % rc))


class _Prefetched:
    """The chunks of a generator, produced in a thread ahead of the reader.

    Reading the blob, inflating it and hashing the result run in C with the GIL released, so
    on a second CPU they overlap with the tar parsing and the file writes of the reader. At
    most QUEUED chunks wait; an error of the producer is raised to the reader, and ``close``
    stops the producer when the reader gives up early.
    """

    QUEUED = 8
    _END = object()

    def __init__(self, chunks):
        self._queue = queue.Queue(self.QUEUED)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(chunks,), daemon=True)
        self._thread.start()

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self, chunks):
        try:
            for data in chunks:
                if not self._put(data):
                    return
        except BaseException as exc:  # pylint: disable=broad-except  # handed to the reader, which raises it
            self._put((self._END, exc))
            return
        self._put((self._END, None))

    def __iter__(self):
        while True:
            item = self._queue.get()
            if isinstance(item, tuple) and item and item[0] is self._END:
                self._thread.join()
                if item[1] is not None:
                    raise item[1]
                return
            yield item

    def close(self):
        """Stop the producer (it may be blocked on a full queue) and wait for it."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.1)
            except queue.Empty:
                pass
        self._thread.join()


class _ForwardReader:
    """The uncompressed layer as tarfile reads a file (``read``, ``seek``, ``tell``), read once, front to back.

    tarfile's stream mode (``r|``) copies everything through a 10 KiB buffer, which cost more
    than the decompression; its plain mode needs a file it can seek in, and only ever seeks
    forward when its members are read in order, which this reader allows (skipping what lies
    between). Regular files are copied out of the decompressed chunks as they are
    (``copy_to``), without tarfile's file objects.
    """

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._buf = b''
        self._off = 0
        self._pos = 0

    def _fill(self):
        """Make the buffer hold unread bytes; False at the end of the stream."""
        while self._off >= len(self._buf):
            data = next(self._chunks, None)
            if data is None:
                return False
            self._buf, self._off = data, 0
        return True

    def tell(self):
        return self._pos

    def seekable(self):
        return False

    def seek(self, offset, whence=0):
        if whence != 0 or offset < self._pos:
            raise OSError(errno.ESPIPE, 'the layer stream is read once, front to back (seek to %d at %d)'
                          % (offset, self._pos))
        while self._pos < offset and self._fill():
            step = min(offset - self._pos, len(self._buf) - self._off)
            self._off += step
            self._pos += step
        return self._pos

    def read(self, size=-1):
        parts = []
        while (size is None or size < 0 or size > 0) and self._fill():
            available = len(self._buf) - self._off
            step = available if size is None or size < 0 else min(size, available)
            parts.append(self._buf[self._off:self._off + step] if step < len(self._buf) else self._buf)
            self._off += step
            self._pos += step
            if size is not None and size >= 0:
                size -= step
        return parts[0] if len(parts) == 1 else b''.join(parts)

    def copy_to(self, fd, offset, size):
        """Write ``size`` bytes from ``offset`` of the stream to the file descriptor ``fd`` (a tarfile.ReadError,
        as tarfile's own, when the stream ends first)."""
        self.seek(offset)
        while size > 0:
            if not self._fill():
                raise tarfile.ReadError('unexpected end of data')
            step = min(size, len(self._buf) - self._off)
            view = memoryview(self._buf)[self._off:self._off + step]
            while view:
                view = view[os.write(fd, view):]
            self._off += step
            self._pos += step
            size -= step

    def drain(self):
        """Read the rest of the stream (the tar's end blocks and padding, which the diff id covers too)."""
        while self._fill():
            self._pos += len(self._buf) - self._off
            self._off = len(self._buf)


def _split(name, digest, entry):
    """The components of a path inside the layer; refuses absolute paths and ``..``."""
    if name.startswith('/'):
        raise LayerError(digest, entry, 'absolute path')
    parts = [part for part in name.split('/') if part not in ('', '.')]
    if '..' in parts:
        raise LayerError(digest, entry, 'path with a ".." component')
    return parts


def _pax_ns(member, key, fallback):
    """A time in nanoseconds, exact from a PAX record when there is one."""
    value = member.pax_headers.get(key)
    if value is not None:
        try:
            return int(decimal.Decimal(value) * 1000000000)
        except decimal.InvalidOperation:
            pass
    return int(fallback * 1000000000) if fallback is not None else None


def _xattrs(member):
    """The extended attributes of a member: ``SCHILY.xattr.`` (raw) and ``LIBARCHIVE.xattr.`` (base64) records."""
    import base64
    import urllib.parse
    result = {}
    for key, value in member.pax_headers.items():
        if key.startswith('SCHILY.xattr.'):
            # tarfile decodes record values as UTF-8 with surrogateescape: this gives back the bytes.
            result[key[len('SCHILY.xattr.'):]] = value.encode('utf-8', 'surrogateescape')
        elif key.startswith('LIBARCHIVE.xattr.'):
            name = urllib.parse.unquote(key[len('LIBARCHIVE.xattr.'):])
            result[name] = base64.b64decode(value.encode('ascii', 'surrogateescape') + b'==')
    return result


class LayerApplier:
    """Applies the entries of one layer tar onto ``rootfs``; use ``apply_layer``."""

    def __init__(self, rootfs_fd, digest):
        self.root_fd = rootfs_fd
        self.digest = digest
        # Paths (tuples of components) this layer wrote: a whiteout or an opaque marker only hides lower layers.
        self.written = set()
        self.dir_times = []
        self._parent_cache = (None, None)
        self.stream = None

    # --- walking -------------------------------------------------------------------------------

    def _forget_dirs(self):
        key, fd = self._parent_cache
        if fd is not None:
            os.close(fd)
        self._parent_cache = (None, None)

    def close(self):
        self._forget_dirs()

    def _open_dir(self, parts, entry, create):
        """A file descriptor of the directory ``parts`` below the root, never through a symbolic link.

        Missing directories are made (0755, root) when ``create``; the caller must not close the
        returned descriptor (it is cached; the root's is the caller's).
        """
        parts = tuple(parts)
        if not parts:
            return self.root_fd
        key, fd = self._parent_cache
        if key == parts:
            return fd
        current = self.root_fd
        try:
            for index, part in enumerate(parts):
                try:
                    nxt = os.open(part, DIR_FLAGS, dir_fd=current)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(part, 0o755, dir_fd=current)
                    self.written.add(parts[:index + 1])
                    nxt = os.open(part, DIR_FLAGS, dir_fd=current)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        what = os.stat(part, dir_fd=current, follow_symlinks=False)
                        where = '/'.join(parts[:index + 1])
                        if stat.S_ISLNK(what.st_mode):
                            raise LayerError(self.digest, entry, 'goes through the symbolic link %s' % where)
                        raise LayerError(self.digest, entry, '%s is not a directory' % where)
                    raise
                if current != self.root_fd:
                    os.close(current)
                current = nxt
        except BaseException:
            if current != self.root_fd:
                os.close(current)
            raise
        self._forget_dirs()
        self._parent_cache = (parts, current)
        return current

    def _lstat(self, dir_fd, name):
        try:
            return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def _remove(self, dir_fd, name, st, path):
        """Remove what is at ``name``, the path ``path`` (a whole tree for a directory, never following a link)."""
        if stat.S_ISDIR(st.st_mode):
            key = self._parent_cache[0]
            if key is not None and key[:len(path)] == path:
                self._forget_dirs()
            # rmtree with dir_fd walks by descriptors and does not follow symbolic links.
            shutil.rmtree(name, dir_fd=dir_fd)
        else:
            os.unlink(name, dir_fd=dir_fd)

    # --- entries --------------------------------------------------------------------------------

    def apply(self, tar, stream=None):
        """Apply every member of ``tar``; regular files are copied from ``stream`` (the _ForwardReader
        that ``tar`` reads) when given, else through tarfile."""
        self.stream = stream
        for member in tar:
            entry = member.name
            try:
                self._apply_member(tar, member)
            except LayerError:
                raise
            except OSError as exc:
                raise LayerError(self.digest, entry, '%s' % (exc.strerror or exc))
        self._set_dir_times()

    def _apply_member(self, tar, member):
        entry = member.name
        parts = _split(entry, self.digest, entry)
        if not parts:
            if not member.isdir():
                raise LayerError(self.digest, entry, 'the root of the layer can only be a directory')
            self._set_metadata_fd(self.root_fd, member)
            self.dir_times.append((self.root_fd, None, member))
            return
        *dirs, base = parts
        if any(part.startswith(WHITEOUT_META_PREFIX) for part in dirs):
            return  # inside an aufs bookkeeping directory
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(dirs, base, entry)
            return
        parent = self._open_dir(dirs, entry, create=True)
        path = tuple(parts)
        existing = self._lstat(parent, base)
        if member.isdir():
            if existing is not None and not stat.S_ISDIR(existing.st_mode):
                self._remove(parent, base, existing, path)
                existing = None
            if existing is None:
                os.mkdir(base, 0o700, dir_fd=parent)
            self.written.add(path)
            fd = os.open(base, DIR_FLAGS, dir_fd=parent)
            try:
                self._set_metadata_fd(fd, member)
            finally:
                os.close(fd)
            self.dir_times.append((None, path, member))
            return
        if member.islnk():
            # Resolve the target before removing anything: a link to itself must not delete it.
            target_parts = _split(member.linkname, self.digest, entry)
            if not target_parts:
                raise LayerError(self.digest, entry, 'hard link to the root directory')
            *target_dirs, target_base = target_parts
            target_dir = os.open('.', DIR_FLAGS, dir_fd=self._open_dir(target_dirs, entry, create=False)) \
                if target_dirs else os.dup(self.root_fd)
            try:
                target = self._lstat(target_dir, target_base)
                if target is None:
                    raise LayerError(self.digest, entry, 'hard link to %s, which does not exist' % member.linkname)
                if stat.S_ISDIR(target.st_mode):
                    raise LayerError(self.digest, entry, 'hard link to the directory %s' % member.linkname)
                parent = self._open_dir(dirs, entry, create=True)
                if tuple(target_parts) == path:
                    self.written.add(path)
                    return
                existing = self._lstat(parent, base)
                if existing is not None:
                    self._remove(parent, base, existing, path)
                os.link(target_base, base, src_dir_fd=target_dir, dst_dir_fd=parent, follow_symlinks=False)
            finally:
                os.close(target_dir)
            self.written.add(path)
            return
        if existing is not None:
            self._remove(parent, base, existing, path)
        self.written.add(path)
        if member.isreg():
            self._write_file(tar, member, parent, base)
        elif member.issym():
            os.symlink(member.linkname, base, dir_fd=parent)
            self._set_metadata_path(parent, base, member, symlink=True)
        elif member.ischr() or member.isblk() or member.isfifo():
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK if member.isblk() else stat.S_IFIFO
            device = os.makedev(member.devmajor, member.devminor) if kind != stat.S_IFIFO else 0
            os.mknod(base, kind | 0o600, device, dir_fd=parent)
            self._set_metadata_path(parent, base, member, symlink=False)
        else:
            raise LayerError(self.digest, entry, 'unsupported tar entry type %r' % member.type)

    def _whiteout(self, dirs, base, entry):
        if base == OPAQUE_MARKER:
            try:
                parent = self._open_dir(dirs, entry, create=False)
            except FileNotFoundError:
                return
            self._make_opaque(parent, tuple(dirs))
            return
        if base.startswith(WHITEOUT_META_PREFIX):
            return
        name = base[len(WHITEOUT_PREFIX):]
        if name in ('', '.', '..'):
            raise LayerError(self.digest, entry, 'whiteout of %r' % name)
        path = tuple(dirs) + (name,)
        if path in self.written:
            return  # a whiteout hides only what lower layers hold
        try:
            parent = self._open_dir(dirs, entry, create=False)
        except FileNotFoundError:
            return
        existing = self._lstat(parent, name)
        if existing is not None:
            self._remove(parent, name, existing, path)

    def _make_opaque(self, dir_fd, path):
        """Remove what lower layers hold below the directory ``path``, keeping what this layer wrote."""
        for name in os.listdir(dir_fd):
            child = path + (name,)
            st = self._lstat(dir_fd, name)
            if st is None:
                continue
            if child not in self.written:
                self._remove(dir_fd, name, st, child)
            elif stat.S_ISDIR(st.st_mode):
                fd = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
                try:
                    self._make_opaque(fd, child)
                finally:
                    os.close(fd)

    # --- content and metadata ------------------------------------------------------------------

    def _write_file(self, tar, member, parent, base):
        fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=parent)
        try:
            if self.stream is not None and member.sparse is None:
                self.stream.copy_to(fd, member.offset_data, member.size)
            else:
                source = tar.extractfile(member)
                while True:
                    data = source.read(CHUNK)
                    if not data:
                        break
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
            self._set_metadata_fd(fd, member)
            self._set_times_fd(fd, member)
        finally:
            os.close(fd)

    def _set_metadata_fd(self, fd, member):
        # Order matters: chown clears setuid/setgid bits and file capabilities, so mode and xattrs come after.
        os.fchown(fd, member.uid, member.gid)
        os.fchmod(fd, stat.S_IMODE(member.mode))
        for name, value in _xattrs(member).items():
            self._setxattr(fd, name, value, member)

    def _set_metadata_path(self, parent, base, member, symlink):
        os.chown(base, member.uid, member.gid, dir_fd=parent, follow_symlinks=False)
        if not symlink:
            os.chmod(base, stat.S_IMODE(member.mode), dir_fd=parent, follow_symlinks=False)
        xattrs = _xattrs(member)
        if xattrs:
            # A fifo or device must not be opened: set xattrs through an O_PATH descriptor's /proc link.
            fd = os.open(base, PATH_FLAGS, dir_fd=parent)
            try:
                for name, value in xattrs.items():
                    self._setxattr('/proc/self/fd/%d' % fd, name, value, member)
            finally:
                os.close(fd)
        atime = _pax_ns(member, 'atime', None)
        mtime = _pax_ns(member, 'mtime', member.mtime)
        os.utime(base, ns=(mtime if atime is None else atime, mtime), dir_fd=parent, follow_symlinks=False)

    def _setxattr(self, target, name, value, member):
        try:
            os.setxattr(target, name, value)
        except OSError as exc:
            raise LayerError(self.digest, member.name, 'cannot set the extended attribute %s: %s'
                             % (name, exc.strerror or exc))

    def _set_times_fd(self, fd, member):
        atime = _pax_ns(member, 'atime', None)
        mtime = _pax_ns(member, 'mtime', member.mtime)
        os.utime(fd, ns=(mtime if atime is None else atime, mtime))

    def _set_dir_times(self):
        # Last, deepest first: making a directory's children changes its mtime.
        for root_fd, path, member in reversed(self.dir_times):
            if path is None:
                self._set_times_fd(root_fd, member)
                continue
            try:
                fd = self._open_dir(path, member.name, create=False)
            except (FileNotFoundError, LayerError):
                continue  # removed or replaced later in the layer
            self._set_times_fd(fd, member)


def _uncompressed_chunks(chunks, media_type, digest):
    """(the uncompressed chunks of a layer blob, the _ZstdReader to close or None); the compression comes
    from the blob's first bytes."""
    chunks = iter(chunks)
    head = b''
    for data in chunks:
        head += data
        if len(head) >= len(ZSTD_MAGIC):
            break
    chunks = itertools.chain((head,) if head else (), chunks)
    if head.startswith(GZIP_MAGIC):
        return _gunzip(chunks, digest), None
    if head.startswith(ZSTD_MAGIC):
        reader = _ZstdReader(chunks, digest)
        return reader.chunks(), reader
    if media_type and (media_type.endswith('+gzip') or media_type.endswith('+zstd')):
        raise LayerError(digest, None, 'the media type %s says compressed, but the blob is not' % media_type)
    return chunks, None


def apply_layer(blob_path, rootfs, digest, diff_id=None, media_type=None):
    """Apply the layer blob at ``blob_path`` onto the directory ``rootfs``; return its diff id.

    The blob is read once, as a stream: decompressed, hashed and applied. With ``diff_id``, the
    uncompressed tar must hash to it; that checks every byte the layer is made of, so the
    compressed bytes are not hashed again (skopeo checked them against ``digest`` when it
    copied the blob into the store, and a blob damaged since cannot inflate to the same tar).
    Without ``diff_id``, the compressed bytes must hash to ``digest``. Both are checked after
    the whole blob was read. On any LayerError, a digest that does not match included, the
    caller must throw ``rootfs`` away: it holds part of the layer.
    """
    try:
        blob = open(blob_path, 'rb', buffering=0)  # pylint: disable=consider-using-with
    except OSError as exc:
        raise LayerError(digest, None, 'cannot open the blob %s: %s' % (blob_path, exc.strerror or exc))
    root_fd = None
    zstd = None
    prefetched = None
    applier = None
    compressed = hashlib.sha256() if diff_id is None else None
    uncompressed = hashlib.sha256()
    try:
        root_fd = os.open(rootfs, DIR_FLAGS)
        blob_chunks = _blob_chunks(blob) if compressed is None else _hashed(_blob_chunks(blob), compressed)
        chunks, zstd = _uncompressed_chunks(blob_chunks, media_type, digest)
        prefetched = _Prefetched(_hashed(chunks, uncompressed))
        stream = _ForwardReader(prefetched)
        applier = LayerApplier(root_fd, digest)
        try:
            with tarfile.open(fileobj=stream, mode='r:') as tar:
                applier.apply(tar, stream)
            stream.drain()
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            prefetched.close()
            if zstd is not None:  # a truncated tar stream from a failed zstd: its own message says more
                pending, zstd = zstd, None
                pending.close(check=True)
            raise LayerError(digest, None, 'not a readable tar stream: %s' % exc)
        if zstd is not None:
            zstd.close(check=True)
            zstd = None
        if compressed is not None:
            for _data in blob_chunks:  # what follows the compressed stream is part of the blob's digest too
                pass
    except OSError as exc:
        raise LayerError(digest, None, 'reading the blob failed: %s' % (exc.strerror or exc))
    finally:
        if prefetched is not None:
            prefetched.close()
        if zstd is not None:
            zstd.close(check=False)
        if applier is not None:
            applier.close()
        if root_fd is not None:
            os.close(root_fd)
        blob.close()
    if compressed is not None and digest and digest.startswith('sha256:'):
        got_digest = 'sha256:' + compressed.hexdigest()
        if got_digest != digest:
            raise LayerError(digest, None, 'the blob does not match its digest (it hashes to %s)' % got_digest)
    got_diff_id = 'sha256:' + uncompressed.hexdigest()
    if diff_id is not None and got_diff_id != diff_id:
        raise LayerError(digest, None, 'the uncompressed layer hashes to %s, not to its diff id %s'
                         % (got_diff_id, diff_id))
    return got_diff_id
