# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Container networking: the ``network`` option, bridge inspection and IPv4 allocation.

An allocation belongs to its container: the address is kept in the container's own
metadata (``spec.network.ipv4`` in container.json), and the addresses in use are found
by reading every container of the store while the store lock is held. Removing a
container therefore frees its address with nothing else to update, and parallel runs
are serialised by the store lock. Everything here but HostNetwork is pure.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re

from ansible_collections.dockerlite.core.plugins.module_utils._common.command import run
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError, ValidationError

DEFAULT_BRIDGE = 'dlbr0'
MODES = ('none', 'bridge')
NETWORK_NONE = {'mode': 'none'}
AUTO = 'auto'
# Linux interface names: at most 15 bytes (IFNAMSIZ less the NUL), no "/", ":" or white space.
IFNAME_RE = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,14}')
# A subnet must leave room for a host besides the network and broadcast addresses.
MAX_PREFIX = 30
# Locally administered, unicast; the last four bytes are the IPv4 address (see hwaddr_for).
HWADDR_PREFIX = (0x02, 0xd1)
SYSFS_NET = '/sys/class/net'
CONTAINER_INTERFACE = 'eth0'


def _show(value):
    return repr(value)


def validate_bridge_name(value):
    if not isinstance(value, str) or not IFNAME_RE.fullmatch(value):
        raise ValidationError('network bridge %s is not a valid interface name: use letters, digits, "_", "." and '
                              '"-", starting with a letter or digit, at most 15 characters' % _show(value))
    return value


def _usable(address, what):
    if address.is_multicast or address.is_loopback or address.is_unspecified or address.is_reserved \
            or address.is_link_local:
        raise ValidationError('%s %s is not a usable host address (multicast, loopback, link-local, reserved or '
                              'unspecified)' % (what, _show(str(address))))
    return address


def parse_ipv4(value, what='network ipv4'):
    """Parse ``a.b.c.d`` or ``a.b.c.d/nn``; return (IPv4Address, prefix length or None)."""
    if not isinstance(value, str):
        raise ValidationError('%s %s must be a string such as 10.213.0.5/24 or auto' % (what, _show(value)))
    address, sep, prefix = value.partition('/')
    try:
        ip = ipaddress.IPv4Address(address)
        prefixlen = ipaddress.IPv4Network('0.0.0.0/%s' % prefix).prefixlen if sep else None
    except ValueError:
        raise ValidationError('%s %s is not an IPv4 address such as 10.213.0.5 or 10.213.0.5/24'
                              % (what, _show(value)))
    if prefixlen is not None and prefixlen > MAX_PREFIX:
        raise ValidationError('%s %s has a prefix longer than /%d, which leaves no room for a host'
                              % (what, _show(value), MAX_PREFIX))
    _usable(ip, what)
    return ip, prefixlen


def normalize_network(value):
    """Validate the ``network`` option; return the request, or None when it is not given.

    The mode defaults to bridge when a bridge, ipv4 or gateway is given, else none; in
    bridge mode the bridge defaults to dlbr0 and ipv4 to auto.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError('network must be a dictionary, got %s' % _show(value))
    unknown = set(value) - {'mode', 'bridge', 'ipv4', 'gateway'}
    if unknown:
        raise ValidationError('network has unknown keys: %s' % ', '.join(sorted(unknown)))
    details = {key: value.get(key) for key in ('bridge', 'ipv4', 'gateway') if value.get(key) is not None}
    mode = value.get('mode')
    if mode is None:
        mode = 'bridge' if details else 'none'
    if mode not in MODES:
        raise ValidationError('network mode %s must be one of %s' % (_show(mode), ', '.join(MODES)))
    if mode == 'none':
        if details:
            raise ValidationError('network mode none gives the container only loopback; it takes no %s'
                                  % ', '.join(sorted(details)))
        return dict(NETWORK_NONE)
    ipv4 = details.get('ipv4', AUTO)
    if ipv4 != AUTO:
        parse_ipv4(ipv4)
    gateway = details.get('gateway')
    if gateway is not None:
        gateway, prefix = parse_ipv4(gateway, 'network gateway')
        if prefix is not None:
            raise ValidationError('network gateway %s must be an address without a prefix'
                                  % _show(details['gateway']))
        gateway = str(gateway)
    return {'mode': 'bridge', 'bridge': validate_bridge_name(details.get('bridge', DEFAULT_BRIDGE)),
            'ipv4': ipv4, 'gateway': gateway}


# -- the host's bridges ---------------------------------------------------------------

class Bridge:
    """A bridge as found on the host: its name, IPv4 interfaces (address/prefix) and whether it is up."""

    def __init__(self, name, addresses, up=True):
        self.name = name
        self.addresses = [ipaddress.IPv4Interface(item) for item in addresses]
        self.up = up

    def own_addresses(self):
        return {iface.ip for iface in self.addresses}

    def address_in(self, network):
        """The bridge's first address on subnet ``network`` (same prefix too), or None."""
        for iface in self.addresses:
            if iface.network == network:
                return iface
        return None


