# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Tests for _store/layers.py: OCI layer semantics on crafted tarballs, and hostile layers aimed at canaries.

Every hostile layer aims only at canary files in the test's own temporary directory.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import subprocess
import tarfile
import threading

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._store import layers
from ansible_collections.dockerlite.core.plugins.module_utils._store.layers import LayerError, apply_layer

# Ownership, device nodes and the security.* xattr namespace need root; the CI runs the units as root.
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='applying layers (chown, mknod) needs root')

MTIME = 1600000000
CAPABILITY = bytes.fromhex('0100000200040000000000000000000000000000')  # cap_net_bind_service+ep


def entry(name, kind=tarfile.REGTYPE, data=b'', mode=0o644, uid=0, gid=0, mtime=MTIME, linkname='', xattrs=None,
          major=0, minor=0, pax=None):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = mtime
    info.linkname = linkname
    info.devmajor, info.devminor = major, minor
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    headers = dict(pax or {})
    for key, value in (xattrs or {}).items():
        headers['SCHILY.xattr.' + key] = value.decode('utf-8', 'surrogateescape')
    info.pax_headers = headers
    return info, data


def directory(name, mode=0o755, **kw):
    return entry(name, tarfile.DIRTYPE, mode=mode, **kw)


def symlink(name, target, **kw):
    return entry(name, tarfile.SYMTYPE, linkname=target, mode=0o777, **kw)


def hardlink(name, target, **kw):
    return entry(name, tarfile.LNKTYPE, linkname=target, **kw)


def make_tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def compress(data, compression):
    if compression == 'gzip':
        return gzip.compress(data)
    if compression == 'zstd':
        return subprocess.run(['zstd', '-q', '-c'], input=data, stdout=subprocess.PIPE, check=True).stdout
    return data


class Blob:
    def __init__(self, path, digest, diff_id):
        self.path, self.digest, self.diff_id = path, digest, diff_id


def make_blob(tmp_path, entries, compression='gzip', raw=None):
    tar = make_tar(entries) if raw is None else raw
    data = compress(tar, compression)
    digest = 'sha256:' + hashlib.sha256(data).hexdigest()
    path = tmp_path / ('blob-' + digest[7:19])
    path.write_bytes(data)
    return Blob(str(path), digest, 'sha256:' + hashlib.sha256(tar).hexdigest())


@pytest.fixture
def rootfs(tmp_path):
    path = tmp_path / 'rootfs'
    path.mkdir()
    return path


@pytest.fixture
def canary(tmp_path):
    """A canary directory beside the rootfs, with a file; ``check()`` asserts neither changed."""
    where = tmp_path / 'canary'
    where.mkdir()
    (where / 'canary').write_text('canary\n')

    def snapshot():
        result = {}
        for dirpath, dirnames, filenames in os.walk(where):
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                st = os.lstat(full)
                content = open(full, 'rb').read() if stat.S_ISREG(st.st_mode) else None
                result[full] = (st.st_mode, st.st_uid, st.st_mtime_ns, st.st_ino, content)
        st = os.lstat(where)
        result[str(where)] = (st.st_mode, st.st_mtime_ns)
        return result

    before = snapshot()

    class Canary:
        path = where
        file = where / 'canary'

        @staticmethod
        def check():
            assert snapshot() == before
            assert not (where.parent / 'escaped').exists()

    return Canary


def apply(tmp_path, rootfs, entries, compression='gzip'):
    blob = make_blob(tmp_path, entries, compression)
    return blob, apply_layer(blob.path, str(rootfs), blob.digest, diff_id=blob.diff_id)


# --- chain ids ----------------------------------------------------------------------------------

def test_chain_ids_follow_the_spec():
    first = 'sha256:' + 'a' * 64
    second = 'sha256:' + 'b' * 64
    expected = 'sha256:' + hashlib.sha256(('%s %s' % (first, second)).encode()).hexdigest()
    assert layers.chain_id(None, first) == first
    assert layers.chain_id(first, second) == expected
    assert layers.chain_ids([first, second, first]) == [
        first, expected, 'sha256:' + hashlib.sha256(('%s %s' % (expected, first)).encode()).hexdigest()]


