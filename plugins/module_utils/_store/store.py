# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The on-disk store: images, containers, metadata, the lock and the staging area.

Layout and the crash-safety rules are described in docs/design.md. In short: every
mutation happens while the store lock is held; new objects are built under ``tmp/``
and moved into place with one rename; metadata is written atomically; whatever is
left in ``tmp/`` when the lock is taken is debris of an interrupted run and deleted.

Nothing found on disk is trusted as a path or a value: a root is adopted only if it
is missing, empty or already a store; ids and names come from directory names and are
checked against the metadata; damaged objects are skipped (with a warning) by listings
and named in the error of any operation on them, but can always be removed.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import secrets
import stat
import time
from typing import Callable, Optional

from ansible_collections.dockerlite.core.plugins.module_utils._clients.interfaces import (
    AttachInterface, BtrfsInterface, LxcInterface)
from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc import ORPHANED as LXC_ORPHANED
from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc import cgroup_layout
from ansible_collections.dockerlite.core.plugins.module_utils._store import identity, permissions
from ansible_collections.dockerlite.core.plugins.module_utils._store.paths import (
    CONTAINER_META, ID_RE, IMAGE_META, LOCK_FILE, MARKER, STACK_RECORD_SUFFIX, StorePaths, check_id)
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import (
    DockerliteError, StoreDataError, ValidationError)
from ansible_collections.dockerlite.core.plugins.module_utils._common.validation import (
    check_no_control_chars, validate_container_name)

STORE_VERSION = 1
LOCK_TIMEOUT = 300
LOCK_POLL = 0.02
# The state container_status() reports for a container whose LXC monitor died (see lxc_orphan).
ORPHANED = LXC_ORPHANED
# The store's own entries in root: what an adoption interrupted before the marker leaves.
ADOPTION_DEBRIS = frozenset((LOCK_FILE, 'tmp'))
SHOWN_ENTRIES = 5


def new_id():
    """A random 64-hex-digit id, like Docker's."""
    return secrets.token_hex(32)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='microseconds')


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path, text, tmp_dir, mode=permissions.PRIVATE_FILE_MODE):
    """Write ``text`` to ``path`` so that readers see the old or the new file, never a part.

    The new text is written to a file in ``tmp_dir`` (the store's ``tmp/``, on the same
    filesystem) and renamed over ``path``: a run killed in between leaves its debris in
    ``tmp/``, which the next session deletes, never beside the metadata. The file gets
    ``mode`` (private by default) before it holds anything, whatever the umask.
    """
    tmp = os.path.join(tmp_dir, '%s.%s' % (os.path.basename(path), secrets.token_hex(8)))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(os.path.dirname(path))


def write_new(path, text, mode=permissions.PRIVATE_FILE_MODE, sync=True):
    """Write ``text`` to ``path``, a new file in a staging directory, and fsync it.

    For files of a directory that is staged under ``tmp/`` and renamed into place whole:
    nothing reads them before that rename, so they need no rename of their own, and the
    staging directory needs no fsync (the rename is the commit point, and each file is on
    disk before it). One fsync per file instead of two (file, then directory). Without
    ``sync`` the caller makes the file durable before the rename (``Store.batch``).
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    with os.fdopen(fd, 'w') as handle:
        os.fchmod(fd, mode)
        handle.write(text)
        handle.flush()
        if sync:
            os.fsync(fd)


def json_text(data):
    return json.dumps(data, indent=2, sort_keys=True) + '\n'


def write_json(path, data, tmp_dir):
    write_atomic(path, json_text(data), tmp_dir)


def read_json(path):
    """The JSON object in ``path``; StoreDataError naming the file if it is missing or not one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise StoreDataError(path, 'is missing') from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreDataError(path, 'is a symbolic link, not a metadata file') from None
        raise
    with os.fdopen(fd, 'rb') as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise StoreDataError(path, 'is not a regular file')
        raw = handle.read()
    if not raw.strip():
        raise StoreDataError(path, 'is empty (truncated)')
    try:
        data = json.loads(raw.decode('utf-8'))
    except UnicodeDecodeError:
        raise StoreDataError(path, 'is not UTF-8 text') from None
    except json.JSONDecodeError as exc:
        raise StoreDataError(path, 'is not valid JSON: damaged or truncated at line %d, column %d'
                             % (exc.lineno, exc.colno)) from None
    if not isinstance(data, dict):
        raise StoreDataError(path, 'holds a JSON %s, not an object' % _json_type(data))
    return data


JSON_TYPE_NAMES = {type(None): 'null', bool: 'boolean', int: 'number', float: 'number', str: 'string', list: 'array',
                   dict: 'object'}


def _json_type(value):
    return JSON_TYPE_NAMES.get(type(value), type(value).__name__)


