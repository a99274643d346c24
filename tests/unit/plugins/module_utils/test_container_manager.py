# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""container_manager.py pure functions: state planning, the resulting state, the desired spec.

The expected plans are derived from the ``state`` documentation of dockerlite_container:
present neither starts nor stops (a running container restarts to pick up a new
config, and goes back to the state it was in); started runs it, thawing a frozen one;
stopped stops it; restarted always stops (if running) and starts; frozen runs it and
freezes it. A new config reaches a running container only through a restart.
"""

from __future__ import annotations

import copy

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._store.lxc_config import effective_capabilities
from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import (
    DEFAULT_COMMAND, SPEC_DEFAULTS, desired_spec, final_state, image_defaults, plan_state)

RESTART = ['stop', 'start']

# (actual, wanted): (plan without a config change, plan with one)
PLANS = {
    ('stopped', 'present'): ([], []),
    ('running', 'present'): ([], RESTART),
    ('frozen', 'present'): ([], RESTART + ['freeze']),
    ('stopped', 'started'): (['start'], ['start']),
    ('running', 'started'): ([], RESTART),
    ('frozen', 'started'): (['unfreeze'], RESTART),
    ('stopped', 'stopped'): ([], []),
    ('running', 'stopped'): (['stop'], ['stop']),
    ('frozen', 'stopped'): (['stop'], ['stop']),
    ('stopped', 'restarted'): (['start'], ['start']),
    ('running', 'restarted'): (RESTART, RESTART),
    ('frozen', 'restarted'): (RESTART, RESTART),
    ('stopped', 'frozen'): (['start', 'freeze'], ['start', 'freeze']),
    ('running', 'frozen'): (['freeze'], RESTART + ['freeze']),
    ('frozen', 'frozen'): ([], RESTART + ['freeze']),
}
FINAL = {'started': 'running', 'restarted': 'running', 'stopped': 'stopped', 'frozen': 'frozen'}
CASES = [(actual, wanted, reconfigure, PLANS[actual, wanted][reconfigure])
         for (actual, wanted) in PLANS for reconfigure in (False, True)]


def test_plan_table_is_complete():
    assert len(CASES) == 3 * 5 * 2


@pytest.mark.parametrize('actual, wanted, reconfigure, expected', CASES)
def test_plan_state(actual, wanted, reconfigure, expected):
    assert plan_state(actual, wanted, reconfigure) == expected


@pytest.mark.parametrize('actual, wanted, reconfigure, plan', CASES)
def test_plan_reaches_the_wanted_state(actual, wanted, reconfigure, plan):
    assert final_state(actual, plan) == FINAL.get(wanted, actual)


@pytest.mark.parametrize('actual, wanted, reconfigure, plan', CASES)
def test_plan_steps_are_legal(actual, wanted, reconfigure, plan):
    """Each step applies to the state the previous one left (stop also thaws a frozen container)."""
    allowed = {'start': ('stopped',), 'stop': ('running', 'frozen'), 'freeze': ('running',),
               'unfreeze': ('frozen',)}
    state = actual
    for step in plan:
        assert state in allowed[step], '%s from %s in %s' % (step, state, plan)
        state = final_state(state, [step])
    if reconfigure and actual != 'stopped' and wanted != 'stopped':
        assert plan[:2] == RESTART, 'a running container must restart to pick up a new config'


@pytest.mark.parametrize('actual, actions, expected', [
    ('absent', ['create'], 'stopped'),
    ('absent', ['create', 'start'], 'running'),
    ('absent', ['create', 'run'], 'stopped'),
    ('absent', ['create', 'run', 'remove'], 'absent'),
    ('running', ['stop', 'remove'], 'absent'),
    ('running', ['stop', 'remove', 'create', 'start'], 'running'),
    ('running', ['update_config', 'stop', 'start'], 'running'),
    ('frozen', ['update_config'], 'frozen'),
    ('frozen', [], 'frozen'),
    ('running', ['freeze'], 'frozen'),
    ('frozen', ['unfreeze'], 'running'),
])
def test_final_state(actual, actions, expected):
    assert final_state(actual, actions) == expected


# -- desired spec -----------------------------------------------------------------

BUSYBOX_IMAGE = {'command': None, 'env': {'PATH': '/bin:/sbin', 'LANG': 'C'}, 'labels': {'a': 'b'},
                 'stop_signal': 'SIGUSR1'}


def given(**options):
    base = {key: None for key in ('command', 'env', 'mounts', 'hostname', 'memory', 'cpus', 'pids_limit',
                                  'capabilities', 'cap_drop', 'autostart', 'privileged', 'isolated_idmap')}
    base.update(options)
    return base


@pytest.mark.parametrize('image, expected', [
    (BUSYBOX_IMAGE, {'command': ['/sbin/init'], 'env': {'PATH': '/bin:/sbin', 'LANG': 'C'}, 'labels': {'a': 'b'},
                     'stop_signal': 'SIGUSR1', 'workdir': None, 'user': None}),
    ({'command': ['/bin/sh'], 'env': None, 'labels': None, 'stop_signal': None, 'workdir': '/srv', 'user': 'app'},
     {'command': ['/bin/sh'], 'env': {}, 'labels': {}, 'stop_signal': 'SIGPWR', 'workdir': '/srv', 'user': 'app'}),
    ({}, {'command': ['/sbin/init'], 'env': {}, 'labels': {}, 'stop_signal': 'SIGPWR', 'workdir': None, 'user': None}),
])
def test_image_defaults(image, expected):
    assert image_defaults(image) == expected


def test_image_defaults_do_not_share_the_default_command():
    defaults = image_defaults({})
    defaults['command'].append('--oops')
    assert DEFAULT_COMMAND == ['/sbin/init']


def test_new_container_takes_the_image_defaults():
    spec = desired_spec(given(), image_defaults(BUSYBOX_IMAGE))
    assert spec == dict(SPEC_DEFAULTS, command=['/sbin/init'], env={'PATH': '/bin:/sbin', 'LANG': 'C'},
                        stop_signal='SIGUSR1')


@pytest.mark.parametrize('command, signal', [
    (None, 'SIGUSR1'),
    (['/sbin/init'], 'SIGUSR1'),
    (['/bin/sh', '-c', 'exec sleep 3600'], 'SIGTERM'),
])
def test_stop_signal(command, signal):
    assert desired_spec(given(command=command), image_defaults(BUSYBOX_IMAGE))['stop_signal'] == signal


def test_stop_signal_for_the_images_own_command():
    """A command from the image is a command, not an init system: SIGTERM."""
    defaults = image_defaults(dict(BUSYBOX_IMAGE, command=['/bin/httpd', '-f']))
    assert desired_spec(given(), defaults)['stop_signal'] == 'SIGTERM'


def test_env_is_the_images_updated_with_the_tasks():
    spec = desired_spec(given(env={'LANG': 'C.UTF-8', 'APP': '1'}), image_defaults(BUSYBOX_IMAGE))
    assert spec['env'] == {'PATH': '/bin:/sbin', 'LANG': 'C.UTF-8', 'APP': '1'}


def test_given_options_replace_the_defaults():
    options = {'command': ['sleep', '1'], 'mounts': [{'source': '/a', 'target': '/b', 'read_only': True}],
               'hostname': 'h', 'memory': 1 << 20, 'cpus': 0.5, 'pids_limit': 10, 'capabilities': ['sys_time'],
               'cap_drop': ['mknod'], 'autostart': True, 'privileged': True, 'isolated_idmap': False,
               'disk_limit': 1 << 30, 'workdir': '/tmp', 'user': 'nobody'}
    spec = desired_spec(given(**options), image_defaults(dict(BUSYBOX_IMAGE, workdir='/srv', user='app')))
    assert spec == dict(options, env={'PATH': '/bin:/sbin', 'LANG': 'C'}, stop_signal='SIGTERM', user_ids=None)


def test_new_container_takes_the_images_workdir_and_user():
    spec = desired_spec(given(), image_defaults(dict(BUSYBOX_IMAGE, workdir='/srv', user='app')))
    assert (spec['workdir'], spec['user']) == ('/srv', 'app')


def test_unset_workdir_and_user_keep_the_containers():
    current = dict(current_spec(), workdir='/w', user='1:2', user_ids={'uid': 1, 'gid': 2, 'groups': [2], 'home': '/'})
    spec = desired_spec(given(), image_defaults(dict(BUSYBOX_IMAGE, workdir='/srv', user='app')), current)
    assert (spec['workdir'], spec['user'], spec['user_ids']['uid']) == ('/w', '1:2', 1)


def current_spec():
    return dict(SPEC_DEFAULTS, command=['sleep', '3600'], env={'PATH': '/bin:/sbin', 'LANG': 'C', 'OLD': '1'},
                mounts=[{'source': '/a', 'target': '/b', 'read_only': False}], hostname='old', memory=1 << 30,
                cpus=1.0, pids_limit=50, capabilities=['sys_time'], cap_drop=['mknod'], autostart=True,
                disk_limit=1 << 30, stop_signal='SIGTERM')


def test_unspecified_options_keep_current_values():
    current = current_spec()
    saved = copy.deepcopy(current)
    spec = desired_spec(given(), image_defaults(BUSYBOX_IMAGE), current)
    assert spec == saved
    assert current == saved


@pytest.mark.parametrize('option, value', [
    ('command', ['/bin/true']), ('mounts', []), ('hostname', 'new'), ('memory', 1 << 20), ('cpus', 2.0),
    ('pids_limit', 5), ('capabilities', []), ('cap_drop', ['all']), ('autostart', False), ('disk_limit', 1 << 20),
])
def test_one_given_option_changes_only_itself(option, value):
    current = current_spec()
    spec = desired_spec(given(**{option: value}), image_defaults(BUSYBOX_IMAGE), current)
    assert spec[option] == value
    assert {key: val for key, val in spec.items() if key not in (option, 'stop_signal')} == \
        {key: val for key, val in current.items() if key not in (option, 'stop_signal')}


def test_given_env_merges_with_the_image_env_not_the_current():
    """env is the image's updated with the task's: variables the task dropped go away."""
    spec = desired_spec(given(env={'NEW': '2'}), image_defaults(BUSYBOX_IMAGE), current_spec())
    assert spec['env'] == {'PATH': '/bin:/sbin', 'LANG': 'C', 'NEW': '2'}


def test_back_to_init_takes_the_images_stop_signal():
    spec = desired_spec(given(command=['/sbin/init']), image_defaults(BUSYBOX_IMAGE), current_spec())
    assert spec['stop_signal'] == 'SIGUSR1'


def test_inputs_are_not_mutated():
    defaults = image_defaults(BUSYBOX_IMAGE)
    saved_defaults = copy.deepcopy(defaults)
    options = given(env={'A': '1'})
    saved_options = copy.deepcopy(options)
    desired_spec(options, defaults)
    spec = desired_spec(options, defaults)
    spec['env']['B'] = '2'
    assert defaults == saved_defaults
    assert options == saved_options


@pytest.mark.parametrize('capabilities, cap_drop, kept', [
    ([], [], False),
    (['sys_time'], ['net_raw'], False),
    (['sys_admin'], [], False),
    (['sys_ptrace'], [], True),
    (['all'], [], True),
    (['all'], ['sys_ptrace'], False),
    ([], ['all'], False),
    (['sys_ptrace'], ['all'], True),
])
def test_sys_ptrace_only_when_asked(capabilities, cap_drop, kept):
    """A one-off run must not be able to ptrace lxc-execute's fully capable PID 1 unless the task says so."""
    caps = effective_capabilities(capabilities, cap_drop)
    assert (caps is None or 'sys_ptrace' in caps) == kept
