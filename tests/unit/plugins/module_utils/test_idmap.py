# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""idmap.py: parsing /etc/subuid and /etc/subgid, and allocating isolated id maps."""

from __future__ import annotations

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError
from ansible_collections.dockerlite.core.plugins.module_utils._store.idmap import (
    BLOCK_SIZE, HostIds, allocate_idmap, host_range, idmap_held, parse_subid, shared_idmap)

LXD_RANGE = 'root:1000000:1000000000\n'
FIRST = {'uid': 1000000, 'gid': 2000000}


@pytest.mark.parametrize('text, expected', [
    ('', []),
    (None, []),
    (LXD_RANGE, [(1000000, 1000000000)]),
    ('0:100000:65536\n', [(100000, 65536)]),
    ('alice:100000:65536\nroot:165536:65536\nroot:300000:131072\n', [(165536, 65536), (300000, 131072)]),
    ('# root:1:2\n\n  root:5:70000  \n', [(5, 70000)]),
    ('root:x:65536\nroot:1:y\nroot:1\nroot:1:2:3\nroot:-1:5\nroot:10:0\n', []),
    ('rooter:1000:65536\nroo:1000:65536\n', []),
])
def test_parse_subid(text, expected):
    assert parse_subid(text) == expected


def test_host_range_takes_the_first_range_large_enough():
    subuid = 'root:100:10\nroot:1000000:1000000000\n'
    subgid = 'root:2000000:%d\n' % (3 * BLOCK_SIZE + 5)
    assert host_range(subuid, subgid) == (FIRST, 3)


@pytest.mark.parametrize('subuid, subgid, named, detail', [
    ('', LXD_RANGE, '/etc/subuid gives root no range', None),
    (LXD_RANGE, 'alice:1000000:65536\n', '/etc/subgid gives root no range', None),
    ('root:1000000:65535\n', LXD_RANGE, '/etc/subuid gives root only 65535 ids from 1000000', None),
])
def test_host_range_refusals_name_both_files(subuid, subgid, named, detail):
    with pytest.raises(DockerliteError) as caught:
        host_range(subuid, subgid)
    assert named in caught.value.msg
    assert '/etc/subuid and in /etc/subgid' in caught.value.msg
    assert 'root:1000000:1000000000' in caught.value.msg


def test_host_ids_reads_the_files(tmp_path):
    (tmp_path / 'subuid').write_text(LXD_RANGE)
    (tmp_path / 'subgid').write_text(LXD_RANGE)
    assert HostIds(str(tmp_path / 'subuid'), str(tmp_path / 'subgid')).range() == (
        {'uid': 1000000, 'gid': 1000000}, 1000000000 // BLOCK_SIZE)


def test_host_ids_missing_file_is_no_range(tmp_path):
    (tmp_path / 'subgid').write_text(LXD_RANGE)
    with pytest.raises(DockerliteError, match='%s gives root no range' % (tmp_path / 'subuid')):
        HostIds(str(tmp_path / 'subuid'), str(tmp_path / 'subgid')).range()


def block(index):
    return {'uid': FIRST['uid'] + index * BLOCK_SIZE, 'gid': FIRST['gid'] + index * BLOCK_SIZE, 'size': BLOCK_SIZE}


def test_shared_idmap_is_the_first_block():
    assert shared_idmap(FIRST) == block(0)


@pytest.mark.parametrize('held, current, blocks, expected', [
    ({}, None, 4, 1),
    ({block(0)['uid']: 'shared'}, None, 4, 1),
    ({block(1)['uid']: 'a'}, None, 4, 2),
    ({block(1)['uid']: 'a', block(3)['uid']: 'c'}, None, 4, 2),
    ({block(2)['uid']: 'b'}, block(3), 4, 3),
    # The current map is taken by someone else (a hand-edited store): move.
    ({block(3)['uid']: 'b'}, block(3), 4, 1),
    # The current map is outside the range now (the range shrank or moved): move.
    ({}, block(9), 4, 1),
    ({}, dict(block(2), gid=5), 4, 1),
    ({}, block(0), 4, 1),
])
def test_allocate_idmap(held, current, blocks, expected):
    assert allocate_idmap(FIRST, blocks, held, current) == block(expected)


@pytest.mark.parametrize('blocks, held', [
    (1, {}),
    (3, {block(1)['uid']: 'a', block(2)['uid']: 'b'}),
])
def test_allocate_idmap_exhausted(blocks, held):
    with pytest.raises(DockerliteError, match='no free block of 65536 subordinate ids'):
        allocate_idmap(FIRST, blocks, held)


def test_idmap_held():
    containers = [
        {'name': 'a', 'idmap': block(1)},
        {'name': 'b', 'idmap': None},
        {'name': 'c'},
        {'name': 'd', 'idmap': block(0)},
        {'name': 'e', 'idmap': block(0)},
        {'name': 'self', 'idmap': block(2)},
        {'name': 'bad', 'idmap': 'garbage'},
    ]
    assert idmap_held(containers, exclude='self') == {block(1)['uid']: 'a', block(0)['uid']: 'd'}
