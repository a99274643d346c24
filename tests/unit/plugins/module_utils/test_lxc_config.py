# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""lxc_config.py: the rendered LXC config, per cgroup layout, and that no value can add a line."""

from __future__ import annotations

import random
import re
import string

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._common import validation as v
from ansible_collections.dockerlite.core.plugins.module_utils._clients.btrfs import _unescape_mountinfo
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._store.lxc_config import (
    effective_capabilities, escape_mount_path, init_cmd_line, render_config)

V1 = {'devices': 'v1', 'memory': 'v1', 'cpu': 'v1', 'pids': 'v1'}
V2 = {'devices': 'v2', 'memory': 'v2', 'cpu': 'v2', 'pids': 'v2'}
ROOTFS = '/var/lib/dockerlite/containers/web/rootfs'
LOG = '/var/lib/dockerlite/containers/web/lxc.log'
# Written out here rather than taken from lxc_config, so that a change there shows: Docker's
# default bounding set, sorted (CapBnd 00000000a80425fb).
DEFAULT_KEEP = ['audit_write', 'chown', 'dac_override', 'fowner', 'fsetid', 'kill', 'mknod', 'net_bind_service',
                'net_raw', 'setfcap', 'setgid', 'setpcap', 'setuid', 'sys_chroot']
CAPBND_BITS = {'chown': 0, 'dac_override': 1, 'fowner': 3, 'fsetid': 4, 'kill': 5, 'setgid': 6, 'setuid': 7,
               'setpcap': 8, 'net_bind_service': 10, 'net_raw': 13, 'sys_chroot': 18, 'mknod': 27,
               'audit_write': 29, 'setfcap': 31}
IDMAP = {'uid': 1000000, 'gid': 1065536, 'size': 65536}
ALLOWED_DEVICES = {'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 5:0 rwm', 'c 5:1 rwm',
                   'c 5:2 rwm', 'c 136:* rwm'}


def make_spec(**changes):
    spec = {'command': ['/sbin/init'], 'env': {}, 'mounts': [], 'hostname': None, 'memory': None, 'cpus': None,
            'pids_limit': None, 'capabilities': [], 'cap_drop': [], 'autostart': False, 'stop_signal': 'SIGUSR1'}
    spec.update(changes)
    return spec


def render(layout=None, name='web', seccomp=None, mount_kinds=None, idmap=None, **changes):
    return render_config(name, make_spec(**changes), ROOTFS, LOG, V1 if layout is None else layout, seccomp,
                         mount_kinds, idmap=idmap)


def lines_of(text):
    """The config's lines as LXC reads them: split on newline bytes only."""
    assert text.endswith('\n')
    return text[:-1].split('\n')


def entries(text):
    """(key, value) for every setting line."""
    result = []
    for line in lines_of(text):
        if line.startswith('#'):
            continue
        key, sep, value = line.partition(' = ')
        assert sep, 'not a setting: %r' % line
        result.append((key, value))
    return result


def values(text, key):
    return [value for k, value in entries(text) if k == key]


# -- fixed settings -------------------------------------------------------------

def test_fixed_settings():
    text = render()
    assert lines_of(text)[0].startswith('# ')
    assert values(text, 'lxc.uts.name') == ['web']
    assert values(text, 'lxc.rootfs.path') == ['dir:' + ROOTFS]
    assert values(text, 'lxc.log.file') == [LOG]
    assert values(text, 'lxc.net.0.type') == ['empty']
    assert values(text, 'lxc.signal.halt') == ['SIGUSR1']
    assert values(text, 'lxc.autodev') == ['1']
    mount_auto = values(text, 'lxc.mount.auto')
    assert len(mount_auto) == 1
    assert set(mount_auto[0].split()) >= {'proc:mixed', 'sys:ro'}
    assert 'sys:rw' not in mount_auto[0] and 'proc:rw' not in mount_auto[0]


def test_inherits_nothing():
    """No lxc.include: neither /etc/lxc/default.conf nor LXC's common.conf (lxcfs hook) sneak in."""
    keys = {key for key, _value in entries(render())}
    assert not any(key.startswith('lxc.include') or key.startswith('lxc.hook') for key in keys)


def test_each_key_once_without_lists():
    keys = [key for key, _value in entries(render(memory=1 << 30, cpus=2.0, pids_limit=64, autostart=True))]
    repeated = {key for key in keys if keys.count(key) > 1}
    assert repeated == {'lxc.cgroup.devices.allow'}


