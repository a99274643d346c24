# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""What the store does with what it cannot trust: foreign roots, a hostile lock, damaged metadata."""

from __future__ import annotations

import errno
import json
import os
import signal

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import ContainerManager
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import (
    DockerliteError, StoreDataError, as_dockerlite_error)
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image import ImageManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.stack import StackManager
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import (
    check_container_meta, check_image_meta, read_json, read_stack_record)
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import (
    FakeHost, listing, module_params, run_manager, store_state)


@pytest.fixture
def host(tmp_path):
    return FakeHost(tmp_path / 'store')


@pytest.fixture
def src(tmp_path):
    path = tmp_path / 'src'
    (path / 'etc').mkdir(parents=True)
    (path / 'etc' / 'hostname').write_text('src\n')
    return str(path)


def image(host, src, name='base'):
    return run_manager(host, ImageManager, 'dockerlite_image', name=name, source='directory', path=src)['image']


def container(host, name='web', image_ref='base', state='present'):
    return run_manager(host, ContainerManager, 'dockerlite_container', name=name, image=image_ref, state=state)


def write(path, text):
    with open(path, 'w') as handle:
        handle.write(text)


def read(path):
    with open(path) as handle:
        return handle.read()


# -- adopting a root ---------------------------------------------------------------

def test_a_missing_or_empty_root_is_adopted(host, tmp_path):
    with host.store().session():
        pass
    assert '.dockerlite.json' in listing(host.root)
    empty = FakeHost(tmp_path / 'empty')
    os.makedirs(empty.root)
    with empty.store().session():
        pass
    assert listing(empty.root) == ['.dockerlite.json', '.lock', 'containers', 'images', 'tmp']


@pytest.mark.parametrize('check_mode', [False, True])
def test_a_foreign_directory_is_refused_before_anything_is_written(host, check_mode):
    os.makedirs(os.path.join(host.root, 'tmp'))
    write(os.path.join(host.root, 'tmp', 'precious'), 'keep me\n')
    write(os.path.join(host.root, 'notes.txt'), 'mine\n')
    before = store_state(host.root)
    with pytest.raises(DockerliteError) as caught:
        with host.store().session(check_mode=check_mode):
            pass
    assert 'root %s is not a dockerlite store' % host.root in caught.value.msg
    assert 'notes.txt, tmp' in caught.value.msg
    assert store_state(host.root) == before
    assert host.btrfs.mutating_calls() == []


def test_a_store_of_an_unknown_version_is_refused(host):
    with host.store().session():
        pass
    write(os.path.join(host.root, '.dockerlite.json'), '{"version": 7}\n')
    with pytest.raises(StoreDataError, match='store version 7 is not one this collection knows'):
        with host.store().session():
            pass


@pytest.mark.parametrize('entry', ['tmp', 'images', 'containers', 'stacks'])
def test_a_store_directory_that_is_a_symlink_is_refused(host, tmp_path, entry):
    """tmp/ as a link elsewhere would have the clean-up delete what is there."""
    with host.store().session():
        pass
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    (elsewhere / 'precious').write_text('keep\n')
    path = os.path.join(host.root, entry)
    if os.path.isdir(path):
        os.rmdir(path)
    os.symlink(str(elsewhere), path)
    with pytest.raises(StoreDataError, match='is not a directory'):
        with host.store().session():
            pass
    assert (elsewhere / 'precious').read_text() == 'keep\n'


def test_an_adoption_killed_before_the_marker_is_finished_on_the_next_run(host):
    """A kill between tmp/ and the marker leaves .lock and tmp/ with the marker's temporary file."""
    os.makedirs(os.path.join(host.root, 'tmp'))
    write(os.path.join(host.root, '.lock'), '')
    write(os.path.join(host.root, 'tmp', '.dockerlite.json.0123abcd'), '{"vers')
    with host.store().session():
        pass
    assert read_json(os.path.join(host.root, '.dockerlite.json')) == {'version': 1}
    assert listing(os.path.join(host.root, 'tmp')) == []


