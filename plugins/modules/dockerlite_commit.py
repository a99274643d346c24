#!/usr/bin/python
# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r'''
module: dockerlite_commit
short_description: Freeze a dockerlite container's current state into a new image
version_added: 0.1.0
description:
  - Takes a read-only btrfs snapshot of the container's root filesystem (in constant time, whatever its size) and records it as
    image O(image). The container keeps running.
  - The module is idempotent. Committing a container that has not been written to since its last commit to the same O(image)
    (with the same O(command), O(env), O(labels), O(workdir) and O(user)) changes nothing. This compares btrfs
    generations, not files.
  - When O(image) already names another image, the tag moves to the new one; the previous image is deleted, or kept
    untagged if a container was created from it.
extends_documentation_fragment:
  - dockerlite.core.store
  - dockerlite.core.store.attributes
attributes:
  idempotent:
    support: full
    details: A commit is skipped while the container's root filesystem is unchanged since the last commit to the same
      name (btrfs generation) and the options are the same; a running container that writes anything changes it.
options:
  container:
    description: Name of the container to commit.
    type: str
    required: true
  image:
    description: Name of the new image, V(name) or V(name:tag); the tag defaults to V(latest).
    type: str
    required: true
  pause:
    description: Freeze a running container while the snapshot is taken, and thaw it right after.
    type: bool
    default: true
  command:
    description: Default command of the new image; the container's command if not given.
    type: raw
  env:
    description: Default environment of the new image; the container's environment if not given.
    type: dict
  labels:
    description: Labels of the new image, added to those of the container's image.
    type: dict
  workdir:
    description:
      - Default working directory of the new image (an absolute path); the container's
        O(dockerlite.core.dockerlite_container#module:workdir) (its own, or its image's) if not given, as with
        C(docker commit).
    type: str
  user:
    description:
      - Default user of the new image (V(name), V(uid), V(name:group) or V(uid:gid)); the container's
        O(dockerlite.core.dockerlite_container#module:user) (its own, or its image's) if not given, as with
        C(docker commit).
    type: str
seealso:
  - module: dockerlite.core.dockerlite_container
  - module: dockerlite.core.dockerlite_image
author:
  - dockerlite.core maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Commit a running container as a new image
  dockerlite.core.dockerlite_commit:
    container: web
    image: web:v1
    labels:
      built-by: ansible

- name: Start a second container from the commit
  dockerlite.core.dockerlite_container:
    name: web2
    image: web:v1
'''

RETURN = r'''
image:
  description: The committed image (see M(dockerlite.core.dockerlite_image) for the keys). In check mode C(id),
    C(rootfs) and C(created) of an image that would be committed are V(null).
  returned: always
  type: dict
  contains:
    name:
      description: V(name:tag).
      type: str
    id:
      description: Image id.
      type: str
    rootfs:
      description: Path of the read-only subvolume.
      type: str
    parent:
      description: Id of the image the container was created from.
      type: str
    source:
      description: Always V(commit).
      type: str
    created:
      description: Creation time, ISO 8601, UTC.
      type: str
    labels:
      description: Labels.
      type: dict
    command:
      description: Default command for containers.
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
      description: Whether the subvolume is read-only.
      type: bool
    origin:
      description:
        - The name of the image's rootfs across stores, the uuid of the btrfs subvolume it was first made as (its
          received uuid when it came from another store as an image stream). Two stores hold the same image when
          they hold the same id with the same origin; V(null) for an image not made yet (check mode).
      type: str
actions:
  description: What the task did (or would do in check mode), such as V(commit), V(remove_previous),
    V(untag_previous).
  returned: always
  type: list
  elements: str
  sample: [commit]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockerlite.core.plugins.module_utils._common.codecache import install as install_code_cache

# Before the collection's other imports: they load their compiled code from the host's cache.
install_code_cache()

from ansible_collections.dockerlite.core.plugins.module_utils._managers.commit import CommitManager
from ansible_collections.dockerlite.core.plugins.module_utils._common.runner import argument_spec, run_module


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            container=dict(type='str', required=True),
            image=dict(type='str', required=True),
            pause=dict(type='bool', default=True),
            command=dict(type='raw'),
            env=dict(type='dict'),
            labels=dict(type='dict'),
            workdir=dict(type='str'),
            user=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    run_module(module, CommitManager)


if __name__ == '__main__':
    main()