@pytest.mark.parametrize('hostname, expected', [(None, 'web'), ('', 'web'), ('box.example.com', 'box.example.com')])
def test_hostname(hostname, expected):
    assert values(render(hostname=hostname), 'lxc.uts.name') == [expected]


@pytest.mark.parametrize('profile', [None, '/usr/share/lxc/config/common.seccomp'])
def test_seccomp_profile(profile):
    assert values(render(seccomp=profile), 'lxc.seccomp.profile') == ([profile] if profile else [])


# -- devices ----------------------------------------------------------------------

@pytest.mark.parametrize('layout, prefix, other', [(V1, 'lxc.cgroup.devices', 'lxc.cgroup2.devices'),
                                                   (V2, 'lxc.cgroup2.devices', 'lxc.cgroup.devices')])
def test_devices_deny_all_then_allowlist(layout, prefix, other):
    text = render(layout)
    assert values(text, prefix + '.deny') == ['a']
    allowed = values(text, prefix + '.allow')
    assert len(allowed) == len(ALLOWED_DEVICES)
    assert set(allowed) == ALLOWED_DEVICES
    assert not values(text, other + '.deny') and not values(text, other + '.allow')
    keys = [key for key, _value in entries(text)]
    # deny must come first: a later "deny a" would take back every allow before it.
    assert keys.index(prefix + '.deny') < keys.index(prefix + '.allow')
    assert not any('b ' in rule or rule.startswith('a') for rule in allowed)


# -- capabilities -------------------------------------------------------------------

ALL_BUT = sorted(set(v.KNOWN_CAPABILITIES) - {'mknod', 'net_raw'})


@pytest.mark.parametrize('capabilities, cap_drop, expected', [
    ([], [], DEFAULT_KEEP),
    (None, None, DEFAULT_KEEP),
    (['sys_time'], [], sorted(DEFAULT_KEEP + ['sys_time'])),
    ([], ['net_raw'], [name for name in DEFAULT_KEEP if name != 'net_raw']),
    (['chown'], ['chown'], [name for name in DEFAULT_KEEP if name != 'chown']),
    (['sys_module'], ['sys_module'], DEFAULT_KEEP),
    (['all'], [], None),
    (['all'], ['net_raw', 'mknod'], ALL_BUT),
    ([], ['all'], []),
    (['chown', 'net_bind_service'], ['all'], ['chown', 'net_bind_service']),
    (['sys_time'], ['all'], ['sys_time']),
    (['all', 'sys_time'], ['all'], ['sys_time']),
])
def test_effective_capabilities(capabilities, cap_drop, expected):
    assert effective_capabilities(capabilities, cap_drop) == expected


@pytest.mark.parametrize('capabilities, cap_drop, keep', [
    ([], [], ' '.join(DEFAULT_KEEP)),
    (['sys_time', 'mac_admin'], ['net_raw'], ' '.join(sorted(set(DEFAULT_KEEP) - {'net_raw'}
                                                             | {'sys_time', 'mac_admin'}))),
    (['all'], [], None),
    ([], ['all'], 'none'),
    (['chown', 'kill'], ['all'], 'chown kill'),
])
@pytest.mark.parametrize('idmap', [None, IDMAP])
def test_capability_lines(capabilities, cap_drop, keep, idmap):
    """Privileged or not, the bounding set is a keep list (never a drop list)."""
    text = render(capabilities=capabilities, cap_drop=cap_drop, idmap=idmap)
    assert values(text, 'lxc.cap.drop') == []
    assert values(text, 'lxc.cap.keep') == ([keep] if keep else [])


def test_default_keep_is_dockers_bounding_set():
    caps = effective_capabilities([], [])
    assert sum(1 << CAPBND_BITS[name] for name in caps) == 0xa80425fb
    assert not {'sys_admin', 'sys_ptrace', 'sys_module', 'bpf', 'perfmon', 'net_admin'} & set(caps)


# -- user namespace ------------------------------------------------------------

def test_privileged_config_has_no_idmap():
    text = render(mounts=[{'source': '/srv', 'target': '/srv', 'read_only': False, 'idmap': True}])
    assert values(text, 'lxc.idmap') == []
    assert values(text, 'lxc.rootfs.options') == ['noatime']
    assert values(text, 'lxc.mount.entry') == ['/srv srv none bind,create=dir 0 0']


