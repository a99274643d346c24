# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Desired-versus-actual comparison, shared by every manager."""

from __future__ import annotations


class DifferenceTracker:
    """Collects (key, before, after) triples and builds Ansible's diff dict."""

    def __init__(self):
        self._before = {}
        self._after = {}
        self._changed = []

    def add(self, key, before, after):
        """Record one compared value; it counts as changed when before != after."""
        self._before[key] = before
        self._after[key] = after
        if before != after:
            self._changed.append(key)

    @property
    def changed_keys(self):
        return list(self._changed)

    def has_changes(self):
        return bool(self._changed)

    def diff(self):
        return {'before': dict(self._before), 'after': dict(self._after)}


def compare(tracker, current, desired, keys):
    """Add every key of ``keys`` to ``tracker`` from two dicts; return changed keys."""
    changed = []
    for key in keys:
        tracker.add(key, current.get(key), desired.get(key))
        if current.get(key) != desired.get(key):
            changed.append(key)
    return changed
