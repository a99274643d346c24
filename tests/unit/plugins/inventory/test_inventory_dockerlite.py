# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The dockerlite inventory plugin: group names, lxc-ls parsing, host variables and groups.

The integration target inventory_dockerlite runs the plugin through ansible-inventory
against a real store.
"""

from __future__ import annotations

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
