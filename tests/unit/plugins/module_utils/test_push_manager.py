# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_image_push and dockerlite_image_export over the fakes: which layers, and when nothing is done."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import StoreDataError, ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._managers.commit import CommitManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import ContainerManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image import ImageManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.push import (
    ExportManager, PushManager, push_reference)
from ansible_collections.dockerlite.core.plugins.module_utils._store import oci_export
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import (
    FakeHost, check_mode_run, run_manager, store_state)

REF = '127.0.0.1:5000/team/app:1'
REMOTE = 'docker://' + REF


def push(host, check_mode=False, **params):
    params.setdefault('name', 'snap')
    params.setdefault('ref', REF)
    return run_manager(host, PushManager, 'dockerlite_image_push', check_mode=check_mode, tls_verify=False, **params)


def export(host, path, check_mode=False, **params):
    return run_manager(host, ExportManager, 'dockerlite_image_export', check_mode=check_mode,
                       name=params.pop('name', 'snap'), path=str(path), **params)


def copies(host):
    return [call for call in host.calls if call[0] == 'copy_from_layout']


def check_then_real(host, call):
    """A check-mode run that changes nothing (store, fakes, registry), then the real run; both results."""
    registry = dict(host.registry.images)
    checked = check_mode_run(host, lambda: call(True))
    assert copies(host) == [] and host.registry.images == registry
    real = call(False)
    assert (checked['actions'], checked['diff'], checked['changed']) == (real['actions'], real['diff'],
                                                                         real['changed'])
    return checked, real


@pytest.fixture
def host(tmp_path):
    src = tmp_path / 'src'
    for name in ('bin', 'etc'):
        (src / name).mkdir(parents=True)
    (src / 'bin' / 'sh').write_bytes(b'#!shell\n' * 1000)
    (src / 'etc' / 'passwd').write_text('root:x:0:0::/root:/bin/sh\n')
    (src / 'etc' / 'group').write_text('root:x:0:\n')
    fake = FakeHost(tmp_path / 'store')
    fake.tmp = tmp_path
    run_manager(fake, ImageManager, 'dockerlite_image', name='base', source='directory', path=str(src),
                command=['/bin/sh'], env={'PATH': '/bin'})
    run_manager(fake, ContainerManager, 'dockerlite_container', name='web', image='base', command=['sleep', '1'])
    rootfs = fake.store().container_paths('web')['rootfs']
    with open(os.path.join(rootfs, 'big'), 'wb') as handle:
        handle.write(os.urandom(64 * 1024))
    os.unlink(os.path.join(rootfs, 'etc', 'group'))
    run_manager(fake, CommitManager, 'dockerlite_commit', container='web', image='snap', labels={'built': 'yes'})
    fake.forget_calls()
    return fake


def layer_names(store, digest):
    with open(store.paths.blob_path(digest), 'rb') as handle:
        data = gzip.decompress(handle.read())
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return sorted(member.name for member in archive.getmembers())


def test_a_commit_pushes_its_parents_layer_and_one_layer_of_its_changes(host):
    checked, real = check_then_real(host, lambda check: push(host, check))
    assert checked['actions'] == ['make_layers', 'push']
    assert [(layer['digest'], layer['made']) for layer in checked['layers']] == [(None, True), (None, True)]
    assert checked['manifest_digest'] is None and checked['bytes_made'] == 0
    assert [layer['made'] for layer in real['layers']] == [True, True]
    assert real['bytes_made'] == sum(layer['size'] for layer in real['layers'])
    assert host.registry.images[REMOTE]['manifest'] == open(host.store().paths.blob_path(real['manifest_digest']), 'rb').read()
    assert real['reference'] == REF
    store = host.store()
    base, change = real['layers']
    assert layer_names(store, change['digest']) == ['big', 'etc', 'etc/.wh.group']
    assert 'bin/sh' in layer_names(store, base['digest'])
    with store.session(check_mode=True):
        snap, parent = store.find_image('snap:latest'), store.find_image('base:latest')
    assert [layer['digest'] for layer in snap['layers']] == [base['digest'], change['digest']]
    assert [layer['digest'] for layer in parent['layers']] == [base['digest']]  # recorded in the parent too
    assert snap['oci']['made'] is True and snap['layers'][1]['chain_id'] == oci_export.with_chain_ids(
        snap['layers'])[1]['chain_id']
    config = json.loads(open(store.paths.blob_path(real['config_digest']), 'rb').read())
    assert config['config']['Cmd'] == ['sleep', '1'] and config['config']['Labels'] == {'built': 'yes'}
    assert config['config']['Env'] == ['PATH=/bin'] and len(config['rootfs']['diff_ids']) == 2
    assert len(config['history']) == 2


