# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""diff.py: DifferenceTracker and compare."""

from __future__ import annotations

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils.diff import DifferenceTracker, compare


def test_empty():
    tracker = DifferenceTracker()
    assert tracker.diff() == {'before': {}, 'after': {}}
    assert tracker.has_changes() is False
    assert tracker.changed_keys == []


@pytest.mark.parametrize('before, after, changed', [
    (1, 1, False), (1, 2, True), (None, 'x', True), ([], [], False), ({'a': 1}, {'a': 1}, False),
    ({'a': 1}, {'a': 2}, True), ([1, 2], [2, 1], True), (None, None, False), (0, None, True), ('', None, True),
])
def test_add(before, after, changed):
    tracker = DifferenceTracker()
    tracker.add('key', before, after)
    assert tracker.has_changes() is changed
    assert tracker.changed_keys == (['key'] if changed else [])
    assert tracker.diff() == {'before': {'key': before}, 'after': {'key': after}}


def test_keys_in_order():
    tracker = DifferenceTracker()
    tracker.add('b', 1, 2)
    tracker.add('a', 1, 1)
    tracker.add('c', None, 3)
    assert tracker.changed_keys == ['b', 'c']
    assert list(tracker.diff()['before']) == ['b', 'a', 'c']


def test_diff_is_a_copy():
    tracker = DifferenceTracker()
    tracker.add('a', 1, 2)
    diff = tracker.diff()
    diff['before']['a'] = 99
    diff['after']['z'] = 1
    tracker.changed_keys.append('x')
    assert tracker.diff() == {'before': {'a': 1}, 'after': {'a': 2}}
    assert tracker.changed_keys == ['a']


def test_compare():
    tracker = DifferenceTracker()
    current = {'a': 1, 'b': [1], 'c': None}
    desired = {'a': 1, 'b': [2], 'd': 'new'}
    assert compare(tracker, current, desired, ('a', 'b', 'c', 'd')) == ['b', 'd']
    assert tracker.diff() == {'before': {'a': 1, 'b': [1], 'c': None, 'd': None},
                              'after': {'a': 1, 'b': [2], 'c': None, 'd': 'new'}}
    assert tracker.changed_keys == ['b', 'd']