STR, LIST, DICT, INT = (str,), (list,), (dict,), (int,)
NONE_OR = {STR: (str, type(None)), LIST: (list, type(None)), DICT: (dict, type(None)), INT: (int, type(None))}
# {key: (types, required)} of the metadata the code reads; other keys are kept as they are.
IMAGE_FIELDS = {
    'id': (STR, True), 'name': (NONE_OR[STR], True), 'created': (STR, True), 'source': (NONE_OR[STR], False),
    'parent': (NONE_OR[STR], False), 'command': (NONE_OR[LIST], False), 'env': (NONE_OR[DICT], False),
    'labels': (NONE_OR[DICT], False), 'stop_signal': (NONE_OR[STR], False), 'build': (NONE_OR[DICT], False),
    'container': (NONE_OR[STR], False), 'container_id': (NONE_OR[STR], False),
    'container_generation': (NONE_OR[INT], False), 'received': (NONE_OR[DICT], False),
    'workdir': (NONE_OR[STR], False), 'user': (NONE_OR[STR], False),
}
# What an image pulled from a registry or an archive adds (docs/design.md, "Image metadata of OCI images").
OCI_IMAGE_FIELDS = {
    'workdir': (NONE_OR[STR], False), 'user': (NONE_OR[STR], False), 'exposed_ports': (NONE_OR[LIST], False),
    'layers': (NONE_OR[LIST], False), 'oci': (NONE_OR[DICT], False),
}
IMAGE_FIELDS.update(OCI_IMAGE_FIELDS)
LAYER_FIELDS = {'chain_id': (STR, True), 'diff_id': (STR, True), 'digest': (STR, True), 'media_type': (NONE_OR[STR], True),
                'parent': (NONE_OR[STR], True), 'size': (INT, True)}
CONTAINER_FIELDS = {
    'id': (STR, True), 'name': (STR, True), 'image': (STR, True), 'image_id': (STR, True),
    'image_defaults': (DICT, True), 'created': (STR, True), 'spec': (DICT, True),
}
IMAGE_DEFAULTS_FIELDS = {'command': (LIST, True), 'env': (DICT, True), 'labels': (NONE_OR[DICT], False),
                         'stop_signal': (STR, True), 'workdir': (NONE_OR[STR], False),
                         'user': (NONE_OR[STR], False)}
SPEC_FIELDS = {'command': (LIST, True), 'env': (DICT, True), 'stop_signal': (STR, True),
               'network': (NONE_OR[DICT], False), 'mounts': (NONE_OR[LIST], False),
               'workdir': (NONE_OR[STR], False), 'user': (NONE_OR[STR], False), 'user_ids': (NONE_OR[DICT], False)}


