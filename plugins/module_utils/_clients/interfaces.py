# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""What the store asks of each client: the methods ``Store`` calls, with their signatures.

The real clients (``btrfs.BtrfsClient``, ``lxc.LxcClient``, ``lxc_attach.AttachClient``)
and the unit tests' fakes implement these structurally (a unit test compares every
signature); a client call the store needs is added here first, then to both. Failures
are ``DockerliteError`` subclasses, never ``fail_json``.
"""

from __future__ import annotations

from typing import Protocol


class BtrfsInterface(Protocol):
    """Subvolumes, snapshots, generations and quotas of the store's btrfs filesystem."""

    def filesystem(self, path):
        """(mount point, filesystem type) of the filesystem that holds ``path`` (or would)."""

    def create_subvolume(self, path):
        """Create an empty writable subvolume at ``path``."""

    def snapshot(self, source, path, read_only=False):
        """Snapshot subvolume ``source`` at ``path`` (one O(1) copy-on-write copy)."""

    def snapshots(self, pairs, workers):
        """Snapshot each (source, path) of ``pairs``, up to ``workers`` at once."""

    def set_read_only(self, path, read_only=True):
        """Set or clear the read-only flag of subvolume ``path``."""

    def is_read_only(self, path):
        """Whether subvolume ``path`` is read-only."""

    def generation(self, path):
        """The transaction that last wrote subvolume ``path``, made current by a sync first."""

    def created_transaction(self, path):
        """The transaction that created subvolume ``path`` (a snapshot's is its source's new generation)."""

    def subvolume_id(self, path):
        """The id of subvolume ``path``, which is also its level-0 qgroup's."""

    def sync(self, path):
        """Commit the filesystem of ``path`` so that generations and qgroup numbers are current."""

    def qgroups(self, path):
        """{subvolume id: {exclusive, referenced, max_exclusive, max_referenced}}; None when quotas are off."""

    def quota_enabled(self, path):
        """Whether btrfs quotas are on for the filesystem of ``path``."""

    def enable_quota(self, path):
        """Turn quotas on for the filesystem of ``path`` (a rescan of all of it)."""

    def set_qgroup_limit(self, path, limit, via):
        """Limit the exclusive bytes of subvolume ``path`` (None: no limit), through mount point ``via``."""

    def send(self, subvolume, parent=None, no_data=True, timeout=600):
        """The ``btrfs send`` stream (bytes) of read-only ``subvolume`` relative to read-only ``parent``."""

    def free_bytes(self, path):
        """The free bytes of the filesystem of ``path``, after committing its transaction."""

    def wait_for_cleaner(self, path, timeout=120):
        """Wait until the extents of the filesystem's deleted subvolumes are freed (``btrfs subvolume sync``)."""

    def subvolume_uuids(self, path):
        """{uuid, parent_uuid, received_uuid} of subvolume ``path`` (hexadecimal, None when unset)."""

    def send_to(self, subvolume, write, parent=None, timeout=3600):
        """Pass the full ``btrfs send`` stream of ``subvolume`` (incremental from ``parent``) to ``write``."""

    def receive_from(self, directory, chunks, timeout=3600):
        """``btrfs receive`` the stream of the iterable ``chunks`` into ``directory``, confined to it."""

    def remove_tree(self, path):
        """Delete ``path`` and everything below it, subvolumes included; nothing if it is missing."""

    def check_unmounted(self, path):
        """Refuse (DockerliteError) a ``path`` that has something mounted on or below it."""


class LxcInterface(Protocol):
    """The containers of one LXC path (the store's ``containers/``), made with ``factory(lxcpath)``."""

    def status(self, name):
        """(state, pid): state is running, frozen, stopped or orphaned (its monitor died); pid None when stopped."""

    def start(self, name, argv, timeout=10):
        """Start container ``name`` with ``argv`` as PID 1; wait up to ``timeout`` seconds for it to run."""

    def stop(self, name, timeout, halt_signal):
        """Send PID 1 ``halt_signal``, kill the container if it still runs after ``timeout`` seconds."""

    def wait_for_ipv4(self, name, address, interface, timeout):
        """Wait until ``address`` is on ``interface`` inside container ``name``; DockerliteError after ``timeout``."""

    def kill_orphan(self, name):
        """Kill the processes of a container whose LXC monitor died, and remove its cgroups."""

    def freeze(self, name):
        """Freeze every process of running container ``name``."""

    def unfreeze(self, name):
        """Thaw frozen container ``name``."""

    def execute(self, name, argv, timeout=None):
        """Run ``argv`` as PID 1 of stopped container ``name`` until it exits: (rc, stdout, stderr, seconds)."""


class AttachInterface(Protocol):
    """Programs and path tests inside the running containers of one LXC path, made with ``factory(lxcpath)``."""

    def test_paths(self, name, creates=None, removes=None):
        """(whether glob ``creates`` matches, whether glob ``removes`` matches) inside container ``name``."""

    def run(self, name, argv, env, cwd='/', user=None, group=None, stdin=None, timeout=None):
        """Run ``argv`` in container ``name`` with exactly ``env``; an ExecResult (rc, stdout, stderr, ...)."""


class RegistryInterface(Protocol):
    """Registries and image archives (skopeo), made with ``factory(tmpdir)``: its temporary files go to ``tmpdir``."""

    def inspect_raw(self, reference, access=None):
        """The manifest or image index ``reference`` names, byte for byte, with its digest (a Manifest)."""

    def inspect_config(self, reference, access=None, platform=None):
        """The image config (raw bytes) of ``reference``, for ``platform`` when it names an image index."""

    def copy_to_layout(self, reference, layout_dir, tag, access=None, platform=None, shared_blob_dir=None):
        """Copy one image into the OCI layout ``layout_dir`` (blobs into ``shared_blob_dir``); its manifest digest."""

    def copy_from_layout(self, layout_dir, tag, destination, access=None, shared_blob_dir=None):
        """Copy the image tagged ``tag`` in an OCI layout to a registry or an archive; the manifest digest there."""
