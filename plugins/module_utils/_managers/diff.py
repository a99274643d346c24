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

    def add(self, key, before, after):
        """Record one compared value."""
        self._before[key] = before
        self._after[key] = after

    def diff(self):
        return {'before': dict(self._before), 'after': dict(self._after)}
