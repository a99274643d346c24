# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The plan-then-execute skeleton every manager shares.

A manager compares desired with actual, appends to ``actions`` what must happen and
records the comparison in ``tracker``. In check mode it stops there: the plan is the
answer, computed by the same code the real run uses. In a real run ``done`` lists the
actions carried out so far, so that a failure half way reports what it changed.
"""

from __future__ import annotations

from ansible_collections.dockerlite.core.plugins.module_utils._managers.diff import DifferenceTracker


# The release that drops the behaviours deprecated in the 0.x series: the next major one
# (galaxy.yml's version is 0.x).
NEXT_MAJOR = '1.0.0'


class Manager:
    def __init__(self, params, store, check_mode=False):
        self.params = params
        self.store = store
        self.check_mode = check_mode
        self.actions = []
        self.tracker = DifferenceTracker()
        self.warnings = []
        self.deprecations = []
        self.done = []

    def note_deprecation(self, msg, version):
        """Say that the task relies on a behaviour to be removed in ``version`` of the collection."""
        entry = {'msg': msg, 'version': version}
        if entry not in self.deprecations:
            self.deprecations.append(entry)

    def completed(self):
        """The actions carried out so far (reported with a failure)."""
        return list(self.done)

    def result(self, **extra):
        """changed, actions and diff from the plan, plus the manager's own keys."""
        result = dict(changed=bool(self.actions), actions=list(self.actions), diff=self.tracker.diff())
        result.update(extra)
        if self.warnings:
            result['warnings'] = list(self.warnings)
        if self.deprecations:
            result['deprecations'] = list(self.deprecations)
        return result