def test_unprivileged_config_maps_ids_and_idmaps_the_rootfs():
    text = render(idmap=IDMAP, mounts=[{'source': '/srv', 'target': '/srv', 'read_only': True, 'idmap': True},
                                       {'source': '/data', 'target': '/data', 'read_only': False}])
    assert values(text, 'lxc.idmap') == ['u 0 1000000 65536', 'g 0 1065536 65536']
    # noatime stays: commit idempotence compares generations, and atime updates are writes.
    assert values(text, 'lxc.rootfs.options') == ['idmap=container,noatime']
    assert values(text, 'lxc.mount.entry') == ['/srv srv none bind,create=dir,ro,idmap=container 0 0',
                                               '/data data none bind,create=dir 0 0']


# -- limits ---------------------------------------------------------------------

@pytest.mark.parametrize('layout, expected', [
    (V1, {'lxc.cgroup.memory.limit_in_bytes': '536870912', 'lxc.cgroup.cpu.cfs_period_us': '100000',
          'lxc.cgroup.cpu.cfs_quota_us': '150000', 'lxc.cgroup.pids.max': '100'}),
    (V2, {'lxc.cgroup2.memory.max': '536870912', 'lxc.cgroup2.cpu.max': '150000 100000',
          'lxc.cgroup2.pids.max': '100'}),
    ({'devices': 'v1', 'memory': 'v2', 'cpu': 'v1', 'pids': 'v2'},
     {'lxc.cgroup2.memory.max': '536870912', 'lxc.cgroup.cpu.cfs_period_us': '100000',
      'lxc.cgroup.cpu.cfs_quota_us': '150000', 'lxc.cgroup2.pids.max': '100'}),
])
def test_limits(layout, expected):
    text = render(layout, memory=536870912, cpus=1.5, pids_limit=100)
    limits = {key: value for key, value in entries(text)
              if key.startswith('lxc.cgroup') and '.devices.' not in key}
    assert limits == expected


@pytest.mark.parametrize('cpus, quota', [(0.5, 50000), (2.0, 200000), (0.333, 33300), (1, 100000)])
def test_cpu_quota(cpus, quota):
    assert values(render(V2, cpus=cpus), 'lxc.cgroup2.cpu.max') == ['%d 100000' % quota]


@pytest.mark.parametrize('layout', [V1, V2])
def test_no_limits_without_options(layout):
    assert not [key for key, _value in entries(render(layout))
                if key.startswith('lxc.cgroup') and '.devices.' not in key]


# -- environment ----------------------------------------------------------------

def test_env_lines():
    env = {'ZED': 'last', 'A': 'x y', 'Q': 'a=b "c" #d \\e', 'E': ''}
    text = render(env=env)
    assert values(text, 'lxc.environment') == ['A=x y', 'E=', 'Q=a=b "c" #d \\e', 'ZED=last']


# -- mounts ---------------------------------------------------------------------

@pytest.mark.parametrize('path, escaped', [
    ('/srv/www', '/srv/www'),
    ('/srv/my dir', '/srv/my\\040dir'),
    ('/a\\b', '/a\\134b'),
    ('/a\\040b', '/a\\134040b'),
    ('/t\tab', '/t\\011ab'),
    ('/ü #x', '/ü\\040#x'),
])
def test_escape_mount_path(path, escaped):
    assert escape_mount_path(path) == escaped
    assert _unescape_mountinfo(escaped) == path


def test_mount_entries():
    mounts = [{'source': '/srv/my dir', 'target': '/data\\x', 'read_only': True},
              {'source': '/etc/hosts.web', 'target': '/etc/hosts', 'read_only': False}]
    text = render(mounts=mounts, mount_kinds={'/srv/my dir': 'dir', '/etc/hosts.web': 'file'})
    assert values(text, 'lxc.mount.entry') == [
        '/srv/my\\040dir data\\134x none bind,create=dir,ro 0 0',
        '/etc/hosts.web etc/hosts none bind,create=file 0 0',
    ]


def test_mount_kind_defaults_to_dir():
    text = render(mounts=[{'source': '/srv', 'target': '/srv', 'read_only': False}])
    assert values(text, 'lxc.mount.entry') == ['/srv srv none bind,create=dir 0 0']


# -- init command and autostart ---------------------------------------------------

