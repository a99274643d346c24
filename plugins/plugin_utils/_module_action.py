# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The action plugin of every dockerlite module: Ansible's own (``ansible.builtin.normal``), with
Python's cyclic garbage collector paused in the worker process for the task.

The first task of a play that uses a module makes Ansible build the module's payload in
the task's worker process: it parses every module_util the module imports into a syntax
tree to find their imports (about 0.8 MB of source for dockerlite_image, Ansible's
``basic`` and its own included). The millions of small objects of those trees set off
collection after collection of the collector, each one walking the worker's heap, which
it inherited from the controller: measured, 736 ms to build the payload of
dockerlite_image with the collector running, 257 ms with it paused. The trees hold no
reference cycles (they are freed by reference counting), and the worker is a short-lived
process forked for this one task, so pausing the collector costs nothing. It is turned
back on (if it was on) when the task ends, whatever happens.

Behaviour is otherwise the ``normal`` action's: check mode, diff, async, and the result.
"""

from __future__ import annotations

import gc

from ansible.plugins.action.normal import ActionModule as NormalAction


class ModuleAction(NormalAction):
    """``normal`` with the cyclic garbage collector paused while the task runs."""

    def run(self, tmp=None, task_vars=None):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return super().run(tmp, task_vars)
        finally:
            if was_enabled:
                gc.enable()
