# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""ship_plan: skip, incremental from the nearest common ancestor, or full; one stream per pair."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.dockerlite.core.plugins.filter.ship_plan import ship_plan


def image(letter, parent=None, origin=None, name=None):
    return {'id': letter * 64, 'parent': parent * 64 if parent else None, 'origin': origin or letter * 32,
            'name': name}


BUILD = [image('a', name='base:1'), image('b', 'a', name='app:1'), image('c', 'b', name='app:2')]


def test_each_host_gets_the_stream_from_its_newest_ancestor():
    held = {
        'fresh': [],
        'has_base': [image('a')],
        'has_v1': [image('a'), image('b')],
        'has_v1_too': [image('b'), image('a')],
        'done': [image('c')],
        'foreign_v1': [image('b', origin='f' * 32), image('a')],
    }
    plan = ship_plan(BUILD, 'app:2', held)
    assert plan['image'] == 'c' * 64
    assert plan['hosts']['done'] == {'skip': True, 'parent': None, 'stream': None}
    assert plan['hosts']['fresh'] == {'skip': False, 'parent': None, 'stream': 'c' * 64 + '-full'}
    assert plan['hosts']['has_base']['parent'] == 'a' * 64
    assert plan['hosts']['has_v1']['parent'] == plan['hosts']['has_v1_too']['parent'] == 'b' * 64
    # Same id, other origin (built there, not received): not a parent btrfs receive can use.
    assert plan['hosts']['foreign_v1']['parent'] == 'a' * 64
    assert [stream['parent'] for stream in plan['streams']] == ['a' * 64, 'b' * 64, None]
    assert len({stream['name'] for stream in plan['streams']}) == 3


def test_the_image_can_be_named_by_id():
    assert ship_plan(BUILD, 'b' * 64, {'h': [image('a')]})['hosts']['h']['parent'] == 'a' * 64


@pytest.mark.parametrize('build, name, held, message', [
    (BUILD, 'missing:1', {}, 'holds no image missing:1'),
    ('nope', 'app:2', {}, 'must be a list'),
    (BUILD, 'app:2', [], 'held must map hosts'),
    (BUILD, 'app:2', {'h': [{'name': 'x'}]}, 'the images of h holds an entry'),
])
def test_bad_input_is_named(build, name, held, message):
    with pytest.raises(AnsibleFilterError, match=message):
        ship_plan(build, name, held)


@pytest.mark.parametrize('name, expected', [('base', None), ('app', None), ('base:1', 'a'), ('busybox', 'l'),
                                            ('busybox:latest', 'l'), ('reg:5000/team/app', 'r')])
def test_a_name_without_tag_means_latest(name, expected):
    build = BUILD + [image('l', name='busybox:latest'), image('r', name='reg:5000/team/app:latest')]
    if expected is None:
        with pytest.raises(AnsibleFilterError, match='the build host holds no image %s' % name):
            ship_plan(build, name, {})
    else:
        assert ship_plan(build, name, {})['image'] == expected * 64
