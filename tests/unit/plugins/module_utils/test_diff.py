# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""diff.py: DifferenceTracker."""

from __future__ import annotations

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._managers.diff import DifferenceTracker


def test_empty():
    tracker = DifferenceTracker()
    assert tracker.diff() == {'before': {}, 'after': {}}


@pytest.mark.parametrize('before, after', [
    (1, 1), (1, 2), (None, 'x'), ([], []), ({'a': 1}, {'a': 2}), ([1, 2], [2, 1]), (None, None), (0, None),
])
def test_add(before, after):
    tracker = DifferenceTracker()
    tracker.add('key', before, after)
    assert tracker.diff() == {'before': {'key': before}, 'after': {'key': after}}


def test_keys_in_order():
    tracker = DifferenceTracker()
    tracker.add('b', 1, 2)
    tracker.add('a', 1, 1)
    tracker.add('c', None, 3)
    assert list(tracker.diff()['before']) == ['b', 'a', 'c']


def test_diff_is_a_copy():
    tracker = DifferenceTracker()
    tracker.add('a', 1, 2)
    diff = tracker.diff()
    diff['before']['a'] = 99
    diff['after']['z'] = 1
    assert tracker.diff() == {'before': {'a': 1}, 'after': {'a': 2}}
