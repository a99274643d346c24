# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""network.py: the network option, address allocation, bridge inspection and the generated /etc files.

Expected values are worked out by hand from the subnets (10.213.0.0/24 has hosts .1 to
.254 and broadcast .255), not computed with the functions under test.
"""

from __future__ import annotations

import ipaddress
import json
import os
import stat

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._store import network as n
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError, ValidationError

IP = ipaddress.IPv4Address


def bridge(*addresses, name='br0', up=True):
    return n.Bridge(name, addresses, up)


def request(**options):
    return n.normalize_network(dict(options, bridge=options.get('bridge', 'br0')))


# -- the option ------------------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    (None, None),
    ({}, {'mode': 'none'}),
    ({'mode': 'none'}, {'mode': 'none'}),
    ({'mode': None, 'bridge': None, 'ipv4': None, 'gateway': None}, {'mode': 'none'}),
    ({'mode': 'bridge'}, {'mode': 'bridge', 'bridge': 'dlbr0', 'ipv4': 'auto', 'gateway': None}),
    ({'bridge': 'br0'}, {'mode': 'bridge', 'bridge': 'br0', 'ipv4': 'auto', 'gateway': None}),
    ({'ipv4': '10.0.0.5/24'}, {'mode': 'bridge', 'bridge': 'dlbr0', 'ipv4': '10.0.0.5/24', 'gateway': None}),
    ({'gateway': '10.0.0.254'}, {'mode': 'bridge', 'bridge': 'dlbr0', 'ipv4': 'auto', 'gateway': '10.0.0.254'}),
    ({'mode': 'bridge', 'bridge': 'a-b.c_d', 'ipv4': 'auto'},
     {'mode': 'bridge', 'bridge': 'a-b.c_d', 'ipv4': 'auto', 'gateway': None}),
    ({'bridge': 'x' * 15}, {'mode': 'bridge', 'bridge': 'x' * 15, 'ipv4': 'auto', 'gateway': None}),
])
def test_normalize_network(value, expected):
    assert n.normalize_network(value) == expected


@pytest.mark.parametrize('value, fragment', [
    ('bridge', "network must be a dictionary, got 'bridge'"),
    ({'mode': 'host'}, "'host'"),
    ({'mode': 'none', 'bridge': 'br0'}, 'takes no bridge'),
    ({'mode': 'none', 'ipv4': '10.0.0.5/24'}, 'takes no ipv4'),
    ({'bridge': 'x' * 16}, repr('x' * 16)),
    ({'bridge': 'br/0'}, "'br/0'"),
    ({'bridge': 'br 0'}, "'br 0'"),
    ({'bridge': 'br0\n'}, "'br0\\n'"),
    ({'bridge': '-br'}, "'-br'"),
    ({'bridge': ''}, "''"),
    ({'ipv4': '10.0.0'}, "'10.0.0'"),
    ({'ipv4': '10.0.0.256/24'}, "'10.0.0.256/24'"),
    ({'ipv4': '10.0.0.5/33'}, "'10.0.0.5/33'"),
    ({'ipv4': '10.0.0.5/'}, "'10.0.0.5/'"),
    ({'ipv4': '10.0.0.5/31'}, 'longer than /30'),
    ({'ipv4': '10.0.0.5/32'}, 'longer than /30'),
    ({'ipv4': '127.0.0.5/8'}, "'127.0.0.5'"),
    ({'ipv4': '224.0.0.5/24'}, "'224.0.0.5'"),
    ({'ipv4': '169.254.0.5/16'}, "'169.254.0.5'"),
    ({'ipv4': '0.0.0.0/8'}, "'0.0.0.0'"),
    ({'ipv4': '10.0.0.5/24\nlxc.hook.pre-start = /x'}, 'not an IPv4 address'),
    ({'ipv4': 'fd00::5/64'}, "'fd00::5/64'"),
    ({'gateway': '10.0.0.1/24'}, 'without a prefix'),
    ({'gateway': 'router'}, "'router'"),
    ({'name': 'eth0'}, 'unknown keys: name'),
])
def test_normalize_network_refuses(value, fragment):
    with pytest.raises(ValidationError) as info:
        n.normalize_network(value)
    assert fragment in info.value.msg


# -- allocation ------------------------------------------------------------------------

def test_auto_takes_the_lowest_free_host_address():
    result = n.resolve_network(request(), bridge('10.213.0.1/24'), {})
    assert result == {'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.2/24', 'gateway': '10.213.0.1'}


def test_auto_skips_held_addresses_and_fills_holes():
    held = {IP('10.213.0.2'): 'a', IP('10.213.0.3'): 'b', IP('10.213.0.5'): 'c'}
    assert n.resolve_network(request(), bridge('10.213.0.1/24'), held)['ipv4'] == '10.213.0.4/24'


def test_auto_never_hands_out_the_network_the_gateway_or_the_bridge():
    """The bridge's address need not be the first host; the gateway and every bridge address are skipped."""
    result = n.resolve_network(request(), bridge('10.213.0.2/24', '10.213.0.3/24'), {})
    assert result == {'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.1/24', 'gateway': '10.213.0.2'}
    held = {IP('10.213.0.1'): 'a'}
    assert n.resolve_network(request(), bridge('10.213.0.2/24', '10.213.0.3/24'), held)['ipv4'] == '10.213.0.4/24'


