# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Where a store keeps what: the layout under ``root``, computed and checked, never read from disk.

Pure: nothing here opens a file or calls a client, so the controller-side plugins
(connection, inventory) and the store itself share one spelling of every path. A name
or id that could leave its directory (``..``, ``/``) is refused before it becomes a path.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import StoreDataError
from ansible_collections.dockerlite.core.plugins.module_utils._common.validation import validate_container_name

MARKER = '.dockerlite.json'
LOCK_FILE = '.lock'
IMAGE_META = 'image.json'
LAYER_META = 'layer.json'
CONTAINER_META = 'container.json'
STACK_RECORD_SUFFIX = '.json'
ID_RE = re.compile(r'[0-9a-f]{64}')


def check_id(value, path, what='id'):
    """``value`` if it is 64 hexadecimal digits; StoreDataError naming ``path`` otherwise."""
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise StoreDataError(path, '%s %s is not 64 hexadecimal digits' % (what, json.dumps(value)[:80]))
    return value


def _digest_hex(digest, path):
    """The hex part of ``sha256:<hex>``; StoreDataError naming ``path`` for any other algorithm."""
    if not isinstance(digest, str) or not digest.startswith('sha256:'):
        raise StoreDataError(path, 'digest %s is not sha256:<64 hexadecimal digits>' % json.dumps(digest)[:80])
    return digest[len('sha256:'):]


class StorePaths:
    """The layout of the store at ``root`` (made absolute)."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self.marker = os.path.join(self.root, MARKER)
        self.lock = os.path.join(self.root, LOCK_FILE)
        self.tmp = os.path.join(self.root, 'tmp')
        self.images = os.path.join(self.root, 'images')
        # Also the LXC path: LXC finds containers/<name>/config.
        self.containers = os.path.join(self.root, 'containers')
        self.stacks = os.path.join(self.root, 'stacks')
        # Image layers (read-only subvolumes keyed by chain id) and the blobs they came from.
        self.layers = os.path.join(self.root, 'layers')
        self.blobs = os.path.join(self.root, 'blobs')

    def own_directories(self):
        """The directories the store makes and uses in root."""
        return (self.tmp, self.images, self.containers, self.stacks, self.layers, self.blobs)

    def image_dir(self, image_id):
        return os.path.join(self.images, check_id(image_id, self.images, 'image id'))

    def image_rootfs(self, image_id):
        return os.path.join(self.image_dir(image_id), 'rootfs')

    def image_meta(self, image_id):
        return os.path.join(self.image_dir(image_id), IMAGE_META)

    def layer_dir(self, chain_id):
        """The directory of the layer whose chain id is ``chain_id`` (``sha256:<hex>``)."""
        return os.path.join(self.layers, check_id(_digest_hex(chain_id, self.layers), self.layers, 'chain id'))

    def layer_rootfs(self, chain_id):
        return os.path.join(self.layer_dir(chain_id), 'rootfs')

    def layer_meta(self, chain_id):
        return os.path.join(self.layer_dir(chain_id), LAYER_META)

    def blob_path(self, digest):
        """Where blob ``digest`` (``sha256:<hex>``) lives: skopeo's shared blob directory layout."""
        return os.path.join(self.blobs, 'sha256', check_id(_digest_hex(digest, self.blobs), self.blobs, 'digest'))

    def container(self, name):
        """{dir, rootfs, config, log, meta} of container ``name``; ValidationError for a bad name."""
        base = os.path.join(self.containers, validate_container_name(name))
        return {'dir': base, 'rootfs': os.path.join(base, 'rootfs'), 'config': os.path.join(base, 'config'),
                'log': os.path.join(base, 'lxc.log'), 'meta': os.path.join(base, CONTAINER_META)}

    def stack_record(self, stack):
        """The membership record of stack ``stack``; ValidationError for a bad name."""
        return os.path.join(self.stacks, validate_container_name(stack, 'stack name') + STACK_RECORD_SUFFIX)
