# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""A container's user and working directory, resolved in a rootfs from the host without leaving it.

The store reads an image's or container's ``/etc/passwd`` and ``/etc/group`` from the host,
where an absolute symbolic link would name a host file: each path is walked from a descriptor
of the rootfs one component at a time with ``O_NOFOLLOW``, and a symbolic link anywhere on
it is refused, never followed (as the layer applier does). The lookup rules are the ones
dockerlite_exec applies inside a running container (``lxc_attach.resolve_identity``).
"""

from __future__ import annotations

import errno
import os
import stat

from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc_attach import (
    GROUP, PASSWD, database_entries, resolve_identity)
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError
from ansible_collections.dockerlite.core.plugins.module_utils._common.validation import parse_user

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
# More than any real passwd or group file; a larger one is refused rather than read whole.
DATABASE_MAX = 16 * 1024 * 1024
WORKDIR_MODE = 0o755


class UnsafePath(Exception):
    """A path in a rootfs goes through a symbolic link or a non-directory, or is not a regular file."""


def _components(path):
    return [part for part in path.split('/') if part and part != '.']


def _open_parent(rootfs, parts):
    """A descriptor of the directory ``parts`` below ``rootfs``, never following a link; ENOENT propagates."""
    fd = os.open(rootfs, DIR_FLAGS)
    try:
        for part in parts:
            if part == '..':
                raise UnsafePath('it has a ".." component')
            try:
                child = os.open(part, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafePath('%s is a symbolic link or not a directory' % part) from None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_rootfs_file(rootfs, path):
    """The bytes of ``path`` (absolute, inside the container) in ``rootfs``; None if it is missing.

    Raises UnsafePath if a component is a symbolic link or the file is not a regular file.
    """
    parts = _components(path)
    try:
        parent = _open_parent(rootfs, parts[:-1])
    except FileNotFoundError:
        return None
    try:
        try:
            fd = os.open(parts[-1], FILE_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafePath('it is a symbolic link') from None
            raise
    finally:
        os.close(parent)
    with os.fdopen(fd, 'rb') as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise UnsafePath('it is not a regular file')
        data = handle.read(DATABASE_MAX + 1)
    if len(data) > DATABASE_MAX:
        raise UnsafePath('it is larger than %d bytes' % DATABASE_MAX)
    return data


def _database(rootfs, path, needed, where):
    """The entries of ``path`` in ``rootfs``: [] when missing, or when unsafe and not ``needed``."""
    try:
        data = read_rootfs_file(rootfs, path)
    except UnsafePath as exc:
        if not needed:
            return []
        raise DockerliteError('cannot look up the user in %s of %s: %s; dockerlite does not follow symbolic links '
                              'out of a rootfs. Give user as uid:gid (numbers), or make %s a regular file'
                              % (path, where, exc, path)) from None
    except OSError as exc:
        raise DockerliteError('cannot read %s of %s: %s' % (path, where, exc.strerror or exc)) from None
    return database_entries(data) if data is not None else []


def resolve_user(rootfs, user, where):
    """{uid, gid, groups, home} of ``user`` (the option's text) in ``rootfs``; ``where`` names the rootfs.

    A name needs /etc/passwd (and a group name /etc/group) as regular files in the rootfs;
    a numeric ``uid:gid`` needs neither (its home is taken from /etc/passwd when it can be).
    Raises DockerliteError naming the value and ``where`` for an unknown user or group.
    """
    name, group = parse_user(user)
    numeric = isinstance(name, int) and (group is None or isinstance(group, int))
    passwd = _database(rootfs, PASSWD, not numeric, where)
    # The groups that list a user by name, or a group given by name, need /etc/group.
    groups = _database(rootfs, GROUP, not isinstance(group, int), where)
    try:
        uid, gid, supplementary, home = resolve_identity(name, group, passwd, groups)
    except LookupError as exc:
        raise DockerliteError('user %s: %s of %s' % (user, exc, where), user=user) from None
    return {'uid': uid, 'gid': gid, 'groups': supplementary, 'home': home}


def ensure_workdir(rootfs, path):
    """Make the directories of ``path`` that are missing in ``rootfs`` (root-owned, 0755), as Docker does.

    LXC refuses to start a container whose lxc.init.cwd is missing. The walk stops at a
    symbolic link or a non-directory without following it: LXC changes into the directory
    inside the container, where a link resolves within the container's root.
    """
    fd = os.open(rootfs, DIR_FLAGS)
    try:
        for part in _components(path):
            if part == '..':
                return
            try:
                child = os.open(part, DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                os.mkdir(part, WORKDIR_MODE, dir_fd=fd)
                child = os.open(part, DIR_FLAGS, dir_fd=fd)
                os.fchmod(child, WORKDIR_MODE)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    return
                raise
            os.close(fd)
            fd = child
    finally:
        os.close(fd)
