# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_prune: what it selects (pure functions), and whole runs over the fakes.

Every run scenario runs in check mode on one host and for real on a twin: same actions and
diff, check mode changes nothing, and a second real run removes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import ContainerManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image import ImageManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.prune import (
    PruneManager, blobs_to_prune, images_to_prune, layers_to_prune)
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import read_json
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import (
    FakeHost, check_mode_run, listing, module_params, run_manager, store_state, twin_hosts)


def digest(text):
    return 'sha256:' + hashlib.sha256(text.encode()).hexdigest()


# -- selection ----------------------------------------------------------------------

def img(image_id, name=None, parent=None, layers=(), oci=None):
    return {'id': image_id, 'name': name, 'parent': parent, 'oci': oci,
            'layers': [{'chain_id': chain, 'digest': digest('blob ' + chain)} for chain in layers] or None}


@pytest.mark.parametrize('mode, used, expected', [
    ('dangling', set(), ['untagged', 'untagged-child']),
    ('dangling', {'untagged'}, ['untagged-child']),
    ('all', set(), ['tagged', 'untagged', 'untagged-child', 'commit-parent', 'commit']),
    ('all', {'commit'}, ['tagged', 'untagged', 'untagged-child']),
    ('none', set(), []),
])
def test_images_to_prune(mode, used, expected):
    images = [img('tagged', 'base:latest'), img('untagged'), img('untagged-child', parent='untagged'),
              img('commit-parent'), img('commit', 'snap:latest', parent='commit-parent')]
    assert [image['id'] for image in images_to_prune(images, used, mode)] == expected


def test_the_parent_chain_of_a_kept_image_is_kept():
    images = [img('a'), img('b', parent='a'), img('c', parent='b'), img('d', 'top:1', parent='c'), img('e')]
    assert [image['id'] for image in images_to_prune(images, set(), 'dangling')] == ['e']


def test_layers_and_blobs_needed_or_named_are_kept():
    oci = {'manifest_digest': digest('manifest'), 'config_digest': digest('config'), 'index_digest': None}
    kept = [img('a', 'a:1', layers=['L1', 'L2'], oci=oci)]
    layers = [{'chain_id': chain, 'digest': digest('blob ' + chain)} for chain in ('L1', 'L2', 'L3')]
    assert layers_to_prune(layers, kept) == [layers[2]]
    texts = ('blob L1', 'blob L2', 'blob L3', 'manifest', 'config', 'stray')
    blobs = [{'digest': digest(text), 'size': 1} for text in texts]
    # L3's blob stays while layer L3 stays (named by its layer.json), goes with it otherwise.
    assert [b['digest'] for b in blobs_to_prune(blobs, kept, layers)] == [digest('stray')]
    assert [b['digest'] for b in blobs_to_prune(blobs, kept, layers[:2])] == [digest('blob L3'), digest('stray')]


# -- whole runs ---------------------------------------------------------------------

@pytest.fixture
def src(tmp_path):
    path = tmp_path / 'src'
    (path / 'etc').mkdir(parents=True)
    (path / 'etc' / 'hostname').write_text('src\n')
    return str(path)


def image(host, src, name='base', **extra):
    return run_manager(host, ImageManager, 'dockerlite_image', name=name, source='directory', path=src, **extra)


def container(host, name, image_name='base', **extra):
    return run_manager(host, ContainerManager, 'dockerlite_container', name=name, image=image_name,
                       command=['sleep', '3600'], **extra)


def prune(host, check_mode=False, **params):
    return run_manager(host, PruneManager, 'dockerlite_prune', check_mode=check_mode, **params)


def prune_warnings(host, **params):
    """The result of a real run with the warnings the module would emit: the manager's and the store's."""
    store = host.store()
    result = PruneManager(module_params('dockerlite_prune', root=host.root, **params), store).run()
    return result, result.get('warnings', []) + store.warnings


def chain(n):
    return 'sha256:' + ('%02d' % n) * 32


