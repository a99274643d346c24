# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_prune: remove what nothing uses: stopped containers, unused images, layers and blobs.

The plan is made in the order the removals happen (containers, then images, then layers and
blobs), each step judging what the earlier ones leave, so one run converges: a second run
finds nothing. The selection is in pure functions (``images_to_prune``, ``layers_to_prune``,
``blobs_to_prune``) over what the store lists.
"""

from __future__ import annotations

from ansible_collections.dockerlite.core.plugins.module_utils._managers.base import Manager
from ansible_collections.dockerlite.core.plugins.module_utils._store.image_store import ImageStore

IMAGE_MODES = ('dangling', 'all', 'none')
# The oci keys of image.json that name blobs kept in <root>/blobs.
OCI_BLOB_KEYS = ('manifest_digest', 'config_digest', 'index_digest')


def images_to_prune(images, used, mode):
    """The images (metadata dicts, as listed) to remove in ``mode``, oldest first.

    ``used``: ids of the images containers were made from (after the containers' own prune).
    ``dangling``: untagged images; ``all``: every image; ``none``: nothing. Never an image in
    ``used``, nor the parent of an image that stays (a commit's parent: pushing the commit
    sends the difference between the two), and so on up the chain.
    """
    if mode == 'none':
        return []
    by_id = {image['id']: image for image in images}
    keep = {image['id'] for image in images
            if image['id'] in used or (mode == 'dangling' and image.get('name') is not None)}
    pending = list(keep)
    while pending:
        parent = by_id.get(pending.pop()).get('parent')
        if parent in by_id and parent not in keep:
            keep.add(parent)
            pending.append(parent)
    return [image for image in images if image['id'] not in keep]


def image_layer_chain_ids(image):
    """The chain ids ``image`` needs (its ``layers``), or None when the field is not what it should be."""
    layers = image.get('layers')
    if layers is None:
        return []
    if not isinstance(layers, list) or not all(isinstance(layer, dict) and isinstance(layer.get('chain_id'), str)
                                               for layer in layers):
        return None
    return [layer['chain_id'] for layer in layers]


def image_blob_digests(image):
    """The blobs ``image`` names: its layers' digests and the manifest, config and index digests."""
    digests = {layer.get('digest') for layer in image.get('layers') or [] if isinstance(layer, dict)}
    oci = image.get('oci') if isinstance(image.get('oci'), dict) else {}
    digests.update(oci.get(key) for key in OCI_BLOB_KEYS)
    return {digest for digest in digests if isinstance(digest, str)}


def layers_to_prune(layers, images):
    """The layers (as listed) that no image of ``images`` (those that stay) needs."""
    needed = set()
    for image in images:
        needed.update(image_layer_chain_ids(image) or [])
    return [layer for layer in layers if layer['chain_id'] not in needed]


def blobs_to_prune(blobs, images, layers):
    """The blobs (as listed) that no image of ``images`` nor layer of ``layers`` (those that stay) names."""
    named = set()
    for image in images:
        named.update(image_blob_digests(image))
    named.update(layer['digest'] for layer in layers if layer['digest'])
    return [blob for blob in blobs if blob['digest'] not in named]


def image_entry(image):
    return {'id': image['id'], 'name': image.get('name')}


class PruneManager(Manager):
    """dockerlite_prune: plan the removals from the store as it is, then carry them out in order."""

    store_class = ImageStore

    def validate(self):
        return {'containers': self.params['containers'], 'images': self.params['images'],
                'layers': self.params['layers']}

    def plan(self, request):
        self._removed = {'containers': [], 'images': [], 'layers': [], 'blobs': []}
        self._space = 0
        containers = self._plan_containers() if request['containers'] else []
        images = self._plan_images(request['images'], containers)
        if request['layers']:
            self._plan_layers_and_blobs(images)
        for key, items in self._removed.items():
            self.tracker.add(key, items, [])
            for item in items:
                self.actions.append('remove_%s %s' % (key[:-1], item['id'] if key == 'images' else item))

    def _plan_containers(self):
        """Stopped containers that no stack lists; returns their names."""
        records, damaged = self.store.stack_records()
        if damaged:
            self.warnings.append('containers are not pruned: the record of stack(s) %s is damaged, so their members '
                                 'cannot be told; converge the stack(s) to rewrite it' % ', '.join(sorted(damaged)))
            return []
        members = {(name, container_id) for record in records.values() for name, container_id in record.items()}
        for container in self.store.list_containers():
            if (container['name'], container['id']) in members:
                continue
            if self.store.container_status(container['name'])[0] == 'stopped':
                self._removed['containers'].append(container['name'])
        return self._removed['containers']

    def _plan_images(self, mode, pruned_containers):
        """Plan the images to remove in ``mode``; returns the images that stay (None if they cannot be told)."""
        images = self.store.list_images()
        used, unknown = self.store.image_ids_in_use()
        remaining = [name for name in unknown if name not in pruned_containers]
        if mode != 'none' and remaining:
            self.warnings.append('images are not pruned: the metadata of container(s) %s is damaged, so the image '
                                 'they were made from cannot be told' % ', '.join(remaining))
            mode = 'none'
        in_use = {image_id for image_id, names in used.items() if set(names) - set(pruned_containers)}
        removed = images_to_prune(images, in_use, mode)
        self._removed['images'] = [image_entry(image) for image in removed]
        removed_ids = {image['id'] for image in removed}
        return [image for image in images if image['id'] not in removed_ids]

    def _plan_layers_and_blobs(self, images):
        damaged = self.store.damaged_image_ids()
        unreadable = [image['id'] for image in images if image_layer_chain_ids(image) is None]
        if damaged or unreadable:
            self.warnings.append('layers and blobs are not pruned: the layers of image(s) %s cannot be read from their '
                                 'metadata' % ', '.join(damaged + unreadable))
            return
        layers = self.store.list_layers()
        removed = layers_to_prune(layers, images)
        removed_ids = {layer['chain_id'] for layer in removed}
        staying = [layer for layer in layers if layer['chain_id'] not in removed_ids]
        self._removed['layers'] = [layer['chain_id'] for layer in removed]
        self._removed['blobs'] = [blob['digest'] for blob in blobs_to_prune(self.store.list_blobs(), images, staying)]

    # -- apply --------------------------------------------------------------

    def apply(self):
        """Remove in the planned order; the space freed is the filesystem's free space after minus before."""
        if not self.actions:
            return
        before = self.store.free_bytes()
        for action in self.actions:
            verb, key = action.split(' ', 1)
            getattr(self, 'apply_' + verb)(key)
            self.done.append(action)
        if any(not action.startswith('remove_blob ') for action in self.done):
            # A deleted subvolume's extents are freed by the btrfs cleaner, in the background.
            self.store.wait_for_cleaner()
        self._space = max(0, self.store.free_bytes() - before)

    def apply_remove_container(self, name):
        self.store.remove_container(name)

    def apply_remove_image(self, image_id):
        self.store.remove_image(image_id)

    def apply_remove_layer(self, chain_id):
        self.store.remove_layer(chain_id)

    def apply_remove_blob(self, digest):
        self.store.remove_blob(digest)

    def report(self):
        return self.result(space_reclaimed=None if self.check_mode else self._space, **self._removed)
