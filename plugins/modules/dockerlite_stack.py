#!/usr/bin/python
# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r'''
module: dockerlite_stack
short_description: Converge a group of dockerlite containers on one host in one task
version_added: 0.1.0
description:
  - Converges every container of O(containers) in one module run, the way community.docker's docker_compose_v2 converges
    a project, instead of one task (and one module start) per container. Each member takes the options of
    M(dockerlite.core.dockerlite_container) and is converged by the same code, with the same validation, check mode and
    diff.
  - Every member is validated and planned, under the store lock, before anything is changed; a bad member (an invalid
    option, a missing image, a duplicate name, a container of another stack, ...) fails the task with a message naming
    it, and nothing is touched.
  - The plans are then carried out in three waves, each member's actions in its own order; the stops that must come
    before a store change, the store changes (create, set disk limit, update config, remove, and one-off runs) one
    container at a time, and the starts (and freezes). The stop and start waves run in up to O(parallel) processes
    at once. The new members' files are made durable by one filesystem sync at the end of the store wave, before
    their directories are moved into place, instead of one fsync per file; one-off runs come after that sync.
  - A failure ends the run; the store wave stops at the failed member, a stop or start wave finishes what it has
    begun, and no later wave runs. C(containers) then tells what was done to each member, the stack's record holds
    every member that exists, and the task fails naming the member. A one-off run (O(containers[].detach=false))
    whose command fails does not hold up the other members, but fails the task too.
  - "Membership: the stack records its members in C(<root>/stacks/<name>.json), with the id of each member's container.
    A container is the stack's while it has the recorded id: listing a container that exists and belongs to no stack
    adopts it; a container of another stack is refused; a member removed or recreated by other means is no longer
    the stack's. So O(prune) never removes a container the stack does not own, and O(state=absent) removes only
    those and the containers the task lists."
extends_documentation_fragment:
  - dockerlite.core.store
  - dockerlite.core.store.attributes
attributes:
  check_mode:
    support: partial
    details:
      - Check mode plans every member with the same code as the real run and predicts its actions, diff and results
        (but for the ids, creation times and pids of containers it would create).
      - The command of a member with O(containers[].detach=false) is not run, so its C(rc), output and whether it
        fails are not predicted.
  idempotent:
    support: partial
    details: Not for members with O(containers[].state=restarted) or O(containers[].detach=false).
