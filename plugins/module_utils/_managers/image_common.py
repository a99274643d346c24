# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""What the image, commit and info managers share: an image's view and diff, moving a tag, the default command.

Apart from ``image.py`` so that dockerlite_commit and the info modules do not import (nor
carry in their payload) what only dockerlite_image needs: pulls, streams, the image store.
"""

from __future__ import annotations

# What a container runs when neither its task nor its image names a command (busybox init); also the
# command written into the OCI config of such an image when it is pushed. Here, not in container.py, so
# that the modules that push or pull do not import (nor carry) the container manager.
DEFAULT_COMMAND = ['/sbin/init']


def image_view(store, image):
    """The ``image`` return value."""
    return {
        'name': image.get('name'), 'id': image.get('id'), 'rootfs': image.get('rootfs'),
        'parent': image.get('parent'), 'source': image.get('source'), 'created': image.get('created'),
        'labels': image.get('labels') or {}, 'command': image.get('command'), 'env': image.get('env') or {},
        'workdir': image.get('workdir'), 'user': image.get('user'),
        'read_only': store.image_is_read_only(image) if image.get('rootfs') else True,
        # The rootfs's name across stores (see Store.image_origin); None until the image exists.
        'origin': store.image_origin(image['id']) if image.get('rootfs') else None,
    }


def retired_actions(retired):
    """The ``actions`` names of what ``Store.retire_tag`` did to the images that had the tag."""
    return [{'untag': 'untag_previous', 'remove': 'remove_previous'}[action] for action, _image_id in retired]


def compared(image):
    """What the diff shows of an image (no ids or times, so check mode matches the real run)."""
    if not image:
        return {'state': 'absent'}
    shown = {'state': 'present', 'name': image.get('name'), 'source': image.get('source'),
             'command': image.get('command'), 'env': image.get('env') or {}, 'labels': image.get('labels') or {},
             'workdir': image.get('workdir'), 'user': image.get('user')}
    if image.get('oci'):
        # Where it was pulled from, and what the source served then (what pull: always compares).
        shown.update(reference=image['oci'].get('reference'), digest=image['oci'].get('index_digest'))
    return shown


class RetiresTag:
    """The last step of a build or commit: the tag moves to the new image, older holders are retired."""

    def _plan_retire(self, current):
        """Plan what happens to ``current``, the image that holds the tag now (if any)."""
        if current:
            self.actions.append('untag_previous' if self.store.containers_using(current['id']) else 'remove_previous')

    def _retire(self):
        """What Store.retire_tag did; more than planned only if a killed run left several holders."""
        image = self._planned['image']
        return retired_actions(self.store.retire_tag(image['name'], keep=image['id']))

    def apply_untag_previous(self):
        return self._retire()

    def apply_remove_previous(self):
        return self._retire()