@pytest.mark.parametrize('argv, line', [
    (['/sbin/init'], '/sbin/init'),
    (['sleep', '3600'], 'sleep 3600'),
    (['/bin/sh', '-c', 'sleep 1'], None),
    (['/bin/echo', 'a\tb'], None),
    (['/bin/echo', 'a\nb'], None),
    (['/bin/echo', '"quoted"'], None),
    (['/bin/echo', "it's"], None),
    (['/bin/echo', 'back\\slash'], None),
    (['/bin/echo', ''], None),
])
def test_init_cmd(argv, line):
    assert init_cmd_line(argv) == line
    text = render(command=argv)
    assert values(text, 'lxc.init.cmd') == ([line] if line else [])
    if line is None:
        assert any(comment.startswith('# lxc.init.cmd') for comment in lines_of(text))


@pytest.mark.parametrize('autostart, expected', [(True, ['1']), (False, []), (None, [])])
def test_autostart(autostart, expected):
    assert values(render(autostart=autostart), 'lxc.start.auto') == expected


# -- no value can add a line ------------------------------------------------------

def validated_spec(name, hostname, env, mounts, command, capabilities, cap_drop, memory):
    """Run every input through validation as the container manager does; raise ValidationError on refusal."""
    v.validate_container_name(name)
    return name, make_spec(
        hostname=v.validate_hostname(hostname), env=v.normalize_env(env), mounts=v.normalize_mounts(mounts),
        command=v.normalize_command(command), capabilities=v.normalize_capabilities(capabilities, 'capabilities'),
        cap_drop=v.normalize_capabilities(cap_drop, 'cap_drop'), memory=v.parse_size(memory, 'memory'),
        stop_signal='SIGTERM')


def assert_no_injection(name, spec, layout):
    text = render_config(name, spec, ROOTFS, LOG, layout)
    lines = lines_of(text)
    for line in lines:
        assert line.startswith('lxc.') or line.startswith('#'), 'injected line %r in\n%s' % (line, text)
    assert '\r' not in text and '\x00' not in text
    env_lines = [line for line in lines if line.startswith('lxc.environment')]
    assert len(env_lines) == len(spec['env'])
    mount_lines = [line for line in lines if line.startswith('lxc.mount.entry')]
    assert len(mount_lines) == len(spec['mounts'])
    for line in mount_lines:
        # getmntent(3) splits on runs of blanks: source, target, type, options, freq, passno.
        fields = re.split('[ \t]+', line.split(' = ', 1)[1])
        assert len(fields) == 6 and all(fields), line
    for key, value in entries(text):
        if key == 'lxc.environment':
            assert value.split('=', 1)[0] in spec['env']
    return text


ADVERSARIAL = [
    # (name, hostname, env, mounts, command)
    ('web\n', None, {}, [], ['/sbin/init']),
    ('web', 'host\n', {}, [], ['/sbin/init']),
    ('web', None, {'A\n': 'x'}, [], ['/sbin/init']),
    ('web', None, {'A': 'x\nlxc.cap.drop = '}, [], ['/sbin/init']),
    ('web', None, {'A': 'x\rlxc.cap.keep = none'}, [], ['/sbin/init']),
    ('web', None, {'A': 'x\x85y\u2028z'}, [], ['/sbin/init']),
    ('web', None, {'A': 'tail\t'}, [], ['/sbin/init']),
    ('web', None, {}, [{'source': '/srv\nlxc.cap.keep = none', 'target': '/x'}], ['/sbin/init']),
    ('web', None, {}, [{'source': '/srv', 'target': '/x y z 0 0\n'}], ['/sbin/init']),
    ('web', None, {}, [{'source': '/s p a c e', 'target': '/t\ta b'}], ['/sbin/init']),
    ('web', None, {}, [{'source': '/srv', 'target': '//'}], ['/sbin/init']),
    ('web', None, {}, [], ['/bin/sh', '-c', 'echo\nlxc.cap.keep = none']),
    ('web', None, {}, [], ['/bin/x\x0blxc.cap.keep=none']),
    ('web', None, {}, [], 'sh -c "a\nb"'),
]


@pytest.mark.parametrize('layout', [V1, V2])
@pytest.mark.parametrize('name, hostname, env, mounts, command', ADVERSARIAL)
def test_adversarial_values_add_no_line(layout, name, hostname, env, mounts, command):
    try:
        name, spec = validated_spec(name, hostname, env, mounts, command, None, None, None)
    except ValidationError:
        return
    assert_no_injection(name, spec, layout)


HOSTILE = '\n\r\t \\#=:"\'$;\x00\x0b\x0c\x1b\x7f\x85\u2028\u00a0é/.'


def random_text(rng, alphabet, max_len=12):
    """Text from ``alphabet``; one time in eight a hostile character goes in, often at the end."""
    text = ''.join(rng.choice(alphabet) for _i in range(1 + rng.randrange(max_len)))
    if rng.random() < 0.125:
        where = len(text) if rng.random() < 0.5 else rng.randrange(len(text) + 1)
        text = text[:where] + rng.choice(HOSTILE) + text[where:]
    return text


