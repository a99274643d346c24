# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""store.py on plain directories (FakeBtrfs): layout, lock, staging, tags, containers."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._store import store as store_module
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import new_id, utc_now, write_atomic
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import FakeHost, listing, store_state


@pytest.fixture
def host(tmp_path):
    return FakeHost(tmp_path / 'store')


def image_meta(name='base:latest', created=None):
    return {'id': new_id(), 'name': name, 'parent': None, 'source': 'empty', 'created': created or utc_now(),
            'command': None, 'env': {}, 'labels': {}, 'stop_signal': 'SIGPWR'}


def write_files(files):
    def populate(rootfs):
        for path, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(rootfs, path)), exist_ok=True)
            with open(os.path.join(rootfs, path), 'w') as handle:
                handle.write(text)
    return populate


def build(store, name='base:latest', files=None, created=None):
    """Build an image and take its tag off older images, as the image manager does."""
    image = store.build_image(image_meta(name, created), write_files(files or {'etc/hostname': name}))
    store.retire_tag(name, keep=image['id'])
    return image


def create_web(store, image, config='x\n'):
    """Container ``web`` from ``image``."""
    return store.create_container(container_meta('web', image), image, config)


def container_meta(name, image):
    return {'id': new_id(), 'name': name, 'image': image['name'], 'image_id': image['id'],
            'image_defaults': {'command': ['/sbin/init'], 'env': {}, 'labels': {}, 'stop_signal': 'SIGPWR'},
            'created': utc_now(), 'spec': {'command': ['/sbin/init'], 'env': {}, 'stop_signal': 'SIGPWR'}}


# -- session, layout, lock --------------------------------------------------------

def test_session_creates_the_layout(host):
    with host.store().session():
        pass
    assert listing(host.root) == ['.dockerlite.json', '.lock', 'containers', 'images', 'tmp']
    with open(os.path.join(host.root, '.dockerlite.json')) as handle:
        assert json.load(handle) == {'version': 1}
    assert listing(os.path.join(host.root, 'tmp')) == []


def test_session_cleans_leftovers_in_tmp(host):
    with host.store().session():
        pass
    tmp = os.path.join(host.root, 'tmp')
    os.makedirs(os.path.join(tmp, 'a1b2', 'rootfs', 'etc'))
    with open(os.path.join(tmp, 'a1b2', 'rootfs', 'etc', 'passwd'), 'w') as handle:
        handle.write('root:x:0:0::/:/bin/sh\n')
    with open(os.path.join(tmp, 'stray-file'), 'w') as handle:
        handle.write('x')
    os.symlink('/etc', os.path.join(tmp, 'stray-link'))
    host.forget_calls()
    with host.store().session():
        assert listing(tmp) == []
    removed = sorted(call[1] for call in host.btrfs.calls if call[0] == 'remove_tree')
    assert removed == [os.path.join(tmp, name) for name in ('a1b2', 'stray-file', 'stray-link')]
    assert os.path.isdir('/etc')


def test_session_keeps_images_and_containers(host):
    store = host.store()
    with store.session():
        image = build(store)
        create_web(store, image)
    before = store_state(host.root)
    with host.store().session():
        pass
    assert store_state(host.root) == before


def test_check_mode_session_on_a_missing_store_creates_nothing(tmp_path):
    host = FakeHost(tmp_path / 'a' / 'b' / 'store')
    store = host.store()
    with store.session(check_mode=True):
        assert store.list_images() == []
        assert store.list_containers() == []
        assert store.find_image('base:latest') is None
        assert store.get_container('web') is None
        assert store.containers_using('0' * 64) == []
    assert listing(str(tmp_path)) == []
    assert host.btrfs.mutating_calls() == []


def test_check_mode_session_keeps_leftovers(host):
    with host.store().session():
        pass
    leftover = os.path.join(host.root, 'tmp', 'leftover')
    os.mkdir(leftover)
    before = store_state(host.root)
    with host.store().session(check_mode=True):
        pass
    assert store_state(host.root) == before
    assert host.btrfs.mutating_calls() == []


@pytest.mark.parametrize('check_mode', [False, True])
def test_refuses_a_filesystem_that_is_not_btrfs(tmp_path, check_mode):
    host = FakeHost(tmp_path / 'store', fstype='ext4')
    with pytest.raises(DockerliteError) as info:
        with host.store().session(check_mode=check_mode):
            pytest.fail('session entered on ext4')
    assert host.root in info.value.msg
    assert 'ext4' in info.value.msg
    assert info.value.details['filesystem'] == 'ext4'
    assert not os.path.exists(host.root)


