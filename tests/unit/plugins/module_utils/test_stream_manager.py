# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_image_export format btrfs-stream and dockerlite_image source stream, over fake hosts."""

from __future__ import annotations

import os

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image import ImageManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.push import ExportManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.stream import StreamExportManager
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import (
    FakeHost, listing, run_manager, store_state)


@pytest.fixture
def hosts(tmp_path):
    src = tmp_path / 'src'
    (src / 'etc').mkdir(parents=True)
    (src / 'etc' / 'hostname').write_text('app\n')
    build, target = FakeHost(tmp_path / 'build'), FakeHost(tmp_path / 'target')
    run_manager(build, ImageManager, 'dockerlite_image', name='app:1', source='directory', path=str(src))
    (src / 'app').mkdir()
    (src / 'app' / 'v2').write_text('two\n')
    run_manager(build, ImageManager, 'dockerlite_image', name='app:2', source='directory', path=str(src))
    return build, target


def export(host, tmp_path, name, parent=None, check_mode=False, **given):
    path = str(tmp_path / ('%s-%s.stream' % (name.replace(':', '_'), parent or 'full')))
    return path, run_manager(host, StreamExportManager, 'dockerlite_image_export', check_mode=check_mode, name=name,
                             path=path, format='btrfs-stream', parent=parent, **given)


def receive(host, path, name, check_mode=False, **given):
    return run_manager(host, ImageManager, 'dockerlite_image', check_mode=check_mode, name=name, source='stream',
                       path=path, **given)


def test_export_is_idempotent_and_check_mode_writes_nothing(hosts, tmp_path):
    build, _target = hosts
    path, checked = export(build, tmp_path, 'app:2', check_mode=True)
    assert checked['changed'] and checked['actions'] == ['export'] and not os.path.exists(path)
    path, result = export(build, tmp_path, 'app:2')
    assert result['changed'] and result['archive'] == path and result['bytes'] == os.path.getsize(path)
    assert result['parent'] is None and result['stream_digest'].startswith('sha256:')
    mtime = os.stat(path).st_mtime_ns
    for check_mode in (True, False):
        _path, again = export(build, tmp_path, 'app:2', check_mode=check_mode)
        assert not again['changed'] and again['actions'] == []
    assert os.stat(path).st_mtime_ns == mtime
    _path, forced = export(build, tmp_path, 'app:2', force=True)
    assert forced['changed']


def test_a_stream_from_another_parent_is_written_again(hosts, tmp_path):
    build, _target = hosts
    path, _result = export(build, tmp_path, 'app:2')
    result = run_manager(build, StreamExportManager, 'dockerlite_image_export', name='app:2', path=path,
                         format='btrfs-stream', parent='app:1')
    assert result['changed'] and result['parent']['name'] == 'app:1'


def test_receive_four_runs_then_retag(hosts, tmp_path):
    build, target = hosts
    path, _result = export(build, tmp_path, 'app:1')
    before = store_state(target.root) if os.path.isdir(target.root) else None
    checked = receive(target, path, 'app:1', check_mode=True)
    assert checked['changed'] and checked['actions'] == ['receive']
    assert (store_state(target.root) if os.path.isdir(target.root) else None) == before
    done = receive(target, path, 'app:1')
    assert done['changed'] and done['actions'] == ['receive']
    assert done['image']['id'] == checked['image']['id'] and done['diff'] == checked['diff']
    assert done['image']['read_only'] and done['image']['origin']
    for check_mode in (True, False):
        again = receive(target, path, 'app:1', check_mode=check_mode)
        assert not again['changed'] and again['actions'] == []
    retagged = receive(target, path, 'app:stable')
    assert retagged['changed'] and retagged['actions'] == ['update_metadata']
    assert retagged['image']['name'] == 'app:stable' and retagged['image']['id'] == done['image']['id']
    assert listing(os.path.join(target.root, 'images')) == [done['image']['id']]


def test_an_incremental_stream_without_its_parent_fails_naming_it(hosts, tmp_path):
    build, target = hosts
    run_manager(target, ImageManager, 'dockerlite_image', name='other:1', source='empty')
    path, _result = export(build, tmp_path, 'app:2', parent='app:1')
    before = store_state(target.root)
    with pytest.raises(DockerliteError, match='incremental from image'):
        receive(target, path, 'app:2')
    assert {k: v for k, v in store_state(target.root).items() if k != 'tmp'} == {
        k: v for k, v in before.items() if k != 'tmp'}


def test_a_received_image_takes_the_tag_from_an_older_holder(hosts, tmp_path):
    build, target = hosts
    run_manager(target, ImageManager, 'dockerlite_image', name='app:2', source='empty')
    path, _result = export(build, tmp_path, 'app:2')
    done = receive(target, path, 'app:2')
    assert done['actions'] == ['receive', 'remove_previous']
    assert len(listing(os.path.join(target.root, 'images'))) == 1


@pytest.mark.parametrize('given, message', [
    ({'format': 'oci-archive', 'parent': 'app:1'}, 'parent app:1 only applies with format btrfs-stream'),
    ({'format': 'btrfs-stream', 'parent': 'missing:9'}, 'image missing:9 does not exist'),
    ({'format': 'btrfs-stream', 'parent': 'app:2'}, 'is the image itself'),
])
def test_bad_export_options_are_named(hosts, tmp_path, given, message):
    build, _target = hosts
    manager = StreamExportManager if given['format'] == 'btrfs-stream' else ExportManager
    with pytest.raises(DockerliteError, match=message):
        run_manager(build, manager, 'dockerlite_image_export', name='app:2', path=str(tmp_path / 'x'), **given)
    assert not os.path.exists(str(tmp_path / 'x'))


def test_a_missing_or_foreign_stream_file_is_named(hosts, tmp_path):
    _build, target = hosts
    with pytest.raises(DockerliteError, match='image stream %s' % tmp_path):
        receive(target, str(tmp_path / 'missing.stream'), 'app:1')
    (tmp_path / 'plain').write_text('hello\n' * 40)
    with pytest.raises(DockerliteError, match='not a dockerlite image stream'):
        receive(target, str(tmp_path / 'plain'), 'app:1')
    with pytest.raises(DockerliteError, match='source stream needs path'):
        run_manager(target, ImageManager, 'dockerlite_image', name='app:1', source='stream')