# --- compression and digests --------------------------------------------------------------------

@pytest.mark.parametrize('compression', ['plain', 'gzip', 'zstd'])
def test_compressions_give_the_diff_id_of_the_uncompressed_tar(tmp_path, rootfs, compression):
    blob, diff_id = apply(tmp_path, rootfs, [directory('etc'), entry('etc/hostname', data=b'box\n')], compression)
    assert diff_id == blob.diff_id
    assert (rootfs / 'etc' / 'hostname').read_bytes() == b'box\n'


def test_media_type_says_gzip_but_blob_is_plain(tmp_path, rootfs):
    blob = make_blob(tmp_path, [entry('f', data=b'x')], 'plain')
    with pytest.raises(LayerError, match='says compressed'):
        apply_layer(blob.path, str(rootfs), blob.digest, media_type='application/vnd.oci.image.layer.v1.tar+gzip')


def test_wrong_diff_id_is_refused(tmp_path, rootfs):
    blob = make_blob(tmp_path, [entry('f', data=b'x')])
    with pytest.raises(LayerError) as info:
        apply_layer(blob.path, str(rootfs), blob.digest, diff_id='sha256:' + '0' * 64)
    assert blob.digest in info.value.msg and blob.diff_id in info.value.msg


def test_wrong_blob_digest_is_refused(tmp_path, rootfs):
    blob = make_blob(tmp_path, [entry('f', data=b'x')])
    wrong = 'sha256:' + '1' * 64
    with pytest.raises(LayerError, match='does not match its digest') as info:
        apply_layer(blob.path, str(rootfs), wrong)
    assert info.value.digest == wrong


def test_with_a_diff_id_the_uncompressed_tar_is_what_is_checked(tmp_path, rootfs):
    """The diff id checks every byte of the layer; the compressed bytes are not hashed a second time."""
    blob = make_blob(tmp_path, [entry('f', data=b'x')])
    assert apply_layer(blob.path, str(rootfs), 'sha256:' + '1' * 64, diff_id=blob.diff_id) == blob.diff_id
    assert (rootfs / 'f').read_bytes() == b'x'


def test_a_blob_that_inflates_to_another_tar_is_refused_by_its_diff_id(tmp_path, rootfs):
    expected = make_blob(tmp_path, [entry('f', data=b'x')])
    other = make_blob(tmp_path, [entry('f', data=b'y')])
    with pytest.raises(LayerError, match='not to its diff id') as info:
        apply_layer(other.path, str(rootfs), expected.digest, diff_id=expected.diff_id)
    assert info.value.digest == expected.digest


@pytest.mark.parametrize('compression', ['gzip', 'zstd'])
def test_a_refused_entry_early_in_a_large_layer_stops_the_reading_ahead(tmp_path, rootfs, compression):
    """The thread that inflates ahead stops when the apply gives up, though chunks remain to be read."""
    big = os.urandom(layers.CHUNK) * (layers._Prefetched.QUEUED * 3)  # pylint: disable=protected-access
    blob = make_blob(tmp_path, [entry('../escaped', data=b'x'), entry('big', data=big)], compression)
    before = threading.active_count()
    with pytest.raises(LayerError, match='".." component'):
        apply_layer(blob.path, str(rootfs), blob.digest, diff_id=blob.diff_id)
    assert threading.active_count() == before
    assert not (tmp_path / 'escaped').exists()


def test_reading_ahead_passes_every_chunk_then_the_producers_error():
    def chunks():
        yield b'a'
        yield b'b'
        raise OSError(5, 'Input/output error')
    prefetched = layers._Prefetched(chunks())  # pylint: disable=protected-access
    got = []
    with pytest.raises(OSError, match='Input/output error'):
        for data in prefetched:
            got.append(data)
    assert got == [b'a', b'b']
    prefetched.close()