options:
  name:
    description: Stack name; letters, digits, V(_), V(.) and V(-), starting with a letter or digit, at most 64.
    type: str
    required: true
  state:
    description:
      - V(started) makes sure every member exists and runs, V(present) that every member exists; a member's own
        O(containers[].state) overrides either.
      - V(stopped) makes sure every member exists and does not run, whatever its own O(containers[].state) says, except
        that a member whose own state is V(absent) is removed.
      - V(absent) stops and removes every member, listed or recorded, and forgets the stack.
      - Unlisted members (see O(prune)) are left as they are unless they are removed.
    type: str
    choices: [present, started, stopped, absent]
    default: started
  prune:
    description:
      - Remove the stack's members that O(containers) no longer lists.
      - Without it they are left alone, stay members (so a later O(prune=true) removes them) and the task warns about
        them. Containers that are not the stack's are never removed.
    type: bool
    default: false
  parallel:
    description:
      - How many containers are started or stopped at the same time, each in a worker process, and how many new
        members' root filesystem snapshots are made at the same time. Other store changes are made one container at a
        time whatever this says. V(1) does everything in the module's own process.
    type: int
    default: 8
  containers:
    description:
      - The members, each with the options of M(dockerlite.core.dockerlite_container) (see there for the details).
      - Member names must be unique within the list.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Container name.
        type: str
        required: true
      image:
        description: Image to create the container from; see M(dockerlite.core.dockerlite_container).
        type: str
      state:
        description:
          - The member's own state, as for M(dockerlite.core.dockerlite_container); default the stack's O(state).
          - V(absent) removes the container (it is then no member); see O(state) for how the stack's state applies.
        type: str
        choices: [present, started, stopped, restarted, frozen, absent]
      command:
        description: Command run as PID 1, a list or a string split like a shell would (no shell).
        type: raw
      env:
        description: Environment variables, added to the image's.
        type: dict
      workdir:
        description:
          - Directory PID 1 starts in (absolute); default the image's, else V(/).
          - See O(dockerlite.core.dockerlite_container#module:workdir).
        type: str
      user:
        description:
          - User PID 1 runs as (V(name), V(uid), V(name:group) or V(uid:gid)); default the image's, else root.
          - See O(dockerlite.core.dockerlite_container#module:user).
        type: str
      mounts:
        description: Bind mounts from the host.
        type: list
        elements: dict
        suboptions:
          source:
            description: Absolute path on the host.
            type: path
            required: true
          target:
            description: Absolute path in the container.
            type: str
            required: true
          read_only:
            description: Mount read-only.
            type: bool
            default: false
          idmap:
            description:
              - In an unprivileged container, mount idmapped, so that the container sees the host's owners through
                its id map (its root can write what host root owns there); without it, host files show as
                V(nobody)/V(nogroup) and only their "other" permission bits apply. See
                M(dockerlite.core.dockerlite_container).
            type: bool
            default: false
      hostname:
        description: Host name inside the container.
        type: str
      network:
        description: The container's network; see M(dockerlite.core.dockerlite_container).
        type: dict
        suboptions:
          mode:
            description: V(none) (loopback only) or V(bridge).
            type: str
            choices: [none, bridge]
          bridge:
            description: The host's bridge; default V(dlbr0).
            type: str
          ipv4:
            description: V(auto) or a static address.
            type: str
          gateway:
            description: Default route of the container.
            type: str
      wait_for_ipv4:
        description: In bridge mode, wait for the address after a start.
        type: bool
      memory:
        description: Memory limit, in bytes or with a unit.
        type: str
      disk_limit:
        description: Most bytes the container may write on top of its image, in bytes or with a unit; V(none) or
          V(0) removes the limit. Changed without a restart. See M(dockerlite.core.dockerlite_container).
        type: str
      cpus:
        description: CPU limit in CPUs.
        type: float
      pids_limit:
        description: Most processes the container may have.
        type: int
      capabilities:
        description: Capabilities to add to Docker's default bounding set; V(all) for no limit.
        type: list
        elements: str
      cap_drop:
        description: Capabilities to take out of the bounding set; V(all) keeps only O(containers[].capabilities).
        type: list
        elements: str
      privileged:
        description:
          - V(false) (the default for a new container) runs the container in a user namespace, with ids from root's
            range in C(/etc/subuid) and C(/etc/subgid) and its rootfs through an idmapped mount; left out, an
            existing container keeps its value.
          - V(true) makes container root host root, held back only by the bounding set, the device cgroup and
            seccomp (no AppArmor here), so an escape is host root. Only for trusted images that need it (nested LXC,
            loop devices). See M(dockerlite.core.dockerlite_container).
        type: bool
      isolated_idmap:
        description: Give an unprivileged container 65536 host ids of its own, allocated like addresses (members
          planned in the same task never get the same block).
        type: bool
      autostart:
        description: Write C(lxc.start.auto).
        type: bool
      recreate:
        description: Allow recreating the container from a different image.
        type: bool
        default: false
      detach:
        description: With V(false), run the command once (in the store wave) and return C(rc), C(stdout), C(stderr).
        type: bool
        default: true
      cleanup:
        description: With O(containers[].detach=false), remove the container after the command has run.
        type: bool
        default: false
      timeout:
        description:
          - With O(containers[].detach=false), the longest the command may run, in seconds (a number greater than
            0). See M(dockerlite.core.dockerlite_container).
          - "Deprecated: while O(containers[].stop_timeout) is not given, also the seconds to wait for a graceful
            stop, with a deprecation warning, until dockerlite.core 1.0.0."
        type: float
      stop_timeout:
        description: Seconds to wait for a graceful stop before the container is killed (V(0) kills at once); 10
          when not given.
        type: int
notes:
  - The stack's own record lives beside the containers, in C(<root>/stacks); it is written, atomically and under the
    store lock, after the containers are converged (also when a member failed). A run that is killed before it leaves
    new containers unrecorded; listed again, they are adopted.
seealso:
  - module: dockerlite.core.dockerlite_container
author:
  - dockerlite.core maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Converge a web server and two workers, and remove members no longer listed
  dockerlite.core.dockerlite_stack:
    name: shop
    prune: true
    containers:
      - name: shop-web
        image: busybox
        command: [/bin/sh, -c, "mkdir -p /www && exec httpd -f -p 80 -h /www"]
        network:
          bridge: dlbr0
      - name: shop-worker1
        image: busybox
        command: [/bin/sh, -c, exec sleep infinity]
        memory: 64m
      - name: shop-worker2
        image: busybox
        command: [/bin/sh, -c, exec sleep infinity]
        state: stopped
  register: shop

- name: Stop every member
  dockerlite.core.dockerlite_stack:
    name: shop
    state: stopped
    containers: "{{ shop_containers }}"

- name: Remove the stack
  dockerlite.core.dockerlite_stack:
    name: shop
    state: absent
'''

RETURN = r'''
stack:
  description: The stack after the task (in check mode, as it would be).
  returned: always
  type: dict
  contains:
    name:
      description: Stack name.
      type: str
    members:
      description: Names of the stack's containers, sorted.
      type: list
      elements: str
  sample: {name: shop, members: [shop-web, shop-worker1, shop-worker2]}
containers:
  description:
    - One result per container the task converged, listed members first, in their order, then the unlisted members
      that were removed; each is what M(dockerlite.core.dockerlite_container) returns, plus C(name).
    - After a failure, C(actions) holds what was done; the failed member has C(failed), C(msg) and the details of the
      error (such as C(cmd), C(rc), C(stdout), C(stderr) of a failed command).
  returned: always
  type: list
  elements: dict
  sample: [{name: shop-web, changed: true, actions: [create, start], container: {name: shop-web, state: running}}]
  contains:
    name:
      description: Container name.
      type: str
    changed:
      description: Whether the task changed (or would change, in check mode) this container.
      type: bool
    actions:
      description: What the task did to this container (or would do, in check mode), in order; see
        RV(dockerlite.core.dockerlite_container#module:actions).
      type: list
      elements: str
      sample: [create, start]
    container:
      description: The container after the task, as RV(dockerlite.core.dockerlite_container#module:container);
        V(null) when absent. In check mode C(pid) is V(null), and so are C(id), C(created) and C(disk_usage) of a
        container that would be created.
      type: dict
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
              description: Whether the mount is idmapped (see O(containers[].mounts[].idmap)).
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
          description:
            - Bytes only this container's root filesystem holds (btrfs qgroup exclusive bytes), which C(disk_limit)
              counts; V(null) when btrfs quotas are off on the store's filesystem.
            - In check mode, the current usage of an existing container; V(null) for one that would be created.
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
    rc:
      description: Exit code of the command of a one-off run.
      returned: for a member with O(containers[].detach=false), not in check mode
      type: int
    stdout:
      description: Standard output of the command of a one-off run.
      returned: for a member with O(containers[].detach=false), not in check mode
      type: str
    stderr:
      description: Standard error of the command of a one-off run.
      returned: for a member with O(containers[].detach=false), not in check mode
      type: str
    stdout_lines:
      description: C(stdout) split into lines.
      returned: for a member with O(containers[].detach=false), not in check mode
      type: list
      elements: str
    stderr_lines:
      description: C(stderr) split into lines.
      returned: for a member with O(containers[].detach=false), not in check mode
      type: list
      elements: str
    failed:
      description: Set when this member failed.
      returned: for a member that failed
      type: bool
    msg:
      description: Why this member failed.
      returned: for a member that failed
      type: str
actions:
  description:
    - What the task did (or would do in check mode), member by member in the order of O(containers), as
      V(<action> <container>) (the actions of M(dockerlite.core.dockerlite_container)); then the record of the stack,
      V(record stack <stack>) when it was written, V(remove stack <stack>) when it was deleted.
    - Strings, as in every other module; RV(action_details) has the same actions as dictionaries.
  returned: always
  type: list
  elements: str
  sample: [create shop-web, start shop-web, record stack shop]
action_details:
  description: The same actions as RV(actions), in the same order, each as a dictionary.
  returned: always
  type: list
  elements: dict
  sample: [{what: container, name: shop-web, action: create}, {what: container, name: shop-web, action: start},
           {what: stack, name: shop, action: record}]
  contains:
    what:
      description: V(container) or V(stack).
      type: str
    name:
      description: Name of the container or stack.
      type: str
    action:
      description: The action, such as V(create) or V(start) for a container, V(record) or V(remove) for the stack.
      type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockerlite.core.plugins.module_utils._common.codecache import install as install_code_cache

# Before the collection's other imports: they load their compiled code from the host's cache.
install_code_cache()

from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import CONTAINER_OPTIONS, STATES
from ansible_collections.dockerlite.core.plugins.module_utils._common.runner import argument_spec, run_module
from ansible_collections.dockerlite.core.plugins.module_utils._managers.stack import (
    DEFAULT_PARALLEL, STACK_STATES, StackManager)


def main():
    member_options = dict(CONTAINER_OPTIONS, state=dict(type='str', choices=list(STATES)))
    module = AnsibleModule(
        argument_spec=argument_spec(
            name=dict(type='str', required=True),
            state=dict(type='str', default='started', choices=list(STACK_STATES)),
            prune=dict(type='bool', default=False),
            parallel=dict(type='int', default=DEFAULT_PARALLEL),
            containers=dict(type='list', elements='dict', default=[], options=member_options),
        ),
        supports_check_mode=True,
    )
    run_module(module, StackManager)


if __name__ == '__main__':
    main()