def test_a_write_killed_midway_leaves_its_debris_in_tmp_only(host):
    """kill -9 between writing the temporary file and the rename: the old file stays whole,
    the temporary file is in tmp/ (not beside the metadata), and the next session deletes it."""
    with host.store().session():
        pass
    marker = os.path.join(host.root, '.dockerlite.json')
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child is killed
        try:
            os.fsync = lambda _fd: os.kill(os.getpid(), signal.SIGKILL)
            store = host.store()
            with store.session():
                store.write_json(marker, {'version': 2})
        finally:
            os._exit(1)
    status = os.waitpid(pid, 0)[1]
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert read_json(marker) == {'version': 1}
    assert listing(host.root) == ['.dockerlite.json', '.lock', 'containers', 'images', 'tmp']
    debris = listing(os.path.join(host.root, 'tmp'))
    assert len(debris) == 1 and debris[0].startswith('.dockerlite.json.')
    with host.store().session():
        pass
    assert listing(os.path.join(host.root, 'tmp')) == []


# -- the lock ------------------------------------------------------------------------

def test_a_lock_that_is_a_symlink_is_refused_and_its_target_untouched(host, tmp_path):
    with host.store().session():
        pass
    canary = tmp_path / 'canary'
    canary.write_text('canary\n')
    os.unlink(os.path.join(host.root, '.lock'))
    os.symlink(str(canary), os.path.join(host.root, '.lock'))
    with pytest.raises(StoreDataError, match='lock is a symbolic link'):
        with host.store().session():
            pass
    assert canary.read_text() == 'canary\n'


def test_a_lock_that_is_a_directory_is_refused(host):
    with host.store().session():
        pass
    os.unlink(os.path.join(host.root, '.lock'))
    os.mkdir(os.path.join(host.root, '.lock'))
    with pytest.raises(StoreDataError) as caught:
        with host.store().session(check_mode=True):
            pass
    assert caught.value.msg == '%s/.lock: the store lock is a directory; it must be a regular file' % host.root


def test_a_lock_that_is_a_fifo_is_refused(host):
    with host.store().session():
        pass
    os.unlink(os.path.join(host.root, '.lock'))
    os.mkfifo(os.path.join(host.root, '.lock'))
    with pytest.raises(StoreDataError, match='lock is not a regular file'):
        with host.store().session():
            pass


def test_the_pid_is_recorded_only_if_there_is_space(host, monkeypatch):
    def no_space(*_args):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(os, 'pwrite', no_space)
    with host.store().session():
        pass
    assert read(os.path.join(host.root, '.lock')) == ''


# -- metadata checks -------------------------------------------------------------------

IMAGE_ID = 'a' * 64


def good_image():
    return {'id': IMAGE_ID, 'name': 'base:latest', 'created': 'now', 'command': None, 'env': {}, 'labels': {}}


def good_container():
    defaults = {'command': ['/sbin/init'], 'env': {}, 'labels': {}, 'stop_signal': 'SIGPWR'}
    return {'id': 'b' * 64, 'name': 'web', 'image': 'base:latest', 'image_id': IMAGE_ID, 'created': 'now',
            'image_defaults': defaults, 'spec': {'command': ['/sbin/init'], 'env': {}, 'stop_signal': 'SIGPWR'}}


def test_sound_metadata_passes():
    assert check_image_meta(good_image(), 'image.json', IMAGE_ID) == good_image()
    assert check_container_meta(good_container(), 'container.json', 'web') == good_container()


@pytest.mark.parametrize('change, message', [
    ({'id': '../containers/web'}, 'id "../containers/web" is not 64 hexadecimal digits'),
    ({'id': 'b' * 64}, 'id %s differs from the directory name %s' % ('b' * 64, IMAGE_ID)),
    ({'id': None}, 'key id is a null, not a string'),
    ({'name': 3}, 'key name is a number, not a string or null'),
    ({'env': []}, 'key env is a array, not a object or null'),
    ({'created': True}, 'key created is a boolean, not a string'),
    ({'container_generation': 'x'}, 'key container_generation is a string, not a number or null'),
])
def test_bad_image_metadata_is_named(change, message):
    with pytest.raises(StoreDataError) as caught:
        check_image_meta(dict(good_image(), **change), '/s/image.json', IMAGE_ID)
    assert caught.value.msg == '/s/image.json: ' + message


def test_a_missing_image_key_is_named():
    meta = good_image()
    del meta['created']
    with pytest.raises(StoreDataError, match='^i.json: key created is missing$'):
        check_image_meta(meta, 'i.json', IMAGE_ID)