@pytest.mark.parametrize('compression', ['gzip', 'zstd'])
def test_corrupt_compressed_blob_is_an_error(tmp_path, rootfs, compression):
    blob = make_blob(tmp_path, [entry('f', data=os.urandom(200000))], compression)
    data = bytearray(open(blob.path, 'rb').read())
    data[len(data) // 2:len(data) // 2 + 64] = b'\0' * 64
    open(blob.path, 'wb').write(bytes(data))
    with pytest.raises(LayerError) as info:
        apply_layer(blob.path, str(rootfs), None)
    assert info.value.entry is None


def test_not_a_tar_is_an_error(tmp_path, rootfs):
    blob = make_blob(tmp_path, [], 'gzip', raw=b'this is not a tar archive' * 40)
    with pytest.raises(LayerError, match='not a readable tar stream'):
        apply_layer(blob.path, str(rootfs), blob.digest)


def test_missing_blob_is_an_error(tmp_path, rootfs):
    with pytest.raises(LayerError, match='cannot open the blob'):
        apply_layer(str(tmp_path / 'absent'), str(rootfs), 'sha256:' + '2' * 64)


# --- file semantics -----------------------------------------------------------------------------

def test_types_owners_modes_times_and_xattrs(tmp_path, rootfs):
    apply(tmp_path, rootfs, [
        directory('usr', mode=0o750, uid=3, gid=4, mtime=MTIME + 1),
        directory('usr/bin', mtime=MTIME + 2),
        entry('usr/bin/su', data=b'#!/bin/sh\n', mode=0o4755, uid=1234, gid=5678, mtime=MTIME + 3,
              pax={'mtime': '%d.123456789' % (MTIME + 3), 'atime': '%d.5' % (MTIME - 10)}),
        entry('usr/bin/ping', data=b'ping', mode=0o755,
              xattrs={'security.capability': CAPABILITY, 'user.note': b'\xffbinary\x00'}),
        entry('usr/bin/sg', data=b'sg', mode=0o2711, gid=42),
        symlink('usr/bin/sh', 'busybox', uid=7, gid=8, mtime=MTIME + 4),
        symlink('usr/bin/dangling', '/nowhere/at/all'),
        hardlink('usr/bin/su2', 'usr/bin/su'),
        entry('usr/null', tarfile.CHRTYPE, mode=0o666, major=1, minor=3, uid=9),
        entry('usr/loop9', tarfile.BLKTYPE, mode=0o660, major=7, minor=9),
        entry('usr/pipe', tarfile.FIFOTYPE, mode=0o620, mtime=MTIME + 5),
        directory('usr/sticky', mode=0o1777),
        entry('implicit/parent/file', data=b'deep'),
    ])
    usr = rootfs / 'usr'
    st = os.lstat(usr)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime) == (0o750, 3, 4, MTIME + 1)
    assert os.lstat(usr / 'bin').st_mtime == MTIME + 2  # set after its children were made
    su = os.lstat(usr / 'bin' / 'su')
    assert (stat.S_IMODE(su.st_mode), su.st_uid, su.st_gid) == (0o4755, 1234, 5678)
    assert su.st_mtime_ns == (MTIME + 3) * 10 ** 9 + 123456789
    assert su.st_atime_ns == (MTIME - 10) * 10 ** 9 + 500000000
    assert (usr / 'bin' / 'su').read_bytes() == b'#!/bin/sh\n'
    assert os.getxattr(usr / 'bin' / 'ping', 'security.capability') == CAPABILITY
    assert os.getxattr(usr / 'bin' / 'ping', 'user.note') == b'\xffbinary\x00'
    assert stat.S_IMODE(os.lstat(usr / 'bin' / 'sg').st_mode) == 0o2711
    sh = os.lstat(usr / 'bin' / 'sh')
    assert stat.S_ISLNK(sh.st_mode) and os.readlink(usr / 'bin' / 'sh') == 'busybox'
    assert (sh.st_uid, sh.st_gid, sh.st_mtime) == (7, 8, MTIME + 4)
    assert os.readlink(usr / 'bin' / 'dangling') == '/nowhere/at/all'
    assert os.lstat(usr / 'bin' / 'su2').st_ino == su.st_ino
    null = os.lstat(usr / 'null')
    assert stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1 and os.minor(null.st_rdev) == 3
    assert (stat.S_IMODE(null.st_mode), null.st_uid) == (0o666, 9)
    loop = os.lstat(usr / 'loop9')
    assert stat.S_ISBLK(loop.st_mode) and (os.major(loop.st_rdev), os.minor(loop.st_rdev)) == (7, 9)
    pipe = os.lstat(usr / 'pipe')
    assert stat.S_ISFIFO(pipe.st_mode) and stat.S_IMODE(pipe.st_mode) == 0o620 and pipe.st_mtime == MTIME + 5
    assert stat.S_IMODE(os.lstat(usr / 'sticky').st_mode) == 0o1777
    parent = os.lstat(rootfs / 'implicit' / 'parent')
    assert (stat.S_IMODE(parent.st_mode), parent.st_uid) == (0o755, 0)
    assert (rootfs / 'implicit' / 'parent' / 'file').read_bytes() == b'deep'