def test_refuses_a_root_with_a_newline(tmp_path):
    host = FakeHost(str(tmp_path / 'store') + '\nx')
    with pytest.raises(DockerliteError) as info:
        with host.store().session():
            pytest.fail('session entered')
    assert repr(os.path.abspath(host.root)) in info.value.msg
    assert listing(str(tmp_path)) == []


def test_refuses_a_root_that_is_a_file(tmp_path):
    path = tmp_path / 'file'
    path.write_text('x')
    with pytest.raises(DockerliteError) as info:
        with FakeHost(path).store().session():
            pytest.fail('session entered')
    assert str(path) in info.value.msg


def test_lock_is_exclusive(host, monkeypatch):
    monkeypatch.setattr(store_module, 'LOCK_TIMEOUT', 0.1)
    with host.store().session():
        with pytest.raises(DockerliteError) as info:
            with host.store().session():
                pytest.fail('two sessions hold the lock')
        assert 'held by pid %d' % os.getpid() in info.value.msg
    with host.store().session():
        pass


# -- images -------------------------------------------------------------------

def test_build_image_stages_then_renames(host):
    store = host.store()
    seen = []

    def populate(rootfs):
        seen.append(rootfs)
        assert os.path.dirname(os.path.dirname(rootfs)) == store.tmp_dir
        assert listing(store.images_dir) == []
        write_files({'bin/sh': '#!'})(rootfs)

    with store.session():
        meta = image_meta()
        image = store.build_image(meta, populate)
    assert image['rootfs'] == os.path.join(store.images_dir, meta['id'], 'rootfs')
    assert listing(store.images_dir) == [meta['id']]
    assert listing(store.tmp_dir) == []
    assert os.path.isfile(os.path.join(image['rootfs'], 'bin', 'sh'))
    assert host.btrfs.is_read_only(image['rootfs']) is True
    # The flag was set while staged, before the rename made the image visible.
    assert ('set_read_only', seen[0], True) in host.btrfs.calls
    with open(os.path.join(store.images_dir, meta['id'], 'image.json')) as handle:
        assert json.load(handle) == meta
    assert {k: v for k, v in image.items() if k != 'rootfs'} == meta


def test_failed_build_leaves_nothing(host):
    store = host.store()

    def populate(rootfs):
        write_files({'half': 'written'})(rootfs)
        raise RuntimeError('debootstrap died')

    with store.session():
        with pytest.raises(RuntimeError):
            store.build_image(image_meta(), populate)
        assert listing(store.images_dir) == []
        assert listing(store.tmp_dir) == []
    with host.store().session() as again:
        assert again.find_image('base:latest') is None


def test_failed_container_creation_leaves_nothing(host):
    store = host.store()
    with store.session():
        image = build(store)
        create_web(store, image)
        with pytest.raises(DockerliteError):
            create_web(store, image)
        assert listing(store.containers_dir) == ['web']
        assert listing(store.tmp_dir) == []


def test_retire_tag_removes_an_unused_image(host):
    store = host.store()
    with store.session():
        old = build(store)
        new = build(store)
    assert listing(store.images_dir) == [new['id']]
    assert store.find_image('base:latest')['id'] == new['id']
    assert not os.path.exists(old['rootfs'])
    assert listing(store.tmp_dir) == []


def test_retire_tag_untags_an_image_in_use(host):
    store = host.store()
    with store.session():
        old = build(store)
        create_web(store, old)
        new = build(store)
        kept = store.get_image(old['id'])
    assert sorted(listing(store.images_dir)) == sorted([old['id'], new['id']])
    assert kept['name'] is None
    assert os.path.isdir(kept['rootfs'])
    assert store.find_image('base:latest')['id'] == new['id']
    assert store.get_container('web')['image_id'] == old['id']


def test_retire_tag_reports_what_it_did(host):
    store = host.store()
    with store.session():
        unused = build(store, 'spare:latest')
        used = build(store, 'other:latest')
        keep = build(store, 'base:latest')
        create_web(store, used)
        store.update_image(unused, name='base:latest')
        store.update_image(used, name='base:latest')
        done = store.retire_tag('base:latest', keep=keep['id'])
    assert sorted(done) == sorted([('remove', unused['id']), ('untag', used['id'])])
    assert [image['id'] for image in store.list_images() if image['name'] == 'base:latest'] == [keep['id']]