@pytest.mark.parametrize('change, message', [
    ({'name': 'other'}, 'name "other" differs from the directory name web'),
    ({'name': '../x'}, 'name "../x" differs from the directory name web'),
    ({'image_id': '../images/x'}, 'image_id "../images/x" is not 64 hexadecimal digits'),
    ({'id': 'B' * 64}, 'id "%s" is not 64 hexadecimal digits' % ('B' * 64)),
    ({'spec': []}, 'key spec is a array, not a object'),
    ({'spec': {'command': 'x', 'env': {}, 'stop_signal': 'SIGPWR'}}, 'key spec.command is a string, not a array'),
    ({'spec': {'command': [1], 'env': {}, 'stop_signal': 'SIGPWR'}}, 'key spec.command must be a list of strings'),
    ({'image_defaults': {'command': [], 'env': {}}}, 'key image_defaults.stop_signal is missing'),
])
def test_bad_container_metadata_is_named(change, message):
    with pytest.raises(StoreDataError) as caught:
        check_container_meta(dict(good_container(), **change), '/s/container.json', 'web')
    assert caught.value.msg == '/s/container.json: ' + message


@pytest.mark.parametrize('text, message', [
    ('', 'is empty (truncated)'),
    ('{"id": "ab', 'is not valid JSON: damaged or truncated at line 1, column 8'),
    ('[1, 2]', 'holds a JSON array, not an object'),
    ('"x"', 'holds a JSON string, not an object'),
    (b'\xff\xfe{}', 'is not UTF-8 text'),
])
def test_read_json_names_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / 'meta.json'
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(StoreDataError) as caught:
        read_json(str(path))
    assert caught.value.msg == '%s: %s' % (path, message)
    assert 'Expecting' not in caught.value.msg


def test_read_json_does_not_follow_a_symlink(tmp_path):
    (tmp_path / 'canary').write_text('{}')
    os.symlink(str(tmp_path / 'canary'), str(tmp_path / 'meta.json'))
    with pytest.raises(StoreDataError, match='is a symbolic link'):
        read_json(str(tmp_path / 'meta.json'))


# -- damaged objects in a store --------------------------------------------------------

def test_damaged_entries_are_skipped_by_listings_with_a_warning(host, src):
    base = image(host, src)
    container(host)
    container(host, 'db')
    os.makedirs(os.path.join(host.root, 'images', 'stray-dir'))
    write(os.path.join(host.root, 'containers', 'stray-file'), 'x')
    os.makedirs(os.path.join(host.root, 'containers', '.hidden'))
    db_meta = os.path.join(host.root, 'containers', 'db', 'container.json')
    write(db_meta, read(db_meta)[:40])
    store = host.store()
    with store.session(check_mode=True):
        assert [c['name'] for c in store.list_containers()] == ['web']
        assert [i['id'] for i in store.list_images()] == [base['id']]
    assert sorted(store.warnings) == sorted([
        '%s/containers/.hidden: not a container: its name is not a valid container name; skipped (remove it to '
        'repair the store)' % host.root,
        '%s/containers/db/container.json: is not valid JSON: damaged or truncated at line 2, column 14; skipped '
        '(remove it to repair the store)' % host.root,
        '%s/containers/stray-file: not a container: not a directory; skipped (remove it to repair the store)'
        % host.root,
        '%s/images/stray-dir: not an image: its name is not a 64-hex-digit image id; skipped (remove it to repair '
        'the store)' % host.root])


def test_an_operation_on_a_damaged_container_names_its_file(host, src):
    image(host, src)
    container(host)
    meta = os.path.join(host.root, 'containers', 'web', 'container.json')
    write(meta, '{"id": 1}')
    with pytest.raises(StoreDataError) as caught:
        container(host, state='started')
    assert caught.value.msg == '%s: key id is a number, not a string' % meta


def test_a_damaged_container_can_be_removed(host, src):
    image(host, src)
    container(host, state='started')
    write(os.path.join(host.root, 'containers', 'web', 'container.json'), '')
    result = container(host, state='absent')
    assert result['actions'] == ['stop', 'remove']
    assert listing(os.path.join(host.root, 'containers')) == []
    # Its stop signal is unknown, so it is killed.
    assert [call[3] for call in host.calls if call[0] == 'stop'] == ['SIGKILL']


def test_a_container_without_its_rootfs_is_damaged_and_removable(host, src):
    image(host, src)
    container(host)
    host.btrfs.remove_tree(os.path.join(host.root, 'containers', 'web', 'rootfs'))
    with pytest.raises(StoreDataError, match='rootfs of container web is missing'):
        container(host)
    assert container(host, state='absent')['actions'] == ['remove']


