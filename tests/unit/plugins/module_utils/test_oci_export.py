# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Layers, configs and manifests made from trees: what a tar holds, and that the bytes are always the same."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._store import oci_export
from ansible_collections.dockerlite.core.plugins.module_utils._store.changes import stream_changes
from ansible_collections.dockerlite.core.plugins.module_utils._store.layers import apply_layer
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import (
    build_send_stream, tree_commands)


def make_tree(root, files, dirs=(), links=()):
    for path in dirs:
        os.makedirs(os.path.join(root, path), exist_ok=True)
    for path, data in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
        with open(os.path.join(root, path), 'wb') as handle:
            handle.write(data)
    for path, target in links:
        os.symlink(target, os.path.join(root, path))
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            os.utime(os.path.join(dirpath, name), (1700000000, 1700000000), follow_symlinks=False)
        os.utime(dirpath, (1700000000, 1700000000))


def layer_bytes(write, *args):
    out = io.BytesIO()
    record = write(*args, out)
    return record, out.getvalue()


def members(blob):
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob)), mode='r:') as archive:
        return [(m.name, m.type, m.linkname, m.uid, m.gid, m.mode, m.mtime, dict(m.pax_headers),
                 archive.extractfile(m).read() if m.isfile() else None) for m in archive.getmembers()]


def test_a_full_layer_holds_the_tree_in_path_order_with_numeric_owners(tmp_path):
    root = str(tmp_path / 'root')
    make_tree(root, {'bin/sh': b'shell', 'etc/passwd': b'root:x:0:0::/root:/bin/sh\n', 'a-b': b''},
              dirs=['tmp'], links=[('bin/ls', 'sh')])
    os.chmod(os.path.join(root, 'bin/sh'), 0o4755)
    os.chown(os.path.join(root, 'etc/passwd'), 1000, 1001)
    record, blob = layer_bytes(oci_export.write_full_layer, root)
    found = members(blob)
    assert [entry[0] for entry in found] == ['a-b', 'bin', 'bin/ls', 'bin/sh', 'etc', 'etc/passwd', 'tmp']
    by_name = {entry[0]: entry for entry in found}
    assert by_name['bin/sh'][5] == 0o4755 and by_name['bin/sh'][8] == b'shell'
    assert by_name['bin/ls'][1] == tarfile.SYMTYPE and by_name['bin/ls'][2] == 'sh'
    assert by_name['etc/passwd'][3:5] == (1000, 1001)
    assert by_name['etc/passwd'][6] == 1700000000
    assert record['digest'] == 'sha256:' + hashlib.sha256(blob).hexdigest()
    assert record['diff_id'] == 'sha256:' + hashlib.sha256(gzip.decompress(blob)).hexdigest()
    assert record['size'] == len(blob)
    # gzip with mtime 0 and no file name: the same tree gives the same bytes, whenever it is made.
    assert blob[4:8] == b'\0\0\0\0'
    assert layer_bytes(oci_export.write_full_layer, root)[1] == blob


def test_hard_links_inside_the_layer_become_link_entries(tmp_path):
    root = str(tmp_path / 'root')
    make_tree(root, {'a/file': b'data'}, dirs=['b'])
    os.link(os.path.join(root, 'a/file'), os.path.join(root, 'b/link'))
    found = {entry[0]: entry for entry in members(layer_bytes(oci_export.write_full_layer, root)[1])}
    assert found['a/file'][1] == tarfile.REGTYPE and found['a/file'][8] == b'data'
    assert found['b/link'][1] == tarfile.LNKTYPE and found['b/link'][2] == 'a/file'


def test_extended_attributes_go_into_pax_records(tmp_path):
    root = str(tmp_path / 'root')
    make_tree(root, {'cap': b'x'})
    try:
        os.setxattr(os.path.join(root, 'cap'), 'user.dockerlite', b'\xff\x00value')
    except OSError:
        pytest.skip('no user xattrs on the test filesystem')
    found = {entry[0]: entry for entry in members(layer_bytes(oci_export.write_full_layer, root)[1])}
    assert found['cap'][7]['SCHILY.xattr.user.dockerlite'].encode('utf-8', 'surrogateescape') == b'\xff\x00value'


