# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_container's network option through ContainerManager, over FakeBtrfs, FakeLxc and fake bridges.

As in test_managers.py, every change runs in check mode and for real on two hosts set up
alike: same actions and diff, nothing touched by check mode, nothing changed by a second
real run. The addresses expected are worked out by hand: the bridges are br0 at
10.213.0.1/24 and br1 at 10.214.0.1/24, so the first container gets .2.
"""

from __future__ import annotations

import ipaddress
import json
import os

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import ContainerManager
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image import ImageManager
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import (
    FakeHost, check_mode_run, listing, module_params, run_manager, store_state, twin_hosts)

SLEEP = ['sleep', '3600']
BR0 = {'bridge': 'br0'}


@pytest.fixture
def src(tmp_path):
    path = tmp_path / 'src-rootfs'
    (path / 'etc').mkdir(parents=True)
    (path / 'etc' / 'hosts').write_text('127.0.0.1 image-localhost\n')
    return str(path)


def new_host(path, src):
    host = FakeHost(path)
    host.network.add_bridge('br0', '10.213.0.1/24')
    host.network.add_bridge('br1', '10.214.0.1/24')
    run_manager(host, ImageManager, 'dockerlite_image', name='base', source='directory', path=src)
    return host


def container(host, check_mode=False, **params):
    params.setdefault('command', SLEEP)
    return run_manager(host, ContainerManager, 'dockerlite_container', check_mode=check_mode, **params)


def parity(tmp_path, ids, src, setup, **params):
    """Run ``params`` in check mode on one host and for real on another; return (check, real, real host)."""
    check_host, real_host = twin_hosts(ids, lambda label: new_host(tmp_path / label / 'store', src), setup)
    check = check_mode_run(check_host, lambda: container(check_host, check_mode=True, **params))
    real = container(real_host, **params)
    assert (check['actions'], check['diff']) == (real['actions'], real['diff'])
    assert check['container']['network'] == real['container']['network']
    assert check['container']['ipv4'] == real['container']['ipv4']
    again_check = container(real_host, check_mode=True, **params)
    again = container(real_host, **params)
    assert again_check['actions'] == again['actions'] == []
    assert again['container']['network'] == real['container']['network']
    return check, real, real_host


def config_of(host, name):
    with open(os.path.join(host.root, 'containers', name, 'config')) as handle:
        return handle.read().split('\n')


def file_of(host, name, filename):
    with open(os.path.join(host.root, 'containers', name, filename)) as handle:
        return handle.read()


def meta_of(host, name):
    with open(os.path.join(host.root, 'containers', name, 'container.json')) as handle:
        return json.load(handle)


def nothing(host):
    pass


def web(**network):
    def setup(host):
        container(host, name='web', image='base', network=network or None)
    return setup


def bridged(host):
    container(host, name='web', image='base', network=BR0)


# -- creating ----------------------------------------------------------------------------

def test_create_on_a_bridge(tmp_path, ids, src):
    _check, real, host = parity(tmp_path, ids, src, nothing, name='web', image='base', network=BR0)
    assert real['actions'] == ['create', 'start']
    assert real['container']['ipv4'] == '10.213.0.2'
    assert real['container']['network'] == {'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.2/24',
                                            'gateway': '10.213.0.1'}
    assert real['diff']['after']['network'] == real['container']['network']
    assert real['diff']['before']['network'] is None and real['diff']['before']['state'] == 'absent'
    config = config_of(host, 'web')
    for line in ('lxc.net.0.type = veth', 'lxc.net.0.link = br0', 'lxc.net.0.flags = up', 'lxc.net.0.name = eth0',
                 'lxc.net.0.hwaddr = 02:d1:0a:d5:00:02', 'lxc.net.0.ipv4.address = 10.213.0.2/24 10.213.0.255',
                 'lxc.net.0.ipv4.gateway = 10.213.0.1'):
        assert line in config
    assert 'lxc.net.0.type = empty' not in config
    assert meta_of(host, 'web')['spec']['network'] == real['container']['network']


def test_the_start_waits_for_the_address(tmp_path, src):
    host = new_host(tmp_path / 'store', src)
    host.forget_calls()
    container(host, name='web', image='base', network=BR0)
    names = [call[0] for call in host.calls if call[0] in ('start', 'wait_for_ipv4')]
    assert names == ['start', 'wait_for_ipv4']
    assert ('wait_for_ipv4', 'web', '10.213.0.2', 'eth0') in host.calls


@pytest.mark.parametrize('params', [
    dict(network=BR0, wait_for_ipv4=False),
    dict(network=None, wait_for_ipv4=True),
    dict(network=BR0, state='present'),
])
def test_no_wait(tmp_path, src, params):
    host = new_host(tmp_path / 'store', src)
    container(host, name='web', image='base', **params)
    assert not [call for call in host.calls if call[0] == 'wait_for_ipv4']


def test_default_is_loopback_only(tmp_path, src):
    host = new_host(tmp_path / 'store', src)
    result = container(host, name='web', image='base')
    assert result['container']['network'] == {'mode': 'none'}
    assert result['container']['ipv4'] is None
    assert 'lxc.net.0.type = empty' in config_of(host, 'web')
    assert not [call for call in host.calls if call[0] == 'bridge']


def test_hosts_and_hostname_files(tmp_path, src):
    host = new_host(tmp_path / 'store', src)
    container(host, name='web', image='base', network=BR0, hostname='box.example.com')
    directory = os.path.join(host.root, 'containers', 'web')
    config = config_of(host, 'web')
    assert 'lxc.mount.entry = %s/hosts etc/hosts none bind,create=file 0 0' % directory in config
    assert 'lxc.mount.entry = %s/hostname etc/hostname none bind,create=file 0 0' % directory in config
    assert file_of(host, 'web', 'hosts').splitlines()[-1] == '10.213.0.2\tbox.example.com box web'
    assert file_of(host, 'web', 'hostname') == 'box.example.com\n'
    # The rootfs keeps the image's file: the generated ones are bind-mounted over it.
    with open(os.path.join(directory, 'rootfs', 'etc', 'hosts')) as handle:
        assert handle.read() == '127.0.0.1 image-localhost\n'


def test_hosts_file_without_network(tmp_path, src):
    host = new_host(tmp_path / 'store', src)
    container(host, name='web', image='base')
    assert file_of(host, 'web', 'hosts').splitlines()[-1] == '127.0.1.1\tweb'


def test_addresses_are_handed_out_lowest_first_and_again_after_removal(tmp_path, src):
    host = new_host(tmp_path / 'store', src)
    got = [container(host, name=name, image='base', network=BR0)['container']['ipv4'] for name in 'abc']
    assert got == ['10.213.0.2', '10.213.0.3', '10.213.0.4']
    container(host, name='b', state='absent')
    assert container(host, name='d', image='base', network=BR0)['container']['ipv4'] == '10.213.0.3'
    assert container(host, name='e', image='base', network=BR0)['container']['ipv4'] == '10.213.0.5'


def test_create_remove_cycles_leave_the_pool_as_it_was(tmp_path, src):
    host = new_host(tmp_path / 'store', src)
    container(host, name='a', image='base', network=BR0)
    for _cycle in range(50):
        result = container(host, name='cycle', image='base', network=BR0, state='present')
        assert result['container']['ipv4'] == '10.213.0.3'
        container(host, name='cycle', state='absent')
    assert listing(os.path.join(host.root, 'containers')) == ['a']
    assert container(host, name='b', image='base', network=BR0)['container']['ipv4'] == '10.213.0.3'


def manager_for(host, **params):
    params.setdefault('command', SLEEP)
    return ContainerManager(module_params('dockerlite_container', root=host.root, **params), host.store(),
                            host_network=host.network)


@pytest.mark.parametrize('address', ['10.213.0.2', '10.213.0.2/24', ipaddress.IPv4Address('10.213.0.2')])
def test_addresses_reserved_in_the_session_are_skipped(tmp_path, src, address):
    """A caller that plans several containers in one session reserves their addresses."""
    host = new_host(tmp_path / 'store', src)
    manager = manager_for(host, name='b', image='base', network=BR0)
    manager.reserved = {address: 'a'}
    assert manager.run()['container']['ipv4'] == '10.213.0.3'


def test_a_reservation_of_the_container_itself_is_not_a_conflict(tmp_path, src):
    host = new_host(tmp_path / 'store', src)
    manager = manager_for(host, name='b', image='base', network={'bridge': 'br0', 'ipv4': '10.213.0.2/24'})
    manager.reserved = {'10.213.0.2': 'b'}
    assert manager.run()['container']['ipv4'] == '10.213.0.2'


def test_plan_apply_report_piecewise_in_one_session(tmp_path, src):
    """Two containers planned before either is made, then applied one action at a time."""
    host = new_host(tmp_path / 'store', src)
    store = host.store()
    first = manager_for(host, name='a', image='base', network=BR0)
    second = manager_for(host, name='b', image='base', network=BR0)
    for manager in (first, second):
        manager.store = store
    with store.session():
        plans = [(manager, manager.validate()) for manager in (first, second)]
        for manager, (name, ref, given) in plans:
            manager.reserved = {'10.213.0.2': 'a'} if manager is second else {}
            manager.plan((name, ref, given))
        assert first.actions == second.actions == ['create', 'start']
        assert listing(os.path.join(host.root, 'containers')) == []
        for manager in (first, second):
            assert manager.apply(['create']) is None
        assert host.lxc.states == {}
        for manager in (first, second):
            manager.apply(['start'])
        results = [manager.report() for manager in (first, second)]
    assert [result['container']['ipv4'] for result in results] == ['10.213.0.2', '10.213.0.3']
    assert [result['container']['state'] for result in results] == ['running', 'running']
    assert [result['actions'] for result in results] == [['create', 'start']] * 2


def test_two_bridges_allocate_separately(tmp_path, src):
    host = new_host(tmp_path / 'store', src)
    assert container(host, name='a', image='base', network=BR0)['container']['ipv4'] == '10.213.0.2'
    assert container(host, name='b', image='base', network={'bridge': 'br1'})['container']['ipv4'] == '10.214.0.2'


def test_static_address(tmp_path, ids, src):
    _check, real, host = parity(tmp_path, ids, src, nothing, name='web', image='base',
                                network={'bridge': 'br0', 'ipv4': '10.213.0.50/24'})
    assert real['container']['ipv4'] == '10.213.0.50'
    assert container(host, name='next', image='base', network=BR0)['container']['ipv4'] == '10.213.0.2'


# -- keeping the address ---------------------------------------------------------------------

def test_address_is_kept_across_stop_start_and_other_changes(tmp_path, src):
    host = new_host(tmp_path / 'store', src)
    container(host, name='filler', image='base', network=BR0)
    first = container(host, name='web', image='base', network=BR0)['container']['network']
    container(host, name='filler', state='absent')
    assert container(host, name='web', state='stopped')['container']['network'] == first
    assert container(host, name='web', network=BR0)['container']['network'] == first
    result = container(host, name='web', env={'A': '1'}, memory='64m', network=BR0)
    assert result['actions'] == ['stop', 'update_config', 'start']
    assert result['container']['network'] == first
    assert container(host, name='web', state='restarted')['container']['network'] == first
    # Left out, the network is kept as it is.
    assert container(host, name='web', hostname='other')['container']['network'] == first
    assert first['ipv4'] == '10.213.0.3/24'


def test_container_from_before_networking_is_unchanged(tmp_path, src):
    """container.json written before the network option existed has no spec.network."""
    host = new_host(tmp_path / 'store', src)
    container(host, name='web', image='base')
    path = os.path.join(host.root, 'containers', 'web', 'container.json')
    meta = meta_of(host, 'web')
    del meta['spec']['network']
    with open(path, 'w') as handle:
        json.dump(meta, handle)
    result = container(host, name='web', image='base')
    assert result['actions'] == [] and result['changed'] is False
    assert result['container']['network'] == {'mode': 'none'} and result['container']['ipv4'] is None
    result = container(host, name='web', network={'mode': 'none'})
    assert result['actions'] == []


# -- changing the network ----------------------------------------------------------------------

@pytest.mark.parametrize('setup, network, expected', [
    (web(), BR0, {'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.2/24', 'gateway': '10.213.0.1'}),
    (bridged, {'bridge': 'br0', 'ipv4': '10.213.0.99/24'},
     {'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.99/24', 'gateway': '10.213.0.1'}),
    (bridged, {'bridge': 'br1'}, {'mode': 'bridge', 'bridge': 'br1', 'ipv4': '10.214.0.2/24', 'gateway': '10.214.0.1'}),
    (bridged, {'bridge': 'br0', 'gateway': '10.213.0.254'},
     {'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.213.0.2/24', 'gateway': '10.213.0.254'}),
    (bridged, {'mode': 'none'}, {'mode': 'none'}),
], ids=['none to bridge', 'auto to static', 'other bridge', 'other gateway', 'bridge to none'])
def test_network_change_rewrites_the_config_and_restarts(tmp_path, ids, src, setup, network, expected):
    _check, real, host = parity(tmp_path, ids, src, setup, name='web', network=network)
    assert real['actions'] == ['stop', 'update_config', 'start']
    assert real['container']['network'] == expected
    assert real['diff']['after']['network'] == expected
    assert real['diff']['before']['network'] != expected
    changed = [key for key in real['diff']['before'] if real['diff']['before'][key] != real['diff']['after'][key]]
    assert changed == ['network']
    assert not [call for call in host.calls if call[0] in ('snapshot', 'remove_tree', 'create_subvolume')]
    hosts_line = file_of(host, 'web', 'hosts').splitlines()[-1]
    assert hosts_line == '%s\tweb' % (expected['ipv4'].split('/')[0] if 'ipv4' in expected else '127.0.1.1')


def test_static_back_to_auto_keeps_the_address(tmp_path, src):
    host = new_host(tmp_path / 'store', src)
    container(host, name='web', image='base', network={'bridge': 'br0', 'ipv4': '10.213.0.99/24'})
    result = container(host, name='web', network=BR0)
    assert result['actions'] == [] and result['container']['ipv4'] == '10.213.0.99'


def test_auto_moves_when_the_bridge_is_readdressed(tmp_path, src):
    host = new_host(tmp_path / 'store', src)
    container(host, name='web', image='base', network=BR0)
    host.network.add_bridge('br0', '10.99.0.1/16')
    result = container(host, name='web', network=BR0)
    assert result['actions'] == ['stop', 'update_config', 'start']
    assert result['container']['network'] == {'mode': 'bridge', 'bridge': 'br0', 'ipv4': '10.99.0.2/16',
                                              'gateway': '10.99.0.1'}


def test_recreate_without_network_frees_the_address(tmp_path, src):
    host = new_host(tmp_path / 'store', src)
    container(host, name='web', image='base', network=BR0)
    run_manager(host, ImageManager, 'dockerlite_image', name='base', force=True)
    result = container(host, name='web', image='base', recreate=True)
    assert result['actions'] == ['stop', 'remove', 'create', 'start']
    assert result['container']['network'] == {'mode': 'none'}
    assert container(host, name='other', image='base', network=BR0)['container']['ipv4'] == '10.213.0.2'


def test_run_once_on_a_bridge(tmp_path, src):
    host = new_host(tmp_path / 'store', src)
    result = container(host, name='once', image='base', command=['wget', '-O-', 'http://10.213.0.2/'],
                       network=BR0, detach=False, cleanup=True)
    assert result['actions'] == ['create', 'run', 'remove'] and result['rc'] == 0
    assert not [call for call in host.calls if call[0] == 'wait_for_ipv4']
    assert container(host, name='next', image='base', network=BR0)['container']['ipv4'] == '10.213.0.2'


# -- refusals: same error in both modes, nothing touched --------------------------------------

def holder(host):
    container(host, name='holder', image='base', network={'bridge': 'br0', 'ipv4': '10.213.0.7/24'})


def stopped_on_br9(host):
    host.network.add_bridge('br9', '10.215.0.1/24')
    container(host, name='web', image='base', network={'bridge': 'br9'}, state='stopped')
    del host.network.bridges['br9']


REFUSALS = [
    ('static held', holder, dict(name='web', image='base', network={'bridge': 'br0', 'ipv4': '10.213.0.7/24'}),
     "'10.213.0.7/24' is already held by container holder"),
    ('static held, change', lambda host: (holder(host), web()(host)),
     dict(name='web', network={'bridge': 'br0', 'ipv4': '10.213.0.7'}), 'already held by container holder'),
    ('static outside', nothing, dict(name='web', image='base', network={'bridge': 'br0', 'ipv4': '10.99.0.5'}),
     "'10.99.0.5' is outside the subnet of bridge br0"),
    ('missing bridge', nothing, dict(name='web', image='base', network={'bridge': 'nosuchbr0'}),
     'bridge nosuchbr0 does not exist'),
    ('missing bridge, present', nothing, dict(name='web', image='base', network={'bridge': 'nosuchbr0'},
                                              state='present'), 'bridge nosuchbr0 does not exist'),
    ('missing bridge on start', stopped_on_br9, dict(name='web'), 'bridge br9 does not exist'),
    ('missing bridge on a run', stopped_on_br9, dict(name='web', detach=False), 'bridge br9 does not exist'),
    ('none with a bridge', nothing, dict(name='web', image='base', network={'mode': 'none', 'bridge': 'br0'}),
     'takes no bridge'),
]


@pytest.mark.parametrize('setup, params, fragment', [item[1:] for item in REFUSALS],
                         ids=[item[0] for item in REFUSALS])
def test_refusals(tmp_path, ids, src, setup, params, fragment):
    messages = []
    for label, check_mode in (('check', True), ('real', False)):
        ids.reset()
        host = new_host(tmp_path / label / 'store', src)
        setup(host)
        host.forget_calls()
        before, states = store_state(host.root), dict(host.lxc.states)
        with pytest.raises(DockerliteError) as info:
            container(host, check_mode=check_mode, **params)
        assert fragment in info.value.msg
        assert store_state(host.root) == before
        assert host.btrfs.mutating_calls() == [] and host.lxc.mutating_calls() == []
        assert host.lxc.states == states
        messages.append(info.value.msg)
    assert messages[0] == messages[1]


def test_missing_bridge_does_not_stop_a_stop(tmp_path, src):
    """Stopping or removing a container whose bridge is gone needs no bridge."""
    host = new_host(tmp_path / 'store', src)
    host.network.add_bridge('br9', '10.215.0.1/24')
    container(host, name='web', image='base', network={'bridge': 'br9'})
    del host.network.bridges['br9']
    assert container(host, name='web', state='stopped')['actions'] == ['stop']
    assert container(host, name='web', state='absent')['actions'] == ['remove']


def test_a_bridge_that_is_down_warns(tmp_path, src):
    host = new_host(tmp_path / 'store', src)
    host.network.add_bridge('br0', '10.213.0.1/24', up=False)
    result = container(host, name='web', image='base', network=BR0)
    assert any('bridge br0 is down' in warning for warning in result['warnings'])