def test_an_image_id_that_is_a_path_is_never_used_as_one(host, src):
    """image.json with id ../containers/web: skipped, never removed as a path; the victim survives."""
    victim_image = image(host, src)
    container(host)
    evil = image(host, src, 'evil')
    meta_path = os.path.join(host.root, 'images', evil['id'], 'image.json')
    meta = json.loads(read(meta_path))
    meta['id'] = '../containers/web'
    write(meta_path, json.dumps(meta))
    result = run_manager(host, ImageManager, 'dockerlite_image', name='evil', state='absent')
    assert result['actions'] == ['remove']
    assert listing(os.path.join(host.root, 'containers')) == ['web']
    assert listing(os.path.join(host.root, 'images')) == [victim_image['id']]
    assert os.path.isdir(os.path.join(host.root, 'containers', 'web', 'rootfs'))


def test_a_damaged_image_can_be_removed_by_its_id(host, src):
    base = image(host, src)
    write(os.path.join(host.root, 'images', base['id'], 'image.json'), 'not json')
    check = run_manager(host, ImageManager, 'dockerlite_image', name=base['id'], state='absent')
    assert check['actions'] == ['remove']
    assert listing(os.path.join(host.root, 'images')) == []


def test_an_unknown_damaged_image_is_not_touched(host, src):
    base = image(host, src)
    write(os.path.join(host.root, 'images', base['id'], 'image.json'), 'not json')
    result = run_manager(host, ImageManager, 'dockerlite_image', name='other', state='absent')
    assert result['actions'] == []
    assert listing(os.path.join(host.root, 'images')) == [base['id']]


# -- stack records -------------------------------------------------------------------

@pytest.mark.parametrize('data, message', [
    ({'stack': 'app', 'containers': {'../images': 'a' * 64}}, "member name '../images' is invalid"),
    ({'stack': 'other', 'containers': {}}, 'stack "other" differs from the file name'),
    ({'stack': 'app', 'containers': []}, 'key containers is missing or not an object'),
    ({'stack': 'app', 'containers': {'web': '../x'}}, 'id of member web "../x" is not 64 hexadecimal digits'),
])
def test_stack_records_are_checked_before_use(tmp_path, data, message):
    path = tmp_path / 'app.json'
    path.write_text(json.dumps(data))
    with pytest.raises(StoreDataError) as caught:
        read_stack_record(str(path))
    assert caught.value.msg.startswith('%s: %s' % (path, message))


def test_a_damaged_stack_record_is_skipped_and_rewritten(host, src):
    image(host, src)
    stacks = os.path.join(host.root, 'stacks')
    params = dict(name='app', containers=[{'name': 'web', 'image': 'base', 'state': 'present'}])
    run_manager(host, StackManager, 'dockerlite_stack', **params)
    write(os.path.join(stacks, 'app.json'), '{"stack": "app", "containers": {"../images": 1}}')
    result = run_manager(host, StackManager, 'dockerlite_stack', **params)
    assert 'record stack app' in result['actions']
    assert {'what': 'stack', 'name': 'app', 'action': 'record'} in result['action_details']
    assert read_stack_record(os.path.join(stacks, 'app.json'))[1].keys() == {'web'}


# -- errors ----------------------------------------------------------------------------

def test_a_full_store_gets_a_clear_message():
    error = None
    try:
        raise OSError(errno.ENOSPC, 'No space left on device', '/s/tmp/x')
    except OSError as exc:
        error = as_dockerlite_error(exc, '/s')
    assert error.msg == 'no space left on the store (/s): No space left on device: /s/tmp/x'
    assert 'Traceback' in error.details['exception']


def test_bad_metadata_that_slips_through_gets_a_clear_message():
    error = as_dockerlite_error(KeyError('spec'), '/s')
    assert error.msg.startswith("unexpected data in the store at /s (KeyError: 'spec')")


def test_failed_steps_are_reported(host, src, monkeypatch):
    """A start that fails after the create: the manager has the create in ``done``."""
    image(host, src)

    def broken_start(*_args, **_kwargs):
        raise DockerliteError('LXC could not start container web')
    monkeypatch.setattr(host.lxc, 'start', broken_start)
    params = module_params('dockerlite_container', root=host.root, name='web', image='base', state='started')
    manager = ContainerManager(params, host.store())
    with pytest.raises(DockerliteError):
        manager.run()
    assert manager.completed() == ['create']
