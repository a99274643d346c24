# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_exec's manager over FakeLxc and a stand-in for the attach client, plus the pure
helpers (argv, env, user, paths, identity lookup)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import ContainerManager
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError, ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._managers.exec import (
    DEFAULT_PATH, IMPLICIT_SHELL_DEPRECATION, ExecManager, container_path, exec_argv, execution_env, normalize_exec_env,
    parse_user)
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image import ImageManager
from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc_attach import resolve_identity
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import (
    FakeHost, module_params, run_manager)


@pytest.fixture
def attach(host):
    return host.attach


@pytest.fixture
def host(tmp_path):
    os.makedirs(str(tmp_path / 'src' / 'bin'))
    fake = FakeHost(tmp_path / 'store')
    run_manager(fake, ImageManager, 'dockerlite_image', name='base', source='directory', path=str(tmp_path / 'src'),
                env={'LANG': 'C.UTF-8'})
    for name, state in (('web', 'started'), ('down', 'stopped')):
        run_manager(fake, ContainerManager, 'dockerlite_container', name=name, image='base', state=state,
                    command=['sleep', '60'], env={'APP': 'web'})
    return fake


def run_exec(host, check_mode=False, **params):
    params.setdefault('container', 'web')
    return run_manager(host, ExecManager, 'dockerlite_exec', check_mode=check_mode, **params)


def test_runs_with_a_clean_environment(host, attach):
    result = run_exec(host, argv=['env'], env={'APP': 'task', 'X': 1}, chdir='/srv', user='nobody:nogroup',
                      stdin='data', timeout=5)
    assert attach.calls == [('run', 'web', ['env'], {'PATH': DEFAULT_PATH, 'LANG': 'C.UTF-8', 'APP': 'task', 'X': '1'},
                             '/srv', 'nobody', 'nogroup', b'data\n', 5.0)]
    assert attach.lxcpath == os.path.join(host.root, 'containers')
    assert result == {'changed': True, 'actions': ['exec'], 'cmd': ['env'], 'rc': 0, 'stdout': 'out',
                      'stderr': 'err', 'stdout_lines': ['out'], 'stderr_lines': ['err'], 'delta': 0.25}


@pytest.mark.parametrize('params, argv, deprecated', [
    # A string without shell: still the shell, for one release, with a deprecation notice.
    ({'command': 'echo "$HOME" | wc -c'}, ['/bin/sh', '-c', 'echo "$HOME" | wc -c'], True),
    ({'command': 'echo "$HOME" | wc -c', 'shell': True}, ['/bin/sh', '-c', 'echo "$HOME" | wc -c'], False),
    # Split like a shell would, run without one: what command means in dockerlite_container.
    ({'command': 'echo "$HOME" | wc -c', 'shell': False}, ['echo', '$HOME', '|', 'wc', '-c'], False),
    ({'command': ['touch', '/tmp/a file']}, ['touch', '/tmp/a file'], False),
    ({'command': ['touch', '/tmp/a file'], 'shell': False}, ['touch', '/tmp/a file'], False),
    ({'argv': ['touch', '/tmp/a file'], 'shell': False}, ['touch', '/tmp/a file'], False),
])
@pytest.mark.parametrize('check_mode', [False, True])
def test_command_is_split_unless_shell(host, attach, params, argv, deprecated, check_mode):
    result = run_exec(host, check_mode=check_mode, **params)
    assert result['cmd'] == argv
    assert [call[2] for call in attach.calls if call[0] == 'run'] == ([] if check_mode else [argv])
    if deprecated:
        assert result['deprecations'] == [{'msg': IMPLICIT_SHELL_DEPRECATION, 'version': '1.0.0'}]
        assert 'shell: true' in result['deprecations'][0]['msg'] and 'shell: false' in result['deprecations'][0]['msg']
    else:
        assert 'deprecations' not in result


def test_output_can_keep_its_ends(host, attach):
    result = run_exec(host, command='echo "$HOME" | wc -c', shell=True, strip_empty_ends=False, stdin='x',
                      stdin_add_newline=False)
    assert attach.calls[0][2] == ['/bin/sh', '-c', 'echo "$HOME" | wc -c'] and attach.calls[0][7] == b'x'
    assert result['stdout'] == 'out\n\n' and result['stdout_lines'] == ['out', '']