def changes_between(parent, child):
    return stream_changes(build_send_stream(tree_commands(parent, child)), parent, child)


@pytest.fixture
def pair(tmp_path):
    parent, child = str(tmp_path / 'parent'), str(tmp_path / 'child')
    files = {'bin/sh': b'shell', 'bin/vi': b'editor', 'etc/group': b'root:x:0:\n', 'etc/passwd': b'root\n',
             'old/dir/deep': b'deep', 'keep/file': b'same'}
    make_tree(parent, files)
    make_tree(child, files)
    return parent, child


def test_a_changeset_layer_holds_exactly_the_difference(pair):
    parent, child = pair
    os.unlink(os.path.join(child, 'bin/vi'))  # a deletion: a whiteout
    os.rename(os.path.join(child, 'etc/group'), os.path.join(child, 'etc/group2'))  # a rename: whiteout + entry
    os.chmod(os.path.join(child, 'etc/passwd'), 0o600)  # metadata only: the entry again

    shutil.rmtree(os.path.join(child, 'old'))  # a tree: one whiteout for its top
    with open(os.path.join(child, 'big'), 'wb') as handle:
        handle.write(b'x' * 4096)
    os.link(os.path.join(child, 'big'), os.path.join(child, 'keep/link'))  # a hard link within the layer
    changes = changes_between(parent, child)
    record, blob = layer_bytes(oci_export.write_changeset_layer, child, changes)
    found = {entry[0]: entry for entry in members(blob)}
    assert set(found) == {'big', 'bin', 'bin/.wh.vi', 'etc', 'etc/.wh.group', 'etc/group2', 'etc/passwd',
                          '.wh.old', 'keep', 'keep/link'}
    assert found['etc/passwd'][5] == 0o600 and found['etc/passwd'][8] == b'root\n'
    assert found['etc/group2'][8] == b'root:x:0:\n'
    assert found['keep/link'][1] == tarfile.LNKTYPE and found['keep/link'][2] == 'big'
    assert 'keep/file' not in found and 'bin/sh' not in found
    assert record['size'] < 1024


def test_a_changeset_applied_on_the_parent_gives_the_child(pair, tmp_path):
    """The layer store's own applier turns the parent into the child with the layer made here."""
    parent, child = pair
    os.unlink(os.path.join(child, 'bin/vi'))
    os.rename(os.path.join(child, 'etc/group'), os.path.join(child, 'etc/group2'))
    os.chmod(os.path.join(child, 'etc/passwd'), 0o640)
    record, blob = layer_bytes(oci_export.write_changeset_layer, child, changes_between(parent, child))
    blob_path = tmp_path / 'layer.tar.gz'
    blob_path.write_bytes(blob)

    applied = str(tmp_path / 'applied')
    shutil.copytree(parent, applied, symlinks=True)
    apply_layer(str(blob_path), applied, record['digest'], record['diff_id'], record['media_type'])

    def listing(root):
        return sorted((os.path.relpath(os.path.join(d, n), root), os.lstat(os.path.join(d, n)).st_mode)
                      for d, dirs, files in os.walk(root) for n in dirs + files)
    assert listing(applied) == listing(child)


def test_no_whiteout_below_a_path_that_is_now_a_file():
    entries = oci_export.changeset_entries(
        {'added': [], 'modified': ['/d'], 'deleted': ['/d/a', '/d/b', '/gone', '/gone/x', '/keep/x']},
        is_dir=lambda path: path == 'keep')  # d is a file now, gone is gone
    assert entries == [('d', False), ('gone', True), ('keep/x', True)]


def test_a_symbolic_link_in_a_listed_parent_is_refused(tmp_path):
    root = str(tmp_path / 'root')
    make_tree(root, {'real/file': b'x'}, links=[('link', 'real')])
    with pytest.raises(oci_export.LayerMakeError, match='not a directory of the image'):
        layer_bytes(oci_export.write_changeset_layer, root, {'added': ['/link/file'], 'modified': [], 'deleted': []})