def test_libarchive_xattr_records(tmp_path, rootfs):
    apply(tmp_path, rootfs, [entry('f', data=b'x', pax={'LIBARCHIVE.xattr.user.a%20b': 'aGVsbG8'})])
    assert os.getxattr(rootfs / 'f', 'user.a b') == b'hello'


def test_the_root_entry_sets_the_root_directory(tmp_path, rootfs):
    apply(tmp_path, rootfs, [directory('./', mode=0o711, mtime=MTIME), entry('./f', data=b'x')])
    st = os.lstat(rootfs)
    assert stat.S_IMODE(st.st_mode) == 0o711 and st.st_mtime == MTIME


def test_large_file_is_written_whole(tmp_path, rootfs):
    data = os.urandom(3 * 1024 * 1024 + 17)
    apply(tmp_path, rootfs, [entry('big', data=data)], 'zstd')
    assert (rootfs / 'big').read_bytes() == data


@pytest.mark.parametrize('compression', ['gzip', 'zstd', 'plain'])
def test_files_across_chunk_boundaries_and_a_skipped_member_are_written_whole(tmp_path, rootfs, compression):
    chunk = layers.CHUNK
    files = {'a': os.urandom(chunk - 300), 'b': os.urandom(2 * chunk + 1), 'c': b'', 'd': os.urandom(chunk)}
    entries = [entry(name, data=data) for name, data in files.items()]
    # A regular file inside an aufs bookkeeping directory is skipped: its content is passed over.
    entries.insert(2, entry('.wh..wh.plnk/1.2', data=os.urandom(70000)))
    blob, diff_id = apply(tmp_path, rootfs, entries, compression)
    assert diff_id == blob.diff_id
    for name, data in files.items():
        assert (rootfs / name).read_bytes() == data
    assert not (rootfs / '.wh..wh.plnk').exists()


def test_gzip_members_and_zero_padding_are_read_as_gzip_reads_them(tmp_path, rootfs):
    tar = make_tar([entry('f', data=b'one\n'), entry('g', data=os.urandom(5000))])
    data = gzip.compress(tar[:3000]) + gzip.compress(tar[3000:]) + b'\0' * 4096
    path = tmp_path / 'multi'
    path.write_bytes(data)
    digest = 'sha256:' + hashlib.sha256(data).hexdigest()
    assert apply_layer(str(path), str(rootfs), digest) == 'sha256:' + hashlib.sha256(tar).hexdigest()
    assert (rootfs / 'f').read_bytes() == b'one\n'


@pytest.mark.parametrize('tail', [b'garbage after the stream', None])
def test_gzip_with_garbage_after_it_or_cut_short_is_refused(tmp_path, rootfs, tail):
    data = gzip.compress(make_tar([entry('f', data=os.urandom(100000))]))
    data = data + tail if tail is not None else data[:-200]
    path = tmp_path / 'bad'
    path.write_bytes(data)
    with pytest.raises(LayerError, match='not a readable tar stream') as info:
        apply_layer(str(path), str(rootfs), 'sha256:' + hashlib.sha256(data).hexdigest())
    assert info.value.entry is None


