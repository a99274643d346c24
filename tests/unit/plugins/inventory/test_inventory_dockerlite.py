# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The dockerlite inventory plugin: group names, lxc-ls parsing, host variables and groups.

The integration target inventory_dockerlite runs the plugin through ansible-inventory
against a real store.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible.errors import AnsibleParserError

from ansible_collections.dockerlite.core.plugins.inventory import dockerlite as plugin

CONTAINER = {
    'name': 'web', 'id': 'c' * 64, 'image': 'my-app.v2:1.0', 'image_id': 'i' * 64,
    'created': '2026-01-01T00:00:00.000000+00:00',
    'image_defaults': {'command': ['/sbin/init'], 'env': {}, 'labels': {'role': 'front'}, 'stop_signal': 'SIGPWR'},
    'spec': {'command': ['/sbin/init'], 'env': {}},
    'rootfs': '/s/containers/web/rootfs',
}


@pytest.mark.parametrize('prefix, value, expected', [
    ('image', 'busybox:latest', 'image_busybox_latest'),
    ('image', 'my-app.v2:1.0', 'image_my_app_v2_1_0'),
    ('image', 'deb:Bookworm_Slim', 'image_deb_Bookworm_Slim'),
    ('state', 'running', 'state_running'),
    ('image', 'ünï:x', 'image__n__x'),
])
def test_group_name(prefix, value, expected):
    assert plugin.group_name(prefix, value) == expected


def test_parse_lxc_ls():
    text = ('NAME           STATE   PID   \n'
            'a              RUNNING 24664 \n'
            'b.x-1          FROZEN  26753 \n'
            'c              STOPPED -     \n')
    assert plugin.parse_lxc_ls(text) == {
        'a': ('running', 24664), 'b.x-1': ('frozen', 26753), 'c': ('stopped', None)}


@pytest.mark.parametrize('text', ['', '\n', 'NAME STATE PID\n'])
def test_parse_lxc_ls_empty(text):
    assert plugin.parse_lxc_ls(text) == {}


@pytest.mark.parametrize('text, words', [
    ('NAME STATE\nweb RUNNING\n', 'unexpected lxc-ls header'),
    ('NAME STATE PID\nweb RUNNING\n', 'unexpected lxc-ls line: web RUNNING'),
])
def test_parse_lxc_ls_refuses_what_it_does_not_know(text, words):
    with pytest.raises(ValueError, match=words):
        plugin.parse_lxc_ls(text)


def test_host_vars():
    assert plugin.host_vars(CONTAINER, '/s', 'running', 42) == {
        'ansible_connection': 'dockerlite.core.dockerlite',
        'ansible_host': 'web',
        'dockerlite_root': '/s',
        'dockerlite_id': 'c' * 64,
        'dockerlite_image': 'my-app.v2:1.0',
        'dockerlite_image_id': 'i' * 64,
        'dockerlite_state': 'running',
        'dockerlite_pid': 42,
        'dockerlite_created': '2026-01-01T00:00:00.000000+00:00',
        'dockerlite_labels': {'role': 'front'},
    }


def test_host_vars_of_sparse_metadata():
    hostvars = plugin.host_vars({'name': 'old'}, '/s', 'stopped', None)
    assert hostvars['dockerlite_labels'] == {}
    assert hostvars['dockerlite_image'] is None
    assert plugin.host_groups(hostvars) == ['state_stopped']


def test_host_groups():
    hostvars = plugin.host_vars(CONTAINER, '/s', 'frozen', 42)
    assert plugin.host_groups(hostvars) == ['image_my_app_v2_1_0', 'state_frozen']


@pytest.mark.parametrize('path, accepted', [
    ('x.dockerlite.yml', True), ('x.dockerlite.yaml', True), ('dockerlite.yml', False), ('x.docker.yml', False),
    ('x.dockerlite.yml.bak', False),
])
def test_verify_file(tmp_path, path, accepted):
    (tmp_path / path).write_text('plugin: dockerlite.core.dockerlite\n')
    assert plugin.InventoryModule().verify_file(str(tmp_path / path)) is accepted


# -- _states, with a stand-in lxc-ls ----------------------------------------------

FAKE_LXC_LS = '''#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_LOG"
[ -n "$FAKE_FAIL" ] && { echo "lxc-ls: it broke" >&2; exit 1; }
printf '%s' "$FAKE_OUTPUT"
'''


@pytest.fixture
def lxc_ls(tmp_path, monkeypatch):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'lxc-ls').write_text(FAKE_LXC_LS)
    (bin_dir / 'lxc-ls').chmod(0o700)
    monkeypatch.setenv('PATH', '%s:%s' % (bin_dir, os.environ['PATH']))
    monkeypatch.setenv('FAKE_LOG', str(tmp_path / 'log'))
    monkeypatch.delenv('FAKE_FAIL', raising=False)
    return monkeypatch


def test_states_runs_lxc_ls_on_the_lxc_path(tmp_path, lxc_ls):
    lxc_ls.setenv('FAKE_OUTPUT', 'NAME STATE PID\nweb RUNNING 7\n')
    assert plugin.InventoryModule._states('/s/containers') == {'web': ('running', 7)}
    assert (tmp_path / 'log').read_text().split('\n')[:-1] == [
        '--lxcpath', '/s/containers', '--fancy', '--fancy-format', 'NAME,STATE,PID']


