# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Image streams: ``dockerlite_image_export`` with ``format: btrfs-stream``, ``dockerlite_image`` with ``source: stream``."""

from __future__ import annotations

import os

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._managers.base import Manager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.push import check_archive_path, find_image
from ansible_collections.dockerlite.core.plugins.module_utils._store.image_store import ImageStore

STREAM_FORMAT = 'btrfs-stream'


class StreamExportManager(Manager):
    """dockerlite_image_export with format btrfs-stream: the image's rootfs as an image stream,
    incremental from ``parent``; nothing when ``path`` holds that stream already (unless ``force``)."""

    store_class = ImageStore

    def validate(self):
        params = self.params
        return params['name'], params['parent'], check_archive_path(params['path'], skopeo=False), params['force']

    def plan(self, request):
        name, parent_name, self.path, force = request
        self.image = find_image(self.store, name)
        self.parent = find_image(self.store, parent_name) if parent_name else None
        if self.parent is not None and self.parent['id'] == self.image['id']:
            raise ValidationError('parent %s is the image itself; give an older image or no parent' % parent_name)
        self.stream = None
        found = self.store.stream_file_identity(self.path) if os.path.lexists(self.path) else None
        wanted = self.store.stream_identity(self.image['id'], self.parent['id'] if self.parent else None)
        self.tracker.add('archive', {'path': self.path, 'stream': found}, {'path': self.path, 'stream': wanted})
        if force or found != wanted:
            self.actions.append('export')

    def apply_export(self):
        self.stream = self.store.export_image_stream(self.image['id'], self.path,
                                                     self.parent['id'] if self.parent else None)

    def report(self):
        return self.result(
            archive=self.path, format=STREAM_FORMAT,
            image={'name': self.image.get('name'), 'id': self.image['id']},
            parent={'name': self.parent.get('name'), 'id': self.parent['id']} if self.parent else None,
            stream_digest=self.stream['digest'] if self.stream else None,
            bytes=self.stream['bytes'] if self.stream else (os.path.getsize(self.path) if os.path.isfile(self.path)
                                                            and not self.actions else None),
            manifest_digest=None, config_digest=None, layers=[], bytes_made=0)


class ReceivesStream:
    """dockerlite_image with source stream: import an image stream made by dockerlite_image_export.

    The image keeps the id it has in the store it came from. When the store holds that image
    already (same id, same origin) nothing is received; it is only tagged O(name) if it is not.
    """

    def _plan_receive(self, ref, current, given, compared):
        path = self.params['path']
        if not path:
            raise ValidationError('source stream needs path')
        header = self.store.inspect_image_stream(os.path.abspath(path))
        incoming = dict(header['image'], name=ref)
        held = self.store.get_image(incoming['id'])
        before = held if held is not None else current
        self._planned.update(receive=None, stream_path=os.path.abspath(path))
        changes = {key: value for key, value in given.items() if value is not None and value != incoming.get(key)}
        if held is None:
            self.actions.append('receive')
            self._planned['receive'] = (ref, changes)
            if current is not None:
                self._plan_retire(current)
            after = dict(incoming, **changes)
            self._planned['image'] = dict(after, rootfs=None)
        else:
            retag = held.get('name') != ref
            changes = {key: value for key, value in given.items() if value is not None and value != held.get(key)}
            if retag:
                changes['name'] = ref
            after = dict(held, **changes)
            if changes:
                self.actions.append('update_metadata')
            if retag and current is not None and current['id'] != held['id']:
                self._plan_retire(current)
            self._planned.update(image=after, current=held, changes=changes)
        self.tracker.add('image', compared(before), compared(after))

    def apply_receive(self):
        ref, changes = self._planned['receive']
        image, _made = self.store.import_image_stream(self._planned['stream_path'])
        changes = dict(changes, name=ref) if image.get('name') != ref else changes
        self._planned['image'] = self.store.update_image(image, **changes) if changes else image