def test_deprecation_is_reported_when_the_task_fails(host, attach):
    """The notice is on the manager before the container lookup, so a failing task still carries it."""
    manager = ExecManager(module_params('dockerlite_exec', root=host.root, container='ghost', command='true'),
                          host.store())
    with pytest.raises(ValidationError, match='container ghost does not exist'):
        manager.run()
    assert [entry['version'] for entry in manager.deprecations] == ['1.0.0']


@pytest.mark.parametrize('status, timed_out, rc, message', [
    (3 << 8, False, 3, 'non-zero return code 3'),
    (9, True, -9, 'did not finish within 2.0 seconds and was killed'),
    (15, False, -15, 'non-zero return code -15'),
])
def test_failures_keep_every_key(host, attach, status, timed_out, rc, message):
    attach.status, attach.timed_out = status, timed_out
    result = run_exec(host, argv=['false'], timeout=2)
    assert result['failed'] is True and result['rc'] == rc and message in result['msg']
    assert result['changed'] is True and result['stdout'] == 'out' and result['stderr_lines'] == ['err']


@pytest.mark.parametrize('check_mode', [False, True])
@pytest.mark.parametrize('params, present, runs', [
    ({'creates': '/done'}, {'/done'}, False),
    ({'creates': '/done'}, set(), True),
    ({'removes': '/todo'}, {'/todo'}, True),
    ({'removes': '/todo'}, set(), False),
    ({'creates': 'done', 'chdir': '/srv'}, {'/srv/done'}, False),
])
def test_creates_and_removes_decide_inside_the_container(host, attach, check_mode, params, present, runs):
    attach.paths = present
    result = run_exec(host, check_mode=check_mode, argv=['make'], **params)
    assert attach.calls[0][0] == 'test_paths'
    assert result['changed'] is runs and result['actions'] == (['exec'] if runs else [])
    ran = [call for call in attach.calls if call[0] == 'run']
    assert bool(ran) is (runs and not check_mode)
    if not runs:
        assert 'rc' not in result and result['stdout'] == '' and 'not run command since' in result['msg']
        assert result['msg'].startswith('Would' if check_mode else 'Did')
    elif check_mode:
        assert 'rc' not in result and result['msg'] == 'Command would have run if not in check mode'


def test_check_mode_does_not_run(host, attach):
    result = run_exec(host, check_mode=True, argv=['touch', '/marker'])
    assert attach.calls == [] and result['changed'] is True and result['actions'] == ['exec']
    assert result['msg'] == 'Command would have run if not in check mode' and 'rc' not in result


@pytest.mark.parametrize('name, state, message', [
    ('down', 'stopped', 'container down is stopped; dockerlite_exec needs it running'),
    ('ghost', None, 'container ghost does not exist in'),
])
@pytest.mark.parametrize('check_mode', [False, True])
def test_stopped_or_missing_container(host, attach, name, state, message, check_mode):
    with pytest.raises(DockerliteError, match=message) as caught:
        run_exec(host, check_mode=check_mode, container=name, argv=['true'])
    assert attach.calls == []
    if state:
        assert caught.value.details['state'] == state


def test_frozen_container_is_refused(host, attach):
    host.lxc.freeze('web')
    with pytest.raises(DockerliteError, match='container web is frozen'):
        run_exec(host, argv=['true'])


