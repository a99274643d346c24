# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""What changed in a container relative to its image, from a btrfs send stream.

``btrfs send --no-data -p <image> <snapshot of the container>`` describes, as a list of
commands, how to turn the image into the container. The receiver works on paths that
are valid at each step: new inodes are made under temporary names (``o<ino>-<gen>-<n>``)
and renamed into place, directories may be parked under such names and moved back,
a file rename is often a ``link`` then an ``unlink``. Replaying the commands on a model
of the tree that knows where each entry came from gives the exact answer:

* added: a path the image does not have;
* deleted: a path of the image that the container no longer has;
* modified: a path both have whose inode changed in any way (data, size, mode, owner,
  times, extended attributes, link count), or that now holds a different inode (a file
  replaced by a new one). A directory whose entries changed is modified, as its
  modification time and size changed (Docker's diff lists it as changed too).

The root directory itself is never listed: LXC changes its times on every start.

The model only holds the paths the stream mentions. Entries the stream never names
are unchanged, except below a directory that moved; those are listed from the two
trees on disk (the read-only image and snapshot), with every path component opened
without following symbolic links.
"""

from __future__ import annotations

import errno
import os
import stat
import struct

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError

MAGIC = b'btrfs-stream\x00'
HEADER = struct.Struct('<IHI')  # payload length, command, crc32c
TLV = struct.Struct('<HH')  # attribute type, length

# Commands of send stream versions 1 to 3 (btrfs-progs common/send-stream.h).
COMMANDS = {
    1: 'subvol', 2: 'snapshot', 3: 'mkfile', 4: 'mkdir', 5: 'mknod', 6: 'mkfifo', 7: 'mksock', 8: 'symlink',
    9: 'rename', 10: 'link', 11: 'unlink', 12: 'rmdir', 13: 'set_xattr', 14: 'remove_xattr', 15: 'write',
    16: 'clone', 17: 'truncate', 18: 'chmod', 19: 'chown', 20: 'utimes', 21: 'end', 22: 'update_extent',
    23: 'fallocate', 24: 'fileattr', 25: 'encoded_write', 26: 'enable_verity',
}
ATTRIBUTES = {
    1: 'uuid', 2: 'ctransid', 3: 'ino', 4: 'size', 5: 'mode', 6: 'uid', 7: 'gid', 8: 'rdev', 9: 'ctime',
    10: 'mtime', 11: 'atime', 12: 'otime', 13: 'xattr_name', 14: 'xattr_data', 15: 'path', 16: 'path_to',
    17: 'path_link', 18: 'file_offset', 19: 'data', 20: 'clone_uuid', 21: 'clone_ctransid', 22: 'clone_path',
    23: 'clone_offset', 24: 'clone_len', 25: 'fallocate_mode', 26: 'fileattr', 27: 'unencoded_file_len',
    28: 'unencoded_len', 29: 'unencoded_offset', 30: 'compression', 31: 'encryption', 32: 'verity_algorithm',
    33: 'verity_block_size', 34: 'verity_salt_data', 35: 'verity_sig_data',
}
DATA_ATTRIBUTE = 19
PATH_ATTRIBUTES = ('path', 'path_to', 'path_link', 'clone_path')
U64_ATTRIBUTES = ('ctransid', 'ino', 'size', 'mode', 'uid', 'gid', 'rdev', 'file_offset', 'clone_ctransid',
                  'clone_offset', 'clone_len', 'fileattr', 'unencoded_file_len', 'unencoded_len',
                  'unencoded_offset')
TIME_ATTRIBUTES = ('ctime', 'mtime', 'atime', 'otime')

CREATE_COMMANDS = ('mkfile', 'mkdir', 'mknod', 'mkfifo', 'mksock', 'symlink')
# Commands that change the inode at ``path`` in place.
MODIFY_COMMANDS = ('set_xattr', 'remove_xattr', 'write', 'clone', 'truncate', 'chmod', 'chown', 'utimes',
                   'update_extent', 'fallocate', 'fileattr', 'encoded_write', 'enable_verity')


class SendStreamError(DockerliteError):
    """A send stream that is malformed, or says something the model cannot follow."""


def _decode_attribute(name, value):
    value = bytes(value)
    if name in PATH_ATTRIBUTES:
        return os.fsdecode(value)
    if name in U64_ATTRIBUTES and len(value) == 8:
        return struct.unpack('<Q', value)[0]
    if name in TIME_ATTRIBUTES and len(value) == 12:
        seconds, nanoseconds = struct.unpack('<QI', value)
        return seconds, nanoseconds
    return value


def parse_stream(data):
    """Yield ``(command, attributes)`` from the bytes of a send stream; raises SendStreamError.

    ``command`` is a name from COMMANDS; ``attributes`` maps attribute names to values:
    paths as str (file system encoding), numbers as int, times as (seconds, nanoseconds),
    anything else as bytes. The CRC is not checked: the stream comes straight from the
    local kernel through a pipe.
    """
    data = memoryview(data)
    if bytes(data[:len(MAGIC)]) != MAGIC or len(data) < len(MAGIC) + 4:
        raise SendStreamError('not a btrfs send stream (bad magic)')
    version, = struct.unpack_from('<I', data, len(MAGIC))
    if not 1 <= version <= 3:
        raise SendStreamError('btrfs send stream version %d is not supported' % version)
    offset = len(MAGIC) + 4
    while offset < len(data):
        if offset + HEADER.size > len(data):
            raise SendStreamError('truncated btrfs send stream: command header at byte %d' % offset)
        length, number, _crc = HEADER.unpack_from(data, offset)
        start = offset + HEADER.size
        end = start + length
        if end > len(data):
            raise SendStreamError('truncated btrfs send stream: command at byte %d needs %d bytes' % (offset, length))
        command = COMMANDS.get(number)
        if command is None:
            raise SendStreamError('unknown btrfs send stream command %d at byte %d' % (number, offset))
        yield command, _parse_attributes(data, start, end, version)
        offset = end


def _parse_attributes(data, offset, end, version):
    attributes = {}
    while offset < end:
        number, = struct.unpack_from('<H', data, offset) if offset + 2 <= end else (None,)
        if number == DATA_ATTRIBUTE and version >= 2:
            # From version 2 on, data has no length and runs to the end of the command.
            offset += 2
            length = end - offset
        else:
            if offset + TLV.size > end:
                raise SendStreamError('truncated attribute header at byte %d of the send stream' % offset)
            number, length = TLV.unpack_from(data, offset)
            offset += TLV.size
        if offset + length > end:
            raise SendStreamError('truncated attribute %d at byte %d of the send stream' % (number, offset))
        name = ATTRIBUTES.get(number, number)
        attributes[name] = _decode_attribute(name, data[offset:offset + length])
        offset += length
    return attributes


class Tree:
    """Read-only lookups in a directory tree that never follow a symbolic link.

    Every path component is opened with O_NOFOLLOW relative to its parent, so a link in
    a container's tree cannot lead to the host's files. Paths are relative, '/'-separated.
    """

    DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0)

    def __init__(self, root):
        self.root = root

    def _open_dir(self, path):
        """A file descriptor of directory ``path``, or None when it is not a directory there."""
        fd = os.open(self.root, self.DIR_FLAGS)
        for name in split_path(path):
            try:
                child = os.open(name, self.DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                    child = None
                else:
                    raise
            finally:
                os.close(fd)
            if child is None:
                return None
            fd = child
        return fd

    def lstat(self, path):
        """os.lstat of ``path`` in the tree, or None when there is nothing there."""
        parent, name = parent_and_name(path)
        if not name:
            return os.lstat(self.root)
        fd = self._open_dir(parent)
        if fd is None:
            return None
        try:
            return os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise
        finally:
            os.close(fd)

    def exists(self, path):
        return self.lstat(path) is not None

    def is_dir(self, path):
        st = self.lstat(path)
        return st is not None and stat.S_ISDIR(st.st_mode)

    def listdir(self, path):
        """Names in directory ``path``; empty when it is not a directory."""
        fd = self._open_dir(path)
        if fd is None:
            return []
        try:
            return sorted(os.listdir(fd))
        finally:
            os.close(fd)

    def walk(self, path=''):
        """Yield (relative path, lstat) of everything below directory ``path``."""
        pending = [path]
        while pending:
            directory = pending.pop()
            for name in self.listdir(directory):
                child = join_path(directory, name)
                st = self.lstat(child)
                if st is None:
                    continue
                yield child, st
                if stat.S_ISDIR(st.st_mode):
                    pending.append(child)


def split_path(path):
    return [name for name in path.split('/') if name]


def join_path(parent, name):
    return '%s/%s' % (parent, name) if parent else name


def parent_and_name(path):
    names = split_path(path)
    if not names:
        return '', ''
    return '/'.join(names[:-1]), names[-1]


class _Inode:
    """``modified``: a command changed the inode. ``ctime``: the change time a utimes command
    set; when it equals the image's, only the access time moved (a read through a mount
    without noatime), which does not count."""

    __slots__ = ('modified', 'ctime')

    def __init__(self):
        self.modified = False
        self.ctime = None


class _Node:
    """One directory entry of the model.

    ``origin`` is the path the entry had in the image (None for an entry the stream
    created); entries of an image directory that the stream never names are implicit:
    they are looked up as ``origin/name`` unless ``removed`` holds the name.
    """

    __slots__ = ('origin', 'inode', 'children', 'removed')

    def __init__(self, origin, inode=None):
        self.origin = origin
        self.inode = inode or _Inode()
        self.children = {}
        self.removed = set()


class ChangeModel:
    """Replays send stream commands on a model of the container's tree.

    ``image`` (a Tree) is asked only whether a rename replaces an entry the stream has
    not named before; the kernel does not send such renames, but receivers allow them.
    """

    def __init__(self, image):
        self.image = image
        self.root = _Node('')
        self.dropped = []

    def _lookup(self, path):
        node = self.root
        for name in split_path(path):
            child = node.children.get(name)
            if child is None:
                if node.origin is None or name in node.removed:
                    raise SendStreamError('send stream names %s, which does not exist at that point' % path)
                child = node.children[name] = _Node(join_path(node.origin, name))
            node = child
        return node

    def _parent(self, path):
        parent, name = parent_and_name(path)
        if not name:
            raise SendStreamError('send stream command on the subvolume root where an entry is expected')
        return self._lookup(parent), name

    def _detach(self, path):
        parent, name = self._parent(path)
        node = self._lookup(path)
        del parent.children[name]
        parent.removed.add(name)
        return node

    def _attach(self, path, node, replace=False):
        """Put ``node`` at ``path``. Creating commands fail on an existing entry (O_EXCL);
        ``replace`` (a rename) replaces one, like rename(2)."""
        parent, name = self._parent(path)
        existing = parent.children.get(name)
        if existing is None and replace and parent.origin is not None and name not in parent.removed \
                and self.image.exists(join_path(parent.origin, name)):
            existing = self._lookup(path)
        if existing is not None:
            if not replace:
                raise SendStreamError('send stream creates %s, which already exists at that point' % path)
            self.dropped.append(existing)
            parent.removed.add(name)
        parent.children[name] = node

    def apply(self, command, attributes):
        """Apply one command; return False at the end of the stream."""
        path = attributes.get('path')
        if command in ('subvol', 'snapshot'):
            return True
        if command == 'end':
            return False
        if path is None:
            raise SendStreamError('send stream command %s has no path' % command)
        if command in CREATE_COMMANDS:
            self._attach(path, _Node(None))
        elif command == 'rename':
            node = self._detach(path)
            self._attach(self._required(attributes, 'path_to', command), node, replace=True)
        elif command == 'link':
            target = self._lookup(self._required(attributes, 'path_link', command))
            self._attach(path, _Node(None, target.inode))
            target.inode.modified = True
        elif command in ('unlink', 'rmdir'):
            self.dropped.append(self._detach(path))
        elif command == 'utimes':
            self._lookup(path).inode.ctime = attributes.get('ctime')
        elif command in MODIFY_COMMANDS:
            self._lookup(path).inode.modified = True
        else:
            raise SendStreamError('send stream command %s is not supported' % command)
        return True

    @staticmethod
    def _required(attributes, name, command):
        if attributes.get(name) is None:
            raise SendStreamError('send stream command %s has no %s' % (command, name))
        return attributes[name]

    def changes(self, container):
        """The three sorted lists, given the container's tree (a Tree)."""
        return _Comparison(self.image, container).run(self)