def test_a_small_blob_that_inflates_a_lot_is_written_in_bounded_pieces(tmp_path, rootfs, monkeypatch):
    writes = []
    real_write = os.write

    def write(fd, data):
        writes.append(len(data))
        return real_write(fd, data)
    monkeypatch.setattr(layers.os, 'write', write)
    size = 64 * 1024 * 1024
    blob, diff_id = apply(tmp_path, rootfs, [entry('zeros', data=bytes(size))])
    assert os.path.getsize(blob.path) < size // 500 and diff_id == blob.diff_id
    assert (rootfs / 'zeros').stat().st_size == size and max(writes) <= layers.CHUNK


def lower(tmp_path, rootfs, entries):
    """The parent layer: applied first, as the snapshot the next layer lands on holds it."""
    apply(tmp_path, rootfs, entries)


def test_whiteouts_remove_files_and_trees_of_lower_layers(tmp_path, rootfs):
    lower(tmp_path, rootfs, [directory('etc'), entry('etc/gone', data=b'1'), entry('etc/kept', data=b'2'),
                             directory('opt/tree/deep'), entry('opt/tree/deep/f', data=b'3'),
                             symlink('etc/link', '/etc/kept')])
    apply(tmp_path, rootfs, [entry('etc/.wh.gone'), entry('opt/.wh.tree'), entry('etc/.wh.link'),
                             entry('etc/.wh.never-was'), entry('nodir/.wh.x')])
    assert sorted(os.listdir(rootfs / 'etc')) == ['kept']
    assert os.listdir(rootfs / 'opt') == []
    assert not (rootfs / 'nodir').exists()


def test_whiteout_hides_only_lower_layers(tmp_path, rootfs):
    lower(tmp_path, rootfs, [entry('a', data=b'lower')])
    apply(tmp_path, rootfs, [entry('a', data=b'upper'), entry('.wh.a')])
    assert (rootfs / 'a').read_bytes() == b'upper'


def test_aufs_bookkeeping_names_are_skipped(tmp_path, rootfs):
    apply(tmp_path, rootfs, [entry('.wh..wh.plnk/1234.5', data=b'x'), entry('.wh..wh.aufs')])
    assert os.listdir(rootfs) == []


def test_opaque_directory_hides_lower_content_and_keeps_its_own(tmp_path, rootfs):
    lower(tmp_path, rootfs, [directory('d'), entry('d/a', data=b'a'), directory('d/sub'), entry('d/sub/b', data=b'b'),
                             entry('e/untouched', data=b'e')])
    apply(tmp_path, rootfs, [directory('d', mode=0o700), entry('d/.wh..wh..opq'), directory('d/sub'),
                             entry('d/sub/new', data=b'n'), entry('d/c', data=b'c')])
    assert sorted(os.listdir(rootfs / 'd')) == ['c', 'sub']
    assert os.listdir(rootfs / 'd' / 'sub') == ['new']
    assert stat.S_IMODE(os.lstat(rootfs / 'd').st_mode) == 0o700
    assert (rootfs / 'e' / 'untouched').read_bytes() == b'e'


def test_opaque_marker_after_its_siblings_keeps_them(tmp_path, rootfs):
    lower(tmp_path, rootfs, [entry('d/old', data=b'o')])
    apply(tmp_path, rootfs, [entry('d/new', data=b'n'), entry('d/.wh..wh..opq')])
    assert os.listdir(rootfs / 'd') == ['new']