def parse_ip_addr_json(text):
    """Parse ``ip -j -4 addr show dev X``: (['a.b.c.d/nn', ...], up). Host-scope addresses are left out."""
    addresses, up = [], False
    for link in json.loads(text or '[]'):
        up = up or 'UP' in (link.get('flags') or ())
        for info in link.get('addr_info') or ():
            if info.get('family') == 'inet' and info.get('scope') != 'host':
                addresses.append('%s/%s' % (info['local'], info['prefixlen']))
    return addresses, up


class HostNetwork:
    """Reads bridges from sysfs and ``ip -j addr``; changes nothing on the host."""

    def __init__(self, sysfs=SYSFS_NET, ip_command='ip'):
        self.sysfs = sysfs
        self.ip_command = ip_command

    def bridge(self, name):
        """The Bridge called ``name``, or None when no interface has that name."""
        validate_bridge_name(name)
        path = os.path.join(self.sysfs, name)
        if not os.path.exists(path):
            return None
        if not os.path.isdir(os.path.join(path, 'bridge')):
            raise DockerliteError('network interface %s is not a bridge; containers attach only to a bridge' % name,
                                  bridge=name)
        text = run([self.ip_command, '-j', '-4', 'addr', 'show', 'dev', name],
                   'reading the addresses of bridge %s' % name)
        addresses, up = parse_ip_addr_json(text)
        return Bridge(name, addresses, up)


def missing_bridge_error(name):
    return DockerliteError('bridge %s does not exist; create it first '
                           '(the dockerlite.core.dockerlite_network role does) '
                           'or use network mode none' % name, bridge=name)


# -- allocation -----------------------------------------------------------------------

def addresses_held(containers, exclude=None):
    """{IPv4Address: container name} for every container in bridge mode but ``exclude``."""
    held = {}
    for container in containers:
        network = (container.get('spec') or {}).get('network') or {}
        if container.get('name') == exclude or network.get('mode') != 'bridge' or not network.get('ipv4'):
            continue
        held[ipaddress.IPv4Interface(network['ipv4']).ip] = container['name']
    return held


def lowest_free(subnet, excluded):
    """The lowest host address of ``subnet`` not in ``excluded``, or None when all are taken."""
    first, last = int(subnet.network_address) + 1, int(subnet.broadcast_address) - 1
    for value in range(first, last + 1):
        address = ipaddress.IPv4Address(value)
        if address not in excluded:
            return address
    return None


def _static_interface(request, bridge):
    """The static address of ``request`` as an IPv4Interface inside one of the bridge's subnets."""
    ip, prefixlen = parse_ipv4(request['ipv4'])
    if prefixlen is None:
        for iface in bridge.addresses:
            if ip in iface.network:
                return ipaddress.IPv4Interface('%s/%d' % (ip, iface.network.prefixlen))
        if not bridge.addresses:
            raise ValidationError('network ipv4 %s needs a prefix (such as /24): bridge %s has no IPv4 address to '
                                  'take the subnet from' % (_show(request['ipv4']), bridge.name))
        raise ValidationError('network ipv4 %s is outside the subnet of bridge %s (%s)' % (
            _show(request['ipv4']), bridge.name, ', '.join(str(iface.network) for iface in bridge.addresses)))
    iface = ipaddress.IPv4Interface('%s/%d' % (ip, prefixlen))
    if bridge.addresses and not bridge.address_in(iface.network):
        raise ValidationError('network ipv4 %s is outside the subnet of bridge %s (%s)' % (
            _show(request['ipv4']), bridge.name, ', '.join(str(iface.network) for iface in bridge.addresses)))
    return iface


def _gateway(request, bridge, subnet):
    if request.get('gateway') is None:
        own = bridge.address_in(subnet)
        return own.ip if own else None
    gateway = ipaddress.IPv4Address(request['gateway'])
    if gateway not in subnet or gateway in (subnet.network_address, subnet.broadcast_address):
        raise ValidationError('network gateway %s is not a host address of subnet %s'
                              % (_show(request['gateway']), subnet))
    return gateway