def test_states_reports_lxc_ls_failure(lxc_ls):
    lxc_ls.setenv('FAKE_FAIL', '1')
    with pytest.raises(AnsibleParserError, match='listing the containers of /s/containers with lxc-ls failed: '
                                                 'lxc-ls: it broke'):
        plugin.InventoryModule._states('/s/containers')


def test_states_reports_unexpected_output(lxc_ls):
    lxc_ls.setenv('FAKE_OUTPUT', 'something else\n')
    with pytest.raises(AnsibleParserError, match='cannot parse the output of lxc-ls .*unexpected lxc-ls header'):
        plugin.InventoryModule._states('/s/containers')


# -- stores of remote hosts, listed over SSH ----

def meta_text(name, **changes):
    data = {'name': name, 'id': 'a' * 64, 'image': 'app:v1', 'image_id': 'b' * 64,
            'created': '2026-01-01T00:00:00+00:00',
            'image_defaults': {'command': ['/sbin/init'], 'env': {}, 'labels': {}, 'stop_signal': 'SIGUSR1'},
            'spec': {'command': ['/bin/sh'], 'env': {'A': '1'}, 'stop_signal': 'SIGTERM'}}
    data.update(changes)
    return json.dumps(data)


def test_remote_hosts_names_and_dicts():
    hosts = plugin.remote_hosts(['node1', {'name': 'node2', 'address': '192.0.2.12', 'root': '/srv/dl/',
                                           'user': 'root', 'port': '2222', 'private_key_file': '/k'}], '/var/lib/dockerlite')
    assert hosts == [
        {'name': 'node1', 'address': 'node1', 'root': '/var/lib/dockerlite', 'user': None, 'port': None,
         'private_key_file': None},
        {'name': 'node2', 'address': '192.0.2.12', 'root': '/srv/dl', 'user': 'root', 'port': 2222,
         'private_key_file': '/k'},
    ]


@pytest.mark.parametrize('items, words', [
    ('node1', 'hosts must be a list'),
    ([42], 'a host name or a dictionary'),
    ([{'address': 'x'}], 'name must be a host name'),
    (['-oProxyCommand=x'], 'name must be a host name'),
    (['a b'], 'name must be a host name'),
    ([{'name': 'n', 'adress': 'x'}], 'unknown keys adress'),
    (['n', {'name': 'n'}], 'hosts names n twice'),
    ([{'name': 'n', 'port': 0}], 'port must be a TCP port number'),
    ([{'name': 'n', 'port': True}], 'port must be a TCP port number'),
    ([{'name': 'n', 'port': '22x'}], 'port must be a TCP port number'),
    ([{'name': 'n', 'root': 'relative'}], 'root must be an absolute path'),
])
def test_remote_hosts_refuses_bad_items(items, words):
    with pytest.raises(ValueError, match=words):
        plugin.remote_hosts(items, '/var/lib/dockerlite')


def test_parse_remote_listing_checks_every_container():
    layout = plugin.StorePaths('/s')
    data = {'lxc_ls': 'NAME STATE PID\nweb RUNNING 12\ndb STOPPED -\n',
            'containers': {'web': meta_text('web'), 'db': meta_text('db'), 'gone': None,
                           'other': meta_text('wrong-name'), 'broken': '{"name": "broken"', 'bad name': meta_text('x')}}
    containers, states, warnings = plugin.parse_remote_listing(data, layout)
    assert [c['name'] for c in containers] == ['db', 'web']
    assert states == {'web': ('running', 12), 'db': ('stopped', None)}
    assert len(warnings) == 3
    assert any(w.startswith('other in /s/containers: ') and 'differs from the directory name' in w for w in warnings)
    assert any(w.startswith('broken in /s/containers: ') for w in warnings)
    assert any(w.startswith('bad name in /s/containers: ') for w in warnings)


@pytest.mark.parametrize('data', [{'containers': []}, {'containers': {}, 'lxc_ls': 3}, {}])
def test_parse_remote_listing_refuses_a_bad_shape(data):
    with pytest.raises(ValueError, match='is not {lxc_ls, containers}'):
        plugin.parse_remote_listing(data, plugin.StorePaths('/s'))


def test_remote_host_vars_and_name():
    host = plugin.remote_hosts([{'name': 'node2', 'address': '192.0.2.12', 'port': 2222}], '/s')[0]
    variables = plugin.remote_host_vars(plugin.host_vars(CONTAINER, '/s', 'running', 7), host, '-o BatchMode=yes')
    assert variables['dockerlite_host'] == 'node2'
    assert variables['dockerlite_ssh_host'] == '192.0.2.12'
    assert variables['dockerlite_ssh_port'] == 2222
    assert variables['dockerlite_ssh_args'] == '-o BatchMode=yes'
    assert 'dockerlite_ssh_user' not in variables and 'dockerlite_ssh_private_key_file' not in variables
    assert variables['ansible_host'] == 'web' and variables['dockerlite_root'] == '/s'
    assert plugin.remote_inventory_name('web', 'node2') == 'web.node2'
    assert plugin.group_name('host', 'node-2.example') == 'host_node_2_example'
