# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""validation.py: every accepted value's normal form, and every refusal naming the bad value."""

from __future__ import annotations

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._common import validation as v
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import ValidationError


def refused(func, *args):
    """Call ``func``; return the ValidationError message (fails the test if nothing is raised)."""
    with pytest.raises(ValidationError) as info:
        func(*args)
    assert info.value.msg == str(info.value)
    return info.value.msg


# -- control characters -------------------------------------------------------

@pytest.mark.parametrize('value', ['plain', 'tab\tinside', 'ünïcode', '#=;"\'\\', ''])
def test_no_control_chars_accepts(value):
    assert v.check_no_control_chars(value, 'thing') == value


@pytest.mark.parametrize('value', ['new\nline', 'nul\x00', 'cr\r', 'esc\x1b[0m', 'del\x7f', 'vt\x0b', 'ff\x0c',
                                   'trailing newline\n'])
def test_no_control_chars_refuses(value):
    assert repr(value) in refused(v.check_no_control_chars, value, 'thing')


# -- image references -----------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    ('busybox', ('busybox', 'latest')),
    ('busybox:1.36', ('busybox', '1.36')),
    ('my-img_2.x:v1_0', ('my-img_2.x', 'v1_0')),
    ('0abc:_tag', ('0abc', '_tag')),
    ('a', ('a', 'latest')),
    ('deb:Bookworm-Slim', ('deb', 'Bookworm-Slim')),
    ('x' * 128, ('x' * 128, 'latest')),
    ('x:' + 't' * 128, ('x', 't' * 128)),
])
def test_parse_image_ref(value, expected):
    assert v.parse_image_ref(value) == expected
    assert v.image_ref(value) == '%s:%s' % expected


@pytest.mark.parametrize('value', [
    'BusyBox', '-x', '.x', '_x', 'a/b', '../etc', 'a..b', 'a b', 'busybox\n', 'busy\nbox', 'x' * 129,
    'a:', 'a:b:c', 'a:-t', 'a:.t', 'a:t..u', 'a:t/u', 'a:t u', 'a:' + 't' * 129, 'a:latest\n', ':latest',
    'a\x00', 'é',
])
def test_parse_image_ref_refuses(value):
    msg = refused(v.parse_image_ref, value)
    assert repr(value) in msg
    assert refused(v.image_ref, value) == msg


@pytest.mark.parametrize('value', ['', None, 5, ['busybox'], True])
def test_parse_image_ref_refuses_non_strings(value):
    assert repr(value) in refused(v.parse_image_ref, value)


def test_parse_image_ref_names_what():
    assert refused(v.parse_image_ref, 'A', 'base image').startswith('base image name')


# -- container names ------------------------------------------------------------

@pytest.mark.parametrize('value', ['web', 'Web-1.a_b', '0', 'a' * 64, 'db.prod'])
def test_container_name(value):
    assert v.validate_container_name(value) == value


@pytest.mark.parametrize('value', [
    'a' * 65, '', '..', 'a..b', '/x', 'a/b', 'a b', ' web', 'web ', 'a\nb', 'web\n', 'tab\there', '-a', '.a', '_a',
    'a:b', 'ü', 'a\x00',
])
def test_container_name_refuses(value):
    assert repr(value) in refused(v.validate_container_name, value)


@pytest.mark.parametrize('value', [None, 5, True, ['web']])
def test_container_name_refuses_non_strings(value):
    assert repr(value) in refused(v.validate_container_name, value)


# -- commands -------------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    ('sleep 10', ['sleep', '10']),
    ("sh -c 'echo a b'", ['sh', '-c', 'echo a b']),
    ('/sbin/init', ['/sbin/init']),
    (['/bin/sh', '-c', 'x  y'], ['/bin/sh', '-c', 'x  y']),
    (['sleep', 5], ['sleep', '5']),
    (['prog', 1.5], ['prog', '1.5']),
    (('prog', 'arg'), ['prog', 'arg']),
    (['/bin/sh', '-c', 'echo a\necho b'], ['/bin/sh', '-c', 'echo a\necho b']),
    (['prog', ''], ['prog', '']),
    (None, None),
])
def test_normalize_command(value, expected):
    assert v.normalize_command(value) == expected


@pytest.mark.parametrize('value, bad', [
    ('', ''),
    ('   ', '   '),
    ([], []),
    ([''], ['']),
    (['', 'x'], ['', 'x']),
    ('unclosed "quote', 'unclosed "quote'),
    ({'a': 1}, {'a': 1}),
    (5, 5),
    (['a', None], None),
    (['a', True], True),
    (['a', ['b']], ['b']),
    (['a\x00b'], 'a\x00b'),
    ('a\x00b c', 'a\x00b'),
])
def test_normalize_command_refuses(value, bad):
    assert repr(bad) in refused(v.normalize_command, value)


