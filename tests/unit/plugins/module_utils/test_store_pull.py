# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The store's pull operations on plain directories (FakeBtrfs, FakeRegistry): blobs, layers by chain id, images."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import StoreDataError, ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._store import oci
from ansible_collections.dockerlite.core.plugins.module_utils._store.layers import LayerError
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import new_id, utc_now
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import FakeHost, layer_tar

BASE = {'bin/': None, 'bin/tool': b'tool v1\n', 'etc/': None, 'etc/gone': b'bye\n'}
TOP = {'etc/.wh.gone': b'', 'etc/app.conf': b'conf\n'}


@pytest.fixture
def host(tmp_path):
    return FakeHost(tmp_path / 'store')


def source(reference, platform='linux/amd64'):
    return oci.image_source({'source': 'registry', 'ref': reference, 'platform': platform, 'tls_verify': False},
                            'x:latest')


def pull(store, reference):
    fetched = store.fetch_image(source(reference))
    chain = oci.layer_chain(fetched['manifest'], fetched['config'], fetched['config_digest'])
    added = [store.ensure_layer(layer) for layer in chain]
    return fetched, chain, added


def test_layers_are_read_only_snapshots_keyed_by_chain_id_and_shared(host):
    host.registry.add_image('docker://r/app:1', [BASE, TOP])
    host.registry.add_image('docker://r/other:1', [BASE, {'srv/': None, 'srv/data': b'other\n'}])
    store = host.store()
    with store.session():
        fetched, chain, added = pull(store, 'docker://r/app:1')
        assert added == [True, True]
        assert fetched['blobs_added'] == 4 and fetched['bytes_added'] > 0
        top = store.paths.layer_rootfs(chain[-1]['chain_id'])
        assert sorted(os.listdir(os.path.join(top, 'etc'))) == ['app.conf']
        assert host.btrfs.is_read_only(top)
        meta = json.load(open(store.paths.layer_meta(chain[1]['chain_id'])))
        assert meta == {key: chain[1][key] for key in ('chain_id', 'diff_id', 'digest', 'media_type', 'parent', 'size')}
        assert meta['parent'] == chain[0]['chain_id']
        # The second image shares the base: its blob is not fetched again, its layer is reused.
        fetched2, _chain2, added2 = pull(store, 'docker://r/other:1')
        assert added2 == [False, True]
        assert fetched2['blobs_added'] == 3
        assert len(os.listdir(store.paths.layers)) == 3
        for path in (store.paths.layers, store.paths.blobs):
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
        assert os.listdir(store.tmp_dir) == []


def test_an_image_is_a_read_only_snapshot_of_its_top_layer(host):
    host.registry.add_image('docker://r/app:1', [BASE, TOP])
    store = host.store()
    with store.session():
        _fetched, chain, _added = pull(store, 'docker://r/app:1')
        meta = {'id': new_id(), 'name': 'app:1', 'created': utc_now(), 'source': 'registry'}
        image = store.install_pulled_image(meta, chain[-1]['chain_id'])
        assert host.btrfs.is_read_only(image['rootfs'])
        assert open(os.path.join(image['rootfs'], 'etc/app.conf')).read() == 'conf\n'
        assert store.find_image('app:1')['id'] == meta['id']
        empty = store.install_pulled_image(dict(meta, id=new_id(), name='empty:1'), None)
        assert os.listdir(empty['rootfs']) == []


def test_a_refused_layer_leaves_nothing(host):
    host.registry.add_image('docker://r/bad:1', [BASE, {'../escape': b'x'}])
    store = host.store()
    with store.session():
        fetched = store.fetch_image(source('docker://r/bad:1'))
        chain = oci.layer_chain(fetched['manifest'], fetched['config'], fetched['config_digest'])
        assert store.ensure_layer(chain[0]) is True
        with pytest.raises(LayerError, match=r'\.\./escape'):
            store.ensure_layer(chain[1])
        # The whole bottom layer stays; nothing of the refused one, nothing in tmp/.
        assert os.listdir(store.paths.layers) == [chain[0]['chain_id'][7:]]
        assert os.listdir(store.tmp_dir) == []


def test_a_damaged_layer_is_replaced(host):
    host.registry.add_image('docker://r/app:1', [BASE])
    store = host.store()
    with store.session():
        _fetched, chain, _added = pull(store, 'docker://r/app:1')
        layer_id = chain[0]['chain_id']
        os.unlink(store.paths.layer_meta(layer_id))
        assert not store.layer_exists(layer_id)
        assert store.ensure_layer(chain[0]) is True
        assert store.layer_exists(layer_id)
        assert any('damaged' in warning for warning in store.warnings)


def test_a_blob_that_does_not_match_its_digest_is_refused(host):
    host.registry.add_image('docker://r/app:1', [BASE])
    store = host.store()
    with store.session():
        fetched = store.fetch_image(source('docker://r/app:1'))
        path = store.paths.blob_path(fetched['config_digest'])
        with open(path, 'ab') as handle:
            handle.write(b' ')
        with pytest.raises(StoreDataError, match='does not match its digest'):
            store.read_blob(fetched['config_digest'])


def test_check_mode_inspects_outside_the_store(host):
    host.registry.add_image('docker://r/app:1', [BASE])
    store = host.store()
    with store.session(check_mode=True):
        store.inspect_image_source(source('docker://r/app:1'))
        _digest, config = store.inspect_image_config(source('docker://r/app:1'))
    assert len(oci.diff_ids(config)) == 1
    assert all(not tmpdir.startswith(str(host.root)) for tmpdir in host.registry.tmpdirs)
    assert not os.path.exists(host.root)