def test_other_tags_are_left_alone(host):
    store = host.store()
    with store.session():
        one = build(store, 'base:1')
        two = build(store, 'base:2')
        build(store, 'base:1')
    assert store.get_image(one['id']) is None
    assert store.get_image(two['id'])['name'] == 'base:2'


@pytest.mark.parametrize('older_first', [True, False])
def test_find_image_picks_the_newest(host, older_first):
    """Two images hold a tag when a run died between renaming the new one in and retiring the old."""
    store = host.store()
    times = ['2026-01-01T00:00:00.000000+00:00', '2026-01-02T00:00:00.000000+00:00']
    if not older_first:
        times.reverse()
    with store.session():
        first = build(store, 'base:latest', created=times[0])
        second = build(store, 'scratch:latest', created=times[1])
        store.update_image(second, name='base:latest')
    oldest, newest = (first, second) if older_first else (second, first)
    assert store.find_image('base:latest')['id'] == newest['id']
    assert [image['id'] for image in store.list_images()] == [oldest['id'], newest['id']]


def test_commit_image_snapshots_read_only(host):
    store = host.store()
    with store.session():
        base = build(store, files={'etc/hostname': 'base'})
        container = create_web(store, base)
        write_files({'data/file': 'written in the container'})(container['rootfs'])
        meta = image_meta('snap:latest')
        image = store.commit_image(meta, container['rootfs'])
    assert host.btrfs.is_read_only(image['rootfs']) is True
    assert host.btrfs.is_read_only(container['rootfs']) is False
    with open(os.path.join(image['rootfs'], 'data', 'file')) as handle:
        assert handle.read() == 'written in the container'
    assert image['container_generation'] == host.btrfs.created_transaction(image['rootfs'])
    assert listing(store.tmp_dir) == []


def test_remove_image(host):
    store = host.store()
    with store.session():
        image = build(store)
        host.forget_calls()
        store.remove_image(image['id'])
    assert listing(store.images_dir) == []
    assert listing(store.tmp_dir) == []
    names = [call[0] for call in host.btrfs.calls]
    assert names.index('check_unmounted') < names.index('remove_tree')


# -- containers -----------------------------------------------------------------

def test_create_container(host):
    store = host.store()
    with store.session():
        image = build(store, files={'etc/hostname': 'base'})
        meta = container_meta('web', image)
        container = store.create_container(meta, image, 'lxc.uts.name = web\n')
    paths = store.container_paths('web')
    assert container == dict(meta, rootfs=paths['rootfs'])
    assert listing(paths['dir']) == ['config', 'container.json', 'lxc.log', 'rootfs']
    with open(paths['config']) as handle:
        assert handle.read() == 'lxc.uts.name = web\n'
    with open(os.path.join(paths['rootfs'], 'etc', 'hostname')) as handle:
        assert handle.read() == 'base'
    assert host.btrfs.is_read_only(paths['rootfs']) is False
    assert listing(store.tmp_dir) == []
    assert store.containers_using(image['id']) == ['web']


def test_create_container_fsyncs_each_file_once_and_no_directory(host, monkeypatch):
    """A new container's files are written straight into its staging directory: each is on
    disk (fsynced) before the directory is renamed into place, with no rename or directory
    fsync of its own. An update in place replaces each file atomically (file, then directory)."""
    store = host.store()
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.path.basename(os.readlink('/proc/self/fd/%d' % fd)))
        real_fsync(fd)

    with store.session():
        image = build(store)
        meta = container_meta('web', image)
        monkeypatch.setattr(os, 'fsync', fsync)
        store.create_container(meta, image, 'lxc.uts.name = web\n', files={'hosts': '127.0.0.1 web\n'})
        assert sorted(synced) == ['config', 'container.json', 'hosts']
        del synced[:]
        store.update_container(meta, 'lxc.uts.name = web2\n', files={'hosts': '127.0.0.1 web2\n'})
        assert synced.count('web') == 3 and len(synced) == 6
    monkeypatch.undo()
    paths = store.container_paths('web')
    assert listing(paths['dir']) == ['config', 'container.json', 'hosts', 'lxc.log', 'rootfs']
    assert listing(store.tmp_dir) == []


