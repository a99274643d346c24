#!/usr/bin/python
# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r'''
module: dockerlite_image
short_description: Build, pull, update and remove dockerlite images (read-only btrfs snapshots)
version_added: 0.1.0
description:
  - An image is a read-only btrfs subvolume holding a root filesystem, plus metadata (C(name:tag), parent, source,
    default command, environment, working directory and user for containers, labels).
  - Images can also be pulled from a registry, an OCI or Docker archive (C(docker save), C(podman save)) or an OCI
    layout directory (O(source=registry), V(oci-archive), V(docker-archive), V(oci-layout)). Each layer becomes a
    read-only subvolume under C(<root>/layers), a snapshot of the layer below it, keyed by its chain id, so images
    that share lower layers share them on disk and a pull adds only the layers the store lacks; blobs the store
    already holds (under C(<root>/blobs)) are not downloaded again. The image is a read-only snapshot of its top
    layer. Registry protocol, authentication and TLS are C(skopeo)'s.
  - A pulled image's config gives its defaults for containers, as C(docker run) takes them; C(Entrypoint) followed
    by C(Cmd) is the default command, C(Env) the environment, C(Labels) the labels; C(WorkingDir), C(User),
    C(StopSignal) (V(SIGTERM) when the config names none) and C(ExposedPorts) are recorded in the image too.
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
    details: Not with O(force=true), which rebuilds (or pulls) the image every time.
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
      - V(registry) pulls O(ref) from a registry; V(oci-archive) and V(docker-archive) import the image in the
        archive file at O(path); V(oci-layout) imports it from the OCI layout directory at O(path). See O(pull) for
        when an existing image is pulled again.
      - V(stream) imports the image stream file at O(path) that M(dockerlite.core.dockerlite_image_export) wrote with
        O(dockerlite.core.dockerlite_image_export#module:format=btrfs-stream) on another host (or store), a btrfs send
        stream, full or incremental from a parent image this store must hold. The image keeps its id; when the store
        holds it already nothing is received (at most it is tagged O(name)). A truncated or corrupt stream, or one whose
        parent is missing, is refused and leaves nothing.
      - Required to build a missing image. With O(force=true) and no O(source), the image is rebuilt the way it was
        built before (a pulled image is pulled again from the reference it was pulled from).
    type: str
    choices: [empty, busybox, debootstrap, archive, directory, registry, oci-archive, docker-archive, oci-layout,
              stream]
  path:
    description:
      - For O(source=archive) a rootfs tarball, for O(source=directory) an existing rootfs tree, for
        O(source=oci-archive) or O(source=docker-archive) an image archive file, for O(source=oci-layout) an OCI
        layout directory, for O(source=stream) an image stream file, on the managed host. It may not contain V(:).
    type: path
  ref:
    description:
      - For O(source=registry), the image in the registry, such as V(registry.example:5000/team/app:1.2), or pinned
        by digest, V(registry.example:5000/team/app@sha256:<digest>); a reference without a registry host is
        Docker Hub's. Defaults to O(name).
      - For the archive and layout sources, the image inside O(path) when it holds several (a V(name:tag) for
        V(docker-archive), the tag or V(@index) as skopeo takes them); the only image by default.
    type: str
  pull:
    description:
      - V(missing) pulls only when the image O(name) does not exist in the store.
      - V(always) asks the source for the digest of O(ref) every time (one manifest request) and pulls only when it
        moved since the last pull (or the platform differs); an unchanged image is left as it is (C(changed=false)).
        When it moved, the tag moves to the new image and the previous one is removed, or kept untagged if a
        container was created from it.
    type: str
    choices: [missing, always]
    default: missing
  platform:
    description:
      - The platform to pull when O(ref) names an image index (a multi-platform image), as V(os/arch) or
        V(os/arch/variant), such as V(linux/arm64). Defaults to the managed host's.
    type: str
  tls_verify:
    description:
      - Require HTTPS and check the registry's certificate (O(source=registry)). V(false) also allows a plain HTTP
        registry.
    type: bool
    default: true
  ca_file:
    description:
      - A PEM file of the CA that signed the registry's certificate, added to the host's CAs for this pull.
    type: path
  username:
    description:
      - User name for the registry, with O(password). Never passed on a command line; written to a private file
        that is deleted after each skopeo call.
      - Without O(username) or O(auth_file) the pull is anonymous; no credentials of the host are used.
    type: str
  password:
    description: Password (or token) for O(username).
    type: str
  auth_file:
    description:
      - An auth file in the C(containers-auth.json) format (as C(podman login) or C(docker login) write), instead of
        O(username) and O(password).
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

- name: Pull an image from a registry on the local network (plain HTTP)
  dockerlite.core.dockerlite_image:
    name: app:1.2
    source: registry
    ref: registry.example:5000/team/app:1.2
    tls_verify: false

- name: Keep an image up to date with its tag in a registry with a private CA and a login
  dockerlite.core.dockerlite_image:
    name: app:stable
    source: registry
    ref: registry.example/team/app:stable
    pull: always
    ca_file: /etc/pki/registry-ca.pem
    username: deploy
    password: "{{ registry_password }}"
    platform: linux/arm64

- name: Import an image saved by docker save or podman save
  dockerlite.core.dockerlite_image:
    name: app:1.2
    source: docker-archive
    path: /srv/app.tar

- name: Import an image shipped from the build host as an image stream
  dockerlite.core.dockerlite_image:
    name: app:2
    source: stream
    path: /var/tmp/app-2.stream

- name: Run the pulled image's own command, as docker run would
  dockerlite.core.dockerlite_container:
    name: app
    image: app:1.2

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
      description: How the image was made (V(busybox), V(debootstrap), V(archive), V(directory), V(empty), V(commit),
        V(registry) and the other pull sources); an image received from a stream keeps the source it had where it was
        made.
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
pull:
  description: What a pull did, or would do in check mode.
  returned: when the image was pulled, or would be
  type: dict
  contains:
    reference:
      description: The skopeo reference pulled from.
      type: str
      sample: docker://registry.example:5000/team/app:1.2
    platform:
      description: The platform pulled.
      type: str
      sample: linux/amd64
    index_digest:
      description: Digest of what the source serves for the reference (an image index or the manifest itself);
        O(pull=always) compares it.
      type: str
    manifest_digest:
      description: Digest of the image manifest pulled, as stored; V(null) in check mode.
      type: str
    layers_added:
      description: Layers the store did not hold and that were made (or would be).
      type: int
    layers_reused:
      description: Layers the store already held and that were shared with other images (or would be).
      type: int
    bytes_downloaded:
      description: Bytes of the blobs (layers, config, manifest) that the store did not hold before and that were
        copied into it; V(null) in check mode.
      type: int
actions:
  description: What the task did (or would do in check mode), in order, such as V(build), V(pull), V(remove_previous),
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
            source=dict(type='str', choices=['empty', 'busybox', 'debootstrap', 'archive', 'directory', 'registry',
                                             'oci-archive', 'docker-archive', 'oci-layout', 'stream']),
            path=dict(type='path'),
            ref=dict(type='str'),
            pull=dict(type='str', choices=['missing', 'always'], default='missing'),
            platform=dict(type='str'),
            tls_verify=dict(type='bool', default=True),
            ca_file=dict(type='path'),
            username=dict(type='str'),
            password=dict(type='str', no_log=True),
            auth_file=dict(type='path'),
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
        required_if=[('source', 'archive', ['path']), ('source', 'directory', ['path']),
                     ('source', 'oci-archive', ['path']), ('source', 'docker-archive', ['path']),
                     ('source', 'oci-layout', ['path'])],
        required_together=[('username', 'password')],
        mutually_exclusive=[('username', 'auth_file')],
        supports_check_mode=True,
    )
    run_module(module, ImageManager)


if __name__ == '__main__':
    main()
