#!/usr/bin/python
# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r'''
module: dockerlite_container
short_description: Manage dockerlite containers (LXC on a writable btrfs snapshot of an image)
version_added: 0.1.0
description:
  - A container is a writable btrfs snapshot of an image (made in constant time, sharing every extent with the image) run under LXC
    with its own PID, network, UTS, IPC and mount namespaces.
  - A change of runtime options (O(command), O(env), O(mounts), O(hostname), O(memory), O(cpus), O(pids_limit),
    O(capabilities), O(cap_drop), O(autostart), O(network)) converges by rewriting the container's LXC config and, if
    it is running, restarting it; the root filesystem is not touched. Options left out keep their current value.
  - A change of O(disk_limit) takes effect at once, without a restart (action V(set_disk_limit)).
  - A change of O(image) would replace the root filesystem and the data in it, so it is refused unless
    O(recreate=true).
  - "Secure by default: the device cgroup denies every device but C(null), C(zero), C(full), C(random),
    C(urandom), C(tty), C(console), C(ptmx) and the C(pts) ptys (so a container cannot open the block device under
    the store); containers run unprivileged, in a user namespace (see O(privileged)); the capability bounding set is
    Docker's default one (C(lxc.cap.keep) of C(chown), C(dac_override), C(fowner), C(fsetid), C(kill), C(setgid),
    C(setuid), C(setpcap), C(net_bind_service), C(net_raw), C(sys_chroot), C(mknod), C(audit_write), C(setfcap):
    C(CapBnd 00000000a80425fb)), privileged or not, so a capability a newer kernel adds is never granted unless
    O(capabilities) names it; C(/proc) is mounted C(proc:mixed), C(/sys) read-only; LXC's common seccomp profile
    applies when installed; the network namespace has only loopback unless O(network) attaches it to a bridge."
  - The container's C(/etc/hosts) (C(localhost), and its address, or C(127.0.1.1) without one, with its host name
    and name) and C(/etc/hostname) are generated in the container's directory and bind-mounted, like Docker does,
    so they never become part of the root filesystem or of a commit.
  - The LXC config is written by the module and does not include C(/etc/lxc/default.conf) or LXC's C(common.conf).
extends_documentation_fragment:
  - dockerlite.core.store
  - dockerlite.core.store.attributes
attributes:
  check_mode:
    support: partial
    details:
      - Check mode plans with the same code as the real run and predicts its actions, diff and RV(container) (but
        for C(pid), and the C(id), C(created) and C(disk_usage) of a container it would create).
      - With O(detach=false) the command is not run, so its C(rc), output and whether it fails are not predicted.
  idempotent:
    support: partial
    details: Not with O(state=restarted), which restarts every time, nor with O(detach=false), which runs the command
      every time.