def add_layer(host, chain_id, blob_text=None, parent=None):
    """A layer directory (a fake subvolume and layer.json) and, if ``blob_text``, its blob."""
    store = host.store()
    with store.session():
        directory = store.paths.layer_dir(chain_id)
        os.makedirs(directory)
        host.btrfs.create_subvolume(os.path.join(directory, 'rootfs'))
        layer_digest = add_blob(host, blob_text) if blob_text else None
        store.write_json(store.paths.layer_meta(chain_id),
                         {'chain_id': chain_id, 'diff_id': chain_id, 'digest': layer_digest, 'parent': parent,
                          'media_type': 'application/vnd.oci.image.layer.v1.tar+gzip', 'size': len(blob_text or '')})


def add_blob(host, text):
    blob = digest(text)
    path = host.store().paths.blob_path(blob)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        handle.write(text)
    return blob


def set_layers(host, name, chains, manifest_text=None):
    """Give image ``name`` the OCI fields a pull records: its layers and the manifest and config digests."""
    store = host.store()
    with store.session():
        current = store.find_image(name + ':latest')
        layers = [{'chain_id': chain_id, 'diff_id': chain_id, 'digest': read_json(store.paths.layer_meta(chain_id))
                   ['digest'], 'media_type': 'application/vnd.oci.image.layer.v1.tar+gzip', 'size': 1}
                  for chain_id in chains]
        oci = {'reference': 'localhost:5000/' + name, 'index_digest': None,
               'manifest_digest': add_blob(host, 'manifest of ' + manifest_text) if manifest_text else None,
               'config_digest': add_blob(host, 'config of ' + manifest_text) if manifest_text else None}
        store.update_image(current, layers=layers, oci=oci)


def dangling(host, src):
    """base rebuilt while web used it (the old base is untagged), then web removed."""
    image(host, src)
    container(host, 'web')
    image(host, src, force=True)
    container(host, 'web', state='absent')


def dangling_in_use(host, src):
    image(host, src)
    container(host, 'web')
    image(host, src, force=True)


def containers_in_every_state(host, src):
    image(host, src)
    image(host, src, 'other')
    container(host, 'running')
    container(host, 'stopped', 'other', state='stopped')
    container(host, 'frozen', state='frozen')
    container(host, 'orphan', state='stopped')
    host.lxc.states['orphan'] = 'orphaned'
    container(host, 'member', state='stopped')
    store = host.store()
    with store.session():
        store.write_stack_record('app', {'member': store.get_container('member')['id']})


def two_pulled_images(host, src):
    """Images a (L1, L2) and b (L1, L3) sharing L1, then b removed; a stray layer L4 and a stray blob."""
    for n in (1, 2, 3, 4):
        add_layer(host, chain(n), 'layer %d' % n, parent=chain(1) if n > 1 else None)
    image(host, src, 'a')
    image(host, src, 'b')
    set_layers(host, 'a', [chain(1), chain(2)], 'a')
    set_layers(host, 'b', [chain(1), chain(3)], 'b')
    add_blob(host, 'stray')
    run_manager(host, ImageManager, 'dockerlite_image', name='b', state='absent')


def check_then_real(tmp_path, ids, src, setup, params):
    check_host, real_host = twin_hosts(ids, lambda label: FakeHost(tmp_path / label / 'store'),
                                       lambda host: setup(host, src))
    check = check_mode_run(check_host, lambda: prune(check_host, check_mode=True, **params))
    real = prune(real_host, **params)
    for key in ('actions', 'diff', 'containers', 'images', 'layers', 'blobs'):
        assert check[key] == real[key], key
    assert check['changed'] is real['changed'] is bool(real['actions'])
    assert check['space_reclaimed'] is None
    again = prune(real_host, **params)
    assert (again['changed'], again['actions'], again['space_reclaimed']) == (False, [], 0)
    real_host.forget_calls()
    assert check_mode_run(real_host, lambda: prune(real_host, check_mode=True, **params))['actions'] == []
    return real, real_host


def images_left(host):
    return sorted(((image['name'], image['id']) for image in host.store().list_images()), key=lambda i: (i[0] or '', i[1]))