def test_config_extends_the_parents():
    parent = {'architecture': 'amd64', 'os': 'linux', 'config': {'Entrypoint': ['/init'], 'Cmd': ['x'],
                                                                 'ExposedPorts': {'80/tcp': {}}},
              'rootfs': {'type': 'layers', 'diff_ids': ['sha256:' + 'a' * 64]},
              'history': [{'created_by': 'base'}, {'created_by': 'ENV', 'empty_layer': True}]}
    image = {'created': '2026-01-01T00:00:00+00:00', 'command': ['/init', 'x', 'y'], 'env': {'A': '1'},
             'labels': {'l': 'v'}, 'stop_signal': 'SIGTERM', 'workdir': '/srv', 'user': '1000'}
    layers = [{'diff_id': 'sha256:' + 'a' * 64}, {'diff_id': 'sha256:' + 'b' * 64}]
    config = oci_export.make_config(image, layers, parent)
    assert config['config'] == {'Cmd': ['/init', 'x', 'y'], 'Env': ['A=1'], 'Labels': {'l': 'v'},
                                'StopSignal': 'SIGTERM', 'WorkingDir': '/srv', 'User': '1000',
                                'ExposedPorts': {'80/tcp': {}}}
    assert config['rootfs']['diff_ids'] == ['sha256:' + 'a' * 64, 'sha256:' + 'b' * 64]
    assert len(config['history']) == 3 and not config['history'][-1].get('empty_layer')
    assert parent['config']['Entrypoint'] == ['/init']  # the parent's is not changed
    fresh = oci_export.make_config(dict(image, workdir=None, user=None), layers[:1])
    assert fresh['os'] == 'linux' and 'WorkingDir' not in fresh['config'] and len(fresh['history']) == 1


def test_manifest_and_canonical_bytes():
    layers = [{'digest': 'sha256:' + 'c' * 64, 'size': 5, 'media_type': 'application/vnd.docker.image.rootfs.diff.tar.gzip'}]
    manifest = oci_export.make_manifest('sha256:' + 'd' * 64, 7, layers)
    assert manifest['layers'] == [{'mediaType': oci_export.OCI_LAYER_GZIP, 'digest': 'sha256:' + 'c' * 64, 'size': 5}]
    assert oci_export.json_bytes(manifest) == oci_export.json_bytes(json.loads(oci_export.json_bytes(manifest)))
    assert b' ' not in oci_export.json_bytes(manifest)


def test_chain_ids():
    layers = oci_export.with_chain_ids([{'diff_id': 'sha256:' + 'a' * 64}, {'diff_id': 'sha256:' + 'b' * 64}])
    assert layers[0]['chain_id'] == 'sha256:' + 'a' * 64
    assert layers[1]['chain_id'] == 'sha256:' + hashlib.sha256(
        ('sha256:%s sha256:%s' % ('a' * 64, 'b' * 64)).encode()).hexdigest()


def test_archive_digests(tmp_path):
    def archive(name, content):
        path = tmp_path / name
        with tarfile.open(path, 'w') as tar:
            data = json.dumps(content).encode()
            info = tarfile.TarInfo(name.split('+')[0])
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        return str(path)
    digest = 'sha256:' + 'e' * 64
    assert oci_export.archive_digests(archive('index.json', {'manifests': [{'digest': digest}]})) == (digest, None)
    assert oci_export.archive_digests(archive('manifest.json', [{'Config': 'e' * 64 + '.json'}])) == (None, digest)
    assert oci_export.archive_digests(archive('manifest.json+blobs', [{'Config': 'blobs/sha256/' + 'e' * 64}])) \
        == (None, digest)
    not_tar = tmp_path / 'text'
    not_tar.write_text('hello')
    assert oci_export.archive_digests(str(not_tar)) == (None, None)
    assert oci_export.archive_digests(str(tmp_path / 'missing')) == (None, None)
