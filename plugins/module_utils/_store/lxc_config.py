# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Render a container's LXC configuration from its validated runtime spec.

The config is written whole by dockerlite (no lxc.include of LXC's common.conf, whose
lxcfs hook sleeps on every stop). Every value written here has been validated so that
it cannot start a new config line; paths in mount entries are octal-escaped.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.dockerlite.core.plugins.module_utils._store.network import CONTAINER_INTERFACE, hwaddr_for
from ansible_collections.dockerlite.core.plugins.module_utils._common.validation import CONTROL_RE, KNOWN_CAPABILITIES

# Docker's default bounding set (CapBnd 00000000a80425fb), kept with lxc.cap.keep so that a
# capability a newer kernel adds is never granted by default; ``capabilities`` adds to it,
# ``cap_drop`` takes from it.
DEFAULT_CAPABILITIES = ('chown', 'dac_override', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap',
                        'net_bind_service', 'net_raw', 'sys_chroot', 'mknod', 'audit_write', 'setfcap')

# The only devices a container may create or open: (device cgroup rule, device name).
DEVICE_ALLOWLIST = (
    ('c 1:3 rwm', 'null'),
    ('c 1:5 rwm', 'zero'),
    ('c 1:7 rwm', 'full'),
    ('c 1:8 rwm', 'random'),
    ('c 1:9 rwm', 'urandom'),
    ('c 5:0 rwm', 'tty'),
    ('c 5:1 rwm', 'console'),
    ('c 5:2 rwm', 'ptmx'),
    ('c 136:* rwm', 'pts'),
)

CPU_PERIOD_US = 100000
HEADER = '# Written by dockerlite.core from container.json; edits here are overwritten.'


def effective_capabilities(capabilities, cap_drop):
    """The sorted names lxc.cap.keep keeps in the bounding set, or None for no restriction.

    ``cap_drop: [all]`` keeps only what ``capabilities`` names; ``capabilities: [all]``
    keeps every capability but those of ``cap_drop`` (no restriction without any); else
    the default set plus ``capabilities`` less ``cap_drop``. sys_ptrace is thus only
    ever kept when the task asks for it, which is what keeps a ``detach: false`` run
    from borrowing the full capabilities of its PID 1, lxc-execute's init (LXC narrows
    only init's bounding set, and ptrace could hand the rest to the command).
    """
    capabilities = set(capabilities or ())
    cap_drop = set(cap_drop or ())
    if 'all' in cap_drop:
        return sorted(capabilities - {'all'})
    if 'all' in capabilities:
        return sorted(set(KNOWN_CAPABILITIES) - cap_drop) if cap_drop else None
    return sorted((set(DEFAULT_CAPABILITIES) | capabilities) - cap_drop)


def escape_mount_path(path):
    """fstab-style octal escapes, as getmntent(3) (which LXC uses) decodes them."""
    return path.replace('\\', '\\134').replace(' ', '\\040').replace('\t', '\\011')


def init_cmd_line(argv):
    """lxc.init.cmd is split on white space, so it can only hold arguments without it."""
    if all(arg and not any(ch.isspace() or ch in '\\"\'' for ch in arg) for arg in argv):
        return ' '.join(argv)
    return None


def _cgroup_key(layout, controller, v1_key, v2_key):
    if layout.get(controller) == 'v1':
        return 'lxc.cgroup.%s' % v1_key
    return 'lxc.cgroup2.%s' % v2_key


def network_lines(network):
    """lxc.net.0 settings: loopback only, or a veth on a bridge with a static IPv4 address.

    For type empty, LXC brings loopback up only with flags up (else lo stays down, with
    no 127.0.0.1). For a veth, LXC configures the address (and the default route) before
    PID 1 starts; the broadcast address is written out because LXC 5.0 computes a wrong
    one otherwise.
    """
    if not network or network.get('mode') != 'bridge':
        return ['lxc.net.0.type = empty', 'lxc.net.0.flags = up']
    iface = ipaddress.IPv4Interface(network['ipv4'])
    lines = [
        'lxc.net.0.type = veth',
        'lxc.net.0.link = %s' % network['bridge'],
        'lxc.net.0.flags = up',
        'lxc.net.0.name = %s' % CONTAINER_INTERFACE,
        'lxc.net.0.hwaddr = %s' % hwaddr_for(iface.ip),
        'lxc.net.0.ipv4.address = %s %s' % (iface.with_prefixlen, iface.network.broadcast_address),
    ]
    if network.get('gateway'):
        lines.append('lxc.net.0.ipv4.gateway = %s' % network['gateway'])
    return lines


def idmap_lines(idmap):
    """lxc.idmap lines for an unprivileged container's id map (None for a privileged one)."""
    if not idmap:
        return []
    return ['lxc.idmap = u 0 %d %d' % (idmap['uid'], idmap['size']),
            'lxc.idmap = g 0 %d %d' % (idmap['gid'], idmap['size'])]