def test_batch_stages_containers_and_moves_them_in_after_one_sync(host, monkeypatch):
    """In a batch the new containers' files are not fsynced one by one: when the batch ends,
    one filesystem sync, and only then each staged directory is renamed into place, in order."""
    store = host.store()
    synced = []
    monkeypatch.setattr(os, 'fsync', synced.append)
    with store.session():
        image = build(store)
        host.forget_calls()
        del synced[:]
        with store.batch():
            for name in ('web', 'db'):
                assert store.create_container(container_meta(name, image), image, 'x\n',
                                              files={'hosts': '127.0.0.1 %s\n' % name}) is None
            assert [c['name'] for c in store.list_containers()] == []
            assert len(listing(store.tmp_dir)) == 2
            assert 'sync' not in [call[0] for call in host.btrfs.calls]
            with pytest.raises(DockerliteError):
                store.create_container(container_meta('web', image), image, 'again\n')
        assert synced == []
        assert [call for call in host.btrfs.calls if call[0] == 'sync'] == [('sync', store.tmp_dir)]
        assert sorted(c['name'] for c in store.list_containers()) == ['db', 'web']
        assert listing(store.container_paths('db')['dir']) == [
            'config', 'container.json', 'hosts', 'lxc.log', 'rootfs']
    assert listing(store.tmp_dir) == []


def test_prestaged_snapshots_are_used_and_the_unused_removed(host):
    store = host.store()
    with store.session():
        image = build(store)
        host.forget_calls()
        with store.batch():
            store.prestage([('web', image), ('db', image), ('spare', image)], 4)
            assert [call for call in host.btrfs.calls if call[0] == 'snapshots'] == [('snapshots', 3, 4)]
            host.forget_calls()
            for name in ('web', 'db'):
                store.create_container(container_meta(name, image), image, 'x\n')
            assert [call[0] for call in host.btrfs.calls].count('snapshot') == 0
        assert sorted(c['name'] for c in store.list_containers()) == ['db', 'web']
        with open(os.path.join(store.container_paths('web')['rootfs'], 'etc', 'hostname')) as handle:
            assert handle.read() == 'base:latest'
    assert listing(store.tmp_dir) == []


def test_prestage_that_fails_keeps_nothing(host, monkeypatch):
    store = host.store()
    with store.session():
        image = build(store)

        def snapshots(pairs, workers):
            host.btrfs.snapshot(*pairs[0])
            raise DockerliteError('btrfs: cannot snapshot x to y: No space left on device')

        monkeypatch.setattr(host.btrfs, 'snapshots', snapshots)
        with pytest.raises(DockerliteError):
            with store.batch():
                store.prestage([('web', image), ('db', image)], 2)
        assert store.list_containers() == []
    assert listing(store.tmp_dir) == []


def test_batch_moves_in_what_was_made_before_a_failure(host):
    store = host.store()
    with store.session():
        image = build(store)
        with pytest.raises(RuntimeError):
            with store.batch():
                store.create_container(container_meta('web', image), image, 'x\n')
                raise RuntimeError('a later member failed')
        assert [c['name'] for c in store.list_containers()] == ['web']
    assert listing(store.tmp_dir) == []


def test_create_container_refuses_an_existing_name(host):
    store = host.store()
    with store.session():
        image = build(store)
        create_web(store, image, 'first\n')
        before = store_state(host.root)
        with pytest.raises(DockerliteError) as info:
            store.create_container(container_meta('web', image), image, 'second\n')
        assert store_state(host.root) == before
    assert 'web' in info.value.msg
    with open(store.container_paths('web')['config']) as handle:
        assert handle.read() == 'first\n'


def test_update_container(host):
    store = host.store()
    with store.session():
        image = build(store)
        meta = create_web(store, image, 'old\n')
        meta = dict(meta, spec=dict(meta['spec'], env={'A': '1'}))
        updated = store.update_container(meta, 'new\n')
    paths = store.container_paths('web')
    assert updated['spec']['env'] == {'A': '1'}
    with open(paths['config']) as handle:
        assert handle.read() == 'new\n'
    with open(paths['meta']) as handle:
        assert 'rootfs' not in json.load(handle)
    assert listing(paths['dir']) == ['config', 'container.json', 'lxc.log', 'rootfs']


