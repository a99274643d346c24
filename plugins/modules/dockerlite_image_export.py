#!/usr/bin/python
# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r'''
module: dockerlite_image_export
short_description: Export a dockerlite image as an OCI or Docker archive file, or as an image stream for another store
version_added: 0.1.0
description:
  - Writes a local image to an archive file, as C(podman save) or C(docker save) would, through C(skopeo). The image's
    layers are the ones M(dockerlite.core.dockerlite_image_push) pushes (and are made and kept the same way).
  - The archive is written to a temporary file beside O(path) and renamed over it when complete, so O(path) holds
    either the previous file or the whole new archive.
  - Idempotent, when O(path) already holds an archive of this image (the same manifest digest in an OCI archive's
    C(index.json), the same config digest in a Docker archive's C(manifest.json)), nothing is written.
  - With O(format=btrfs-stream) it writes an image stream instead, for M(dockerlite.core.dockerlite_image) with
    O(dockerlite.core.dockerlite_image#module:source=stream) on another host, with the image's rootfs as a btrfs send stream,
    incremental from O(parent) when given (then the receiving store must hold O(parent), received from this one or from
    the same origin), framed with the image's metadata, a length and a sha256. Idempotent when O(path) holds the
    stream of this image from this parent already. The P(dockerlite.core.ship_plan#filter) filter and the
    C(dockerlite_ship) role choose the parent for each host.
extends_documentation_fragment:
  - dockerlite.core.store
  - dockerlite.core.store.attributes
attributes:
  idempotent:
    support: partial
    details: Not with O(force=true).
options:
  name:
    description: The local image, V(name:tag) (the tag defaults to V(latest)) or its image id.
    type: str
    required: true
  path:
    description: The archive file to write, on the managed host; its directory must exist. It cannot hold V(:) (but for
      O(format=btrfs-stream)).
    type: path
    required: true
  format:
    description:
      - V(oci-archive), a tar of an OCI image layout (C(podman save --format oci-archive)).
      - V(docker-archive), what C(docker save) writes (the image's name and tag are recorded in it).
      - V(btrfs-stream), an image stream (see above); only M(dockerlite.core.dockerlite_image) reads it.
    type: str
    choices: [oci-archive, docker-archive, btrfs-stream]
    default: oci-archive
  parent:
    description:
      - For O(format=btrfs-stream), the image (V(name:tag) or id) the stream is incremental from; it then holds only
        what differs from it. Without it, the stream is full.
    type: str
  force:
    description: Write the archive even when O(path) already holds this image.
    type: bool
    default: false
requirements:
  - C(skopeo) on the managed host (the C(dockerlite_prerequisites) role installs it), for the OCI and Docker formats.
seealso:
  - module: dockerlite.core.dockerlite_image_push
author:
  - dockerlite.core maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Save an image for podman load
  dockerlite.core.dockerlite_image_export:
    name: web:v1
    path: /srv/images/web-v1.tar

- name: Save an image for docker load
  dockerlite.core.dockerlite_image_export:
    name: web:v1
    path: /srv/images/web-v1.docker.tar
    format: docker-archive

- name: Write version 2 as an image stream that holds only what changed since version 1
  dockerlite.core.dockerlite_image_export:
    name: app:2
    parent: app:1
    format: btrfs-stream
    path: /var/tmp/app-2.stream
'''

RETURN = r'''
image:
  description: The local image exported.
  returned: always
  type: dict
  contains:
    name:
      description: V(name:tag), or V(null) for an untagged image.
      type: str
    id:
      description: Image id.
      type: str
archive:
  description: The archive file (O(path)), as an absolute path.
  returned: always
  type: str
format:
  description: The archive format.
  returned: always
  type: str
parent:
  description: For O(format=btrfs-stream), the image the stream is incremental from (V(null) for a full stream and for
    the other formats).
  returned: when O(format=btrfs-stream)
  type: dict
  contains:
    name:
      description: V(name:tag), or V(null) for an untagged image.
      type: str
    id:
      description: Image id.
      type: str
stream_digest:
  description: For O(format=btrfs-stream), the sha256 of the send stream written (V(null) when nothing was written).
  returned: when O(format=btrfs-stream)
  type: str
bytes:
  description: For O(format=btrfs-stream), the size of the stream file in bytes (V(null) in check mode when it is still
    to be written).
  returned: when O(format=btrfs-stream)
  type: int
manifest_digest:
  description: Digest of the image's OCI manifest (an OCI archive holds it unchanged); V(null) in check mode while
    layers are still to be made, and for O(format=btrfs-stream).
  returned: always
  type: str
config_digest:
  description: Digest of the image's config blob; V(null) as RV(manifest_digest).
  returned: always
  type: str
layers:
  description: The image's layers, bottom first (empty for O(format=btrfs-stream)).
  returned: always
  type: list
  elements: dict
  contains:
    digest:
      description: Digest of the (compressed) layer blob; V(null) in check mode for a layer still to be made.
      type: str
    size:
      description: Size of the layer blob in bytes; V(null) as RV(layers[].digest).
      type: int
    media_type:
      description: The layer's media type.
      type: str
    made:
      description: Whether this run made the layer (or would, in check mode).
      type: bool
bytes_made:
  description: Bytes of the layers this run made.
  returned: always
  type: int
actions:
  description: What the task did (or would do in check mode), V(make_layers) and V(export) (only V(export) for
    O(format=btrfs-stream)).
  returned: always
  type: list
  elements: str
  sample: [make_layers, export]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockerlite.core.plugins.module_utils._common.codecache import install as install_code_cache

# Before the collection's other imports: they load their compiled code from the host's cache.
install_code_cache()

from ansible_collections.dockerlite.core.plugins.module_utils._managers.push import ExportManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.stream import STREAM_FORMAT, StreamExportManager
from ansible_collections.dockerlite.core.plugins.module_utils._common.runner import argument_spec, run_module


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            name=dict(type='str', required=True),
            path=dict(type='path', required=True),
            format=dict(type='str', choices=['oci-archive', 'docker-archive', 'btrfs-stream'], default='oci-archive'),
            parent=dict(type='str'),
            force=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    run_module(module, StreamExportManager if module.params['format'] == STREAM_FORMAT else ExportManager)


if __name__ == '__main__':
    main()