def test_entries_replace_what_lower_layers_hold(tmp_path, rootfs):
    lower(tmp_path, rootfs, [directory('was_dir/sub'), entry('was_dir/sub/f', data=b'1'), entry('was_file', data=b'2'),
                             entry('was_link_target', data=b'3'), symlink('was_link', 'was_link_target'),
                             entry('shared', data=b'shared'), hardlink('shared2', 'shared')])
    apply(tmp_path, rootfs, [entry('was_dir', data=b'now a file'), directory('was_file', mode=0o700),
                             entry('was_link', data=b'now a file'), entry('shared2', data=b'replaced')])
    assert (rootfs / 'was_dir').read_bytes() == b'now a file'
    assert stat.S_ISDIR(os.lstat(rootfs / 'was_file').st_mode)
    assert (rootfs / 'was_link').read_bytes() == b'now a file'
    assert (rootfs / 'was_link_target').read_bytes() == b'3'
    # A new entry is a new inode: the other name of a lower hard link keeps its content.
    assert (rootfs / 'shared').read_bytes() == b'shared'
    assert (rootfs / 'shared2').read_bytes() == b'replaced'


def test_directory_entry_over_existing_directory_keeps_its_content(tmp_path, rootfs):
    lower(tmp_path, rootfs, [directory('d'), entry('d/f', data=b'1')])
    apply(tmp_path, rootfs, [directory('d', mode=0o700, uid=5)])
    assert (rootfs / 'd' / 'f').read_bytes() == b'1'
    assert os.lstat(rootfs / 'd').st_uid == 5


def test_hard_link_to_a_lower_layer_file_and_to_a_symlink(tmp_path, rootfs):
    lower(tmp_path, rootfs, [entry('bin/busybox', data=b'bb'), symlink('bin/sh', 'busybox')])
    apply(tmp_path, rootfs, [hardlink('bin/bb2', 'bin/busybox'), hardlink('bin/sh2', 'bin/sh')])
    assert os.lstat(rootfs / 'bin' / 'bb2').st_ino == os.lstat(rootfs / 'bin' / 'busybox').st_ino
    assert os.lstat(rootfs / 'bin' / 'sh2').st_ino == os.lstat(rootfs / 'bin' / 'sh').st_ino


def test_hard_link_to_a_missing_file_is_refused(tmp_path, rootfs):
    blob = make_blob(tmp_path, [hardlink('a', 'nothing/here')])
    with pytest.raises(LayerError) as info:
        apply_layer(blob.path, str(rootfs), blob.digest)
    assert info.value.entry == 'a'


def test_unsupported_entry_type_is_refused(tmp_path, rootfs):
    info, data = entry('tape', kind=tarfile.CONTTYPE, data=b'')
    info.type = b'V'
    blob = make_blob(tmp_path, [(info, data)])
    with pytest.raises(LayerError, match='unsupported tar entry type'):
        apply_layer(blob.path, str(rootfs), blob.digest)


# --- hostile layers: each aims at the canary beside the rootfs ------------------------------------

def hostile(tmp_path, rootfs, canary, entries, bad_entry, problem, lower_entries=None):
    if lower_entries:
        lower(tmp_path, rootfs, lower_entries)
    blob = make_blob(tmp_path, entries)
    with pytest.raises(LayerError) as info:
        apply_layer(blob.path, str(rootfs), blob.digest, diff_id=blob.diff_id)
    assert info.value.digest == blob.digest
    assert info.value.entry == bad_entry
    assert blob.digest in info.value.msg and repr(bad_entry) in info.value.msg
    assert problem in info.value.msg
    canary.check()
    return info.value


def test_dotdot_entry_is_refused(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [entry('ok', data=b'1'), entry('../canary/canary', data=b'pwned')],
            '../canary/canary', '".." component')


def test_dotdot_in_the_middle_is_refused(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [entry('a/../../escaped', data=b'pwned')], 'a/../../escaped', '".." component')


def test_absolute_entry_is_refused(tmp_path, rootfs, canary):
    name = str(canary.file)
    hostile(tmp_path, rootfs, canary, [entry(name, data=b'pwned')], name, 'absolute path')


def test_write_through_a_symlink_of_the_same_layer_is_refused(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [symlink('link', str(canary.path)), entry('link/canary', data=b'pwned')],
            'link/canary', 'goes through the symbolic link link')