def test_pushing_again_changes_nothing_and_asks_the_registry_once(host):
    first = push(host)
    host.forget_calls()
    before = store_state(host.root)
    checked, again = check_then_real(host, lambda check: push(host, check))
    assert again['changed'] is False and again['actions'] == [] and checked['actions'] == []
    assert [call[0] for call in host.calls].count('inspect_raw') == 2  # one per run
    assert copies(host) == [] and store_state(host.root) == before
    assert again['manifest_digest'] == first['manifest_digest'] and again['bytes_made'] == 0
    assert [layer['made'] for layer in again['layers']] == [False, False]


def test_a_tag_that_moved_at_the_registry_is_pushed_again_with_the_same_bytes(host):
    first = push(host)
    host.registry.images[REMOTE] = {'manifest': b'{"schemaVersion":2}'}
    again = push(host)
    assert again['actions'] == ['push'] and again['manifest_digest'] == first['manifest_digest']
    assert again['diff'] == {'before': {'manifest_digest': 'sha256:' + hashlib.sha256(
        b'{"schemaVersion":2}').hexdigest()}, 'after': {'manifest_digest': first['manifest_digest']}}


def test_the_parents_layer_is_made_once_and_shared(host):
    base = push(host, name='base', ref='127.0.0.1:5000/team/base')
    assert base['actions'] == ['make_layers', 'push'] and len(base['layers']) == 1
    assert host.registry.images['docker://127.0.0.1:5000/team/base:latest']
    snap = push(host)
    assert [layer['made'] for layer in snap['layers']] == [False, True]
    assert snap['layers'][0]['digest'] == base['layers'][0]['digest']
    assert snap['bytes_made'] == snap['layers'][1]['size']


def test_a_commit_whose_parent_is_gone_is_one_full_layer(host):
    run_manager(host, ContainerManager, 'dockerlite_container', name='web', state='absent')
    store = host.store()
    with store.session():
        store.remove_image(store.find_image('base:latest')['id'])
    result = push(host)
    assert len(result['layers']) == 1
    assert 'bin/sh' in layer_names(host.store(), result['layers'][0]['digest'])


def write_blob(store, data):
    path = store.paths.blob_path('sha256:' + hashlib.sha256(data).hexdigest())
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as handle:
        handle.write(data)
    return 'sha256:' + hashlib.sha256(data).hexdigest(), len(data)


def pulled(host):
    """'base' as a pull records it: original blobs (a Docker schema 2 manifest), layers and oci fields."""
    store = host.store()
    layer, layer_size = write_blob(store, b'original layer bytes')
    config, config_size = write_blob(store, b'{"original":"config"}')
    manifest, _size = write_blob(store, json.dumps({
        'schemaVersion': 2, 'mediaType': 'application/vnd.docker.distribution.manifest.v2+json',
        'config': {'mediaType': 'application/vnd.docker.container.image.v1+json', 'digest': config,
                   'size': config_size},
        'layers': [{'mediaType': 'application/vnd.docker.image.rootfs.diff.tar.gzip', 'digest': layer,
                    'size': layer_size}]}).encode())
    with store.session():
        image = store.find_image('base:latest')
        store.update_image(image, layers=[{'chain_id': 'sha256:' + 'a' * 64, 'diff_id': 'sha256:' + 'a' * 64,
                                           'digest': layer, 'size': layer_size,
                                           'media_type': 'application/vnd.docker.image.rootfs.diff.tar.gzip'}],
                           oci={'reference': 'docker://example/base:1', 'manifest_digest': manifest,
                                'config_digest': config, 'index_digest': manifest})
    return manifest, layer


def test_a_pulled_image_is_pushed_with_its_original_blobs(host):
    manifest, layer = pulled(host)
    result = push(host, name='base', ref='127.0.0.1:5000/other/base:1')
    assert result['actions'] == ['push'] and result['manifest_digest'] == manifest
    assert [(entry['digest'], entry['made']) for entry in result['layers']] == [(layer, False)]
    pushed = host.registry.images['docker://127.0.0.1:5000/other/base:1']['manifest']
    assert 'sha256:' + hashlib.sha256(pushed).hexdigest() == manifest
    # A commit on it keeps the original layer under its own and takes the original config as its base.
    snap = push(host)
    assert snap['layers'][0]['digest'] == layer and len(snap['layers']) == 2
    config = json.loads(open(host.store().paths.blob_path(snap['config_digest']), 'rb').read())
    assert config['original'] == 'config'


def test_a_pulled_image_whose_blob_is_gone_is_named(host):
    manifest, layer = pulled(host)
    os.unlink(host.store().paths.blob_path(layer))
    with pytest.raises(StoreDataError, match='no longer holds its blobs %s; pull it again' % layer):
        push(host, name='base')
    assert manifest


@pytest.mark.parametrize('ref, message', [
    ('127.0.0.1:5000/app@sha256:' + 'a' * 64, 'is not a registry reference'),
    ('Bad Ref', 'is not a registry reference'),
    ('-x', 'is not a registry reference'),
])
def test_bad_references_are_named(host, ref, message):
    with pytest.raises(ValidationError, match=message):
        push(host, ref=ref)
    assert host.registry.images == {}


