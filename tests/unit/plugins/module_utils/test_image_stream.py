# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Image streams: the file format (framing, truncation, corruption) and the store's export and import."""

from __future__ import annotations

import io
import os

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError
from ansible_collections.dockerlite.core.plugins.module_utils._store import image_stream
from ansible_collections.dockerlite.core.plugins.module_utils._store.image_stream import StreamError
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import FakeHost, listing, store_state
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.test_store import build

IMAGE_ID = 'a' * 64
ORIGIN = 'b' * 32


def stream_file(path, body=b'send stream bytes' * 100, header=None):
    header = header or image_stream.header_for({'id': IMAGE_ID, 'name': 'app:1', 'rootfs': '/x'}, ORIGIN)
    with open(path, 'wb') as handle:
        size, digest = image_stream.write_stream(handle, header, lambda write: [write(body[:7]), write(body[7:])])
    return size, digest


def test_a_stream_reads_back_as_written(tmp_path):
    path = str(tmp_path / 's')
    body = os.urandom(3000)
    size, digest = stream_file(path, body)
    header, offset, length, read_digest = image_stream.read_header(path)
    assert (length, read_digest) == (size, digest) == (3000, digest)
    assert header['image'] == {'id': IMAGE_ID, 'name': 'app:1'} and header['parent'] is None
    assert b''.join(image_stream.stream_chunks(path, offset, length, digest)) == body


@pytest.mark.parametrize('cut', [1, 10, 40, 200, 3000, 3030, 3100])
def test_a_truncated_stream_is_refused_naming_the_file(tmp_path, cut):
    path = str(tmp_path / 's')
    stream_file(path, os.urandom(3000))
    with open(path, 'r+b') as handle:
        handle.truncate(os.path.getsize(path) - cut)
    with pytest.raises(StreamError, match='truncated|not a dockerlite') as info:
        image_stream.read_header(path)
    assert path in info.value.msg


def test_a_changed_byte_is_found_by_the_digest(tmp_path):
    path = str(tmp_path / 's')
    stream_file(path, b'x' * 5000)
    header, offset, length, digest = image_stream.read_header(path)
    with open(path, 'r+b') as handle:
        handle.seek(offset + 4000)
        handle.write(b'y')
    with pytest.raises(StreamError, match='corrupt'):
        b''.join(image_stream.stream_chunks(path, offset, length, digest))


@pytest.mark.parametrize('header, problem', [
    ({'version': 2}, 'version'),
    ({'version': 1, 'image': {'id': '../x'}, 'origin': ORIGIN}, 'image id'),
    ({'version': 1, 'image': {'id': IMAGE_ID}, 'origin': 'x'}, 'origin'),
    ({'version': 1, 'image': {'id': IMAGE_ID}, 'origin': ORIGIN, 'parent': {'id': 'p'}}, 'parent'),
])
def test_a_bad_header_is_refused(tmp_path, header, problem):
    path = str(tmp_path / 's')
    stream_file(path, header=header)
    with pytest.raises(StreamError, match=problem):
        image_stream.read_header(path)


def test_other_files_are_refused(tmp_path):
    plain = tmp_path / 'plain'
    plain.write_bytes(b'not a stream at all, long enough to have a trailer' * 3)
    with pytest.raises(StreamError, match='not a dockerlite image stream'):
        image_stream.read_header(str(plain))
    canary = tmp_path / 'canary'
    stream_file(str(canary))
    os.symlink(str(canary), str(tmp_path / 'link'))
    with pytest.raises(StreamError, match='cannot open'):
        image_stream.read_header(str(tmp_path / 'link'))


# -- the store ------------------------------------------------------------------

@pytest.fixture
def hosts(tmp_path):
    return FakeHost(tmp_path / 'a'), FakeHost(tmp_path / 'b')


def without_tmp(state):
    """A store's state but tmp/'s own times (a staging directory made and deleted there changes them)."""
    return {path: entry for path, entry in state.items() if path != 'tmp'}


def child_of(store, base, name='app:2'):
    """A second image made from ``base`` with one more file (as a commit would)."""
    image = build(store, name, files={'etc/hostname': 'base:latest', 'app/new': 'v2'})
    return store.update_image(image, parent=base['id'])