@pytest.mark.parametrize('params, message', [
    ({'argv': ['true'], 'timeout': 0}, 'timeout 0.0 must be a positive'),
    ({'argv': ['true'], 'timeout': -1.5}, 'timeout -1.5 must be a positive'),
    ({'argv': ['true'], 'shell': True}, "shell: true runs command, a string, by /bin/sh -c; it does not apply to argv"),
    ({'command': ['true'], 'shell': True}, "shell: true needs command as one string"),
    ({'command': '  ', 'shell': False}, "command '  ' is empty"),
    ({'command': 'echo "open', 'shell': False}, 'cannot be split into arguments'),
    ({'command': {'a': 1}}, 'command must be a list of arguments or a string'),
    ({'argv': ['true'], 'user': 'a:b:c'}, "user 'a:b:c' is invalid"),
    ({'argv': ['true'], 'user': 'bad name'}, "user 'bad name' is invalid"),
    ({'argv': ['true'], 'env': {'A=B': 'x'}}, "env name 'A=B' is invalid"),
    ({'argv': ['true'], 'env': {'A': True}}, 'env value of A must be a string'),
    ({'command': '  '}, "command '  ' must be a non-empty string"),
    ({'argv': ['']}, 'is empty'),
    ({'container': 'no/slash', 'argv': ['true']}, "container 'no/slash' is invalid"),
])
def test_bad_input_is_refused_before_anything_runs(host, attach, params, message):
    with pytest.raises(ValidationError, match=message):
        run_exec(host, **params)
    assert attach.calls == []


# -- helpers -----------------------------------------------------------------------

def test_exec_argv():
    assert exec_argv(['ls', '-l', 'a b'], None) == (['ls', '-l', 'a b'], False)
    assert exec_argv(None, 'echo $HOME', shell=True) == (['/bin/sh', '-c', 'echo $HOME'], False)
    assert exec_argv(None, 'echo $HOME', shell=None) == (['/bin/sh', '-c', 'echo $HOME'], True)
    assert exec_argv(None, "ls 'a b'", shell=False) == (['ls', 'a b'], False)
    assert exec_argv(None, ['ls', 'a b'], shell=None) == (['ls', 'a b'], False)


def test_env_helpers():
    assert normalize_exec_env({'A': 'x\ny', 'B': 2, 'lower.dot': 'ok'}) == {'A': 'x\ny', 'B': '2', 'lower.dot': 'ok'}
    assert execution_env({'A': 'container', 'PATH': '/opt/bin'}, {'A': 'task'}) == {'PATH': '/opt/bin', 'A': 'task'}
    with pytest.raises(ValidationError, match='NUL'):
        normalize_exec_env({'A': 'x\x00'})


@pytest.mark.parametrize('value, parsed', [
    (None, (None, None)), ('nobody', ('nobody', None)), ('1000', (1000, None)), ('1000:100', (1000, 100)),
    ('www-data:adm', ('www-data', 'adm')), ('0', (0, None)),
])
def test_parse_user(value, parsed):
    assert parse_user(value) == parsed


def test_container_path():
    assert container_path('run/../done', 'creates', '/srv') == '/srv/done'
    assert container_path('/abs', 'creates', '/srv') == '/abs'
    assert container_path(None, 'creates', '/') is None


PASSWD = [line.split(':') for line in (
    'root:x:0:0:root:/root:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
    'app:x:1000:1000::/srv/app:/bin/sh', 'broken:x:zz:1::/:/bin/sh')]
GROUPS = [line.split(':') for line in ('root:x:0:', 'adm:x:4:app,other', 'app:x:1000:', 'web:x:33:app')]


@pytest.mark.parametrize('user, group, identity', [
    (0, None, (0, 0, [0], '/root')),
    ('app', None, (1000, 1000, [1000, 4, 33], '/srv/app')),
    ('app', 'adm', (1000, 4, [4], '/srv/app')),
    (1000, None, (1000, 1000, [1000, 4, 33], '/srv/app')),
    (4242, None, (4242, 4242, [4242], '/')),
    (4242, 7, (4242, 7, [7], '/')),
    ('nobody', 'web', (65534, 33, [33], '/nonexistent')),
])
def test_resolve_identity(user, group, identity):
    assert resolve_identity(user, group, PASSWD, GROUPS) == identity


@pytest.mark.parametrize('user, group, message', [
    ('bob', None, 'user bob not found in /etc/passwd'),
    ('app', 'staff', 'group staff not found in /etc/group'),
    ('broken', None, 'malformed entry'),
])
def test_resolve_identity_errors(user, group, message):
    with pytest.raises(LookupError, match=message):
        resolve_identity(user, group, PASSWD, GROUPS)