options:
  name:
    description: Container name; letters, digits, V(_), V(.) and V(-), starting with a letter or digit, at most 64.
    type: str
    required: true
  image:
    description:
      - Image (V(name) or V(name:tag)) to create the container from. Required to create a container.
      - For an existing container, a different image is refused unless O(recreate=true). When the same tag now
        names a newer image, the task warns, and recreates only with O(recreate=true).
    type: str
  state:
    description:
      - V(present) makes sure the container exists, without starting or stopping it.
      - V(started) makes sure it exists and runs (thawing a frozen one); V(stopped) that it exists and does not run.
      - V(restarted) stops and starts it (reports changed every time).
      - V(frozen) makes sure it runs and is frozen (cgroup freezer).
      - V(absent) stops and removes it. Nothing behind a bind mount is ever deleted.
    type: str
    choices: [present, started, stopped, restarted, frozen, absent]
    default: started
  command:
    description:
      - Command run as the container's PID 1, as a list of arguments or a string split into arguments like a shell
        would (quotes and backslashes are honoured), without a shell; the same as
        O(dockerlite.core.dockerlite_exec#module:command) with O(dockerlite.core.dockerlite_exec#module:shell=false).
        For a shell command line, give V([/bin/sh, -c, "..."]). Arguments are passed whole (not through
        C(lxc.init.cmd), which LXC splits on spaces).
      - Default is the image's command, else V(/sbin/init).
    type: raw
  env:
    description:
      - Environment variables, added to the image's. Values may not contain control characters (newlines) or end in
        white space, because they are written as C(lxc.environment) lines.
    type: dict
  workdir:
    description:
      - Directory PID 1 starts in, an absolute path in the container, like C(docker run --workdir). Default is the
        image's O(dockerlite.core.dockerlite_image#module:workdir), else V(/).
      - Created (owned by root, mode 0755) if it is missing when the container is created or its workdir changes, as
        Docker does; a symbolic link on the way is not followed from the host, it is resolved inside the container.
      - Changing it rewrites the container's config and restarts a running container, like O(command).
    type: str
  user:
    description:
      - User PID 1 runs as, like C(docker run --user) - V(name), V(uid), V(name:group) or V(uid:gid). Default is the
        image's O(dockerlite.core.dockerlite_image#module:user), else root.
      - Names are looked up in the container's C(/etc/passwd) and C(/etc/group) from the host, without following
        symbolic links (a symbolic link there is refused, since it could name a host file; numeric V(uid:gid) needs
        neither file). The lookup is done when the user is set or changes; RV(container.user_ids) shows its result.
        A user found there gets its primary group and the groups that list it (as supplementary groups, in a
        privileged container only), and its home as C(HOME); a numeric uid that is not there gets gid = uid, as in
        M(dockerlite.core.dockerlite_exec).
      - An unknown user or group fails the task, naming the value and the image or container. In an unprivileged
        container the uid and gid must be mapped (below 65536).
      - Also the default user of M(dockerlite.core.dockerlite_exec) in this container. Changing it rewrites the
        container's config and restarts a running container, like O(command).
    type: str
  mounts:
    description: Bind mounts from the host. The source must exist.
    type: list
    elements: dict
    suboptions:
      source:
        description: Absolute path on the host.
        type: path
        required: true
      target:
        description: Absolute path in the container; created there if missing.
        type: str
        required: true
      read_only:
        description:
          - Mount read-only.
          - It holds only while the container cannot mount, that is without V(sys_admin) in O(capabilities) (the
            default). A container given V(sys_admin) can remount the mount read-write, since an unprivileged
            container's mounts are made inside its own user namespace (not locked), and a privileged one is host
            root.
        type: bool
        default: false
      idmap:
        description:
          - In an unprivileged container, mount the source idmapped (C(idmap=container)), so that the container sees
            the host's owners through its own id map (host root's files as its root's, host uid 1000's as its uid
            1000's) and files it creates there get those owners on the host. Container root can then write whatever
            host root owns below the source, as far as the modes allow; give it only directories meant for the
            container.
          - Without it (the default), an unprivileged container sees every file whose host owner is outside its id
            map as owned by V(nobody)/V(nogroup) (65534), and its processes get only the permission bits for
            "other" on them (a host file of mode 0640 cannot be read, 0644 can, nothing can be written unless the
            mode gives others write access).
          - Every directory above the source must let the container's root traverse it (the C(x) bit for others,
            or an ACL).
          - Ignored for privileged containers, whose ids are the host's.
        type: bool
        default: false
  hostname:
    description: Host name inside the container (and in its C(/etc/hostname) and C(/etc/hosts)); defaults to the
      container name.
    type: str
  network:
    description:
      - The container's network. Left out, an existing container keeps its network and a new one gets V(none).
      - Given, it describes the whole network; suboptions left out take their defaults (but see O(network.ipv4)).
      - An address belongs to its container and is kept in the container's metadata in the store; the addresses in
        use are read from the store's containers under the store lock, so parallel runs never hand out one address
        twice, and removing a container frees its address. Addresses used on the bridge by anything but this store's
        containers are not known; give such a bridge to one store only, or use static addresses.
    type: dict
    suboptions:
      mode:
        description:
          - V(none) gives the container only loopback.
          - V(bridge) attaches it to O(network.bridge) through a veth pair (C(eth0) inside), with a static IPv4
            address, the default route via the gateway, and a MAC address derived from the IPv4 address. LXC
            configures both before PID 1 starts.
          - Default V(bridge) when O(network.bridge), O(network.ipv4) or O(network.gateway) is given, else V(none).
        type: str
        choices: [none, bridge]
      bridge:
        description:
          - The host's bridge to attach to; default V(dlbr0) (as made by the
            P(dockerlite.core.dockerlite_network#role) role).
          - The task fails, naming it, when the host has no bridge of that name.
        type: str
      ipv4:
        description:
          - V(auto) (the default) allocates the lowest free host address of the subnet of the bridge's (first) IPv4
            address; the network and broadcast addresses, the gateway and the bridge's own addresses are never
            handed out. A container keeps its address across stop, start and config changes as long as it still
            fits the bridge's subnet.
          - V(a.b.c.d/nn) or V(a.b.c.d) asks for a static address (without a prefix, the prefix of the bridge's
            subnet that holds it). It must lie in a subnet of the bridge (when the bridge has an IPv4 address); one
            that another container of the store holds is refused, naming that container.
        type: str
      gateway:
        description: Default route of the container; defaults to the bridge's own address in the container's subnet
          (none when the bridge has no address there).
        type: str
  wait_for_ipv4:
    description:
      - In bridge mode, after starting the container, wait (up to 10 seconds) until its IPv4 address is configured
        on its C(eth0), and fail otherwise. Default V(true) in bridge mode; ignored in mode V(none).
    type: bool
  memory:
    description: Memory limit, in bytes or with a unit (V(512m), V(1g); powers of 1024).
    type: str
  disk_limit:
    description:
      - Most bytes the container may write on top of its image, in bytes or with a unit (V(512m), V(1g); powers of
        1024), enforced by a btrfs qgroup limit on its root filesystem's exclusive bytes. Past it, writes inside the
        container fail with C(EDQUOT) ("Disk quota exceeded"); the store and other containers are not affected.
      - What the image holds does not count, only what the container adds or rewrites; after
        M(dockerlite.core.dockerlite_commit) the committed data is shared with the new image and no longer counts.
      - V(none) or V(0) removes the limit; left out, the container keeps its limit.
      - A change takes effect at once, on a running container too, without a restart.
      - The first limit turns btrfs quotas on for the whole store filesystem (a rescan of the filesystem, then some
        cost on every write and subvolume deletion); see the C(dockerlite_volume_quota) variable of the
        C(btrfs_volume) role to turn them on up front. Quotas stay on when the limits are removed.
    type: str
  cpus:
    description: CPU limit in CPUs (V(1.5) is one and a half CPUs), enforced as a CFS quota.
    type: float
  pids_limit:
    description: Most processes the container may have.
    type: int
  capabilities:
    description:
      - Capabilities to add to the bounding set (the default set is listed in the description above; for example
        V(sys_time) or V(net_admin)), with or without the C(CAP_) prefix, any case.
      - V(all) puts no limit on the bounding set, or with O(cap_drop) keeps every capability but those.
      - In an unprivileged container, capabilities act only inside its user namespace (on what it owns), which
        makes adding them far less dangerous than for a privileged one. V(sys_admin) still lets the container
        mount, and so remount its O(mounts) read-write, whatever their O(mounts[].read_only) says.
    type: list
    elements: str
  cap_drop:
    description:
      - Capabilities to take out of the bounding set. V(all) keeps only those in O(capabilities).
    type: list
    elements: str
  privileged:
    description:
      - V(false) runs the container in a user namespace; its ids 0-65535 are mapped (C(lxc.idmap)) onto 65536 host
        ids from root's range in C(/etc/subuid) and C(/etc/subgid), so container root is an unprivileged host user
        with no power over host files, devices or kernel settings. The task fails, naming both files, when root has
        no range of at least 65536 ids there (the P(dockerlite.core.dockerlite_prerequisites#role) role adds
        C(root:1000000:1000000000)).
      - The root filesystem is given to the container through an idmapped mount (C(lxc.rootfs.options =
        idmap=container,noatime)); nothing is ever chowned, the files on disk keep the owners they have inside (so
        images, commits and C(changes) of M(dockerlite.core.dockerlite_container_info) are the same as for a
        privileged container), and creating a container stays one snapshot. Switching between V(true) and V(false)
        rewrites the config and restarts the container; its root filesystem is left as it is.
      - V(true) runs it privileged, as LXC does without an id map; container root is host root, held back only by
        the capability bounding set, the device cgroup and the seccomp profile. Without AppArmor on the host, a
        process that gets out of those (through a kernel bug, a capability added with O(capabilities), or a writable
        host path) acts as root on the host. Use it only for what needs host root (nested LXC, loop devices) and
        only with trusted images.
      - Default V(false) for a new container; left out, an existing container keeps its value. A container made
        before this option existed runs privileged, and the module warns about it until the task gives
        O(privileged).
      - Every directory above the store's root must let the container's root traverse it (the C(x) bit for others,
        or an ACL); LXC refuses to start the container otherwise.
    type: bool
  isolated_idmap:
    description:
      - With V(true) an unprivileged container gets 65536 host ids of its own (like LXD's C(security.idmap.isolated)),
        so two containers' roots are different host users. With V(false) (the default for a new container) every
        unprivileged container shares the first 65536 ids of root's range.
      - An isolated block is allocated like an address of O(network.ipv4=auto) is, the lowest free block of root's
        range after the shared one, read from the store's containers under the store lock, kept in the container's
        metadata (C(idmap) in C(container.json)) and freed when the container is removed. A container keeps its
        block across restarts and config changes.
      - Left out, an existing container keeps its value. Refused together with O(privileged=true).
    type: bool
  autostart:
    description:
      - Write C(lxc.start.auto) so that C(lxc-autostart -P <root>/containers) starts the container at boot. Needs a
        command whose arguments hold no white space, since C(lxc.init.cmd) cannot keep them whole.
    type: bool
  recreate:
    description:
      - Allow the container to be removed and created anew from O(image) when O(image) names a different image than
        the one it was created from; its root filesystem and the data in it are replaced.
      - Unlike community.docker's docker_container, this does not force recreation of a container that is up to
        date, so tasks stay idempotent.
      - A recreated container is configured from the task and the new image alone, like a new container; options
        the task leaves out take their defaults, not the old container's values.
    type: bool
    default: false
  detach:
    description:
      - With V(false), run the command once in the (stopped) container to completion and return C(rc), C(stdout)
        and C(stderr); a non-zero C(rc) fails the task, still returning all three. The container is left stopped,
        or removed with O(cleanup=true). Reports changed every time.
      - The run uses C(lxc-execute), whose helper stays PID 1 in the container with every capability (of the host
        for a privileged container, of its user namespace otherwise). The command could borrow them by ptracing
        PID 1, which needs C(sys_ptrace); the default bounding set lacks it, so only a task whose O(capabilities)
        names it (or V(all)) gives the command that power.
    type: bool
    default: true
  cleanup:
    description: With O(detach=false), remove the container after the command has run (also when it failed).
    type: bool
    default: false
  timeout:
    description:
      - With O(detach=false), the longest the command may run, in seconds (a number greater than 0, V(2.5) or
        V(10)); past it, it is killed and the task fails. No limit when not given. The same option as
        O(dockerlite.core.dockerlite_exec#module:timeout).
      - "Deprecated: while O(stop_timeout) is not given, O(timeout) is also still used as the seconds to wait for a
        graceful stop (rounded up; V(0) kills at once), with a deprecation warning; from dockerlite.core 1.0.0 on it
        applies only with O(detach=false). Set O(stop_timeout) for the stop."
      - An integer is accepted as before.
    type: float
  stop_timeout:
    description:
      - Seconds to wait for a graceful stop before the container is killed (V(0) kills at once); 10 when not given.
        The halt signal goes to PID 1 (SIGUSR1 for busybox init, SIGPWR for other init systems, SIGTERM for a
        command); when PID 1 has no handler for it, the kernel ignores it and the container is killed at once.
      - The name and meaning of community.docker's C(docker_container) option.
    type: int
seealso:
  - module: dockerlite.core.dockerlite_image
  - module: dockerlite.core.dockerlite_commit
author:
  - dockerlite.core maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Run a long-lived container from the busybox image
  dockerlite.core.dockerlite_container:
    name: web
    image: busybox
    command: [/bin/sh, -c, "echo hello > /www/index.html && exec httpd -f -p 8080 -h /www"]
    env:
      GREETING: hello
    memory: 64m
    pids_limit: 100
    disk_limit: 1g
    mounts:
      - source: /srv/www
        target: /www

- name: Run a command once and get its output
  dockerlite.core.dockerlite_container:
    name: once
    image: busybox
    command: [/bin/sh, -c, "uname -a; id"]
    detach: false
    cleanup: true
  register: once

# Two containers on the bridge dlbr0 (see the dockerlite.core.dockerlite_network role): one serves a file, the other
# fetches it by address.
- name: Serve a file with busybox httpd (gets the lowest free address of dlbr0's subnet, say 10.213.0.2)
  dockerlite.core.dockerlite_container:
    name: server
    image: busybox
    command: [/bin/sh, -c, "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www"]
    network:
      bridge: dlbr0
  register: server

- name: Fetch the file from a second container with a static address
  dockerlite.core.dockerlite_container:
    name: client
    image: busybox
    command: [wget, -q, -O-, "http://{{ server.container.ipv4 }}/index.html"]
    network:
      bridge: dlbr0
      ipv4: 10.213.0.50/24
    detach: false
    cleanup: true
  register: client   # client.stdout == "hello\n"

- name: A container with host ids of its own, writing a host directory as its own root
  dockerlite.core.dockerlite_container:
    name: worker
    image: busybox
    isolated_idmap: true
    mounts:
      - source: /srv/worker-data
        target: /data
        idmap: true

- name: Switch a container made before unprivileged containers were the default (config rewrite and restart)
  dockerlite.core.dockerlite_container:
    name: legacy
    privileged: false

- name: Nested LXC needs host root (trusted image only)
  dockerlite.core.dockerlite_container:
    name: builder
    image: debian
    privileged: true
    capabilities: [sys_admin]

- name: Freeze a container
  dockerlite.core.dockerlite_container:
    name: web
    state: frozen

- name: Remove a container
  dockerlite.core.dockerlite_container:
    name: web
    state: absent
'''

RETURN = r'''
container:
  description: The container after the task; V(null) when absent. In check mode C(pid) is V(null), and so are C(id),
    C(created) and C(disk_usage) of a container that would be created.
  returned: always
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
          description: Whether the mount is idmapped (see O(mounts[].idmap)).
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
        - Bytes only this container's root filesystem holds (btrfs qgroup exclusive bytes), which O(disk_limit)
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
actions:
  description: What the task did (or would do in check mode), in order, such as V(create), V(set_disk_limit),
    V(update_config), V(start), V(stop), V(freeze), V(unfreeze), V(run), V(remove), and V(kill_orphan)
    (see RV(container.state)).
  returned: always
  type: list
  elements: str
  sample: [create, start]
rc:
  description: Exit code of the command.
  returned: when O(detach=false), not in check mode
  type: int
stdout:
  description: Standard output of the command.
  returned: when O(detach=false), not in check mode
  type: str
stderr:
  description: Standard error of the command.
  returned: when O(detach=false), not in check mode
  type: str
stdout_lines:
  description: O(detach=false) standard output, split into lines.
  returned: when O(detach=false), not in check mode
  type: list
  elements: str
stderr_lines:
  description: O(detach=false) standard error, split into lines.
  returned: when O(detach=false), not in check mode
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockerlite.core.plugins.module_utils._common.codecache import install as install_code_cache

# Before the collection's other imports: they load their compiled code from the host's cache.
install_code_cache()

from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import (
    CONTAINER_OPTIONS, ContainerManager)
from ansible_collections.dockerlite.core.plugins.module_utils._common.runner import argument_spec, run_module


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(**CONTAINER_OPTIONS),
        supports_check_mode=True,
    )
    run_module(module, ContainerManager)


if __name__ == '__main__':
    main()