def test_auto_with_a_given_gateway_skips_it():
    result = n.resolve_network(request(gateway='10.213.0.2'), bridge('10.213.0.1/24'), {})
    assert result == {'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.3/24', 'gateway': '10.213.0.2'}


def test_auto_never_hands_out_the_broadcast_address():
    """A /30 has two hosts: the bridge takes one, the container the other, and then it is full."""
    assert n.resolve_network(request(), bridge('192.168.7.5/30'), {})['ipv4'] == '192.168.7.6/30'
    with pytest.raises(DockerliteError) as info:
        n.resolve_network(request(), bridge('192.168.7.5/30'), {IP('192.168.7.6'): 'a'})
    assert 'no free IPv4 address left in 192.168.7.4/30 on bridge br0' in info.value.msg


def test_auto_full_subnet():
    held = {IP('10.213.0.%d' % i): 'c%d' % i for i in range(2, 255)}
    with pytest.raises(DockerliteError) as info:
        n.resolve_network(request(), bridge('10.213.0.1/24'), held)
    assert '10.213.0.0/24' in info.value.msg and '253 held' in info.value.msg


def test_auto_uses_the_first_bridge_subnet():
    result = n.resolve_network(request(), bridge('10.1.0.1/16', '10.213.0.1/24'), {})
    assert result['ipv4'] == '10.1.0.2/16' and result['gateway'] == '10.1.0.1'


def test_auto_keeps_the_current_address():
    current = {'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.77/24', 'gateway': '10.213.0.1'}
    result = n.resolve_network(request(), bridge('10.213.0.1/24'), {IP('10.213.0.2'): 'other'}, current)
    assert result == current


@pytest.mark.parametrize('current, why', [
    ({'mode': 'bridge', 'bridge': 'br1', 'ipv4': '10.213.0.77/24', 'gateway': '10.213.0.1'}, 'other bridge'),
    ({'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.9.0.77/24', 'gateway': '10.9.0.1'}, 'other subnet'),
    ({'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.77/16', 'gateway': '10.213.0.1'}, 'other prefix'),
    ({'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.9/24', 'gateway': '10.213.0.1'}, 'now held'),
    ({'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.1/24', 'gateway': None}, 'now the bridge'),
    ({'mode': 'none'}, 'no address'),
])
def test_auto_leaves_a_current_address_that_no_longer_fits(current, why):
    result = n.resolve_network(request(), bridge('10.213.0.1/24'), {IP('10.213.0.9'): 'other'}, current)
    assert result['ipv4'] == '10.213.0.2/24', why


def test_auto_needs_a_bridge_address():
    with pytest.raises(ValidationError) as info:
        n.resolve_network(request(), bridge(), {})
    assert 'bridge br0 has no IPv4 address' in info.value.msg


@pytest.mark.parametrize('ipv4, bridge_addresses, expected_ipv4, expected_gateway', [
    ('10.213.0.50/24', ['10.213.0.1/24'], '10.213.0.50/24', '10.213.0.1'),
    ('10.213.0.50', ['10.213.0.1/24'], '10.213.0.50/24', '10.213.0.1'),
    ('10.2.0.50', ['10.1.0.1/24', '10.2.0.1/16'], '10.2.0.50/16', '10.2.0.1'),
    ('10.213.0.50/24', [], '10.213.0.50/24', None),
    ('10.213.0.50/255.255.255.0', ['10.213.0.1/24'], '10.213.0.50/24', '10.213.0.1'),
])
def test_static(ipv4, bridge_addresses, expected_ipv4, expected_gateway):
    result = n.resolve_network(request(ipv4=ipv4), bridge(*bridge_addresses), {IP('10.213.0.2'): 'other'})
    assert result == {'mode': 'bridge', 'bridge': 'br0', 'ipv4': expected_ipv4, 'gateway': expected_gateway}


def test_static_on_a_bridge_without_address_with_a_gateway():
    result = n.resolve_network(request(ipv4='10.213.0.50/24', gateway='10.213.0.254'), bridge(), {})
    assert result['gateway'] == '10.213.0.254'