def test_a_full_stream_makes_the_same_image_in_another_store(hosts, tmp_path):
    source, dest = hosts[0].store(), hosts[1].store()
    path = str(tmp_path / 'base.stream')
    with source.session():
        base = build(source, files={'etc/hostname': 'base', 'bin/sh': 'shell'})
        result = source.export_image_stream(base['id'], path)
        origin = source.image_origin(base['id'])
    assert result['parent'] is None and result['bytes'] == os.path.getsize(path)
    assert listing(str(tmp_path)) == ['a', 'base.stream']  # no temporary file left beside it
    with dest.session():
        image, made = dest.import_image_stream(path)
        assert made and image['id'] == base['id'] and image['name'] == base['name']
        assert dest.image_origin(image['id']) == origin
        assert image['received'] == {'origin': origin, 'parent': None, 'digest': result['digest']}
        assert hosts[1].btrfs.is_read_only(image['rootfs'])
        with open(os.path.join(image['rootfs'], 'bin', 'sh')) as handle:
            assert handle.read() == 'shell'
        calls = len(hosts[1].btrfs.calls)
        again, made = dest.import_image_stream(path)
        assert not made and again['id'] == base['id']
        assert [call for call in hosts[1].btrfs.calls[calls:] if call[0] == 'receive_from'] == []
    assert listing(os.path.join(hosts[1].root, 'tmp')) == []


def test_an_incremental_stream_needs_its_parent_and_leaves_nothing_without_it(hosts, tmp_path):
    source, dest = hosts[0].store(), hosts[1].store()
    with source.session():
        base = build(source)
        app = child_of(source, base)
        source.export_image_stream(base['id'], str(tmp_path / 'base.stream'))
        source.export_image_stream(app['id'], str(tmp_path / 'app.stream'), parent_id=base['id'])
    with dest.session():
        pass
    before = store_state(hosts[1].root)
    with dest.session():
        with pytest.raises(DockerliteError, match='incremental from image %s' % base['id']):
            dest.import_image_stream(str(tmp_path / 'app.stream'))
    assert store_state(hosts[1].root) == before
    with dest.session():
        dest.import_image_stream(str(tmp_path / 'base.stream'))
        image, made = dest.import_image_stream(str(tmp_path / 'app.stream'))
    assert made and image['received']['parent'] == base['id'] and image['parent'] == base['id']


def test_an_image_of_the_same_id_but_another_origin_is_refused(hosts, tmp_path):
    source, dest = hosts[0].store(), hosts[1].store()
    with source.session():
        base = build(source)
        source.export_image_stream(base['id'], str(tmp_path / 'base.stream'))
    with dest.session():
        dest.import_image_stream(str(tmp_path / 'base.stream'))
    header, _offset, _length, _digest = image_stream.read_header(str(tmp_path / 'base.stream'))
    forged = str(tmp_path / 'forged.stream')
    stream_file(forged, header=dict(header, origin='c' * 32))
    with dest.session():
        with pytest.raises(DockerliteError, match='another origin'):
            dest.import_image_stream(forged)


def test_a_corrupt_stream_leaves_nothing(hosts, tmp_path):
    source, dest = hosts[0].store(), hosts[1].store()
    path = str(tmp_path / 'base.stream')
    with source.session():
        base = build(source, files={'etc/hostname': 'x' * 20000})
        source.export_image_stream(base['id'], path)
    _header, offset, _length, _digest = image_stream.read_header(path)
    with open(path, 'r+b') as handle:
        handle.seek(offset + 10000)
        data = handle.read(1)
        handle.seek(offset + 10000)
        handle.write(bytes([data[0] ^ 1]))
    with dest.session():
        pass
    before = without_tmp(store_state(hosts[1].root))
    with dest.session():
        with pytest.raises(DockerliteError, match='corrupt'):
            dest.import_image_stream(path)
        assert listing(os.path.join(hosts[1].root, 'tmp')) == []
    assert without_tmp(store_state(hosts[1].root)) == before


def test_export_names_a_missing_image_and_writes_nothing(hosts, tmp_path):
    source = hosts[0].store()
    with source.session():
        with pytest.raises(DockerliteError, match='image %s does not exist' % IMAGE_ID):
            source.export_image_stream(IMAGE_ID, str(tmp_path / 'x.stream'))
    assert not os.path.exists(str(tmp_path / 'x.stream'))


def test_write_stream_passes_a_failure_of_send_on(tmp_path):
    def produce(write):
        write(b'partial')
        raise DockerliteError('btrfs send failed: boom')

    with pytest.raises(DockerliteError, match='boom'):
        image_stream.write_stream(io.BytesIO(), image_stream.header_for({'id': IMAGE_ID}, ORIGIN), produce)