def test_dangling_image_is_removed_and_the_tagged_one_kept(tmp_path, ids, src):
    real, host = check_then_real(tmp_path, ids, src, dangling, {})
    assert real['images'] == [{'id': '%064x' % 1, 'name': None}]
    assert real['actions'] == ['remove_image ' + '%064x' % 1]
    assert real['diff'] == {'before': {'containers': [], 'images': real['images'], 'layers': [], 'blobs': []},
                            'after': {'containers': [], 'images': [], 'layers': [], 'blobs': []}}
    assert images_left(host) == [('base:latest', '%064x' % 3)]
    assert listing(host.store().tmp_dir) == []


def test_an_untagged_image_a_container_uses_is_kept(tmp_path, ids, src):
    real, host = check_then_real(tmp_path, ids, src, dangling_in_use, {})
    assert real['changed'] is False
    assert images_left(host) == [(None, '%064x' % 1), ('base:latest', '%064x' % 3)]
    # With images: all, the tagged image that nothing uses goes; the untagged one web uses stays.
    assert prune(host, images='all')['images'] == [{'id': '%064x' % 3, 'name': 'base:latest'}]
    assert images_left(host) == [(None, '%064x' % 1)]


def test_only_stopped_containers_outside_stacks_are_removed(tmp_path, ids, src):
    real, host = check_then_real(tmp_path, ids, src, containers_in_every_state, {'containers': True, 'images': 'all'})
    assert real['containers'] == ['stopped']
    # other was used by stopped alone; base by the containers that stay.
    assert [entry['name'] for entry in real['images']] == ['other:latest']
    assert real['actions'][0] == 'remove_container stopped' and real['actions'][1].startswith('remove_image ')
    assert listing(host.store().containers_dir) == ['frozen', 'member', 'orphan', 'running']


def test_containers_are_kept_by_default(tmp_path, ids, src):
    real, _host = check_then_real(tmp_path, ids, src, containers_in_every_state, {'images': 'all'})
    assert real['containers'] == [] and real['images'] == []


def test_a_layer_another_image_needs_is_kept(tmp_path, ids, src):
    real, host = check_then_real(tmp_path, ids, src, two_pulled_images, {})
    assert real['layers'] == [chain(3), chain(4)]
    assert sorted(real['blobs']) == sorted([digest('layer 3'), digest('layer 4'), digest('manifest of b'),
                                            digest('config of b'), digest('stray')])
    assert listing(host.store().paths.layers) == [chain(1)[7:], chain(2)[7:]]
    assert sorted(listing(os.path.join(host.store().paths.blobs, 'sha256'))) == sorted(
        d[7:] for d in (digest('layer 1'), digest('layer 2'), digest('manifest of a'), digest('config of a')))
    # The fake frees the bytes of the files it deletes: the blobs and the layers' layer.json.
    texts = ('layer 3', 'layer 4', 'manifest of b', 'config of b', 'stray')
    assert real['space_reclaimed'] >= sum(len(text) for text in texts)
    blob_actions = [action for action in real['actions'] if action.startswith('remove_blob ')]
    assert real['actions'][-len(blob_actions):] == blob_actions  # blobs last, after the layers


def test_layers_false_keeps_layers_and_blobs(tmp_path, ids, src):
    real, _host = check_then_real(tmp_path, ids, src, two_pulled_images, {'layers': False})
    assert real['layers'] == [] and real['blobs'] == []


def test_removing_an_image_frees_its_layers_in_the_same_run(tmp_path, ids, src):
    def setup(host, src):
        two_pulled_images(host, src)
        container(host, 'user', 'a', state='stopped')
    real, host = check_then_real(tmp_path, ids, src, setup, {'containers': True, 'images': 'all'})
    assert real['containers'] == ['user']
    assert [entry['name'] for entry in real['images']] == ['a:latest']
    assert real['layers'] == [chain(n) for n in (1, 2, 3, 4)]
    assert len(real['blobs']) == 9  # 4 layers', manifest and config of a and of b, the stray one
    assert listing(os.path.join(host.store().paths.blobs, 'sha256')) == []