def test_static_replaces_the_current_address():
    current = {'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.2/24', 'gateway': '10.213.0.1'}
    result = n.resolve_network(request(ipv4='10.213.0.60/24'), bridge('10.213.0.1/24'), {}, current)
    assert result['ipv4'] == '10.213.0.60/24'


@pytest.mark.parametrize('options, bridge_addresses, fragment', [
    ({'ipv4': '10.213.0.7/24'}, ['10.213.0.1/24'], "'10.213.0.7/24' is already held by container holder"),
    ({'ipv4': '10.213.0.7'}, ['10.213.0.1/24'], "'10.213.0.7' is already held by container holder"),
    ({'ipv4': '10.99.0.5'}, ['10.213.0.1/24'], "'10.99.0.5' is outside the subnet of bridge br0 (10.213.0.0/24)"),
    ({'ipv4': '10.99.0.5/24'}, ['10.213.0.1/24'], "'10.99.0.5/24' is outside the subnet of bridge br0"),
    ({'ipv4': '10.213.0.5/16'}, ['10.213.0.1/24'], "'10.213.0.5/16' is outside the subnet"),
    ({'ipv4': '10.213.0.5'}, [], "'10.213.0.5' needs a prefix"),
    ({'ipv4': '10.213.0.0/24'}, ['10.213.0.1/24'], 'the network address of 10.213.0.0/24'),
    ({'ipv4': '10.213.0.255'}, ['10.213.0.1/24'], 'the broadcast address of 10.213.0.0/24'),
    ({'ipv4': '10.213.0.1/24'}, ['10.213.0.1/24'], "'10.213.0.1/24' is the address of bridge br0"),
    ({'ipv4': '10.213.0.5/24', 'gateway': '10.213.0.5'}, ['10.213.0.1/24'], 'is also the gateway'),
    ({'ipv4': '10.213.0.5/24', 'gateway': '10.9.0.1'}, ['10.213.0.1/24'], "gateway '10.9.0.1' is not a host"),
    ({'gateway': '10.213.0.255'}, ['10.213.0.1/24'], "gateway '10.213.0.255' is not a host address"),
])
def test_static_refusals(options, bridge_addresses, fragment):
    with pytest.raises(DockerliteError) as info:
        n.resolve_network(request(**options), bridge(*bridge_addresses), {IP('10.213.0.7'): 'holder'})
    assert fragment in info.value.msg


def test_conflict_names_the_holder_in_the_details():
    with pytest.raises(DockerliteError) as info:
        n.resolve_network(request(ipv4='10.213.0.7/24'), bridge('10.213.0.1/24'), {IP('10.213.0.7'): 'web'})
    assert info.value.details == {'holder': 'web'}


def test_missing_bridge_is_named():
    with pytest.raises(DockerliteError) as info:
        n.resolve_network(request(bridge='nosuchbr0'), None, {})
    assert 'bridge nosuchbr0 does not exist' in info.value.msg
    assert info.value.details == {'bridge': 'nosuchbr0'}


def test_mode_none_needs_no_bridge():
    assert n.resolve_network({'mode': 'none'}, None, {}) == {'mode': 'none'}


def test_addresses_held():
    def container(name, network):
        return {'name': name, 'spec': {'network': network}}
    containers = [
        container('a', {'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.2/24', 'gateway': '10.213.0.1'}),
        container('b', {'mode': 'none'}),
        {'name': 'old', 'spec': {}},
        container('self', {'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.3/24', 'gateway': None}),
        container('c', {'mode': 'bridge', 'bridge': 'br1', 'ipv4': '10.9.0.2/16', 'gateway': None}),
    ]
    assert n.addresses_held(containers, exclude='self') == {IP('10.213.0.2'): 'a', IP('10.9.0.2'): 'c'}


@pytest.mark.parametrize('subnet, excluded, expected', [
    ('10.0.0.0/30', set(), '10.0.0.1'),
    ('10.0.0.0/30', {'10.0.0.1'}, '10.0.0.2'),
    ('10.0.0.0/30', {'10.0.0.1', '10.0.0.2'}, None),
    ('10.0.0.0/8', {'10.0.0.%d' % i for i in range(1, 256)}, '10.0.1.0'),
])
def test_lowest_free(subnet, excluded, expected):
    result = n.lowest_free(ipaddress.IPv4Network(subnet), {IP(item) for item in excluded})
    assert result == (IP(expected) if expected else None)


# -- what the container sees -----------------------------------------------------------------

