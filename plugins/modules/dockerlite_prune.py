#!/usr/bin/python
# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r'''
module: dockerlite_prune
short_description: Remove what nothing uses from a dockerlite store
version_added: 0.1.0
description:
  - Removes, in this order, stopped containers (only with O(containers=true)), images that no container was made from
    (untagged ones by default, every one with O(images=all)), layers that no image needs and blobs that no image or
    layer names, like C(docker system prune). Each step judges what the earlier ones leave, so one run converges and a
    second run removes nothing.
  - Never removes a running, frozen or orphaned container, a container that a stack's record lists (the stack owns it;
    C(dockerlite.core.dockerlite_stack) with O(dockerlite.core.dockerlite_stack#module:state=absent) removes it), an
    image a remaining container was made from, the parent image of an image that stays (a commit's parent), a layer
    that an image lists in its layers, or a blob that an image (its layers' digests, its manifest, config and index
    digests) or a remaining layer names.
  - Works under the store's lock like every other module, so it never removes anything while another run holds it;
    each object is renamed into the store's C(tmp/) and deleted there.
  - When something cannot be told because metadata is damaged, that step is skipped with a warning instead of guessing
    (a damaged stack record keeps every container, a damaged container every image, a damaged image every layer and
    blob).
extends_documentation_fragment:
  - dockerlite.core.store
  - dockerlite.core.store.attributes
attributes:
  check_mode:
    support: full
    details: Check mode lists exactly what the real run would remove. RV(space_reclaimed) is only measured by a real
      run.
options:
  containers:
    description:
      - Remove stopped containers (state C(stopped)), with their root filesystems.
      - Containers listed by a stack's record are kept.
    type: bool
    default: false
  images:
    description:
      - Which images that no (remaining) container was made from to remove.
      - V(dangling) removes untagged images (those that lost their name to a rebuild or commit while a container
        used them); V(all) removes tagged ones too; V(none) removes no image.
      - The parent of an image that stays is kept in either mode.
    type: str
    choices: [dangling, all, none]
    default: dangling
  layers:
    description:
      - Remove the layers (under C(<root>/layers)) that no remaining image needs, and the blobs (under
        C(<root>/blobs)) that no remaining image or layer names.
    type: bool
    default: true
notes:
  - RV(space_reclaimed) is measured, not estimated, since on btrfs a removed image or container frees only the extents
    that nothing else shares. The module reads the filesystem's free bytes (statvfs, after committing the transaction)
    before the first removal and again after the last, having waited for the btrfs cleaner to drop the deleted
    subvolumes (C(btrfs subvolume sync), from milliseconds to seconds, only when a subvolume was removed). What other
    processes wrote to or freed on the same filesystem meanwhile counts too, so it is the filesystem's gain, never
    below 0.
seealso:
  - module: dockerlite.core.dockerlite_image
  - module: dockerlite.core.dockerlite_container
author:
  - dockerlite.core maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Remove untagged images no container uses, and the layers and blobs only they needed
  dockerlite.core.dockerlite_prune:

- name: See what a full prune would remove
  dockerlite.core.dockerlite_prune:
    containers: true
    images: all
  check_mode: true
  register: would

- name: Remove stopped containers and every image no container uses
  dockerlite.core.dockerlite_prune:
    containers: true
    images: all
  register: pruned

- name: Show what it freed
  ansible.builtin.debug:
    msg: "{{ pruned.images | length }} images, {{ pruned.space_reclaimed | human_readable }}"
'''

RETURN = r'''
containers:
  description: Names of the containers removed (in check mode, that would be removed).
  returned: always
  type: list
  elements: str
  sample: [web-old]
images:
  description: The images removed (in check mode, that would be removed), oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Image id.
      type: str
    name:
      description: V(name:tag), or V(null) for an untagged image.
      type: str
layers:
  description: Chain ids (V(sha256:<hex>)) of the layers removed (in check mode, that would be removed).
  returned: always
  type: list
  elements: str
blobs:
  description: Digests (V(sha256:<hex>)) of the blobs removed (in check mode, that would be removed).
  returned: always
  type: list
  elements: str
space_reclaimed:
  description:
    - Bytes the store's filesystem gained, its free bytes after the removals minus before (see the notes).
    - V(0) when nothing was removed; V(null) in check mode.
  returned: always
  type: int
  sample: 3145728
actions:
  description: What the task did (or would do in check mode), in order, such as V(remove_container web-old),
    V(remove_image <id>), V(remove_layer sha256:<hex>), V(remove_blob sha256:<hex>).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockerlite.core.plugins.module_utils._common.codecache import install as install_code_cache

# Before the collection's other imports: they load their compiled code from the host's cache.
install_code_cache()

from ansible_collections.dockerlite.core.plugins.module_utils._managers.prune import IMAGE_MODES, PruneManager
from ansible_collections.dockerlite.core.plugins.module_utils._common.runner import argument_spec, run_module


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            containers=dict(type='bool', default=False),
            images=dict(type='str', choices=list(IMAGE_MODES), default='dangling'),
            layers=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    run_module(module, PruneManager)


if __name__ == '__main__':
    main()