@pytest.mark.parametrize('settings, expected', [
    ({}, {'command': None, 'env': {}, 'labels': {}, 'stop_signal': 'SIGTERM', 'exposed_ports': [],
          'workdir': None, 'user': None}),
    ({'Entrypoint': ['/bin/app'], 'Cmd': ['--serve'], 'Env': ['PATH=/bin', 'A=b=c'], 'WorkingDir': '/srv',
      'User': '1000:1000', 'Labels': {'v': '1'}, 'StopSignal': 'QUIT', 'ExposedPorts': {'80/tcp': {}, '53/udp': {}}},
     {'command': ['/bin/app', '--serve'], 'env': {'PATH': '/bin', 'A': 'b=c'}, 'labels': {'v': '1'},
      'stop_signal': 'SIGQUIT', 'exposed_ports': ['53/udp', '80/tcp'], 'workdir': '/srv', 'user': '1000:1000'}),
    ({'Cmd': ['sh'], 'StopSignal': '15'},
     {'command': ['sh'], 'env': {}, 'labels': {}, 'stop_signal': '15', 'exposed_ports': [], 'workdir': None,
      'user': None}),
])
def test_config_settings(settings, expected):
    assert oci.config_settings({'config': settings}, 'sha256:c') == expected


@pytest.mark.parametrize('settings, problem', [
    ({'Env': ['A=1\nlxc.hook.pre-start = /x']}, 'control character'),
    ({'Env': ['NOEQUALS']}, 'has no "="'),
    ({'WorkingDir': '/srv\n'}, 'control character'),
    ({'Cmd': 'sh'}, 'not a list of strings'),
    ({'StopSignal': 'SIG TERM'}, 'not a signal'),
])
def test_config_settings_refuse_what_would_reach_the_lxc_config(settings, problem):
    with pytest.raises(ValidationError, match=problem) as info:
        oci.config_settings({'config': settings}, 'sha256:c')
    assert 'the image config sha256:c' in info.value.msg


def test_manifest_and_config_checks():
    blob, diff_id = layer_tar({'a': b'a'})
    layer = {'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip', 'digest': oci.sha256_of(blob),
             'size': len(blob)}
    config = {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': 'sha256:' + 'c' * 64, 'size': 2}
    raw = json.dumps({'schemaVersion': 2, 'config': config, 'layers': [layer]}).encode()
    manifest = oci.parse_manifest(raw, 'sha256:m')
    chain = oci.layer_chain(manifest, {'rootfs': {'diff_ids': [diff_id]}}, 'sha256:c')
    assert chain[0]['chain_id'] == diff_id and chain[0]['parent'] is None
    with pytest.raises(ValidationError, match='2 diff ids for the 1 layers'):
        oci.layer_chain(manifest, {'rootfs': {'diff_ids': [diff_id, diff_id]}}, 'sha256:c')
    helm = dict(layer, mediaType='application/vnd.cncf.helm.chart.content.v1.tar+gzip')
    with pytest.raises(ValidationError, match='not an image layer'):
        oci.parse_manifest(json.dumps({'schemaVersion': 2, 'config': config, 'layers': [helm]}).encode(), 'sha256:m')
    with pytest.raises(ValidationError, match='not an OCI or Docker schema 2'):
        oci.parse_manifest(json.dumps({'schemaVersion': 1}).encode(), 'sha256:m')
    with pytest.raises(ValidationError, match='diff_ids'):
        oci.parse_config(b'{"rootfs": {}}', 'sha256:c')


@pytest.mark.parametrize('params, reference', [
    ({'source': 'registry', 'ref': '127.0.0.1:5000/team/app:1.2'}, 'docker://127.0.0.1:5000/team/app:1.2'),
    ({'source': 'registry'}, 'docker://app:latest'),
    ({'source': 'registry', 'ref': 'docker://r/app@sha256:' + 'a' * 64}, 'docker://r/app@sha256:' + 'a' * 64),
])
def test_registry_references(params, reference):
    assert oci.image_source(params, 'app:latest').reference == reference


def test_archive_references_and_refusals(tmp_path):
    archive = tmp_path / 'app.tar'
    archive.write_bytes(b'')
    made = oci.image_source({'source': 'docker-archive', 'path': str(archive), 'ref': 'app:1'}, 'app:1')
    assert made.reference == 'docker-archive:%s:app:1' % archive
    made = oci.image_source({'source': 'oci-layout', 'path': str(tmp_path)}, 'app:1')
    assert made.reference == 'oci:%s' % tmp_path
    for params, problem in (
            ({'source': 'oci-archive', 'path': str(tmp_path)}, 'is not a file'),
            ({'source': 'oci-layout', 'path': str(archive)}, 'is not a directory'),
            ({'source': 'oci-archive', 'path': str(archive), 'username': 'u', 'password': 'p'}, 'only apply to'),
            ({'source': 'registry', 'ref': '-rf /'}, 'is not a registry reference'),
            ({'source': 'registry', 'ref': 'a b'}, 'is not a registry reference'),
            ({'source': 'registry', 'platform': 'amd64'}, 'platform'),
            ({'source': 'registry', 'username': 'u'}, 'username and password go together')):
        with pytest.raises(ValidationError, match=problem):
            oci.image_source(params, 'app:1')
