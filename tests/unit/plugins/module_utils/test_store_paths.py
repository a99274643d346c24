# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""StorePaths (the layout, pure), read_container (metadata without a store) and the store's stack records."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import StoreDataError, ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._store.paths import StorePaths
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import new_id, read_container, utc_now
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import FakeHost, listing

IMAGE_ID = 'ab' * 32


@pytest.fixture
def host(tmp_path):
    return FakeHost(tmp_path / 'store')


def test_the_layout_under_root(tmp_path):
    root = str(tmp_path / 'store')
    paths = StorePaths(root)
    assert (paths.root, paths.marker, paths.lock) == (root, root + '/.dockerlite.json', root + '/.lock')
    assert paths.own_directories() == (root + '/tmp', root + '/images', root + '/containers', root + '/stacks',
                                       root + '/layers', root + '/blobs')
    assert paths.image_rootfs(IMAGE_ID) == '%s/images/%s/rootfs' % (root, IMAGE_ID)
    assert paths.image_meta(IMAGE_ID) == '%s/images/%s/image.json' % (root, IMAGE_ID)
    web = root + '/containers/web'
    assert paths.container('web') == {'dir': web, 'rootfs': web + '/rootfs', 'config': web + '/config',
                                      'log': web + '/lxc.log', 'meta': web + '/container.json'}
    assert paths.stack_record('app') == root + '/stacks/app.json'


def test_a_relative_root_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert StorePaths('store').containers == str(tmp_path / 'store' / 'containers')


def test_paths_touch_nothing(tmp_path):
    paths = StorePaths(str(tmp_path / 'missing'))
    paths.container('web')
    paths.image_dir(IMAGE_ID)
    paths.stack_record('app')
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize('name', ['../images', 'a/b', '.hidden', '', 'x' * 300])
def test_names_that_would_leave_their_directory_are_refused(tmp_path, name):
    paths = StorePaths(str(tmp_path))
    with pytest.raises(ValidationError, match='is invalid'):
        paths.container(name)
    with pytest.raises(ValidationError, match='stack name'):
        paths.stack_record(name)


@pytest.mark.parametrize('image_id', ['../x', 'AB' * 32, 'ab' * 31, None])
def test_image_ids_must_be_64_hex_digits(tmp_path, image_id):
    with pytest.raises(StoreDataError, match='image id .* is not 64 hexadecimal digits'):
        StorePaths(str(tmp_path)).image_dir(image_id)


def test_the_store_uses_the_same_paths(host):
    store, paths = host.store(), StorePaths(host.root)
    assert (store.root, store.images_dir, store.containers_dir, store.tmp_dir) == (
        paths.root, paths.images, paths.containers, paths.tmp)
    assert store.container_paths('web') == paths.container('web')
    assert store.image_rootfs(IMAGE_ID) == paths.image_rootfs(IMAGE_ID)


# -- read_container: what the controller-side plugins read -----------------------------

def make_web(host):
    store = host.store()
    with store.session():
        image = store.build_image({'id': new_id(), 'name': 'base:latest', 'parent': None, 'source': 'empty',
                                   'created': utc_now(), 'command': None, 'env': {}, 'labels': {},
                                   'stop_signal': 'SIGPWR'}, lambda rootfs: None)
        return store.create_container(
            {'id': new_id(), 'name': 'web', 'image': 'base:latest', 'image_id': image['id'],
             'image_defaults': {'command': ['/sbin/init'], 'env': {}, 'labels': {}, 'stop_signal': 'SIGPWR'},
             'created': utc_now(), 'spec': {'command': ['/sbin/init'], 'env': {'A': '1'}, 'stop_signal': 'SIGPWR'}},
            image, 'x\n')


def test_read_container_reads_what_the_store_reads(host):
    web = make_web(host)
    paths = StorePaths(host.root)
    assert read_container(paths, 'web') == web == host.store().get_container('web')
    assert read_container(paths, 'db') is None


def test_read_container_refuses_damaged_metadata(host):
    make_web(host)
    paths = StorePaths(host.root)
    with open(paths.container('web')['meta'], 'w') as handle:
        handle.write('{"name": "web"}')
    with pytest.raises(StoreDataError, match='key id is missing'):
        read_container(paths, 'web')


# -- stack records --------------------------------------------------------------------

def test_stack_records_round_trip_privately(host):
    web = make_web(host)
    store = host.store()
    assert store.stack_records() == ({}, set())
    with store.session():
        store.write_stack_record('app', {'web': web['id']})
    stacks = os.path.join(host.root, 'stacks')
    assert listing(stacks) == ['app.json']
    assert stat.S_IMODE(os.stat(stacks).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(stacks, 'app.json')).st_mode) == 0o600
    assert store.stack_records() == ({'app': {'web': web['id']}}, set())
    with store.session():
        assert store.remove_stack_record('app') is True
        assert store.remove_stack_record('app') is False
    assert store.stack_records() == ({}, set())


def test_a_damaged_stack_record_is_named_and_skipped(host):
    make_web(host)
    store = host.store()
    os.makedirs(os.path.join(host.root, 'stacks'))
    with open(os.path.join(host.root, 'stacks', 'app.json'), 'w') as handle:
        handle.write('{"stack": "app", "containers": {"web": "../x"}}')
    assert store.stack_records() == ({}, {'app'})
    assert store.warnings == ['%s/stacks/app.json: id of member web "../x" is not 64 hexadecimal digits; skipped '
                              "(the stack's next run rewrites it)" % host.root]


def test_a_stack_record_is_written_only_for_a_valid_stack_name(host):
    store = host.store()
    with store.session(), pytest.raises(ValidationError, match='stack name'):
        store.write_stack_record('../containers/web', {})
    assert not os.path.exists(os.path.join(host.root, 'stacks'))
