#!/usr/bin/python
# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r'''
module: dockerlite_image_info
short_description: List dockerlite images, or look one up
version_added: 0.1.0
description:
  - Returns the images in a dockerlite store, oldest first, or the image tagged O(name).
  - Changes nothing. A store that does not exist yet is reported empty and is not created.
extends_documentation_fragment:
  - dockerlite.core.store
  - dockerlite.core.store.attributes
  - dockerlite.core.store.info_module
options:
  name:
    description:
      - Image name with an optional tag, V(name) or V(name:tag); the tag defaults to V(latest).
      - When not given, every image is returned, untagged ones included.
    type: str
seealso:
  - module: dockerlite.core.dockerlite_image
  - module: dockerlite.core.dockerlite_container_info
author:
  - dockerlite.core maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: List every image
  dockerlite.core.dockerlite_image_info:
  register: all_images

- name: Show their names and ids
  ansible.builtin.debug:
    msg: "{{ all_images.images | map(attribute='name') | zip(all_images.images | map(attribute='id')) }}"

- name: Look up one image
  dockerlite.core.dockerlite_image_info:
    name: busybox
  register: busybox

- name: Build it only when it is missing
  dockerlite.core.dockerlite_image:
    name: busybox
    source: busybox
  when: not busybox.exists
'''

RETURN = r'''
exists:
  description: Whether the image O(name) exists.
  returned: when O(name) is given
  type: bool
  sample: true
images:
  description: The images, oldest first; one or none when O(name) is given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: V(name:tag), or V(null) for an untagged image.
      type: str
      sample: busybox:latest
    id:
      description: Image id (64 hex digits).
      type: str
    rootfs:
      description: Path of the read-only subvolume.
      type: str
      sample: /var/lib/dockerlite/images/4f0c.../rootfs
    parent:
      description: Id of the image this one was committed from a container of, or V(null).
      type: str
    source:
      description: How the image was made (V(busybox), V(debootstrap), V(archive), V(directory), V(empty), V(commit)).
      type: str
    created:
      description: Creation time, ISO 8601, UTC.
      type: str
    labels:
      description: Labels.
      type: dict
    command:
      description: Default command for containers, or V(null).
      type: list
      elements: str
    env:
      description: Default environment for containers.
      type: dict
    workdir:
      description: Default working directory for containers, or V(null) (V(/)).
      type: str
      sample: /srv/app
    user:
      description: Default user for containers (V(name), V(uid), V(name:group) or V(uid:gid)), or V(null) (root).
      type: str
      sample: nobody
    read_only:
      description: Whether the subvolume is read-only (always true for an intact image).
      type: bool
    origin:
      description:
        - The name of the image's rootfs across stores, the uuid of the btrfs subvolume it was first made as (its
          received uuid when it came from another store as an image stream). Two stores hold the same image when
          they hold the same id with the same origin; V(null) for an image not made yet (check mode).
      type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockerlite.core.plugins.module_utils._common.codecache import install as install_code_cache

# Before the collection's other imports: they load their compiled code from the host's cache.
install_code_cache()

from ansible_collections.dockerlite.core.plugins.module_utils._managers.info import ImageInfoManager
from ansible_collections.dockerlite.core.plugins.module_utils._common.runner import argument_spec, run_module


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            name=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    run_module(module, ImageInfoManager)


if __name__ == '__main__':
    main()