@pytest.mark.parametrize('ipv4, expected', [
    ('10.213.0.2/24', '02:d1:0a:d5:00:02'),
    ('10.213.0.2', '02:d1:0a:d5:00:02'),
    ('192.168.255.254/16', '02:d1:c0:a8:ff:fe'),
])
def test_hwaddr_for(ipv4, expected):
    assert n.hwaddr_for(ipv4) == expected


def test_hwaddr_is_locally_administered_unicast():
    first = int(n.hwaddr_for('10.0.0.1').split(':', maxsplit=1)[0], 16)
    assert first & 0x02 and not first & 0x01


@pytest.mark.parametrize('network, expected', [
    ({'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.2/24', 'gateway': None}, '10.213.0.2'),
    ({'mode': 'none'}, None),
    (None, None),
])
def test_container_ipv4(network, expected):
    assert n.container_ipv4(network) == expected


def test_hosts_file_with_an_address():
    text = n.hosts_file('web', None, {'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.2/24', 'gateway': None})
    lines = text.splitlines()
    assert lines[0].startswith('# ')
    assert lines[1:] == ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', '10.213.0.2\tweb']


def test_hosts_file_without_an_address_and_with_a_host_name():
    text = n.hosts_file('web', 'box.example.com', {'mode': 'none'})
    assert text.splitlines()[-1] == '127.0.1.1\tbox.example.com box web'
    assert n.hostname_file('web', 'box.example.com') == 'box.example.com\n'
    assert n.hostname_file('web', None) == 'web\n'


def test_host_names_are_not_repeated():
    assert n.host_names('web', 'web') == ['web']
    assert n.host_names('web.1', None) == ['web.1', 'web']


# -- bridge inspection ------------------------------------------------------------------------

IP_JSON = [{
    'ifindex': 6, 'ifname': 'br0', 'flags': ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    'addr_info': [
        {'family': 'inet', 'local': '10.213.0.1', 'prefixlen': 24, 'scope': 'global', 'label': 'br0'},
        {'family': 'inet', 'local': '10.9.0.1', 'prefixlen': 16, 'scope': 'global', 'label': 'br0'},
        {'family': 'inet', 'local': '127.0.0.9', 'prefixlen': 8, 'scope': 'host', 'label': 'br0'},
        {'family': 'inet6', 'local': 'fe80::1', 'prefixlen': 64, 'scope': 'link'},
    ],
}]


def test_parse_ip_addr_json():
    assert n.parse_ip_addr_json(json.dumps(IP_JSON)) == (['10.213.0.1/24', '10.9.0.1/16'], True)


def test_parse_ip_addr_json_down_and_bare():
    assert n.parse_ip_addr_json(json.dumps([{'ifname': 'br0', 'flags': ['BROADCAST'], 'addr_info': []}])) \
        == ([], False)
    assert n.parse_ip_addr_json('') == ([], False)


@pytest.fixture
def sysfs(tmp_path):
    """A /sys/class/net with a bridge br0, an ordinary interface eth0, and an `ip` that prints IP_JSON."""
    root = tmp_path / 'net'
    (root / 'br0' / 'bridge').mkdir(parents=True)
    (root / 'eth0').mkdir(parents=True)
    ip = tmp_path / 'ip'
    log = tmp_path / 'ip.log'
    ip.write_text('#!/bin/sh\necho "$@" >> %s\ncat <<\'EOF\'\n%s\nEOF\n' % (log, json.dumps(IP_JSON)))
    ip.chmod(ip.stat().st_mode | stat.S_IXUSR)
    return n.HostNetwork(str(root), str(ip)), log


def test_host_network_reads_a_bridge(sysfs):
    host, log = sysfs
    found = host.bridge('br0')
    assert [str(iface) for iface in found.addresses] == ['10.213.0.1/24', '10.9.0.1/16']
    assert found.up is True and found.name == 'br0'
    assert log.read_text() == '-j -4 addr show dev br0\n'


def test_host_network_missing_bridge(sysfs):
    host, log = sysfs
    assert host.bridge('nosuch0') is None
    assert not os.path.exists(str(log))


def test_host_network_refuses_an_interface_that_is_no_bridge(sysfs):
    host, _log = sysfs
    with pytest.raises(DockerliteError) as info:
        host.bridge('eth0')
    assert 'eth0 is not a bridge' in info.value.msg


def test_host_network_refuses_a_path_as_name(sysfs):
    host, _log = sysfs
    with pytest.raises(ValidationError):
        host.bridge('../br0')


def test_host_network_on_this_host_reads_loopback_as_no_bridge():
    """The real sysfs: lo exists on every Linux host and is not a bridge."""
    with pytest.raises(DockerliteError) as info:
        n.HostNetwork().bridge('lo')
    assert 'lo is not a bridge' in info.value.msg