def test_remove_container_checks_mounts_before_it_moves(host):
    store = host.store()
    with store.session():
        image = build(store)
        create_web(store, image)
        host.forget_calls()
        store.remove_container('web')
    assert listing(store.containers_dir) == []
    assert listing(store.tmp_dir) == []
    assert host.btrfs.calls[0] == ('check_unmounted', store.container_paths('web')['dir'])
    assert host.btrfs.calls[1][0] == 'remove_tree'
    assert os.path.dirname(host.btrfs.calls[1][1]) == store.tmp_dir


# -- the lock guards every mutation ---------------------------------------------

MUTATIONS = {
    'build_image': lambda store, image, web: store.build_image(image_meta('other:latest'), write_files({})),
    'commit_image': lambda store, image, web: store.commit_image(image_meta('snap:latest'), image['rootfs']),
    'retire_tag': lambda store, image, web: store.retire_tag('base:latest'),
    'update_image': lambda store, image, web: store.update_image(image, name='renamed:latest'),
    'remove_image': lambda store, image, web: store.remove_image(image['id']),
    'create_container': lambda store, image, web: store.create_container(container_meta('db', image), image, 'x\n'),
    'update_container': lambda store, image, web: store.update_container(dict(web, spec={}), 'changed\n'),
    'remove_container': lambda store, image, web: store.remove_container(web['name']),
    'write_json': lambda store, image, web: store.write_json(store.container_paths(web['name'])['meta'], {}),
    'write_stack_record': lambda store, image, web: store.write_stack_record('app', {'web': web['id']}),
    'remove_stack_record': lambda store, image, web: store.remove_stack_record('app'),
    'remove_layer': lambda store, image, web: store.remove_layer('sha256:' + 'a' * 64),
    'remove_blob': lambda store, image, web: store.remove_blob('sha256:' + 'b' * 64),
}


@pytest.mark.parametrize('mutation', sorted(MUTATIONS))
@pytest.mark.parametrize('how', ['outside a session', 'in a check-mode session on a missing store'])
def test_mutations_need_the_lock(tmp_path, mutation, how):
    host = FakeHost(tmp_path / 'store')
    store = host.store()
    if how == 'outside a session':
        with store.session():
            image = build(store)
            web = create_web(store, image)
            store.write_stack_record('app', {'web': web['id']})
    else:
        image = dict(image_meta(), rootfs=str(tmp_path / 'nowhere'))
        web = container_meta('web', image)
    before = store_state(host.root)
    host.forget_calls()
    with pytest.raises(DockerliteError) as info:
        if how == 'outside a session':
            MUTATIONS[mutation](store, image, web)
        else:
            with store.session(check_mode=True):
                MUTATIONS[mutation](store, image, web)
    assert 'lock' in info.value.msg
    assert store_state(host.root) == before
    assert host.btrfs.mutating_calls() == []


# -- atomic writes --------------------------------------------------------------

def test_write_atomic(tmp_path):
    (tmp_path / 'tmp').mkdir()
    (tmp_path / 'meta').mkdir()
    path = str(tmp_path / 'meta' / 'meta.json')
    write_atomic(path, 'one\n', str(tmp_path / 'tmp'))
    write_atomic(path, 'two\n', str(tmp_path / 'tmp'))
    with open(path) as handle:
        assert handle.read() == 'two\n'
    assert listing(str(tmp_path / 'meta')) == ['meta.json']
    assert listing(str(tmp_path / 'tmp')) == []


def test_write_atomic_failing_leaves_nothing_beside_the_file(tmp_path, monkeypatch):
    """A write that fails half way (here: the rename) leaves the old file and no temporary file anywhere."""
    (tmp_path / 'tmp').mkdir()
    (tmp_path / 'meta').mkdir()
    path = str(tmp_path / 'meta' / 'meta.json')
    write_atomic(path, 'one\n', str(tmp_path / 'tmp'))

    def no_space(*_args):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(os, 'rename', no_space)
    with pytest.raises(OSError):
        write_atomic(path, 'two\n', str(tmp_path / 'tmp'))
    monkeypatch.undo()
    with open(path) as handle:
        assert handle.read() == 'one\n'
    assert listing(str(tmp_path / 'meta')) == ['meta.json']
    assert listing(str(tmp_path / 'tmp')) == []