def resolve_network(request, bridge, held, current=None):
    """The network a container gets: ``{mode, bridge, ipv4: 'a.b.c.d/nn', gateway}``.

    ``request`` comes from normalize_network; ``bridge`` is the Bridge it names (None
    when the host has none by that name); ``held`` maps the addresses of the store's
    other containers to their names; ``current`` is the container's network now. With
    ``ipv4: auto`` the current address is kept while it still fits, else the lowest free
    host address of the bridge's first subnet is taken; the network and broadcast
    addresses, the gateway and the bridge's own addresses are never handed out.
    """
    if request['mode'] == 'none':
        return dict(NETWORK_NONE)
    if bridge is None:
        raise missing_bridge_error(request['bridge'])
    if request['ipv4'] == AUTO:
        if not bridge.addresses:
            raise ValidationError('bridge %s has no IPv4 address to allocate from; give network ipv4 as an '
                                  'address with a prefix (such as 10.213.0.5/24)' % bridge.name)
        subnet = bridge.addresses[0].network
        gateway = _gateway(request, bridge, subnet)
        excluded = set(held) | bridge.own_addresses() | {gateway}
        address = None
        if current and current.get('mode') == 'bridge' and current.get('bridge') == bridge.name:
            kept = ipaddress.IPv4Interface(current['ipv4'])
            if kept.network == subnet and kept.ip not in excluded:
                address = kept.ip
        if address is None:
            address = lowest_free(subnet, excluded)
        if address is None:
            raise DockerliteError('no free IPv4 address left in %s on bridge %s (%d held by containers of this '
                                  'store)' % (subnet, bridge.name, len(held)), bridge=bridge.name)
        iface = ipaddress.IPv4Interface('%s/%d' % (address, subnet.prefixlen))
    else:
        iface = _static_interface(request, bridge)
        subnet = iface.network
        if iface.ip in (subnet.network_address, subnet.broadcast_address):
            raise ValidationError('network ipv4 %s is the %s address of %s, not a host address' % (
                _show(request['ipv4']), 'network' if iface.ip == subnet.network_address else 'broadcast', subnet))
        if iface.ip in bridge.own_addresses():
            raise ValidationError('network ipv4 %s is the address of bridge %s itself'
                                  % (_show(request['ipv4']), bridge.name))
        if iface.ip in held:
            raise DockerliteError('network ipv4 %s is already held by container %s'
                                  % (_show(request['ipv4']), held[iface.ip]), holder=held[iface.ip])
        gateway = _gateway(request, bridge, subnet)
        if gateway == iface.ip:
            raise ValidationError('network ipv4 %s is also the gateway' % _show(request['ipv4']))
    return {'mode': 'bridge', 'bridge': bridge.name, 'ipv4': iface.with_prefixlen,
            'gateway': str(gateway) if gateway is not None else None}


# -- what a resolved network means for the container ---------------------------------------

def container_ipv4(network):
    """The container's address without prefix, or None without one."""
    if not network or network.get('mode') != 'bridge' or not network.get('ipv4'):
        return None
    return str(ipaddress.IPv4Interface(network['ipv4']).ip)


def hwaddr_for(ipv4):
    """The MAC address of the container side of the veth: 02:d1 and the four bytes of the address.

    Deriving it from the address rather than the container means that when an address
    is handed out again, the neighbours' ARP caches (the host's included) still hold
    the right MAC address, so the new holder is reachable at once.
    """
    packed = ipaddress.IPv4Address(str(ipv4).split('/', maxsplit=1)[0]).packed
    return ':'.join('%02x' % byte for byte in HWADDR_PREFIX + tuple(packed))


def host_names(name, hostname):
    """The names a container answers to in its /etc/hosts: host name, its first label, container name."""
    names = []
    for item in (hostname or name, (hostname or name).split('.')[0], name):
        if item not in names:
            names.append(item)
    return names


def hosts_file(name, hostname, network):
    """/etc/hosts for a container: localhost, and its address (127.0.1.1 without one) with its names."""
    address = container_ipv4(network) or '127.0.1.1'
    return ('# Written by dockerlite.core for container %s; edits here are overwritten.\n'
            '127.0.0.1\tlocalhost\n'
            '::1\tlocalhost ip6-localhost ip6-loopback\n'
            '%s\t%s\n' % (name, address, ' '.join(host_names(name, hostname))))


def hostname_file(name, hostname):
    return '%s\n' % (hostname or name)