class _Comparison:
    """Turns the replayed model into the three lists.

    It works through a stack rather than by recursion, so that a deep tree cannot exhaust
    Python's recursion limit.
    """

    def __init__(self, image, container):
        self.image = image
        self.container = container
        self.added = set()
        self.modified = set()
        self.vacated = set()
        self.changed_inodes = []
        self.stack = []

    def run(self, model):
        self.stack.append((self._visit, model.root, ''))
        self.stack.extend((self._drop, node, None) for node in model.dropped)
        while self.stack:
            step, node, path = self.stack.pop()
            step(node, path)
        deleted = {path for path in self.vacated if not self.container.exists(path)}
        self._hard_links()
        return {key: sorted('/' + path for path in paths)
                for key, paths in (('added', self.added), ('modified', self.modified), ('deleted', deleted))}

    def _visit(self, node, path):
        """Children of ``node`` (at ``path`` in the container)."""
        for name, child in node.children.items():
            child_path = join_path(path, name)
            changed = self._inode_changed(child)
            if changed:
                self.changed_inodes.append(child_path)
            if child.origin == child_path:
                if changed:
                    self.modified.add(child_path)
                self.stack.append((self._visit, child, child_path))
            else:
                self.stack.append((self._place, child, child_path))

    def _inode_changed(self, node):
        inode = node.inode
        if inode.modified or node.origin is None:
            return inode.modified
        if inode.ctime is None:
            return False
        st = self.image.lstat(node.origin)
        return st is None or (st.st_ctime_ns // 10**9, st.st_ctime_ns % 10**9) != tuple(inode.ctime)

    def _implicit_children(self, node):
        """Names of the image directory ``node`` came from that the stream never named."""
        if node.origin is None:
            return []
        return [name for name in self.image.listdir(node.origin)
                if name not in node.children and name not in node.removed]

    def _place(self, node, path):
        """An entry that is new at ``path``, or came there from elsewhere, with all below it."""
        self._mark_placed(path)
        if node.origin is not None:
            self.vacated.add(node.origin)
            for name in self._implicit_children(node):
                self.stack.append((self._place, _Node(join_path(node.origin, name)), join_path(path, name)))
        self.stack.append((self._visit, node, path))

    def _mark_placed(self, path):
        (self.modified if self.image.exists(path) else self.added).add(path)

    def _drop(self, node, _path):
        """An entry that is gone, with all below it: its image paths are vacated."""
        if node.origin is not None:
            self.vacated.add(node.origin)
            for name in self._implicit_children(node):
                self.stack.append((self._drop, _Node(join_path(node.origin, name)), None))
        for child in node.children.values():
            self.stack.append((self._drop, child, None))

    def _hard_links(self):
        """A changed inode with more names changed at all of them; the stream names only one,
        so look for the others on disk (only when there are such inodes)."""
        inodes = set()
        for path in self.changed_inodes:
            st = self.container.lstat(path)
            if st is not None and not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
                inodes.add(st.st_ino)
        if not inodes:
            return
        for path, st in self.container.walk():
            if st.st_ino in inodes and path not in self.added:
                self.modified.add(path)


def stream_changes(stream, image_root, container_root):
    """Added, modified and deleted paths (absolute, as seen in the container, sorted).

    ``stream`` is ``btrfs send --no-data -p image_root container_root``; both trees
    must be the read-only subvolumes the stream was made from.
    """
    model = ChangeModel(Tree(image_root))
    for command, attributes in parse_stream(stream):
        if not model.apply(command, attributes):
            break
    return model.changes(Tree(container_root))


def display_path(path):
    """A path for JSON output: bytes that are not UTF-8 are shown as \\xNN escapes."""
    return path.encode('utf-8', 'surrogateescape').decode('utf-8', 'backslashreplace')