def test_a_damaged_container_keeps_every_image(tmp_path, src):
    host = FakeHost(tmp_path / 'store')
    dangling(host, src)
    os.makedirs(os.path.join(host.store().containers_dir, 'broken'))
    result, warnings = prune_warnings(host, images='all')
    assert result['images'] == []
    assert any('images are not pruned' in warning and 'broken' in warning for warning in warnings)


def test_a_damaged_container_still_names_its_image(tmp_path, src):
    host = FakeHost(tmp_path / 'store')
    dangling_in_use(host, src)
    meta_path = host.store().container_paths('web')['meta']
    meta = read_json(meta_path)
    del meta['spec']
    with open(meta_path, 'w') as handle:
        json.dump(meta, handle)
    result = prune(host, images='all')
    # web's image (the untagged one) stays; base:latest, unused, goes.
    assert [entry['name'] for entry in result['images']] == ['base:latest']


def test_a_damaged_image_keeps_every_layer(tmp_path, src):
    host = FakeHost(tmp_path / 'store')
    two_pulled_images(host, src)
    os.makedirs(os.path.join(host.store().images_dir, '%064x' % 99))
    before = store_state(host.root)
    result, warnings = prune_warnings(host)
    assert result['layers'] == [] and result['blobs'] == [] and result['changed'] is False
    assert any('layers and blobs are not pruned' in warning for warning in warnings)
    assert store_state(host.root) == before


def test_an_image_with_unreadable_layers_keeps_every_layer(tmp_path, src):
    host = FakeHost(tmp_path / 'store')
    two_pulled_images(host, src)
    store = host.store()
    with store.session():
        store.update_image(store.find_image('a:latest'), layers='not a list')
    result, warnings = prune_warnings(host)
    assert result['layers'] == [] and result['blobs'] == []
    assert any('layers and blobs are not pruned' in warning for warning in warnings)


def test_a_damaged_stack_record_keeps_every_container(tmp_path, src):
    host = FakeHost(tmp_path / 'store')
    containers_in_every_state(host, src)
    with open(host.store().paths.stack_record('app'), 'w') as handle:
        handle.write('{')
    result, warnings = prune_warnings(host, containers=True)
    assert result['containers'] == []
    assert any('containers are not pruned' in warning for warning in warnings)


def test_strays_in_layers_and_blobs_are_warned_of_and_left(tmp_path, src):
    host = FakeHost(tmp_path / 'store')
    store = host.store()
    with store.session():
        pass
    os.makedirs(os.path.join(store.paths.layers, 'not-a-layer'))
    os.makedirs(os.path.join(store.paths.blobs, 'sha256'))
    with open(os.path.join(store.paths.blobs, 'sha256', 'partial.tmp'), 'w') as handle:
        handle.write('x')
    result, warnings = prune_warnings(host)
    assert result['changed'] is False
    assert len(warnings) == 2 and all('skipped' in warning for warning in warnings)
    assert os.path.exists(os.path.join(store.paths.blobs, 'sha256', 'partial.tmp'))


def test_a_layer_with_damaged_metadata_is_removed_when_unneeded(tmp_path, src):
    host = FakeHost(tmp_path / 'store')
    add_layer(host, chain(5), 'layer 5')
    with open(host.store().paths.layer_meta(chain(5)), 'w') as handle:
        handle.write('')
    result = prune(host)
    assert result['layers'] == [chain(5)] and result['blobs'] == [digest('layer 5')]
    assert listing(host.store().paths.layers) == []


def test_the_cleaner_is_awaited_only_after_removing_subvolumes(tmp_path, src):
    host = FakeHost(tmp_path / 'store')
    image(host, src)
    add_blob(host, 'stray')
    host.forget_calls()
    prune(host)
    names = [call[0] for call in host.calls]
    assert 'wait_for_cleaner' not in names and names.count('free_bytes') == 2
    dangling(host, src)
    host.forget_calls()
    prune(host)
    names = [call[0] for call in host.calls]
    assert names.index('wait_for_cleaner') > names.index('remove_tree') and names[-1] == 'free_bytes'
    host.forget_calls()
    assert prune(host)['space_reclaimed'] == 0
    assert 'free_bytes' not in [call[0] for call in host.calls]