def check_fields(data, fields, path, where=''):
    """Refuse a metadata object without a required key or with a value of the wrong type."""
    for key, (types, required) in fields.items():
        if key not in data:
            if required:
                raise StoreDataError(path, 'key %s%s is missing' % (where, key))
            continue
        value = data[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise StoreDataError(path, 'key %s%s is a %s, not a %s' % (
                where, key, _json_type(value), ' or '.join(JSON_TYPE_NAMES[t] for t in types)))


def check_image_meta(data, path, image_id):
    """image.json of the image in directory ``image_id``: its id must be that directory's name."""
    check_fields(data, IMAGE_FIELDS, path)
    check_id(data['id'], path)
    if data['id'] != image_id:
        raise StoreDataError(path, 'id %s differs from the directory name %s' % (data['id'], image_id))
    return data


def check_container_meta(data, path, name):
    """container.json of the container in directory ``name``: its name must be that directory's name."""
    check_fields(data, CONTAINER_FIELDS, path)
    check_fields(data['image_defaults'], IMAGE_DEFAULTS_FIELDS, path, 'image_defaults.')
    check_fields(data['spec'], SPEC_FIELDS, path, 'spec.')
    check_id(data['id'], path)
    check_id(data['image_id'], path, 'image_id')
    if data['name'] != name:
        raise StoreDataError(path, 'name %s differs from the directory name %s' % (json.dumps(data['name'])[:80], name))
    for key in ('spec', 'image_defaults'):
        command = data[key]['command']
        if not all(isinstance(arg, str) for arg in command):
            raise StoreDataError(path, 'key %s.command must be a list of strings' % key)
    return data


def _real_directory(path):
    return os.path.isdir(path) and not os.path.islink(path)


def load_container(paths, entry):
    """The metadata of the container in ``containers/<entry>``, checked; StoreDataError naming what is wrong."""
    directory = os.path.join(paths.containers, entry)
    try:
        container_paths = paths.container(entry)
    except ValidationError:
        raise StoreDataError(directory, 'not a container: its name is not a valid container name') from None
    if not _real_directory(directory):
        raise StoreDataError(directory, 'not a container: not a directory')
    meta = check_container_meta(read_json(container_paths['meta']), container_paths['meta'], entry)
    if not _real_directory(container_paths['rootfs']):
        raise StoreDataError(container_paths['rootfs'], 'the rootfs of container %s is missing' % entry)
    meta['rootfs'] = container_paths['rootfs']
    return meta


def read_container(paths, name):
    """Container ``name``'s checked metadata, None if there is none; StoreDataError if it is damaged.

    Needs neither the lock nor a client: the controller-side plugins read containers so.
    """
    if not os.path.lexists(paths.container(name)['dir']):
        return None
    return load_container(paths, name)


def read_stack_record(path):
    """(stack, {container: id}) from a stack record, every name and id checked before it is used."""
    data = read_json(path)
    stack = os.path.basename(path)[:-len(STACK_RECORD_SUFFIX)]
    try:
        validate_container_name(stack, 'stack name')
        for name in data.get('containers') or {}:
            validate_container_name(name, 'member name')
    except ValidationError as exc:
        raise StoreDataError(path, exc.msg) from None
    if data.get('stack') != stack:
        raise StoreDataError(path, 'stack %s differs from the file name' % json.dumps(data.get('stack'))[:80])
    if not isinstance(data.get('containers'), dict):
        raise StoreDataError(path, 'key containers is missing or not an object')
    for name, container_id in data['containers'].items():
        check_id(container_id, path, 'id of member %s' % name)
    return stack, dict(data['containers'])


class Store:
    """A dockerlite store rooted at ``root`` on a btrfs filesystem.

    The managers' only way to the host: the clients (``btrfs``, a BtrfsInterface; the
    LXC and attach clients that ``lxc_factory`` and ``attach_factory`` make for the
    store's LXC path, see ``_clients/interfaces.py``) are private to it.
    """

    def __init__(self, root, btrfs: BtrfsInterface, lxc_factory: Optional[Callable[[str], LxcInterface]] = None,
                 attach_factory: Optional[Callable[[str], AttachInterface]] = None):
        self.paths = StorePaths(root)
        self.root = self.paths.root
        self.images_dir = self.paths.images
        self.containers_dir = self.paths.containers
        self.tmp_dir = self.paths.tmp
        self._btrfs = btrfs
        self._lxc_factory = lxc_factory
        self._lxc_client = None
        self._attach_factory = attach_factory
        self._attach_client = None
        self._locked = False
        # Staged container directories waiting for their batch's sync (see batch()); None outside one.
        self._batch = None
        # Staging directories whose rootfs snapshot was made ahead, by container name (see prestage()).
        self._prestaged = {}
        self._writable = False  # a session that may write (not check mode): skopeo then stages in tmp/
        # Non-fatal findings (damaged entries skipped by listings); the runner reports them.
        self.warnings = []
        self._qgroups = None  # the filesystem's qgroup numbers, read once per session (see _qgroup_usage)
        self._quota_on = None  # whether btrfs quotas are on, once known

    def _warn(self, message):
        if message not in self.warnings:
            self.warnings.append(message)

    def write_json(self, path, data):
        """Write metadata ``path`` atomically through the store's tmp/, under the lock."""
        self._require_lock()
        write_json(path, data, self.tmp_dir)

    @property
    def _lxc(self):
        """The LXC client for this store's LXC path, created on first use."""
        if self._lxc_client is None:
            self._lxc_client = self._lxc_factory(self.containers_dir)
        return self._lxc_client

    @property
    def _attach(self):
        """The attach client (commands in a running container) for this store's LXC path, created on first use."""
        if self._attach_client is None:
            self._attach_client = self._attach_factory(self.containers_dir)
        return self._attach_client

    # -- session and lock -------------------------------------------------

    def check_filesystem(self):
        check_no_control_chars(self.root, 'root')
        mount_point, fstype = self._btrfs.filesystem(self.root)
        if fstype != 'btrfs':
            raise DockerliteError('root %s is not on a btrfs filesystem: %s is mounted from a %s filesystem'
                                  % (self.root, mount_point, fstype), root=self.root, filesystem=fstype)
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise DockerliteError('root %s exists but is not a directory' % self.root, root=self.root)

    def check_root(self):
        """Refuse a root that is neither missing, empty nor a store, before anything is written in it."""
        if not os.path.isdir(self.root):
            return
        entries = sorted(os.listdir(self.root))
        if MARKER in entries:
            self._check_marker()
            self._check_layout()
        elif entries and not self._adoption_debris(entries):
            shown = ', '.join(entries[:SHOWN_ENTRIES]) + (', ...' if len(entries) > SHOWN_ENTRIES else '')
            raise DockerliteError(
                'root %s is not a dockerlite store: it is a directory that is not empty (it holds %s) and has no %s '
                'marker, so it is left untouched. Point root at a new or empty directory' % (self.root, shown, MARKER),
                root=self.root)

    def _check_marker(self):
        path = self.paths.marker
        marker = read_json(path)
        if marker.get('version') != STORE_VERSION:
            raise StoreDataError(path, 'store version %s is not one this collection knows (%d)'
                                 % (json.dumps(marker.get('version')), STORE_VERSION))

    def _check_layout(self):
        """The store's own directories must be directories: a symlink there would send the clean-up
        of tmp/, listings and removals elsewhere."""
        for path in self.paths.own_directories():
            if os.path.lexists(path) and not _real_directory(path):
                raise StoreDataError(path, 'is not a directory (a symbolic link or a file); the store will not use it')

    def _adoption_debris(self, entries):
        """Whether ``entries`` are what an adoption killed before writing the marker leaves: the
        lock file and a tmp/ holding at most the marker's own temporary file."""
        if not set(entries) <= ADOPTION_DEBRIS:
            return False
        if 'tmp' not in entries:
            return True
        return _real_directory(self.tmp_dir) and all(
            entry.startswith(MARKER + '.') for entry in os.listdir(self.tmp_dir))

    @contextlib.contextmanager
    def session(self, check_mode=False):
        """Hold the store lock for the duration; prepare the layout unless in check mode.

        A store that does not exist yet is empty; check mode then reads it without
        creating anything, so it changes nothing on the host.
        """
        self.check_filesystem()
        self.check_root()
        lock_path = self.paths.lock
        if check_mode and not os.path.lexists(lock_path):
            yield self
            return
        os.makedirs(self.root, exist_ok=True)
        fd = self._open_lock(lock_path)
        try:
            self._acquire(fd, lock_path, record_pid=not check_mode)
            self._locked = True
            if not check_mode:
                # Again under the lock: another run may have changed root meanwhile.
                self.check_root()
                self._prepare()
                self._writable = True
            yield self
        finally:
            self._locked = False
            self._writable = False
            os.close(fd)

    @staticmethod
    def _open_lock(lock_path):
        """Open (create) the lock file; never through a symlink, never anything but a regular file."""
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise StoreDataError(lock_path, 'the store lock is a symbolic link; it must be a regular file '
                                     '(remove the link; nothing was written through it)') from None
            if exc.errno == errno.EISDIR:
                raise StoreDataError(lock_path, 'the store lock is a directory; it must be a regular file') from None
            raise
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise StoreDataError(lock_path, 'the store lock is not a regular file (mode %o)' % mode)
        return fd

    @staticmethod
    def _acquire(fd, lock_path, record_pid=True):
        """flock the store, polling so that a stuck holder gives a clear error, not a hang."""
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                    holder = os.pread(fd, 32, 0).decode('ascii', 'replace').strip() or 'unknown'
                    raise DockerliteError('cannot lock the store at %s within %d seconds (held by pid %s)'
                                          % (lock_path, LOCK_TIMEOUT, holder))
                time.sleep(LOCK_POLL)
        if record_pid:
            # Only a hint for the message above: a store whose space is full must still
            # be usable to remove containers and free space.
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, ('%d\n' % os.getpid()).encode('ascii'), 0)
            except OSError:
                pass

    def _prepare(self):
        """Delete what interrupted runs left in the staging area, complete the layout and make it private.

        tmp/ comes first: the marker is written through it like all metadata. A store made
        with looser modes (before the store was private) is tightened here; a store already
        tight costs two ``lstat``s (see ``permissions.is_tight``).
        """
        os.makedirs(self.tmp_dir, mode=permissions.PRIVATE_DIR_MODE, exist_ok=True)
        for entry in os.listdir(self.tmp_dir):
            self._btrfs.remove_tree(os.path.join(self.tmp_dir, entry))
        marker = self.paths.marker
        if not os.path.lexists(marker):
            self.write_json(marker, {'version': STORE_VERSION})
        for path in (self.images_dir, self.containers_dir):
            os.makedirs(path, mode=permissions.PRIVATE_DIR_MODE, exist_ok=True)
        if not permissions.is_tight(self.root, MARKER):
            permissions.tighten_store(self.root, self._container_acl_uid, MARKER)

    def _container_acl_uid(self, name):
        """The mapped root of container ``name`` from its metadata; None when privileged or unreadable
        (its directory then stays closed to it: failing closed, until the metadata is repaired)."""
        try:
            return permissions.idmap_uid(read_json(self.container_paths(name)['meta']).get('idmap'))
        except (StoreDataError, OSError, ValueError, AttributeError):
            return None

    def _require_lock(self):
        if not self._locked:
            raise DockerliteError('internal error: store mutation without the store lock')

    def _stage(self):
        """A fresh directory under tmp/ to build in; the caller renames it into place."""
        self._require_lock()
        path = os.path.join(self.tmp_dir, secrets.token_hex(8))
        os.mkdir(path, permissions.PRIVATE_DIR_MODE)
        return path

    @contextlib.contextmanager
    def _staging(self, staged=None):
        """A staging directory (new, or ``staged``) that is deleted again if building in it fails."""
        staged = staged or self._stage()
        try:
            yield staged
        except BaseException:
            self._remove_staged(staged)
            raise

    def _remove_staged(self, staged):
        try:
            self._btrfs.remove_tree(staged)
        except (DockerliteError, OSError):
            pass  # the next session's clean-up of tmp/ gets it

    def _discard(self, path):
        """Make ``path`` disappear atomically (rename into tmp/), then delete it."""
        self._require_lock()
        self._btrfs.check_unmounted(path)
        dest = os.path.join(self.tmp_dir, 'discard-' + secrets.token_hex(8))
        os.rename(path, dest)
        self._btrfs.remove_tree(dest)

    # -- images -----------------------------------------------------------

    def image_dir(self, image_id):
        return self.paths.image_dir(image_id)

    def image_rootfs(self, image_id):
        return self.paths.image_rootfs(image_id)

    def _load_image(self, entry):
        """The metadata of the image in ``images/<entry>``, checked; StoreDataError naming what is wrong."""
        directory = os.path.join(self.images_dir, entry)
        if not ID_RE.fullmatch(entry):
            raise StoreDataError(directory, 'not an image: its name is not a 64-hex-digit image id')
        if not _real_directory(directory):
            raise StoreDataError(directory, 'not an image: not a directory')
        path = os.path.join(directory, IMAGE_META)
        meta = check_image_meta(read_json(path), path, entry)
        rootfs = os.path.join(directory, 'rootfs')
        if not _real_directory(rootfs):
            raise StoreDataError(rootfs, 'the rootfs of image %s is missing' % entry)
        meta['rootfs'] = rootfs
        return meta

    def _image_entries(self):
        """(entry, metadata, None) or (entry, None, StoreDataError) for everything in images/."""
        if not os.path.isdir(self.images_dir):
            return []
        entries = []
        for entry in sorted(os.listdir(self.images_dir)):
            try:
                entries.append((entry, self._load_image(entry), None))
            except StoreDataError as exc:
                entries.append((entry, None, exc))
        return entries

    def _skip(self, exc):
        self._warn('%s; skipped (remove it to repair the store)' % exc.msg)

    def list_images(self):
        """Every sound image's metadata, oldest first, each with its ``rootfs`` path; damaged ones are warned of."""
        images = []
        for _entry, meta, error in self._image_entries():
            if error:
                self._skip(error)
            else:
                images.append(meta)
        return sorted(images, key=lambda image: (image['created'], image['id']))

    def damaged_images(self, ref):
        """Ids of the damaged images in images/ that ``ref`` names: by id, or by a name still readable."""
        found = []
        for entry, _meta, error in self._image_entries():
            if error is None or not ID_RE.fullmatch(entry):
                continue
            if entry == ref or self._readable_name(os.path.join(self.images_dir, entry, IMAGE_META)) == ref:
                found.append(entry)
        return found

    @staticmethod
    def _readable_name(path):
        try:
            name = read_json(path).get('name')
        except (StoreDataError, OSError):
            return None
        return name if isinstance(name, str) else None

    def find_image(self, ref):
        """The image tagged ``ref`` (name:tag); the newest wins if a run died mid-retag."""
        matches = [image for image in self.list_images() if image.get('name') == ref]
        return matches[-1] if matches else None

    def get_image(self, image_id):
        """The image with that id, None if there is none; StoreDataError if it is damaged."""
        if not os.path.lexists(self.image_dir(image_id)):
            return None
        return self._load_image(image_id)

    def containers_using(self, image_id):
        return sorted(c['name'] for c in self.list_containers() if c.get('image_id') == image_id)

    def build_image(self, meta, populate):
        """Create a new read-only image: ``populate(rootfs)`` fills a fresh subvolume."""
        with self._staging() as staged:
            rootfs = os.path.join(staged, 'rootfs')
            self._btrfs.create_subvolume(rootfs)
            populate(rootfs)
            self._btrfs.set_read_only(rootfs, True)
            self.write_json(os.path.join(staged, IMAGE_META), meta)
        return self._install_image(staged, meta)

    def commit_image(self, meta, source_rootfs):
        """Freeze ``source_rootfs`` into a new read-only image (one O(1) snapshot).

        ``container_generation`` records the transaction the snapshot was taken in: the
        source's generation stays at that value until something writes to it.
        """
        with self._staging() as staged:
            rootfs = os.path.join(staged, 'rootfs')
            self._btrfs.snapshot(source_rootfs, rootfs, read_only=True)
            meta = dict(meta, container_generation=self._btrfs.created_transaction(rootfs))
            self.write_json(os.path.join(staged, IMAGE_META), meta)
        return self._install_image(staged, meta)

    def _install_image(self, staged, meta):
        """Move a complete staged image into place; the rename is the commit point.

        The caller then retires the tag from older images (``retire_tag``); an image
        that shares its tag with a newer one meanwhile loses to it in ``find_image``.
        """
        os.rename(staged, self.image_dir(meta['id']))
        return self.get_image(meta['id'])

    def retire_tag(self, name, keep=None):
        """Take tag ``name`` off every image but ``keep``: remove the image, or untag it
        if a container was made from it. Returns [(action, image id)]."""
        self._require_lock()
        done = []
        for image in self.list_images():
            if image.get('name') != name or image['id'] == keep:
                continue
            if self.containers_using(image['id']):
                self.update_image(image, name=None)
                done.append(('untag', image['id']))
            else:
                self._discard(self.image_dir(image['id']))
                done.append(('remove', image['id']))
        return done

    def update_image(self, image, **changes):
        self._require_lock()
        meta = {k: v for k, v in image.items() if k != 'rootfs'}
        meta.update(changes)
        self.write_json(os.path.join(self.image_dir(image['id']), IMAGE_META), meta)
        meta['rootfs'] = self.image_rootfs(image['id'])
        return meta

    def remove_image(self, image_id):
        self._discard(self.image_dir(image_id))

    # -- containers -------------------------------------------------------

    def container_paths(self, name):
        """{dir, rootfs, config, log, meta} of container ``name`` (see StorePaths.container)."""
        return self.paths.container(name)

    def _load_container(self, entry):
        return load_container(self.paths, entry)

    def list_containers(self):
        """Every sound container's metadata, by name; damaged entries are skipped with a warning."""
        if not os.path.isdir(self.containers_dir):
            return []
        containers = []
        for entry in sorted(os.listdir(self.containers_dir)):
            try:
                containers.append(self._load_container(entry))
            except StoreDataError as exc:
                self._skip(exc)
        return containers

    def container_exists(self, name):
        """Whether container ``name`` has a directory, sound or damaged."""
        return os.path.lexists(self.container_paths(name)['dir'])

    def get_container(self, name):
        """Container ``name``'s metadata, None if there is none; StoreDataError if it is damaged."""
        return read_container(self.paths, name)

    def container_stop_signal(self, name):
        """The signal that halts container ``name``'s PID 1; SIGKILL if its metadata is damaged."""
        try:
            return self.get_container(name)['spec']['stop_signal']
        except (StoreDataError, TypeError):
            return 'SIGKILL'

    def create_container(self, meta, image, config_text, files=None):
        """Snapshot ``image`` into a new container with its config, then move it into place.

        ``files`` maps more file names in the container's directory (outside the rootfs)
        to their text, such as the hosts file the config bind-mounts. Inside ``batch()`` the
        container is staged only, and moved into place when the batch ends (None is returned).
        """
        paths = self.container_paths(meta['name'])
        if os.path.lexists(paths['dir']) or any(final == paths['dir'] for _staged, final in self._batch or ()):
            raise DockerliteError('container %s already exists at %s' % (meta['name'], paths['dir']))
        acl_uid = self._acl_uid_of(meta)
        batched = self._batch is not None
        prestaged = self._prestaged.pop(meta['name'], None)
        with self._staging(prestaged) as staged:
            if prestaged is None:
                self._btrfs.snapshot(image['rootfs'], os.path.join(staged, 'rootfs'))
            if meta['spec'].get('disk_limit'):
                self._limit_disk(os.path.join(staged, 'rootfs'), meta['spec']['disk_limit'])
            self._write_container_files(staged, meta, config_text, files, staged=True, sync=not batched)
            # LXC would create its log 0640; an existing file keeps its mode.
            os.close(os.open(os.path.join(staged, 'lxc.log'), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC,
                             permissions.PRIVATE_FILE_MODE))
            permissions.secure_container_dir(staged, acl_uid)
            if batched:
                self._batch.append((staged, paths['dir']))
                return None
            os.rename(staged, paths['dir'])
        return self.get_container(meta['name'])

    @contextlib.contextmanager
    def batch(self):
        """Create many containers with one filesystem sync instead of an fsync per file.

        The containers created inside are staged as ``create_container`` stages one, but
        their files are not fsynced one by one: when the batch ends (however it ends), one
        btrfs sync makes every staged file durable, and only then is each directory renamed
        into place, in the order they were made. The commit point of each container is still
        its rename, after its files are on disk. For ``dockerlite_stack``, whose store wave
        creates its members one after another.
        """
        self._require_lock()
        if self._batch is not None:
            raise DockerliteError('internal error: nested store batches')
        self._batch = []
        try:
            yield self
        finally:
            pending, self._batch = self._batch, None
            unused, self._prestaged = list(self._prestaged.values()), {}
            for staged in unused:
                self._remove_staged(staged)
            if pending:
                self._btrfs.sync(self.tmp_dir)
                for staged, final in pending:
                    os.rename(staged, final)

    def prestage(self, containers, workers):
        """In a batch, make the rootfs snapshots of the containers about to be created ahead, up to
        ``workers`` at once (``containers``: (name, image) pairs); ``create_container`` then uses
        them. Snapshots made one by one each commit a btrfs transaction; made side by side they
        share commits. If one cannot be made, none is kept and the error is raised."""
        if self._batch is None:
            raise DockerliteError('internal error: prestage outside a store batch')
        staged = {name: self._stage() for name, _image in containers}
        try:
            self._btrfs.snapshots([(image['rootfs'], os.path.join(staged[name], 'rootfs'))
                                   for name, image in containers], workers)
        except BaseException:
            for path in staged.values():
                self._remove_staged(path)
            raise
        self._prestaged.update(staged)

    def update_container(self, meta, config_text, files=None):
        """Set the directory's permissions for ``meta['idmap']``, rewrite ``files`` (as in
        create_container), config, then metadata; a crash between leaves metadata that still
        differs from the desired spec, so the next run rewrites all."""
        self._require_lock()
        paths = self.container_paths(meta['name'])
        acl_uid = self._acl_uid_of(meta)
        # Before the metadata: if a run dies between, the metadata still differs from the
        # desired spec and the next run rewrites all, ACL included.
        permissions.secure_container_dir(paths['dir'], acl_uid)
        self._write_container_files(paths['dir'], meta, config_text, files)
        return self.get_container(meta['name'])

    @staticmethod
    def _acl_uid_of(meta):
        try:
            return permissions.idmap_uid(meta.get('idmap'))
        except ValueError as exc:
            raise DockerliteError('container %s: %s' % (meta.get('name'), exc)) from exc

    def _write_container_files(self, directory, meta, config_text, files, staged=False, sync=True):
        """The generated files (readable by the container, which bind-mounts them), the working directory,
        config, then metadata.

        In a ``staged`` directory (a new container, renamed into place afterwards) each file is
        written once and fsynced (``write_new``); in place, each replaces the old one atomically.
        """
        def write(filename, text, mode=permissions.PRIVATE_FILE_MODE):
            path = os.path.join(directory, filename)
            if staged:
                write_new(path, text, mode, sync)
            else:
                write_atomic(path, text, self.tmp_dir, mode)

        if meta['spec'].get('workdir'):
            self._make_workdir(meta['name'], os.path.join(directory, 'rootfs'), meta['spec']['workdir'])
        for filename, text in sorted((files or {}).items()):
            write(filename, text, permissions.wanted(('containers', meta['name'], filename), 'file')[0])
        write('config', config_text)
        record = {k: v for k, v in meta.items() if k != 'rootfs'}
        if staged:
            write_new(os.path.join(directory, CONTAINER_META), json_text(record), sync=sync)
        else:
            self.write_json(os.path.join(directory, CONTAINER_META), record)

    def remove_container(self, name):
        self._discard(self.container_paths(name)['dir'])

    # -- disk quotas ------------------------------------------------------

    def set_container_disk_limit(self, name, limit):
        """Limit what container ``name`` may write (exclusive bytes; None: no limit), then record it.

        Takes effect at once, running or not. The qgroup limit is set before container.json says
        so: a run that dies between leaves metadata that differs, and the next run sets it again.
        """
        self._require_lock()
        paths = self.container_paths(name)
        meta = {k: v for k, v in self.get_container(name).items() if k != 'rootfs'}
        self._limit_disk(paths['rootfs'], limit)
        meta['spec'] = dict(meta['spec'], disk_limit=limit)
        self.write_json(paths['meta'], meta)
        return self.get_container(name)

    def _limit_disk(self, rootfs, limit):
        """Set or remove the qgroup limit of ``rootfs``; quotas are enabled on the store's
        filesystem the first time a limit is set (a rescan of the whole filesystem)."""
        self._require_lock()
        if not self._quotas_on():
            if limit is None:
                return  # without quotas nothing is limited
            self._btrfs.enable_quota(self.root)
            self._quota_on = True
        self._btrfs.set_qgroup_limit(rootfs, limit, via=self.root)
        self._qgroups = None

    def container_disk_usage(self, name):
        """The bytes only container ``name``'s rootfs holds (what disk_limit counts), or None when
        quotas are off on the store's filesystem."""
        rootfs = self.container_paths(name)['rootfs']
        qgroups = self._qgroup_usage()
        if qgroups is None or not os.path.isdir(rootfs):
            return None  # quotas off, or a broken container without its rootfs
        subvolume_id = self._btrfs.subvolume_id(rootfs)
        if subvolume_id not in qgroups:
            qgroups = self._qgroup_usage(refresh=True) or {}
        return qgroups[subvolume_id]['exclusive'] if subvolume_id in qgroups else None

    def _quotas_on(self):
        if self._quota_on is None:
            self._quota_on = self._btrfs.quota_enabled(self.root)
        return self._quota_on

    def _qgroup_usage(self, refresh=False):
        """Every qgroup of the store's filesystem (None while quotas are off), after a sync (the kernel
        updates the numbers when a transaction commits); read once and kept, so listing many
        containers costs one call. With quotas off there is neither sync nor call."""
        if self._qgroups is None or refresh:
            if not self._quotas_on():
                return None
            self._btrfs.sync(self.root)
            self._qgroups = (self._btrfs.qgroups(self.root),)
        return self._qgroups[0]

    # -- read-only views --------------------------------------------------

    def snapshot_container(self, name):
        """Stage a read-only snapshot of container ``name``'s rootfs under tmp/ and return its path.

        The caller deletes it with ``discard_snapshot`` (a killed run leaves it to the next
        session's clean-up of tmp/). The container must not be written meanwhile: stopped,
        or frozen by the caller.

        A snapshot moves the source's btrfs generation to the snapshot's transaction, which
        commit idempotence reads as a write. Nothing was written, so an image committed from
        this container whose recorded generation is still the current one gets the new
        value; the next commit then still finds the container unchanged.
        """
        self._require_lock()
        rootfs = self.container_paths(name)['rootfs']
        container = self.get_container(name)
        os.makedirs(self.tmp_dir, mode=permissions.PRIVATE_DIR_MODE, exist_ok=True)
        before = self._btrfs.generation(rootfs)
        with self._staging() as staged:
            snapshot = os.path.join(staged, 'rootfs')
            self._btrfs.snapshot(rootfs, snapshot, read_only=True)
            after = self._btrfs.created_transaction(snapshot)
            for image in self.list_images():
                if (image.get('container_id') == container['id'] and image.get('container_generation') == before
                        and before != after):
                    self.update_image(image, container_generation=after)
        return snapshot

    def discard_snapshot(self, snapshot):
        """Delete a snapshot made by ``snapshot_container``, with its staging directory."""
        self._require_lock()
        staged = os.path.dirname(snapshot)
        if os.path.dirname(staged) != self.tmp_dir:
            raise DockerliteError('internal error: %s is not a staged snapshot' % snapshot)
        self._btrfs.remove_tree(staged)

    def snapshot_send_stream(self, snapshot, image):
        """The btrfs send stream (metadata only) from ``image``'s rootfs to a snapshot of ``snapshot_container``."""
        return self._btrfs.send(snapshot, parent=image['rootfs'])

    def image_is_read_only(self, image):
        """Whether ``image``'s rootfs subvolume is read-only, as every image's should be."""
        return self._btrfs.is_read_only(image['rootfs'])

    def container_generation(self, name):
        """The btrfs generation of container ``name``'s rootfs: it moves when anything is written to it."""
        return self._btrfs.generation(self.container_paths(name)['rootfs'])

    # -- stack records ----------------------------------------------------

    def stack_records(self):
        """({stack: {container: id}}, {stacks whose record is damaged}) of every stack in the store.

        A damaged record is skipped with a warning: its stack then owns no container
        (nothing is pruned through it) until the stack is converged again, which
        rewrites it.
        """
        records, damaged = {}, set()
        if not _real_directory(self.paths.stacks):
            return records, damaged
        for filename in sorted(os.listdir(self.paths.stacks)):
            if not filename.endswith(STACK_RECORD_SUFFIX):
                continue
            try:
                stack, members = read_stack_record(os.path.join(self.paths.stacks, filename))
            except StoreDataError as exc:
                damaged.add(filename[:-len(STACK_RECORD_SUFFIX)])
                self._warn('%s; skipped (the stack\'s next run rewrites it)' % exc.msg)
                continue
            records[stack] = members
        return records, damaged

    def write_stack_record(self, stack, members):
        """Record ``members`` ({container name: container id}) as stack ``stack``'s."""
        self._require_lock()
        path = self.paths.stack_record(stack)
        os.makedirs(self.paths.stacks, mode=permissions.PRIVATE_DIR_MODE, exist_ok=True)
        self.write_json(path, {'stack': stack, 'containers': members})

    def remove_stack_record(self, stack):
        """Delete stack ``stack``'s record; whether there was one."""
        self._require_lock()
        path = self.paths.stack_record(stack)
        if not os.path.lexists(path):
            return False
        os.unlink(path)
        return True

    # -- running containers (LXC) -----------------------------------------
    #
    # Not store mutations: LXC serialises its own operations on a container, and the
    # stack runs starts and stops in forked workers. None of these needs the lock.

    def container_status(self, name):
        """(state, pid) of container ``name``: running, frozen, stopped or ORPHANED; pid None when stopped."""
        return self._lxc.status(name)

    def start_container(self, name, argv):
        """Start container ``name`` with ``argv`` as its PID 1."""
        self._lxc.start(name, argv)

    def wait_for_container_ipv4(self, name, address, interface, timeout):
        """Wait up to ``timeout`` seconds until ``address`` shows up on ``interface`` in container ``name``."""
        self._lxc.wait_for_ipv4(name, address, interface, timeout)

    def stop_container(self, name, timeout):
        """Halt container ``name`` with its stop signal, killing it after ``timeout`` seconds."""
        self._lxc.stop(name, timeout, self.container_stop_signal(name))

    def kill_orphaned_container(self, name):
        """Kill the processes of container ``name`` whose LXC monitor died (state ORPHANED)."""
        self._lxc.kill_orphan(name)

    def freeze_container(self, name):
        self._lxc.freeze(name)

    def unfreeze_container(self, name):
        self._lxc.unfreeze(name)

    def run_container_command(self, name, argv, timeout):
        """Run ``argv`` once as the PID 1 of stopped container ``name``: (rc, stdout, stderr, seconds)."""
        return self._lxc.execute(name, argv, timeout)

    @staticmethod
    def host_cgroup_layout():
        """{controller: 'v1' or 'v2'} of the host's cgroup controllers that a container's config limits."""
        return cgroup_layout()

    # -- commands in running containers (attach) --------------------------

    def test_paths_in_container(self, name, creates, removes):
        """(whether ``creates`` exists, whether ``removes`` exists) inside running container ``name``."""
        return self._attach.test_paths(name, creates, removes)

    def exec_in_container(self, name, argv, env, cwd='/', user=None, group=None, stdin=None, timeout=None):
        """Run ``argv`` in running container ``name`` (see AttachClient.run); an ExecResult."""
        return self._attach.run(name, argv, env, cwd=cwd, user=user, group=group, stdin=stdin, timeout=timeout)

    # -- identity across stores -----------------------------------------

    def image_origin(self, image_id):
        """The name of image ``image_id``'s rootfs across hosts: the uuid of the subvolume it was first
        made as (``received_uuid`` once received from another store, its own ``uuid`` otherwise)."""
        uuids = self._btrfs.subvolume_uuids(self.image_rootfs(image_id))
        return uuids['received_uuid'] or uuids['uuid']

    # -- user and working directory ---------------------------------------

    @staticmethod
    def resolve_user(rootfs, user, where):
        """{uid, gid, groups, home} of ``user`` looked up in ``rootfs`` (an image's or container's) without
        following a symbolic link out of it; DockerliteError naming ``user`` and ``where`` otherwise."""
        return identity.resolve_user(rootfs, user, where)

    def _make_workdir(self, name, rootfs, workdir):
        """Create ``workdir`` in a container's rootfs if it is missing (LXC will not start without it)."""
        self._require_lock()
        try:
            identity.ensure_workdir(rootfs, workdir)
        except OSError as exc:
            raise DockerliteError('cannot create workdir %s in container %s: %s'
                                  % (workdir, name, exc.strerror or exc)) from None