# -- environment ----------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    ({'A': '1', '_b2': 'x y', 'lower': 'v'}, {'A': '1', '_b2': 'x y', 'lower': 'v'}),
    ({'N': 5, 'F': 1.5}, {'N': '5', 'F': '1.5'}),
    ({'EMPTY': ''}, {'EMPTY': ''}),
    ({'T': 'a\tb', 'L': ' leading', 'Q': 'a=b "c" \'d\' #e \\f'},
     {'T': 'a\tb', 'L': ' leading', 'Q': 'a=b "c" \'d\' #e \\f'}),
    ({}, {}),
    (None, None),
])
def test_normalize_env(value, expected):
    assert v.normalize_env(value) == expected


@pytest.mark.parametrize('name', ['1A', 'A-B', 'A B', '', 'A=B', 'A\n', '\nA', 'Ä', 5, None])
def test_normalize_env_refuses_names(name):
    assert repr(name) in refused(v.normalize_env, {name: 'x'})


@pytest.mark.parametrize('value', ['a\nb', 'x\nlxc.cap.drop = ', 'nul\x00', 'cr\r', 'del\x7f', 'trailing ',
                                   'trailing\t', '\n', True, False, None, ['x'], {'x': 1}])
def test_normalize_env_refuses_values(value):
    msg = refused(v.normalize_env, {'GOOD': 'ok', 'BAD': value})
    assert repr(value) in msg
    assert 'BAD' in msg


@pytest.mark.parametrize('value', ['A=1', ['A=1'], 5])
def test_normalize_env_refuses_non_dicts(value):
    assert repr(value) in refused(v.normalize_env, value)


# -- labels ---------------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    ({'org.example/team': 'web ', 'n': 3}, {'org.example/team': 'web ', 'n': '3'}),
    (None, None),
])
def test_normalize_labels(value, expected):
    assert v.normalize_labels(value) == expected


@pytest.mark.parametrize('value, bad', [
    ({'k': 'a\nb'}, 'a\nb'),
    ({'k\n': 'v'}, 'k\n'),
    ({'': 'v'}, ''),
    ({'k': True}, True),
    ({5: 'v'}, 5),
    (['k=v'], ['k=v']),
])
def test_normalize_labels_refuses(value, bad):
    assert repr(bad) in refused(v.normalize_labels, value)


# -- mounts ---------------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    ([{'source': '/srv/www', 'target': '/www'}], [{'source': '/srv/www', 'target': '/www', 'read_only': False}]),
    ([{'source': '/srv//www/', 'target': '/a/./b/', 'read_only': True}],
     [{'source': '/srv/www', 'target': '/a/b', 'read_only': True}]),
    ([{'source': '/b', 'target': '/z'}, {'source': '/a', 'target': '/y', 'read_only': False}],
     [{'source': '/b', 'target': '/z', 'read_only': False}, {'source': '/a', 'target': '/y', 'read_only': False}]),
    ([{'source': '/my dir\\x', 'target': '/da\tta'}],
     [{'source': '/my dir\\x', 'target': '/da\tta', 'read_only': False}]),
    ([{'source': '/srv', 'target': '/x..y'}], [{'source': '/srv', 'target': '/x..y', 'read_only': False}]),
    # idmap is recorded only when true, so that mounts made before it existed compare equal.
    ([{'source': '/a', 'target': '/b', 'idmap': True}], [{'source': '/a', 'target': '/b', 'read_only': False,
                                                          'idmap': True}]),
    ([{'source': '/a', 'target': '/b', 'idmap': False}], [{'source': '/a', 'target': '/b', 'read_only': False}]),
    ([], []),
    (None, None),
])
def test_normalize_mounts(value, expected):
    assert v.normalize_mounts(value) == expected


@pytest.mark.parametrize('value, bad', [
    ({'source': '/a', 'target': '/b'}, {'source': '/a', 'target': '/b'}),
    (['/a:/b'], '/a:/b'),
    ([{'source': 'srv', 'target': '/b'}], 'srv'),
    ([{'source': '/srv', 'target': 'www'}], 'www'),
    ([{'source': '/srv/../etc', 'target': '/b'}], '/srv/../etc'),
    ([{'source': '/srv', 'target': '/www/..'}], '/www/..'),
    ([{'source': '/srv', 'target': '/../x'}], '/../x'),
    ([{'source': '/srv', 'target': '/'}], '/'),
    ([{'source': '/srv', 'target': '/.'}], '/.'),
    ([{'source': '/srv', 'target': '//'}], '//'),
    ([{'source': '/a', 'target': '/www'}, {'source': '/b', 'target': '/www'}], '/www'),
    ([{'source': '/a', 'target': '/www'}, {'source': '/b', 'target': '/www/'}], '/www'),
    ([{'source': '/a', 'target': '/x'}, {'source': '/b', 'target': '//x'}], '/x'),
    ([{'source': '/srv', 'target': '/b', 'readonly': True}], 'readonly'),
    ([{'target': '/b'}], None),
    ([{'source': '/srv\n', 'target': '/b'}], '/srv\n'),
    ([{'source': '/srv', 'target': '/b\nlxc.cap.drop = all'}], '/b\nlxc.cap.drop = all'),
    ([{'source': '/srv', 'target': '/b', 'read_only': 'yes'}], 'yes'),
    ([{'source': '/srv', 'target': '/b', 'idmap': 'maybe'}], 'maybe'),
])
def test_normalize_mounts_refuses(value, bad):
    assert repr(bad) in refused(v.normalize_mounts, value)


