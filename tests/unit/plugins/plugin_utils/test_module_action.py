# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The modules' action plugin: Ansible's ``normal`` action with the garbage collector paused for the task."""

from __future__ import annotations

import gc
import importlib
import os

import pytest

from ansible.plugins.action.normal import ActionModule as NormalAction

from ansible_collections.dockerlite.core.plugins.plugin_utils import _module_action
from ansible_collections.dockerlite.core.plugins.plugin_utils._module_action import ModuleAction

MODULES_DIR = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins', 'modules')


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def bare_action():
    return ModuleAction.__new__(ModuleAction)  # the run under test needs none of ActionBase's state


def test_the_task_runs_with_the_collector_paused_and_it_is_back_on_after(monkeypatch, collector_on):
    seen = []
    monkeypatch.setattr(NormalAction, 'run', lambda self, tmp=None, task_vars=None: seen.append(gc.isenabled())
                        or {'changed': False, 'vars': task_vars})
    result = bare_action().run(task_vars={'a': 1})
    assert seen == [False]
    assert result == {'changed': False, 'vars': {'a': 1}}
    assert gc.isenabled()


def test_the_collector_is_back_on_when_the_task_raises(monkeypatch, collector_on):
    def fail(self, tmp=None, task_vars=None):
        raise RuntimeError('connection lost')
    monkeypatch.setattr(NormalAction, 'run', fail)
    with pytest.raises(RuntimeError, match='connection lost'):
        bare_action().run(task_vars={})
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(monkeypatch, collector_on):
    monkeypatch.setattr(NormalAction, 'run', lambda self, tmp=None, task_vars=None: {})
    gc.disable()
    bare_action().run(task_vars={})
    assert not gc.isenabled()


def test_every_module_has_this_action():
    modules = sorted(name[:-3] for name in os.listdir(MODULES_DIR) if name.endswith('.py') and name != '__init__.py')
    assert modules
    for name in modules:
        action = importlib.import_module('ansible_collections.dockerlite.core.plugins.action.' + name)
        assert issubclass(action.ActionModule, _module_action.ModuleAction), name