def test_write_through_a_relative_symlink_is_refused(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [symlink('up', '../canary'), directory('up/newdir')],
            'up/newdir', 'symbolic link up')


def test_write_through_a_symlink_of_the_parent_layer_is_refused(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [entry('d/esc/canary', data=b'pwned')], 'd/esc/canary',
            'goes through the symbolic link d/esc', lower_entries=[directory('d'), symlink('d/esc', '../../canary')])


def test_hard_link_outside_is_refused(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [hardlink('stolen', '../canary/canary')], 'stolen', '".." component')
    assert not (rootfs / 'stolen').exists()


def test_hard_link_to_an_absolute_path_is_refused(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [hardlink('stolen', str(canary.file))], 'stolen', 'absolute path')


def test_hard_link_through_a_symlink_is_refused(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [symlink('link', str(canary.path)), hardlink('stolen', 'link/canary'),
                                       entry('stolen', data=b'pwned')],
            'stolen', 'goes through the symbolic link link')


def test_file_over_a_symlink_replaces_the_link_not_its_target(tmp_path, rootfs, canary):
    lower(tmp_path, rootfs, [symlink('trap', str(canary.file)), symlink('trapdir', str(canary.path))])
    apply(tmp_path, rootfs, [entry('trap', data=b'mine'), directory('trapdir'), entry('trapdir/canary', data=b'mine')])
    assert (rootfs / 'trap').read_bytes() == b'mine' and not os.path.islink(rootfs / 'trap')
    assert (rootfs / 'trapdir' / 'canary').read_bytes() == b'mine' and not os.path.islink(rootfs / 'trapdir')
    canary.check()


@pytest.mark.parametrize('name', ['.wh..', '.wh...', 'sub/.wh..', 'sub/.wh...', '.wh.'])
def test_whiteout_of_dot_or_dotdot_is_refused(tmp_path, rootfs, canary, name):
    hostile(tmp_path, rootfs, canary, [directory('sub'), entry(name)], name, 'whiteout of')
    assert (rootfs / 'sub').is_dir()


def test_whiteout_through_a_symlink_is_refused(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [symlink('link', str(canary.path)), entry('link/.wh.canary')],
            'link/.wh.canary', 'goes through the symbolic link link')


def test_whiteout_through_a_lower_symlink_is_refused(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [entry('link/.wh.canary')], 'link/.wh.canary', 'symbolic link link',
            lower_entries=[symlink('link', '../canary')])


def test_opaque_marker_through_a_symlink_is_refused(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [symlink('link', str(canary.path)), entry('link/.wh..wh..opq')],
            'link/.wh..wh..opq', 'goes through the symbolic link link')


def test_device_node_outside_is_refused(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [entry('../escaped', tarfile.BLKTYPE, mode=0o666, major=7, minor=0)],
            '../escaped', '".." component')


def test_device_node_through_a_symlink_is_refused(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [symlink('dev', str(canary.path)),
                                       entry('dev/null', tarfile.CHRTYPE, mode=0o666, major=1, minor=3)],
            'dev/null', 'goes through the symbolic link dev')


def test_fifo_and_symlink_through_a_symlink_are_refused(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [symlink('l', str(canary.path)), entry('l/fifo', tarfile.FIFOTYPE)],
            'l/fifo', 'symbolic link l')
    hostile(tmp_path, rootfs, canary, [symlink('l2', str(canary.path)), symlink('l2/escaped', '/')],
            'l2/escaped', 'symbolic link l2')


def test_xattr_through_a_symlink_cannot_happen(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [symlink('l', str(canary.path)),
                                       entry('l/canary', data=b'', xattrs={'user.pwned': b'1'})],
            'l/canary', 'symbolic link l')
    assert 'user.pwned' not in os.listxattr(canary.file)


def test_entry_under_a_file_is_refused(tmp_path, rootfs, canary):
    hostile(tmp_path, rootfs, canary, [entry('f', data=b'1'), entry('f/g', data=b'2')], 'f/g', 'f is not a directory')