def init_identity_lines(spec):
    """The working directory, uid, gid and groups of PID 1 (nothing when the spec sets neither).

    LXC applies them to the command of ``start`` and of ``lxc-execute`` alike. It sets
    lxc.init.groups only in a container without an id map; in a user namespace it drops
    every supplementary group. Like Docker, PID 1 gets the user's home as HOME unless
    ``env`` sets it.
    """
    lines = []
    if spec.get('workdir'):
        lines.append('lxc.init.cwd = %s' % spec['workdir'])
    ids = spec.get('user_ids')
    if ids:
        lines.append('lxc.init.uid = %d' % ids['uid'])
        lines.append('lxc.init.gid = %d' % ids['gid'])
        if ids.get('groups'):
            lines.append('lxc.init.groups = %s' % ','.join('%d' % gid for gid in ids['groups']))
        home = ids.get('home')
        if home and 'HOME' not in (spec.get('env') or {}) and not CONTROL_RE.search(home):
            lines.append('lxc.environment = HOME=%s' % home)
    return lines


def render_config(name, spec, rootfs, log_file, layout, seccomp_profile=None, mount_kinds=None, etc_files=None,
                  idmap=None):
    """Return the LXC config text for container ``name``.

    ``spec`` is the runtime spec stored in container.json; ``layout`` maps cgroup
    controllers to 'v1' or 'v2'; ``mount_kinds`` maps mount sources to 'dir' or 'file';
    ``etc_files`` lists (host file, path in the container) pairs that dockerlite
    generates (/etc/hosts, /etc/hostname) and bind-mounts before the task's mounts, so
    that they stay out of the rootfs (and out of commits). ``idmap`` is the id map of
    an unprivileged container (None runs it privileged): its rootfs, and each mount
    with ``idmap``, is mounted idmapped, so that the files on disk keep the owners the
    container sees (nothing is ever chowned) and the image stays shareable.
    """
    mount_kinds = mount_kinds or {}
    # Commit idempotence compares btrfs generations, and an atime update is a write.
    rootfs_options = 'idmap=container,noatime' if idmap else 'noatime'
    lines = [
        HEADER,
        'lxc.uts.name = %s' % (spec.get('hostname') or name),
        'lxc.rootfs.path = dir:%s' % rootfs,
        'lxc.rootfs.options = %s' % rootfs_options,
    ]
    lines.extend(idmap_lines(idmap))
    lines += [
        'lxc.log.file = %s' % log_file,
        'lxc.log.level = WARN',
    ]
    lines.extend(network_lines(spec.get('network')))
    lines += [
        'lxc.autodev = 1',
        'lxc.tty.max = 0',
        'lxc.pty.max = 64',
        'lxc.mount.auto = proc:mixed sys:ro cgroup:mixed',
        'lxc.signal.halt = %s' % spec['stop_signal'],
    ]
    caps = effective_capabilities(spec.get('capabilities'), spec.get('cap_drop'))
    if caps is not None:
        lines.append('lxc.cap.keep = %s' % (' '.join(caps) or 'none'))
    devices = _cgroup_key(layout, 'devices', 'devices', 'devices')
    lines.append('%s.deny = a' % devices)
    lines.extend('%s.allow = %s' % (devices, rule) for rule, _name in DEVICE_ALLOWLIST)
    if seccomp_profile:
        lines.append('lxc.seccomp.profile = %s' % seccomp_profile)
    if spec.get('memory'):
        lines.append('%s = %d' % (_cgroup_key(layout, 'memory', 'memory.limit_in_bytes', 'memory.max'),
                                  spec['memory']))
    if spec.get('cpus'):
        quota = int(round(spec['cpus'] * CPU_PERIOD_US))
        if layout.get('cpu') == 'v1':
            lines.append('lxc.cgroup.cpu.cfs_period_us = %d' % CPU_PERIOD_US)
            lines.append('lxc.cgroup.cpu.cfs_quota_us = %d' % quota)
        else:
            lines.append('lxc.cgroup2.cpu.max = %d %d' % (quota, CPU_PERIOD_US))
    if spec.get('pids_limit'):
        lines.append('%s = %d' % (_cgroup_key(layout, 'pids', 'pids.max', 'pids.max'), spec['pids_limit']))
    for key in sorted(spec.get('env') or {}):
        lines.append('lxc.environment = %s=%s' % (key, spec['env'][key]))
    lines.extend(init_identity_lines(spec))
    for source, target in etc_files or ():
        lines.append('lxc.mount.entry = %s %s none bind,create=file 0 0' % (
            escape_mount_path(source), escape_mount_path(target.lstrip('/'))))
    for mount in spec.get('mounts') or ():
        options = 'bind,create=%s' % mount_kinds.get(mount['source'], 'dir')
        if mount['read_only']:
            options += ',ro'
        if idmap and mount.get('idmap'):
            options += ',idmap=container'
        lines.append('lxc.mount.entry = %s %s none %s 0 0' % (
            escape_mount_path(mount['source']), escape_mount_path(mount['target'].lstrip('/')), options))
    if spec.get('autostart'):
        lines.append('lxc.start.auto = 1')
    init_cmd = init_cmd_line(spec['command'])
    if init_cmd:
        lines.append('lxc.init.cmd = %s' % init_cmd)
    else:
        lines.append('# lxc.init.cmd omitted: an argument holds white space; dockerlite passes argv whole')
    return '\n'.join(lines) + '\n'
