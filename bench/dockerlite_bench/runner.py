# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Ansible, as the benchmark runs it: generated plays timed by the bench_timer callback.

A play runs with a local connection, no fact gathering, a config file of its own and
``ansible_python_interpreter`` set to the managed host's Python, or to the timed
interpreter, which logs when each module process starts and ends. With
``ANSIBLE_KEEP_REMOTE_FILES`` the AnsiballZ files stay, and ``payload_zip`` takes the
module payload out of one.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time

from .common import (BENCH_DIR, COMMAND, COMMIT_MODULE, CONTAINER_MODULE, FLOOR_MODULE, HOST_PYTHON, IMAGE,
                     IMAGE_MODULE, STACK_MODULE, BenchError)

CALLBACK_PLUGINS = os.path.join(BENCH_DIR, 'callback_plugins')
FLOOR_ARGS = {'path': '/', 'state': 'directory'}

# The module interpreter for the timed plays: /usr/bin/python3, with the start and end of
# each module process (ns) appended to $BENCH_PROCESS_LOG. The shell and two date(1)
# calls add a few ms, to the file no-op and to dockerlite_container alike.
TIMED_INTERPRETER = '''#!/bin/sh
started=$(date +%%s%%N)
%s "$@"
rc=$?
echo "$started $(date +%%s%%N)" >> "$BENCH_PROCESS_LOG"
exit $rc
''' % HOST_PYTHON


class Ansible:
    """Runs generated plays with the bench_timer callback and returns its task times."""

    def __init__(self, workspace):
        self.ws = workspace
        self.count = 0

    def play(self, name, tasks, wrap=(), env=None, interpreter=HOST_PYTHON):
        ws, settings = self.ws, self.ws.settings
        self.count += 1
        base = os.path.join(ws.tmp, 'play-%02d-%s' % (self.count, name))
        config = os.path.join(ws.tmp, 'ansible.cfg')
        if not os.path.exists(config):
            with open(config, 'w') as handle:
                handle.write('[defaults]\n')
        defaults = {module: {'root': ws.root} for module in (IMAGE_MODULE, CONTAINER_MODULE, COMMIT_MODULE)}
        # JSON is YAML: the generated plays need no YAML library and are never linted.
        with open(base + '.json', 'w') as handle:
            json.dump([{'name': name, 'hosts': 'localhost', 'gather_facts': False, 'module_defaults': defaults,
                        'tasks': tasks}], handle, indent=1)
        play_env = dict(os.environ, ANSIBLE_CONFIG=config, ANSIBLE_COLLECTIONS_PATH=settings.build,
                        ANSIBLE_CALLBACK_PLUGINS=CALLBACK_PLUGINS,
                        ANSIBLE_CALLBACKS_ENABLED='bench_timer', BENCH_TIMER_OUT=base + '.times.json',
                        ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0',
                        ANSIBLE_LOCAL_TEMP=os.path.join(ws.tmp, 'ansible-local'),
                        ANSIBLE_REMOTE_TMP=os.path.join(ws.tmp, 'ansible-remote'),
                        PATH=settings.bin + os.pathsep + os.environ.get('PATH', ''))
        play_env.update(env or {})
        argv = list(wrap) + [os.path.join(settings.bin, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                             '-e', 'ansible_python_interpreter=' + interpreter, base + '.json']
        started = time.monotonic()
        with open(base + '.log', 'w') as output:
            proc = subprocess.run(argv, stdout=output, stderr=subprocess.STDOUT, cwd=ws.tmp, env=play_env,
                                  check=False)
        wall = time.monotonic() - started
        if proc.returncode != 0:
            with open(base + '.log') as output:
                raise BenchError('play %s failed (rc %d):\n%s' % (name, proc.returncode, output.read()[-3000:]))
        with open(base + '.times.json') as handle:
            tasks = json.load(handle)
        return {'wall_s': wall, 'tasks': tasks}

    def timed_play(self, label, tasks, processes, keep=None):
        """A play whose modules run under the timed interpreter: its task times, and the ms of each
        module process, which must be ``processes`` of them. With ``keep``, Ansible leaves its
        AnsiballZ files in that directory."""
        process_log = os.path.join(self.ws.tmp, label + '.processes')
        env = {'BENCH_PROCESS_LOG': process_log}
        if keep:
            env.update(ANSIBLE_KEEP_REMOTE_FILES='1', ANSIBLE_REMOTE_TMP=keep)
        played = self.play(label, tasks, interpreter=self.ws.timed_interpreter, env=env)['tasks']
        with open(process_log) as handle:
            spans = process_spans_ms(handle.read())
        if len(spans) != processes:
            raise BenchError('%s: %d module processes logged, expected %d' % (label, len(spans), processes))
        return played, spans

    def separate_tasks_ms(self, label, count):
        """Ansible's per-task floor: ``count`` separate no-op file tasks in one play, ms per task."""
        tasks = [{'name': 'floor %d' % index, FLOOR_MODULE: FLOOR_ARGS} for index in range(count)]
        times = self.play(label, tasks)['tasks']
        return (times[-1]['end'] - times[0]['start']) * 1000.0 / len(times)


def process_spans_ms(text):
    """The ms of each module process in a timed interpreter's log (start and end ns per line)."""
    spans = [[int(word) for word in line.split()] for line in text.splitlines() if line.strip()]
    return [(end - start) / 1e6 for start, end in spans]


def names(ws, kind, n):
    """The names of N containers of one kind, all starting with the run's prefix."""
    return ['%s%s%d-%d' % (ws.prefix, kind, n, index) for index in range(n)]


def stack_task(phase, root, name, state, members):
    return {'name': phase, STACK_MODULE: {'root': root, 'name': name, 'state': state, 'containers': members}}


def stack_members(names_, **extra):
    return [dict({'name': name, 'image': IMAGE, 'command': COMMAND}, **extra) for name in names_]


def loop_task(name, module, args, items):
    return {'name': name, module: args, 'loop': items, 'loop_control': {'label': '{{ item }}'}}


def state_loop(name, state, items):
    """dockerlite_container over ``items`` with nothing but the state (stopped, absent)."""
    return loop_task(name, CONTAINER_MODULE, {'name': '{{ item }}', 'state': state}, items)


def task_ms(task):
    return (task['end'] - task['start']) * 1000.0


def loop_figures(task, n):
    """Per-item ms of a loop task, and how many items reported changed."""
    return {'per_item_ms': task_ms(task) / n,
            'changed': sum(item['changed'] for item in task['items']), 'items': len(task['items'])}


def payload_zip(wrapper, path):
    """Write the module payload (the zip AnsiballZ embeds) of ``wrapper`` to ``path``."""
    with open(wrapper) as handle:
        match = re.search(r"^zip_data='([A-Za-z0-9+/=]+)'", handle.read(), re.M)
    if not match:
        raise BenchError('no zip_data in %s: the AnsiballZ format changed' % wrapper)
    with open(path, 'wb') as handle:
        handle.write(base64.b64decode(match.group(1)))
    return path
