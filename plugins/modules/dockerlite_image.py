#!/usr/bin/python
# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r'''
module: dockerlite_image
short_description: Build, update and remove dockerlite images (read-only btrfs snapshots)
version_added: 0.1.0
description:
  - An image is a read-only btrfs subvolume holding a root filesystem, plus metadata (C(name:tag), parent, source,
    default command, environment, working directory and user for containers, labels).
  - With O(state=present) a missing image is built from O(source); an existing one is left as it is, except that
    O(command), O(env), O(labels), O(workdir) and O(user), when given, are brought up to date in its metadata (the
    root filesystem is never modified). O(force=true) rebuilds it.
  - When a tag moves to a new image (O(force=true)), the previous image is deleted, or kept untagged if a container
    was created from it, like a dangling Docker image.
extends_documentation_fragment:
  - dockerlite.core.store
  - dockerlite.core.store.attributes
attributes:
  idempotent:
    support: partial
    details: Not with O(force=true), which rebuilds the image every time.
options:
  name:
    description:
      - Image name with an optional tag, V(name) or V(name:tag); the tag defaults to V(latest).
      - Names are lower-case letters, digits, V(_), V(.) and V(-), starting with a letter or digit.
      - With O(state=absent), an image whose C(image.json) is damaged is removed too when O(name) is its name (if
        that can still be read) or its 64-hex-digit id (the directory name under C(<root>/images), which the warning
        about it shows).
    type: str
    required: true
  state:
    description:
      - V(present) builds the image if it does not exist.
      - V(absent) removes it. Removing an image that a container was created from is refused unless O(force=true);
        the containers keep their data either way.
    type: str
    choices: [present, absent]
    default: present
  source:
    description:
      - How to build the root filesystem when the image does not exist (or O(force=true)).
      - V(empty) leaves it empty; V(busybox) builds a minimal system from the host's static busybox, offline (like
        LXC's busybox template); V(debootstrap) runs C(debootstrap) with O(suite), O(mirror) and O(variant);
        V(archive) unpacks the tarball at O(path) (compressed or not); V(directory) copies the tree at O(path).
      - Required to build a missing image. With O(force=true) and no O(source), the image is rebuilt the way it was
        built before.
    type: str
    choices: [empty, busybox, debootstrap, archive, directory]
  path:
    description:
      - For O(source=archive) a rootfs tarball, for O(source=directory) an existing rootfs tree, on the managed host.
    type: path
  suite:
    description: Release for O(source=debootstrap).
    type: str
    default: bookworm
  mirror:
    description: Mirror for O(source=debootstrap); debootstrap's default when not given.
    type: str
  variant:
    description: Debootstrap variant for O(source=debootstrap).
    type: str
    default: minbase
  command:
    description:
      - Default command for containers made from this image, as a list of arguments or a string split like a shell
        would. Containers fall back to V(/sbin/init) when the image has none.
    type: raw
  env:
    description: Default environment variables for containers made from this image.
    type: dict
  labels:
    description: Free-form labels recorded with the image.
    type: dict
  workdir:
    description:
      - Default working directory of the command of containers made from this image (an absolute path in the
        container), like C(WORKDIR) in a Dockerfile. V(/) when the image has none.
      - A container made from the image takes it unless it sets
        O(dockerlite.core.dockerlite_container#module:workdir); changing it here does not change existing containers.
    type: str
  user:
    description:
      - Default user the command of containers made from this image runs as, like C(USER) in a Dockerfile;
        V(name), V(uid), V(name:group) or V(uid:gid). Root when the image has none.
      - Names are looked up in the C(/etc/passwd) and C(/etc/group) of the container's root filesystem when the
        container is created (see O(dockerlite.core.dockerlite_container#module:user)); this module only records it.
    type: str
  force:
    description:
      - With O(state=present), rebuild the image even if it exists (reports changed every time).
      - With O(state=absent), remove the image even if containers were created from it.
    type: bool
    default: false
seealso:
  - module: dockerlite.core.dockerlite_container
  - module: dockerlite.core.dockerlite_commit
author:
  - dockerlite.core maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Build a busybox image, offline
  dockerlite.core.dockerlite_image:
    name: busybox
    source: busybox

- name: Build a Debian image with debootstrap
  dockerlite.core.dockerlite_image:
    name: debian:bookworm
    source: debootstrap
    suite: bookworm
    labels:
      os: debian

- name: Import a rootfs tarball
  dockerlite.core.dockerlite_image:
    name: alpine:3.20
    source: archive
    path: /srv/alpine-minirootfs.tar.gz
    command: [/bin/sh]

- name: Give an image a default user and working directory (metadata only, no rebuild)
  dockerlite.core.dockerlite_image:
    name: busybox
    user: nobody
    workdir: /tmp

- name: Remove an image
  dockerlite.core.dockerlite_image:
    name: busybox
    state: absent
'''

RETURN = r'''
image:
  description: The image after the task; V(null) when absent. In check mode C(id), C(rootfs) and C(created) of an
    image that would be built are V(null).
  returned: always
  type: dict
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
      description: Id of the image this one was committed from a container of, if any.
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
actions:
  description: What the task did (or would do in check mode), in order, such as V(build), V(remove_previous),
    V(untag_previous), V(update_metadata), V(remove).
  returned: always
  type: list
  elements: str
  sample: [build]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockerlite.core.plugins.module_utils._common.codecache import install as install_code_cache

# Before the collection's other imports: they load their compiled code from the host's cache.
install_code_cache()

from ansible_collections.dockerlite.core.plugins.module_utils._managers.image import ImageManager
from ansible_collections.dockerlite.core.plugins.module_utils._common.runner import argument_spec, run_module


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            name=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            source=dict(type='str', choices=['empty', 'busybox', 'debootstrap', 'archive', 'directory']),
            path=dict(type='path'),
            suite=dict(type='str', default='bookworm'),
            mirror=dict(type='str'),
            variant=dict(type='str', default='minbase'),
            command=dict(type='raw'),
            env=dict(type='dict'),
            labels=dict(type='dict'),
            workdir=dict(type='str'),
            user=dict(type='str'),
            force=dict(type='bool', default=False),
        ),
        required_if=[('source', 'archive', ['path']), ('source', 'directory', ['path'])],
        supports_check_mode=True,
    )
    run_module(module, ImageManager)


if __name__ == '__main__':
    main()
