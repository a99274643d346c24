# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Records when each task starts and when each of its loop items and the task end.

Used by bench/bench.py only (enabled through ANSIBLE_CALLBACKS_ENABLED); writes
a JSON list of tasks to the file named by BENCH_TIMER_OUT when the play ends.
Times are time.monotonic() seconds in the controller process.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r'''
name: bench_timer
type: aggregate
short_description: Task and loop item times for the dockerlite.core benchmark
description:
  - Writes the start and end of every task, and the end of every loop item, to the JSON file in E(BENCH_TIMER_OUT).
requirements:
  - enabled in ANSIBLE_CALLBACKS_ENABLED
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tasks = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._tasks.append({'name': task.get_name(), 'start': time.monotonic(), 'end': None, 'status': None,
                            'changed': None, 'items': []})

    def _item(self, result, status):
        self._tasks[-1]['items'].append({'end': time.monotonic(), 'status': status,
                                         'changed': bool(result._result.get('changed'))})

    def _done(self, result, status):
        self._tasks[-1].update(end=time.monotonic(), status=status, changed=bool(result._result.get('changed')))

    def v2_runner_item_on_ok(self, result):
        self._item(result, 'ok')

    def v2_runner_item_on_failed(self, result):
        self._item(result, 'failed')

    def v2_runner_item_on_skipped(self, result):
        self._item(result, 'skipped')

    def v2_runner_on_ok(self, result):
        self._done(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._done(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._done(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._done(result, 'unreachable')

    def v2_playbook_on_stats(self, stats):
        with open(os.environ['BENCH_TIMER_OUT'], 'w') as handle:
            json.dump(self._tasks, handle)
