# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_image_info and dockerlite_container_info: read the store, change nothing.

Both read under the store lock (taken as check mode does, so a store that does not
exist is reported empty and is not created), so they never see a half-made object.
"""

from __future__ import annotations

import contextlib

from ansible_collections.dockerlite.core.plugins.module_utils._store.changes import display_path, stream_changes
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError, StoreDataError
from ansible_collections.dockerlite.core.plugins.module_utils._store.idmap import LEGACY_SPEC
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image import image_view
from ansible_collections.dockerlite.core.plugins.module_utils._managers.base import Manager
from ansible_collections.dockerlite.core.plugins.module_utils._store.network import container_ipv4
from ansible_collections.dockerlite.core.plugins.module_utils._common.validation import (
    image_ref,
    validate_container_name,
)


def container_view(meta, state, pid):
    """A container as dockerlite_container_info returns it (the runtime spec keys included)."""
    view = dict(LEGACY_SPEC, **(meta.get('spec') or {}))
    view.update({
        'idmap': meta.get('idmap'),
        'name': meta['name'], 'id': meta['id'], 'image': meta.get('image'), 'image_id': meta.get('image_id'),
        'state': state, 'pid': pid, 'ipv4': container_ipv4(view.get('network')), 'created': meta.get('created'),
        'rootfs': meta['rootfs'],
    })
    return view


class InfoManager(Manager):
    """An info manager plans nothing: its result has no actions or diff."""

    def result(self, **values):
        result = dict(changed=False, **values)
        if self.warnings:
            result['warnings'] = list(self.warnings)
        return result


class ImageInfoManager(InfoManager):
    def run(self):
        ref = image_ref(self.params['name']) if self.params['name'] else None
        with self.store.session(check_mode=True):
            found = [self.store.find_image(ref)] if ref else self.store.list_images()
            images = [image_view(self.store, image) for image in found if image]
        if ref:
            return self.result(images=images, exists=bool(images))
        return self.result(images=images)


class ContainerInfoManager(InfoManager):
    def run(self):
        name = validate_container_name(self.params['name']) if self.params['name'] else None
        with self.store.session(check_mode=True):
            found = [self.store.get_container(name)] if name else self.store.list_containers()
            containers = [self._describe(meta) for meta in found if meta]
        if name:
            return self.result(containers=containers, exists=bool(containers))
        return self.result(containers=containers)

    def _describe(self, meta):
        state, pid = self.store.container_status(meta['name'])
        view = container_view(meta, state, pid)
        view['disk_usage'] = self.store.container_disk_usage(meta['name'])
        if self.params['changes']:
            view['changes'] = self._changes(meta, state)
        return view

    def _changes(self, meta, state):
        """Added, modified and deleted paths relative to the image, or None without the image."""
        name = meta['name']
        try:
            image = self.store.get_image(meta['image_id'])
        except StoreDataError as exc:
            self.warnings.append('container %s: its image is damaged (%s); changes is null' % (name, exc.msg))
            return None
        if image is None:
            self.warnings.append('container %s: its image %s (id %s) no longer exists, so there is nothing to '
                                 'compare with; changes is null' % (name, meta.get('image'), meta['image_id']))
            return None
        if not self.store.image_is_read_only(image):
            raise DockerliteError('container %s: the rootfs of its image %s is not read-only, so btrfs cannot '
                                  'compare with it' % (name, image['rootfs']))
        with self._quiet(name, state):
            snapshot = self.store.snapshot_container(name)
        try:
            stream = self.store.snapshot_send_stream(snapshot, image)
            changes = stream_changes(stream, image['rootfs'], snapshot)
        finally:
            self.store.discard_snapshot(snapshot)
        return {key: [display_path(path) for path in paths] for key, paths in changes.items()}

    @contextlib.contextmanager
    def _quiet(self, name, state):
        """Freeze a running container for the instant of the snapshot, so that nothing is half-written."""
        if state != 'running':
            yield
            return
        self.store.freeze_container(name)
        try:
            yield
        finally:
            self.store.unfreeze_container(name)
