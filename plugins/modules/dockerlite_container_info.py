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
  - dockerlite.core.store.info_module
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
    - Each has the keys of RV(dockerlite.core.dockerlite_container#module:container), built by the same code, plus
      C(changes) with O(changes=true). A container made before containers ran unprivileged by default shows
      C(privileged=true) and C(idmap=null); one made before networking shows C(network.mode=none).
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
    rootfs:
      description: Path of the container's writable subvolume.
      type: str
    created:
      description: Creation time, ISO 8601, UTC.
      type: str
    command:
      description: The command run as PID 1.
      type: list
      elements: str
    env:
      description: Environment variables.
      type: dict
    workdir:
      description: The directory PID 1 starts in (C(lxc.init.cwd)), or V(null) for V(/).
      type: str
      sample: /srv/app
    user:
      description:
        - The user PID 1 runs as, as given (V(name), V(uid), V(name:group) or V(uid:gid)), or V(null) for root.
      type: str
      sample: nobody
    user_ids:
      description:
        - What the user was resolved to in the container's C(/etc/passwd) and C(/etc/group), or V(null) for root.
      type: dict
      sample: {uid: 65534, gid: 65534, groups: [65534], home: /home}
      contains:
        uid:
          description: The uid of PID 1 (C(lxc.init.uid)).
          type: int
        gid:
          description: The gid of PID 1 (C(lxc.init.gid)).
          type: int
        groups:
          description:
            - The supplementary groups (C(lxc.init.groups)), the primary group and the groups that list the user.
            - An unprivileged container's PID 1 gets none of them (LXC 5.0 drops supplementary groups in a user
              namespace); a privileged container's gets them all.
          type: list
          elements: int
        home:
          description: The user's home directory, given to PID 1 as C(HOME) unless its environment sets it.
          type: str
    mounts:
      description: Bind mounts, in the order given.
      type: list
      elements: dict
      contains:
        source:
          description: Path on the host.
          type: str
        target:
          description: Path in the container.
          type: str
        read_only:
          description: Whether the mount is read-only.
          type: bool
        idmap:
          description: Whether the mount is idmapped (see M(dockerlite.core.dockerlite_container)).
          type: bool
    hostname:
      description: Host name, or V(null) for the container name.
      type: str
    memory:
      description: Memory limit in bytes, or V(null).
      type: int
    disk_limit:
      description: Disk limit in bytes (what the container may write on top of its image), or V(null).
      type: int
    disk_usage:
      description: Bytes only this container's root filesystem holds (btrfs qgroup exclusive bytes, read after a
        sync), which C(disk_limit) counts; V(null) when btrfs quotas are off on the store's filesystem.
      type: int
      sample: 1052672
    cpus:
      description: CPU limit, or V(null).
      type: float
    pids_limit:
      description: Process limit, or V(null).
      type: int
    capabilities:
      description: Capabilities added to the default bounding set.
      type: list
      elements: str
    cap_drop:
      description: Capabilities taken out of the default bounding set.
      type: list
      elements: str
    autostart:
      description: Whether C(lxc.start.auto) is set.
      type: bool
    privileged:
      description: Whether the container runs privileged (without a user namespace).
      type: bool
    isolated_idmap:
      description: Whether an unprivileged container has host ids of its own.
      type: bool
    idmap:
      description: The host uid and gid that the container's uid and gid 0 map to, and how many ids are mapped;
        V(null) for a privileged container.
      type: dict
      sample: {uid: 1000000, gid: 1000000, size: 65536}
      contains:
        uid:
          description: Host uid of the container's uid 0.
          type: int
        gid:
          description: Host gid of the container's gid 0.
          type: int
        size:
          description: How many ids are mapped.
          type: int
    stop_signal:
      description: The signal sent to PID 1 for a graceful stop.
      type: str
    network:
      description: The container's network; C(mode) V(none) alone for a container without one.
      type: dict
      sample: {mode: bridge, bridge: dlbr0, ipv4: 10.213.0.2/24, gateway: 10.213.0.1}
      contains:
        mode:
          description: V(none) (loopback only) or V(bridge).
          type: str
        bridge:
          description: The host's bridge.
          type: str
          returned: in mode V(bridge)
        ipv4:
          description: The address with its prefix, as allocated.
          type: str
          returned: in mode V(bridge)
        gateway:
          description: The default route, or V(null).
          type: str
          returned: in mode V(bridge)
    ipv4:
      description: The container's IPv4 address without prefix, or V(null) in network mode V(none).
      type: str
      sample: 10.213.0.2
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