# -- hostnames ------------------------------------------------------------------

@pytest.mark.parametrize('value', ['web', 'web-1.example.com', 'A1', 'a' * 63, '.'.join(['a' * 63] * 3 + ['b' * 61]),
                                   None])
def test_hostname(value):
    assert v.validate_hostname(value) == value


@pytest.mark.parametrize('value', ['a' * 64, '-web', 'web-', 'we_b', 'web.', '.web', 'a..b', '', 'web\n', 'we b',
                                   '.'.join(['a' * 63] * 4), 'ü', 5])
def test_hostname_refuses(value):
    assert repr(value) in refused(v.validate_hostname, value)


# -- sizes, cpus, pids ----------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    ('512m', 536870912),
    ('1.5g', 1610612736),
    ('1.5GiB', 1610612736),
    ('2MB', 2 * 1024 ** 2),
    ('1KiB', 1024),
    ('1k', 1024),
    (' 64 m ', 64 * 1024 ** 2),
    ('1t', 1024 ** 4),
    ('1p', 1024 ** 5),
    ('100', 100),
    ('100b', 100),
    (1024, 1024),
    (None, None),
])
def test_parse_size(value, expected):
    assert v.parse_size(value, 'memory') == expected


@pytest.mark.parametrize('value', ['lots', 0, -1, '0', '-1', '-1m', True, False, '', 'm', '1x', '1.5.2g', '0.1',
                                   '1e3', '512m\x00'])
def test_parse_size_refuses(value):
    msg = refused(v.parse_size, value, 'memory')
    assert msg.startswith('memory ')
    assert repr(value) in msg


@pytest.mark.parametrize('value, expected', [(None, None), ('none', 0), ('None', 0), (' NONE ', 0), ('0', 0), (0, 0),
                                             ('1g', 1 << 30), ('512m', 512 << 20), (4096, 4096)])
def test_parse_disk_limit(value, expected):
    assert v.parse_disk_limit(value) == expected


@pytest.mark.parametrize('value', ['lots', '-1g', '0.1', 'nothing', '', True])
def test_parse_disk_limit_refuses(value):
    msg = refused(v.parse_disk_limit, value)
    assert msg.startswith('disk_limit ') and repr(value) in msg


@pytest.mark.parametrize('value, expected', [(1, 1.0), ('1.5', 1.5), (0.5, 0.5), (0.01, 0.01), (4096, 4096.0),
                                             (None, None)])
def test_parse_cpus(value, expected):
    assert v.parse_cpus(value) == expected


@pytest.mark.parametrize('value', [0, 0.009, -1, 'lots', True, False, float('nan'), float('inf'), 4097, '', [1]])
def test_parse_cpus_refuses(value):
    assert repr(value) in refused(v.parse_cpus, value)


@pytest.mark.parametrize('value', [1, 100, 4194304, None])
def test_pids_limit(value):
    assert v.validate_pids_limit(value) == value


@pytest.mark.parametrize('value', [0, -1, True, '100', 1.5])
def test_pids_limit_refuses(value):
    assert repr(value) in refused(v.validate_pids_limit, value)


# -- capabilities ---------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    (['CAP_SYS_TIME'], ['sys_time']),
    (['Sys_Time', 'sys_time', 'cap_sys_time'], ['sys_time']),
    (['net_raw', 'chown'], ['chown', 'net_raw']),
    (['all'], ['all']),
    (['ALL'], ['all']),
    (['all', 'CAP_MKNOD'], ['all', 'mknod']),
    ([], []),
    (None, None),
])
def test_capabilities(value, expected):
    assert v.normalize_capabilities(value, 'capabilities') == expected


@pytest.mark.parametrize('item', ['sys_foo', 'cap_', '', 'CAP_SYS_TIME ', 'sys-time', 'sys_time\n', 5, None])
def test_capabilities_refuse_unknown(item):
    msg = refused(v.normalize_capabilities, ['chown', item], 'cap_drop')
    assert msg.startswith('cap_drop ')
    assert repr(item) in msg


def test_capabilities_refuse_a_string():
    assert repr('sys_time') in refused(v.normalize_capabilities, 'sys_time', 'capabilities')


def test_known_capabilities_are_the_kernels():
    """The list LXC accepts in lxc.cap.*: every capability up to CAP_CHECKPOINT_RESTORE (40), once."""
    assert len(v.KNOWN_CAPABILITIES) == 41
    assert len(set(v.KNOWN_CAPABILITIES)) == 41