def test_push_reference_defaults():
    assert push_reference('reg:5000/a/b') == 'docker://reg:5000/a/b:latest'
    assert push_reference('docker://reg/a:2') == 'docker://reg/a:2'


def test_an_image_id_needs_a_ref_and_a_missing_image_is_named(host):
    with host.store().session(check_mode=True) as store:
        image_id = store.find_image('snap:latest')['id']
    with pytest.raises(ValidationError, match='ref is required when name is an image id'):
        run_manager(host, PushManager, 'dockerlite_image_push', name=image_id)
    assert push(host, name=image_id)['actions'] == ['make_layers', 'push']
    with pytest.raises(ValidationError, match='image nothere does not exist'):
        push(host, name='nothere')


def test_username_and_password_reach_the_client_not_the_result(host):
    result = push(host, username='ci', password='s3cret')
    assert 's3cret' not in json.dumps(result)
    accesses = [call[-1] for call in host.calls if call[0] == 'copy_from_layout']
    assert accesses and all(access['username'] == 'ci' and access['tls_verify'] is False for access in accesses)


@pytest.mark.parametrize('archive_format', ['oci-archive', 'docker-archive'])
def test_export_writes_once_and_then_finds_the_image_in_the_file(host, archive_format):
    path = host.tmp / 'out.tar'
    checked, real = check_then_real(host, lambda check: export(host, path, check, format=archive_format))
    assert checked['actions'] == ['make_layers', 'export'] and not os.path.exists(str(path) + '.part')
    assert path.is_file() and real['archive'] == str(path) and real['format'] == archive_format
    assert [name for name in os.listdir(host.tmp) if name.startswith('.out.tar')] == []
    again = export(host, path, format=archive_format)
    assert again['changed'] is False and again['actions'] == []
    forced = export(host, path, format=archive_format, force=True)
    assert forced['actions'] == ['export']
    path.write_text('something else')
    assert export(host, path, format=archive_format)['actions'] == ['export']


def test_export_refuses_a_path_it_cannot_write(host):
    with pytest.raises(ValidationError, match='does not exist'):
        export(host, host.tmp / 'missing' / 'out.tar')
    with pytest.raises(ValidationError, match='contains ":"'):
        export(host, host.tmp / 'a:b.tar')
    with pytest.raises(ValidationError, match='is a directory'):
        export(host, host.tmp)


def test_an_image_pulled_by_dockerlite_image_keeps_its_digests_when_pushed_elsewhere(host):
    """A pull through dockerlite_image (fake registry), pushed to another repository: the same manifest and
    layers; a commit on it adds one layer and keeps the original config's settings it does not override."""
    source = 'docker://127.0.0.1:5000/team/pulled:1'
    manifest = host.registry.add_image(source, [{'bin/': None, 'bin/tool': b'tool\n'}, {'etc/': None,
                                                                                        'etc/app': b'app\n'}],
                                       {'Cmd': ['/bin/tool'], 'ExposedPorts': {'80/tcp': {}}})
    pulled_result = run_manager(host, ImageManager, 'dockerlite_image', name='pulled:1', source='registry',
                                ref='127.0.0.1:5000/team/pulled:1', tls_verify=False)
    result = push(host, name='pulled:1', ref='127.0.0.1:5000/other/pulled:1')
    assert result['actions'] == ['push'] and result['manifest_digest'] == manifest
    original = json.loads(host.registry.images[source]['manifest'])
    assert [layer['digest'] for layer in result['layers']] == [layer['digest'] for layer in original['layers']]
    assert host.registry.images['docker://127.0.0.1:5000/other/pulled:1']['manifest'] == \
        host.registry.images[source]['manifest']
    assert push(host, name='pulled:1', ref='127.0.0.1:5000/other/pulled:1')['changed'] is False
    run_manager(host, ContainerManager, 'dockerlite_container', name='app', image='pulled:1', command=['sleep', '1'])
    with open(os.path.join(host.store().container_paths('app')['rootfs'], 'etc', 'new'), 'w') as handle:
        handle.write('new\n')
    run_manager(host, CommitManager, 'dockerlite_commit', container='app', image='app:2')
    committed = push(host, name='app:2', ref='127.0.0.1:5000/other/app:2')
    assert [layer['digest'] for layer in committed['layers'][:2]] == [layer['digest'] for layer in original['layers']]
    assert [layer['made'] for layer in committed['layers']] == [False, False, True]
    assert layer_names(host.store(), committed['layers'][2]['digest']) == ['etc', 'etc/new']
    config = json.loads(open(host.store().paths.blob_path(committed['config_digest']), 'rb').read())
    assert config['config']['ExposedPorts'] == {'80/tcp': {}} and len(config['rootfs']['diff_ids']) == 3
    assert pulled_result['changed']
