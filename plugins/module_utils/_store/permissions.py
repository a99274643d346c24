# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The store's file modes, and the POSIX ACL that lets a container's mapped root reach its rootfs.

No host user but root may read, traverse into or execute anything in the store: images
and containers hold setuid files and device nodes, metadata holds secrets (env). The
store root and ``containers/`` are 0711 because an unprivileged container's mapped root
(a host uid from /etc/subuid) must traverse them to reach its rootfs; each container
directory is 0700 plus an ACL entry giving that one uid search (x) permission, so nobody
else gets further than ``containers/``. Everything else is 0700 (directories) or 0600
(files); the files a container bind-mounts (hosts, hostname) are 0644, which is safe
because only root and the container's mapped root can traverse to them.

``wanted`` classifies a path of the store's own top levels (the permission plan, pure);
``apply_wanted`` brings one path to that state; ``tighten_store`` walks the top levels of
an existing store made with looser modes (when ``is_tight`` says so) and never descends
into a rootfs.
"""

from __future__ import annotations

import errno
import os
import stat
import struct

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError

# Where a container's mapped root must traverse: the store root and containers/.
TRAVERSE_DIR_MODE = 0o711
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# Files in a container's directory that the container bind-mounts and reads as its
# (possibly unprivileged) root: readable by all, reachable only by root and that root.
CONTAINER_READABLE_FILES = ('hosts', 'hostname')
CONTAINER_READABLE_FILE_MODE = 0o644

# The layout of the system.posix_acl_access extended attribute (include/uapi/linux/posix_acl_xattr.h
# and acl(5)): a little-endian u32 version, then one (u16 tag, u16 perm, u32 id) per entry,
# sorted by tag, then by id.
ACL_XATTR_ACCESS = 'system.posix_acl_access'
ACL_XATTR_DEFAULT = 'system.posix_acl_default'
ACL_XATTR_VERSION = 2
ACL_USER_OBJ = 0x01
ACL_USER = 0x02
ACL_GROUP_OBJ = 0x04
ACL_GROUP = 0x08
ACL_MASK = 0x10
ACL_OTHER = 0x20
ACL_UNDEFINED_ID = 0xFFFFFFFF
ACL_EXECUTE = 0o1
_HEADER = struct.Struct('<I')
_ENTRY = struct.Struct('<HHI')
_QUALIFIED = (ACL_USER, ACL_GROUP)
_TAGS = (ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER)
MAX_ID = 0xFFFFFFFE  # (uid_t)-1 means "no id"


def encode_acl(entries):
    """The system.posix_acl_access value for ``entries``, a list of (tag, perm, id).

    ``id`` is ignored (written as ACL_UNDEFINED_ID) for entries other than ACL_USER and
    ACL_GROUP. Entries are sorted the way the kernel requires.
    """
    packed = []
    for tag, perm, ident in entries:
        if tag not in _TAGS:
            raise ValueError('unknown ACL tag %r' % (tag,))
        if not 0 <= perm <= 7:
            raise ValueError('ACL permission %r is not in 0..7' % (perm,))
        if tag in _QUALIFIED:
            if not isinstance(ident, int) or not 0 <= ident <= MAX_ID:
                raise ValueError('ACL id %r is not a uid/gid' % (ident,))
        else:
            ident = ACL_UNDEFINED_ID
        packed.append((tag, ident, perm))
    packed.sort()
    return _HEADER.pack(ACL_XATTR_VERSION) + b''.join(_ENTRY.pack(tag, perm, ident) for tag, ident, perm in packed)


def decode_acl(data):
    """The (tag, perm, id) entries of a system.posix_acl_access value, in stored order."""
    if len(data) < _HEADER.size or (len(data) - _HEADER.size) % _ENTRY.size:
        raise ValueError('ACL value of %d bytes is not a version header plus 8-byte entries' % len(data))
    version, = _HEADER.unpack_from(data, 0)
    if version != ACL_XATTR_VERSION:
        raise ValueError('ACL version %d is not %d' % (version, ACL_XATTR_VERSION))
    return [_ENTRY.unpack_from(data, offset) for offset in range(_HEADER.size, len(data), _ENTRY.size)]


def traverse_acl(mode, uid):
    """The ACL entries of a directory of ``mode`` (e.g. 0o700) plus search permission for ``uid``.

    The mask (the group bits that ``stat`` shows) is the group's bits plus x, so that the
    named entry takes effect; nothing is granted to the group or to others.
    """
    group = (mode >> 3) & 7
    return [(ACL_USER_OBJ, (mode >> 6) & 7, None), (ACL_USER, ACL_EXECUTE, uid),
            (ACL_GROUP_OBJ, group, None), (ACL_MASK, group | ACL_EXECUTE, None), (ACL_OTHER, mode & 7, None)]


def acl_mode(mode, acl_uid):
    """The permission bits ``stat`` shows for ``mode`` once the traverse ACL for ``acl_uid`` is set."""
    if acl_uid is None:
        return mode
    return mode | (ACL_EXECUTE << 3)


def idmap_uid(idmap):
    """The host uid of a container's root from its ``idmap`` (None for a privileged container).

    Raises ValueError naming the value when it is not a mapping with an ``uid`` in 1..2**32-2.
    """
    if idmap is None:
        return None
    uid = idmap.get('uid') if isinstance(idmap, dict) else None
    if isinstance(uid, bool) or not isinstance(uid, int) or not 0 < uid <= MAX_ID:
        raise ValueError('idmap %r has no valid host uid (an integer in 1..%d)' % (idmap, MAX_ID))
    return uid


def wanted(parts, kind, acl_uid=None):
    """The permission plan: (mode, ACL uid or None) for a path of the store, or None to leave it alone.

    ``parts`` is the path relative to the store root as a tuple of names (``()`` is the root),
    ``kind`` is 'dir', 'file' or anything else (symlinks, sockets: left alone, never followed),
    ``acl_uid`` the mapped root of the container whose directory ``parts`` is.
    Rootfs subvolumes are the images' and containers' own content and are never touched;
    neither is tmp/'s content (staging: tmp/ is private, and emptied at every session).
    """
    if kind not in ('dir', 'file'):
        return None
    private = PRIVATE_DIR_MODE if kind == 'dir' else PRIVATE_FILE_MODE
    depth = len(parts)
    if depth == 0 or (parts == ('containers',) and kind == 'dir'):
        return (TRAVERSE_DIR_MODE, None) if kind == 'dir' else None
    top = parts[0]
    if depth == 1:
        return private, None
    if top == 'tmp' or depth > 3 or (depth == 3 and top not in ('images', 'containers')):
        return None
    if depth == 3 and parts[2] == 'rootfs' and kind == 'dir':
        return None
    if top == 'containers' and depth == 2 and kind == 'dir':
        return PRIVATE_DIR_MODE, acl_uid
    if top == 'containers' and depth == 3 and kind == 'file' and parts[2] in CONTAINER_READABLE_FILES:
        return CONTAINER_READABLE_FILE_MODE, None
    return private, None


def _kind(st):
    if stat.S_ISDIR(st.st_mode):
        return 'dir'
    if stat.S_ISREG(st.st_mode):
        return 'file'
    return 'other'


def _get_acl(path, name):
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.EOPNOTSUPP):
            return None
        raise


def apply_wanted(path, st, mode, acl_uid):
    """Bring ``path`` (``st`` is its lstat) to ``mode`` plus the traverse ACL for ``acl_uid``.

    Returns True when something changed. A directory loses any default ACL, any path any
    other access ACL, so that nothing inherited or left over grants more than the mode.
    """
    changed = False
    want_acl = encode_acl(traverse_acl(mode, acl_uid)) if acl_uid is not None else None
    have_acl = _get_acl(path, ACL_XATTR_ACCESS)
    if stat.S_IMODE(st.st_mode) != acl_mode(mode, acl_uid) or have_acl != want_acl:
        # chmod first: it rewrites the mask of an existing ACL; the ACL then sets the mode bits itself.
        os.chmod(path, mode)
        if want_acl is not None:
            os.setxattr(path, ACL_XATTR_ACCESS, want_acl, follow_symlinks=False)
        elif have_acl is not None:
            os.removexattr(path, ACL_XATTR_ACCESS, follow_symlinks=False)
        changed = True
    if stat.S_ISDIR(st.st_mode) and _get_acl(path, ACL_XATTR_DEFAULT) is not None:
        os.removexattr(path, ACL_XATTR_DEFAULT, follow_symlinks=False)
        changed = True
    return changed


def _secure(path, parts, acl_uid=None):
    """Apply the plan for ``parts`` to ``path``; True when it changed."""
    try:
        st = os.lstat(path)
        plan = wanted(tuple(parts), _kind(st), acl_uid)
        return plan is not None and apply_wanted(path, st, *plan)
    except OSError as exc:
        raise DockerliteError('cannot set the permissions of %s in the store: %s' % (path, exc.strerror or exc),
                              path=path) from exc


def secure_container_dir(directory, acl_uid):
    """Apply the plan to a container's directory ``directory`` (staged or in place) and its own files.

    A staged ``directory`` in tmp/ gets the modes of ``containers/<name>``, so that the
    rename into place publishes nothing. The rootfs is not touched. True when something changed.
    """
    changed = False
    for entry in sorted(os.listdir(directory)):
        changed = _secure(os.path.join(directory, entry), ('containers', 'staged', entry)) or changed
    return _secure(directory, ('containers', 'staged'), acl_uid) or changed


def is_tight(root, marker):
    """True when the store at ``root`` was brought to the plan: the root is 0711 and the
    ``marker`` file 0600. ``tighten_store`` sets these two last, so they record that its
    walk completed; a store made before (0755, 0644) fails the check. Two ``lstat``s."""
    try:
        return (stat.S_IMODE(os.stat(root).st_mode) == TRAVERSE_DIR_MODE
                and stat.S_IMODE(os.lstat(os.path.join(root, marker)).st_mode) == PRIVATE_FILE_MODE)
    except FileNotFoundError:
        return False


def tighten_store(root, container_acl_uid, marker):
    """Bring every path of the store's own top levels to the plan; return the paths changed.

    Walks the root's entries, images/<id>/ and containers/<name>/ with their entries, and
    stacks/*, then the ``marker`` file and the root itself (last, see ``is_tight``); never
    descends into a rootfs or into tmp/. ``container_acl_uid(name)`` gives the mapped root
    of container ``name`` (None when privileged or unknown).
    """
    root = os.path.realpath(root)
    changed = []

    def visit(parts, acl_uid=None):
        path = os.path.join(root, *parts)
        if _secure(path, parts, acl_uid):
            changed.append(path)

    def entries(parts):
        path = os.path.join(root, *parts)
        if os.path.isdir(path) and not os.path.islink(path):
            return sorted(os.listdir(path))
        return []

    for top in entries(()):
        if top == marker:
            continue
        visit((top,))
        if top == 'tmp':
            continue
        for name in entries((top,)):
            parts = (top, name)
            visit(parts, container_acl_uid(name) if top == 'containers' else None)
            if top in ('images', 'containers'):
                for entry in entries(parts):
                    visit(parts + (entry,))
    if os.path.lexists(os.path.join(root, marker)):
        visit((marker,))
    visit(())
    return changed
