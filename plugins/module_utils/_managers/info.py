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
from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import container_view
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image_common import image_view
from ansible_collections.dockerlite.core.plugins.module_utils._managers.base import Manager
from ansible_collections.dockerlite.core.plugins.module_utils._common.validation import (
    image_ref,
    validate_container_name,
)


class InfoManager(Manager):
    """An info manager plans nothing: validate, then read the store (as check mode does) and report.

    Its result has no actions or diff; ``plan`` finds the objects, ``report`` shows them.
    """

    read_only = True

    def apply(self):
        """Nothing to carry out."""

    def result(self, **values):
        result = dict(changed=False, **values)
        if self.warnings:
            result['warnings'] = list(self.warnings)
        return result


class ImageInfoManager(InfoManager):
    def validate(self):
        return image_ref(self.params['name']) if self.params['name'] else None

    def plan(self, request):
        self._ref = request
        found = [self.store.find_image(request)] if request else self.store.list_images()
        self._images = [image_view(self.store, image) for image in found if image]

    def report(self):
        if self._ref:
            return self.result(images=self._images, exists=bool(self._images))
        return self.result(images=self._images)


class ContainerInfoManager(InfoManager):
    def validate(self):
        return validate_container_name(self.params['name']) if self.params['name'] else None

    def plan(self, request):
        self._name = request
        found = [self.store.get_container(request)] if request else self.store.list_containers()
        self._containers = [self._describe(meta) for meta in found if meta]

    def report(self):
        if self._name:
            return self.result(containers=self._containers, exists=bool(self._containers))
        return self.result(containers=self._containers)

    def _describe(self, meta):
        state, pid = self.store.container_status(meta['name'])
        view = container_view(self.store, meta, state, pid)
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
