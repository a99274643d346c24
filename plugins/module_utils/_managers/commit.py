# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_commit: freeze a container's rootfs into a new read-only image."""

from __future__ import annotations

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image_common import RetiresTag, image_view
from ansible_collections.dockerlite.core.plugins.module_utils._managers.base import Manager
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import new_id, utc_now
from ansible_collections.dockerlite.core.plugins.module_utils._common.validation import (
    image_ref, normalize_command, normalize_env, normalize_labels, normalize_user, normalize_workdir,
    validate_container_name)


# The options a commit records; the same values again (and no write) commit nothing.
COMPARED_METADATA = ('command', 'env', 'labels', 'workdir', 'user')


def compared(image, generation=None):
    """What the diff shows of the target image; ids and times are left out so check mode matches."""
    if not image:
        return {'state': 'absent'}
    return {'state': 'present', 'name': image.get('name'), 'container': image.get('container'),
            'command': image.get('command'), 'env': image.get('env') or {}, 'labels': image.get('labels') or {},
            'workdir': image.get('workdir'), 'user': image.get('user'),
            'container_generation': generation if generation is not None else image.get('container_generation')}


class CommitManager(RetiresTag, Manager):
    """dockerlite_commit: plan a commit (nothing when the image is up to date), then take the snapshot."""

    def validate(self):
        params = self.params
        name = validate_container_name(params['container'], 'container')
        ref = image_ref(params['image'])
        given = {'command': normalize_command(params['command']), 'env': normalize_env(params['env']),
                 'labels': normalize_labels(params['labels']),
                 'workdir': normalize_workdir(params.get('workdir')), 'user': normalize_user(params.get('user'))}
        return name, ref, given

    def plan(self, request):
        name, ref, given = request
        container = self.store.get_container(name)
        if container is None:
            raise ValidationError('container %s does not exist in %s' % (name, self.store.root))
        self._plan_commit(ref, container, given)

    def _plan_commit(self, ref, container, given):
        spec, defaults = container['spec'], container['image_defaults']
        meta = {
            'id': new_id(), 'name': ref, 'parent': container['image_id'], 'source': 'commit',
            'container': container['name'], 'container_id': container['id'], 'created': utc_now(),
            'command': given['command'] or spec['command'],
            'env': spec['env'] if given['env'] is None else given['env'],
            'labels': dict(defaults.get('labels') or {}, **(given['labels'] or {})),
            'stop_signal': defaults['stop_signal'],
            # Like docker commit: the container's own (its image's unless it set them), unless given.
            'workdir': given['workdir'] or spec.get('workdir'),
            'user': given['user'] or spec.get('user'),
        }
        existing = self.store.find_image(ref)
        # The rootfs generation only moves when something is written to it (it is made
        # current by a sync first); the commit recorded the value it left behind.
        generation = self.store.container_generation(container['name'])
        up_to_date = (existing is not None and existing.get('container_id') == container['id']
                      and existing.get('container_generation') == generation
                      and all(existing.get(key) == meta[key] for key in COMPARED_METADATA))
        self.tracker.add('image', compared(existing), compared(meta, generation) if not up_to_date
                         else compared(existing))
        # Until it is committed the image has no id, rootfs or creation time to show.
        self._planned = {'image': existing if up_to_date else dict(meta, id=None, created=None, rootfs=None),
                         'container': container, 'meta': meta}
        if up_to_date:
            return
        self.actions.append('commit')
        self._plan_retire(existing)

    def apply_commit(self):
        self._planned['image'] = self._snapshot(self._planned['container'], self._planned['meta'])

    def report(self):
        return self.result(image=image_view(self.store, self._planned['image']))

    def _snapshot(self, container, meta):
        """Take the snapshot, with a running container frozen for that instant if ``pause``."""
        froze = False
        if self.params['pause'] and self.store.container_status(container['name'])[0] == 'running':
            self.store.freeze_container(container['name'])
            froze = True
        try:
            return self.store.commit_image(meta, container['rootfs'])
        finally:
            if froze:
                self.store.unfreeze_container(container['name'])
