# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The on-disk store: images, containers, metadata, the lock and the staging area.

Layout and the crash-safety rules are described in docs/design.md. In short: every
mutation happens while the store lock is held; new objects are built under ``tmp/``
and moved into place with one rename; metadata is written atomically; whatever is
left in ``tmp/`` when the lock is taken is debris of an interrupted run and deleted.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import secrets
import time

from ansible_collections.dockerlite.core.plugins.module_utils.errors import DockerliteError
from ansible_collections.dockerlite.core.plugins.module_utils.validation import check_no_control_chars

STORE_VERSION = 1
MARKER = '.dockerlite.json'
LOCK_FILE = '.lock'
IMAGE_META = 'image.json'
CONTAINER_META = 'container.json'
LOCK_TIMEOUT = 300
LOCK_POLL = 0.02


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


def write_atomic(path, text):
    """Write ``text`` to ``path`` so that readers see the old or the new file, never a part."""
    tmp = '%s.tmp-%s' % (path, secrets.token_hex(4))
    with open(tmp, 'w') as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(tmp, path)
    _fsync_dir(os.path.dirname(path))


def write_json(path, data):
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True) + '\n')


def read_json(path):
    with open(path) as handle:
        return json.load(handle)


class Store:
    """A dockerlite store rooted at ``root`` on a btrfs filesystem."""

    def __init__(self, root, btrfs, lxc_factory=None):
        self.root = os.path.abspath(root)
        self.btrfs = btrfs
        self.images_dir = os.path.join(self.root, 'images')
        self.containers_dir = os.path.join(self.root, 'containers')
        self.tmp_dir = os.path.join(self.root, 'tmp')
        self._lxc_factory = lxc_factory
        self._lxc = None
        self._locked = False
        self._qgroups = None  # the filesystem's qgroup numbers, read once per session (see _qgroup_usage)
        self._quota_on = None  # whether btrfs quotas are on, once known

    @property
    def lxc(self):
        """The LXC client for this store's LXC path, created on first use."""
        if self._lxc is None:
            self._lxc = self._lxc_factory(self.containers_dir)
        return self._lxc

    # -- session and lock -------------------------------------------------

    def check_filesystem(self):
        check_no_control_chars(self.root, 'root')
        mount_point, fstype = self.btrfs.filesystem(self.root)
        if fstype != 'btrfs':
            raise DockerliteError('root %s is not on a btrfs filesystem: %s is mounted from a %s filesystem'
                                  % (self.root, mount_point, fstype), root=self.root, filesystem=fstype)
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise DockerliteError('root %s exists but is not a directory' % self.root, root=self.root)

    @contextlib.contextmanager
    def session(self, check_mode=False):
        """Hold the store lock for the duration; prepare the layout unless in check mode.

        A store that does not exist yet is empty; check mode then reads it without
        creating anything, so it changes nothing on the host.
        """
        self.check_filesystem()
        lock_path = os.path.join(self.root, LOCK_FILE)
        if check_mode and not os.path.exists(lock_path):
            yield self
            return
        os.makedirs(self.root, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            self._acquire(fd, lock_path, record_pid=not check_mode)
            self._locked = True
            if not check_mode:
                self._prepare()
            yield self
        finally:
            self._locked = False
            os.close(fd)

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
            os.ftruncate(fd, 0)
            os.pwrite(fd, ('%d\n' % os.getpid()).encode('ascii'), 0)

    def _prepare(self):
        """Create the layout and delete what interrupted runs left in the staging area."""
        for path in (self.images_dir, self.containers_dir, self.tmp_dir):
            os.makedirs(path, exist_ok=True)
        marker = os.path.join(self.root, MARKER)
        if not os.path.exists(marker):
            write_json(marker, {'version': STORE_VERSION})
        for entry in os.listdir(self.tmp_dir):
            self.btrfs.remove_tree(os.path.join(self.tmp_dir, entry))

    def _require_lock(self):
        if not self._locked:
            raise DockerliteError('internal error: store mutation without the store lock')

    def _stage(self):
        """A fresh directory under tmp/ to build in; the caller renames it into place."""
        self._require_lock()
        path = os.path.join(self.tmp_dir, secrets.token_hex(8))
        os.mkdir(path)
        return path

    @contextlib.contextmanager
    def _staging(self):
        """A staging directory that is deleted again if building in it fails."""
        staged = self._stage()
        try:
            yield staged
        except BaseException:
            try:
                self.btrfs.remove_tree(staged)
            except (DockerliteError, OSError):
                pass  # the next session's clean-up of tmp/ gets it
            raise

    def _discard(self, path):
        """Make ``path`` disappear atomically (rename into tmp/), then delete it."""
        self._require_lock()
        self.btrfs.check_unmounted(path)
        dest = os.path.join(self.tmp_dir, 'discard-' + secrets.token_hex(8))
        os.rename(path, dest)
        self.btrfs.remove_tree(dest)

    # -- images -----------------------------------------------------------

    def image_dir(self, image_id):
        return os.path.join(self.images_dir, image_id)

    def image_rootfs(self, image_id):
        return os.path.join(self.images_dir, image_id, 'rootfs')

    def list_images(self):
        """Every image's metadata, oldest first, each with its ``rootfs`` path."""
        if not os.path.isdir(self.images_dir):
            return []
        images = []
        for image_id in os.listdir(self.images_dir):
            meta = read_json(os.path.join(self.images_dir, image_id, IMAGE_META))
            meta['rootfs'] = self.image_rootfs(image_id)
            images.append(meta)
        return sorted(images, key=lambda image: (image['created'], image['id']))

    def find_image(self, ref):
        """The image tagged ``ref`` (name:tag); the newest wins if a run died mid-retag."""
        matches = [image for image in self.list_images() if image.get('name') == ref]
        return matches[-1] if matches else None

    def get_image(self, image_id):
        path = os.path.join(self.images_dir, image_id, IMAGE_META)
        if not os.path.exists(path):
            return None
        meta = read_json(path)
        meta['rootfs'] = self.image_rootfs(image_id)
        return meta

    def containers_using(self, image_id):
        return sorted(c['name'] for c in self.list_containers() if c.get('image_id') == image_id)

    def build_image(self, meta, populate):
        """Create a new read-only image: ``populate(rootfs)`` fills a fresh subvolume."""
        with self._staging() as staged:
            rootfs = os.path.join(staged, 'rootfs')
            self.btrfs.create_subvolume(rootfs)
            populate(rootfs)
            self.btrfs.set_read_only(rootfs, True)
            write_json(os.path.join(staged, IMAGE_META), meta)
        return self._install_image(staged, meta)

    def commit_image(self, meta, source_rootfs):
        """Freeze ``source_rootfs`` into a new read-only image (one O(1) snapshot).

        ``container_generation`` records the transaction the snapshot was taken in: the
        source's generation stays at that value until something writes to it.
        """
        with self._staging() as staged:
            rootfs = os.path.join(staged, 'rootfs')
            self.btrfs.snapshot(source_rootfs, rootfs, read_only=True)
            meta = dict(meta, container_generation=self.btrfs.created_transaction(rootfs))
            write_json(os.path.join(staged, IMAGE_META), meta)
        return self._install_image(staged, meta)

    def _install_image(self, staged, meta):
        """Move a complete staged image into place; the rename is the commit point."""
        os.rename(staged, self.image_dir(meta['id']))
        if meta.get('name'):
            self.retire_tag(meta['name'], keep=meta['id'])
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
        write_json(os.path.join(self.image_dir(image['id']), IMAGE_META), meta)
        meta['rootfs'] = self.image_rootfs(image['id'])
        return meta

    def remove_image(self, image_id):
        self._discard(self.image_dir(image_id))

    # -- containers -------------------------------------------------------

    def container_paths(self, name):
        base = os.path.join(self.containers_dir, name)
        return {'dir': base, 'rootfs': os.path.join(base, 'rootfs'), 'config': os.path.join(base, 'config'),
                'log': os.path.join(base, 'lxc.log'), 'meta': os.path.join(base, CONTAINER_META)}

    def list_containers(self):
        if not os.path.isdir(self.containers_dir):
            return []
        return [self.get_container(name) for name in sorted(os.listdir(self.containers_dir))
                if os.path.exists(os.path.join(self.containers_dir, name, CONTAINER_META))]

    def get_container(self, name):
        path = self.container_paths(name)['meta']
        if not os.path.exists(path):
            return None
        meta = read_json(path)
        meta['rootfs'] = self.container_paths(name)['rootfs']
        return meta

    def create_container(self, meta, image, config_text, files=None):
        """Snapshot ``image`` into a new container with its config, then move it into place.

        ``files`` maps more file names in the container's directory (outside the rootfs)
        to their text, such as the hosts file the config bind-mounts.
        """
        paths = self.container_paths(meta['name'])
        if os.path.lexists(paths['dir']):
            raise DockerliteError('container %s already exists at %s' % (meta['name'], paths['dir']))
        with self._staging() as staged:
            self.btrfs.snapshot(image['rootfs'], os.path.join(staged, 'rootfs'))
            if meta['spec'].get('disk_limit'):
                self._limit_disk(os.path.join(staged, 'rootfs'), meta['spec']['disk_limit'])
            for filename, text in sorted((files or {}).items()):
                write_atomic(os.path.join(staged, filename), text)
            write_atomic(os.path.join(staged, 'config'), config_text)
            write_json(os.path.join(staged, CONTAINER_META), meta)
            os.rename(staged, paths['dir'])
        return self.get_container(meta['name'])

    def update_container(self, meta, config_text, files=None):
        """Rewrite ``files`` (as in create_container), config, then metadata; a crash between
        leaves metadata that still differs from the desired spec, so the next run rewrites all."""
        self._require_lock()
        paths = self.container_paths(meta['name'])
        for filename, text in sorted((files or {}).items()):
            write_atomic(os.path.join(paths['dir'], filename), text)
        write_atomic(paths['config'], config_text)
        write_json(paths['meta'], {k: v for k, v in meta.items() if k != 'rootfs'})
        return self.get_container(meta['name'])

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
        write_json(paths['meta'], meta)
        return self.get_container(name)

    def _limit_disk(self, rootfs, limit):
        """Set or remove the qgroup limit of ``rootfs``; quotas are enabled on the store's
        filesystem the first time a limit is set (a rescan of the whole filesystem)."""
        self._require_lock()
        if not self._quotas_on():
            if limit is None:
                return  # without quotas nothing is limited
            self.btrfs.enable_quota(self.root)
            self._quota_on = True
        self.btrfs.set_qgroup_limit(rootfs, limit, via=self.root)
        self._qgroups = None

    def container_disk_usage(self, name):
        """The bytes only container ``name``'s rootfs holds (what disk_limit counts), or None when
        quotas are off on the store's filesystem."""
        rootfs = self.container_paths(name)['rootfs']
        qgroups = self._qgroup_usage()
        if qgroups is None or not os.path.isdir(rootfs):
            return None  # quotas off, or a broken container without its rootfs
        subvolume_id = self.btrfs.subvolume_id(rootfs)
        if subvolume_id not in qgroups:
            qgroups = self._qgroup_usage(refresh=True) or {}
        return qgroups[subvolume_id]['exclusive'] if subvolume_id in qgroups else None

    def _quotas_on(self):
        if self._quota_on is None:
            self._quota_on = self.btrfs.quota_enabled(self.root)
        return self._quota_on

    def _qgroup_usage(self, refresh=False):
        """Every qgroup of the store's filesystem (None while quotas are off), after a sync (the kernel
        updates the numbers when a transaction commits); read once and kept, so listing many
        containers costs one call. With quotas off there is neither sync nor call."""
        if self._qgroups is None or refresh:
            if not self._quotas_on():
                return None
            self.btrfs.sync(self.root)
            self._qgroups = (self.btrfs.qgroups(self.root),)
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
        os.makedirs(self.tmp_dir, exist_ok=True)
        before = self.btrfs.generation(rootfs)
        with self._staging() as staged:
            snapshot = os.path.join(staged, 'rootfs')
            self.btrfs.snapshot(rootfs, snapshot, read_only=True)
            after = self.btrfs.created_transaction(snapshot)
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
        self.btrfs.remove_tree(staged)
