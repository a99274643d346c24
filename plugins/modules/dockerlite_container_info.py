#!/usr/bin/python
# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r'''
module: dockerlite_container_info
short_description: List dockerlite containers, or look one up, optionally with what changed in them
version_added: 0.1.0
description:
  - Returns the containers in a dockerlite store, sorted by name, or the container O(name), with their state.
  - With O(changes=true), each container also carries the paths that were added, modified and deleted in it since it
    was created from its image, like C(docker diff) but exact, deletions included.
  - A store that does not exist yet is reported empty and is not created.
extends_documentation_fragment:
  - dockerlite.core.store
  - dockerlite.core.store.attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
options:
  name:
    description: Name of the container. When not given, every container is returned.
    type: str
  changes:
    description:
      - Compare each container's root filesystem with its image and return the differences as RV(containers[].changes).
      - This takes a read-only btrfs snapshot of the container under C(<root>/tmp) for an instant, freezing a running
        container meanwhile (about a millisecond), runs C(btrfs send --no-data -p <image> <snapshot>) and reads the
        stream; the snapshot is deleted again, also when something fails. The cost grows with the number of changes,
        not with the size of the container.
    type: bool
    default: false
notes:
  - Paths in RV(containers[].changes) are absolute paths as seen inside the container, each list sorted. A path is
    V(added) when the image does not have it, V(deleted) when the image has it and the container no longer does (every
    path below a deleted directory is listed too), and V(modified) when both have it and the inode changed in any way
    (contents, size, mode, owner, times other than the access time, extended attributes, link count) or the path now
    holds a different file.
  - A directory whose entries were added, removed or renamed is V(modified), as its modification time changed (Docker
    lists such a directory as changed too). A renamed file or directory shows as its old path deleted and its new path
    added, with every path below a renamed directory listed. A new hard link is added, and the file it links to is
    modified (its link count changed). The root directory itself is never listed, since LXC changes its times at
    every start.
  - Reading files does not count as a change, even through a store mounted without C(noatime).
  - When the container's image was removed (O(dockerlite.core.dockerlite_image#module:force=true)), there is
    nothing to compare with; RV(containers[].changes) is then V(null) and the module warns.
  - Taking the snapshot moves the container's btrfs generation, which M(dockerlite.core.dockerlite_commit) reads as a
    write; an image committed from the container whose generation was still current is updated to the new value, so a
    later commit of the unchanged container still changes nothing.
seealso:
  - module: dockerlite.core.dockerlite_container
  - module: dockerlite.core.dockerlite_image_info
  - module: dockerlite.core.dockerlite_commit
author:
  - dockerlite.core maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: List every container with its state
  dockerlite.core.dockerlite_container_info:
  register: all_containers

- name: Show the running ones
  ansible.builtin.debug:
    msg: "{{ all_containers.containers | selectattr('state', 'equalto', 'running') | map(attribute='name') }}"

- name: See what changed in a container since it was created
  dockerlite.core.dockerlite_container_info:
    name: web
    changes: true
  register: web

- name: Commit it only when something changed
  dockerlite.core.dockerlite_commit:
    container: web
    image: web:snapshot
  when: >-
    web.exists and (web.containers[0].changes.added or web.containers[0].changes.modified
    or web.containers[0].changes.deleted)
'''

RETURN = r'''
exists:
  description: Whether the container O(name) exists.
  returned: when O(name) is given
  type: bool
  sample: true
containers:
  description:
    - The containers, sorted by name; one or none when O(name) is given.
    - Each also holds the runtime settings that M(dockerlite.core.dockerlite_container) returns (C(command), C(env),
      C(mounts), C(hostname), C(memory), C(disk_limit), C(cpus), C(pids_limit), C(capabilities), C(cap_drop),
      C(autostart), C(privileged), C(isolated_idmap), C(idmap), C(stop_signal), and C(network) where the container
      has one). A container made before containers ran unprivileged by default shows C(privileged=true) and
      C(idmap=null).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Container name.
      type: str
    id:
      description: Container id (64 hex digits).
      type: str
    image:
      description: The image (V(name:tag)) the container was created from.
      type: str
    image_id:
      description: Id of that image.
      type: str
    state:
      description:
        - V(running), V(stopped), V(frozen), or V(orphaned).
        - V(orphaned) means that the container's LXC monitor died and left its processes (C(pid) is then its
          surviving PID 1) or its cgroups behind. Any run of M(dockerlite.core.dockerlite_container) on it kills
          them first (action V(kill_orphan)), then converges as from V(stopped).
      type: str
    pid:
      description: Host PID of the container's PID 1, or V(null) when stopped.
      type: int
    ipv4:
      description: The container's IPv4 address without prefix, or V(null) when it has none (network mode V(none)).
      type: str
    created:
      description: Creation time, ISO 8601, UTC.
      type: str
    rootfs:
      description: Path of the container's writable subvolume.
      type: str
    disk_usage:
      description: Bytes only this container's root filesystem holds (btrfs qgroup exclusive bytes, read after a
        sync), which C(disk_limit) counts; V(null) when btrfs quotas are off on the store's filesystem.
      type: int
      sample: 1052672
    changes:
      description:
        - What changed relative to the image, see the notes; V(null) when the image no longer exists.
        - Bytes of a file name that are not UTF-8 are shown as C(\xNN).
      returned: when O(changes=true)
      type: dict
      contains:
        added:
          description: Paths the image does not have.
          type: list
          elements: str
          sample: [/etc/app.conf, /opt/app, /opt/app/run.sh]
        modified:
          description: Paths whose file changed or was replaced, including directories whose entries changed.
          type: list
          elements: str
          sample: [/etc, /etc/passwd, /opt]
        deleted:
          description: Paths of the image that the container no longer has.
          type: list
          elements: str
          sample: [/etc/motd]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockerlite.core.plugins.module_utils._common.codecache import install as install_code_cache

# Before the collection's other imports: they load their compiled code from the host's cache.
install_code_cache()

from ansible_collections.dockerlite.core.plugins.module_utils._managers.info import ContainerInfoManager
from ansible_collections.dockerlite.core.plugins.module_utils._common.runner import argument_spec, run_module


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            name=dict(type='str'),
            changes=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    run_module(module, ContainerInfoManager)


if __name__ == '__main__':
    main()
