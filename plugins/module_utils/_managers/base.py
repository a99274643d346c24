# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The plan-then-apply shape every manager shares.

A run has four steps, the same in every manager:

1. ``validate()`` checks the task's options before the store is touched and returns
   them normalised (the *request*); a bad value fails here, naming it.
2. ``plan(request)`` compares desired with actual inside a store session: it appends to
   ``actions`` what must happen and records the comparison in ``tracker`` (the diff). It
   changes nothing, so check mode stops after it: the plan is the answer, computed by
   the same code the real run uses.
3. ``apply()`` (not in check mode) carries the actions out in order, each through the
   manager's ``apply_<action>`` method, and records each in ``done`` as it completes, so
   that a failure half way reports what it changed.
4. ``report()`` builds the module's result: ``changed`` and ``actions`` from the plan,
   ``diff`` from the tracker, plus the object's view.
"""

from __future__ import annotations

from ansible_collections.dockerlite.core.plugins.module_utils._managers.diff import DifferenceTracker


# The release that drops the behaviours deprecated in the 0.x series: the next major one
# (galaxy.yml's version is 0.x).
NEXT_MAJOR = '1.0.0'


class Manager:
    # The session of an info manager reads as check mode does (no store is made, nothing is tightened).
    read_only = False
    # The Store class the runner opens for this manager (None: Store; ImageStore for the image movers).
    store_class = None

    def __init__(self, params, store, check_mode=False):
        self.params = params
        self.store = store
        self.check_mode = check_mode
        self.actions = []
        self.tracker = DifferenceTracker()
        self.warnings = []
        self.deprecations = []
        self.done = []

    def run(self):
        """validate, then in one store session plan, apply (outside check mode) and report."""
        request = self.validate()
        with self.store.session(self.check_mode or self.read_only):
            self.plan(request)
            if not self.check_mode:
                self.apply()
            return self.report()

    def validate(self):
        """The task's options, checked and normalised; nothing is read from the store."""
        raise NotImplementedError

    def plan(self, request):
        """Fill ``actions`` and ``tracker`` from the store as it is; change nothing."""
        raise NotImplementedError

    def apply(self):
        """Carry out the planned actions in order, recording each in ``done``.

        ``apply_<action>()`` does one action; it may return the names of what it did
        when that differs from the action itself (a retired tag may touch several images).
        """
        for action in self.actions:
            did = getattr(self, 'apply_' + action)()
            self.done.extend([action] if did is None else did)

    def report(self):
        """The module's result; see ``result``."""
        raise NotImplementedError

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