@pytest.mark.parametrize('seed', range(40))
def test_random_values_add_no_line(seed):
    rng = random.Random(seed)
    alnum = string.ascii_letters + string.digits
    accepted = 0
    for _case in range(60):
        name = random_text(rng, alnum)
        hostname = rng.choice([None, random_text(rng, string.ascii_lowercase)])
        env = {random_text(rng, string.ascii_uppercase + '_'): random_text(rng, alnum + ' =#"\\')
               for _i in range(rng.randrange(4))}
        mounts = [{'source': '/' + random_text(rng, alnum + ' \\'), 'target': '/' + random_text(rng, alnum + ' '),
                   'read_only': rng.random() < 0.5} for _i in range(rng.randrange(3))]
        command = [random_text(rng, alnum + '/ ') for _i in range(1 + rng.randrange(3))]
        capabilities = rng.sample(['chown', 'sys_time', 'all', 'CAP_NET_RAW'], rng.randrange(3))
        cap_drop = rng.sample(['mknod', 'all', 'sys_admin'], rng.randrange(2))
        memory = rng.choice([None, '512m', 1 << 20])
        try:
            checked = validated_spec(name, hostname, env, mounts, command, capabilities, cap_drop, memory)
        except ValidationError:
            continue
        accepted += 1
        assert_no_injection(checked[0], checked[1], rng.choice([V1, V2]))
    # The generator must reach the renderer often enough for the test to mean something.
    assert accepted >= 15


# -- network and the generated /etc files ------------------------------------------

BRIDGED = {'mode': 'bridge', 'bridge': 'dlbr0', 'ipv4': '10.213.0.2/24', 'gateway': '10.213.0.1'}


def test_network_none_is_loopback_only():
    """Without flags up, LXC leaves lo down: not even 127.0.0.1 would work."""
    for network in (None, {'mode': 'none'}):
        text = render(network=network)
        assert [(key, value) for key, value in entries(text) if key.startswith('lxc.net.')] == \
            [('lxc.net.0.type', 'empty'), ('lxc.net.0.flags', 'up')]


def test_network_bridge():
    text = render(network=BRIDGED)
    assert [(key, value) for key, value in entries(text) if key.startswith('lxc.net.')] == [
        ('lxc.net.0.type', 'veth'),
        ('lxc.net.0.link', 'dlbr0'),
        ('lxc.net.0.flags', 'up'),
        ('lxc.net.0.name', 'eth0'),
        ('lxc.net.0.hwaddr', '02:d1:0a:d5:00:02'),
        # LXC 5.0 computes a wrong broadcast address (0.0.0.255) when none is given.
        ('lxc.net.0.ipv4.address', '10.213.0.2/24 10.213.0.255'),
        ('lxc.net.0.ipv4.gateway', '10.213.0.1'),
    ]


def test_network_bridge_without_gateway():
    text = render(network=dict(BRIDGED, ipv4='172.16.5.9/12', gateway=None))
    assert values(text, 'lxc.net.0.ipv4.address') == ['172.16.5.9/12 172.31.255.255']
    assert values(text, 'lxc.net.0.ipv4.gateway') == []


def test_each_key_once_on_a_bridge():
    keys = [key for key, _value in entries(render(network=BRIDGED))]
    assert {key for key in keys if keys.count(key) > 1} == {'lxc.cgroup.devices.allow'}


def test_generated_etc_files_come_before_the_tasks_mounts():
    """A task's own mount over /etc/hosts (or all of /etc) is mounted later, so it wins."""
    mounts = [{'source': '/srv/hosts', 'target': '/etc/hosts', 'read_only': True}]
    text = render_config('web', make_spec(mounts=mounts), ROOTFS, LOG, V1, None, {'/srv/hosts': 'file'},
                         [('/var/lib/dl/containers/my web/hosts', '/etc/hosts'),
                          ('/var/lib/dl/containers/my web/hostname', '/etc/hostname')])
    assert values(text, 'lxc.mount.entry') == [
        '/var/lib/dl/containers/my\\040web/hosts etc/hosts none bind,create=file 0 0',
        '/var/lib/dl/containers/my\\040web/hostname etc/hostname none bind,create=file 0 0',
        '/srv/hosts etc/hosts none bind,create=file,ro 0 0',
    ]
