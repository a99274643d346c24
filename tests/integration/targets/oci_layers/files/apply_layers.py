# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Apply crafted layers onto real btrfs subvolumes the way the layer store will, and check the result.

    apply_layers.py <directory on btrfs> <canary directory>

Layers are made here with tarfile. Each is applied onto a writable snapshot of its parent
(a new subvolume for the bottom one) staged under ``tmp/``, made read-only and renamed to
``layers/<chain id hex>``. Checks: each layer's tree, that a lower layer is untouched by the
ones above it, that an upper layer shares the lower one's extents, and that a hostile layer
aimed at the canary directory is refused with nothing left behind. Prints a JSON summary;
exits 1 when a check fails. Needs the collection on PYTHONPATH.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import secrets
import stat
import subprocess
import sys
import tarfile

import btrfsutil

from ansible_collections.dockerlite.core.plugins.module_utils._store.layers import (
    LayerError, apply_layer, chain_id)

MTIME = 1700000000
CAPABILITY = bytes.fromhex('0100000200040000000000000000000000000000')
FAILURES = []


def check(condition, what):
    if not condition:
        FAILURES.append(what)


def entry(name, kind=tarfile.REGTYPE, data=b'', mode=0o644, uid=0, gid=0, linkname='', xattrs=None,
          major=0, minor=0):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.mtime = kind, mode, uid, gid, MTIME
    info.linkname, info.devmajor, info.devminor = linkname, major, minor
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.pax_headers = {'SCHILY.xattr.' + key: value.decode('utf-8', 'surrogateescape')
                        for key, value in (xattrs or {}).items()}
    return info, data


def blob(workdir, entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    data = gzip.compress(buf.getvalue())
    digest = 'sha256:' + hashlib.sha256(data).hexdigest()
    path = os.path.join(workdir, digest[7:])
    with open(path, 'wb') as handle:
        handle.write(data)
    return path, digest, 'sha256:' + hashlib.sha256(buf.getvalue()).hexdigest()


def add_layer(store, parent_chain, entries):
    """Stage, apply, freeze and rename one layer; return its chain id, or the LayerError."""
    path, digest, diff_id = blob(os.path.join(store, 'blobs'), entries)
    # A plain directory holds the subvolume: a read-only subvolume cannot move to another directory
    # itself (its '..' would change: EROFS), but the directory around it can.
    staging = os.path.join(store, 'tmp', secrets.token_hex(8))
    os.mkdir(staging, 0o700)
    rootfs = os.path.join(staging, 'rootfs')
    if parent_chain is None:
        btrfsutil.create_subvolume(rootfs)
    else:
        btrfsutil.create_snapshot(layer_root(store, parent_chain), rootfs)
    try:
        apply_layer(path, rootfs, digest, diff_id=diff_id, media_type='application/vnd.oci.image.layer.v1.tar+gzip')
    except LayerError as exc:
        btrfsutil.delete_subvolume(rootfs)
        os.rmdir(staging)
        return exc
    chain = chain_id(parent_chain, diff_id)
    with open(os.path.join(staging, 'layer.json'), 'w', encoding='utf-8') as handle:
        json.dump({'chain_id': chain, 'diff_id': diff_id, 'digest': digest, 'parent': parent_chain}, handle)
    btrfsutil.set_subvolume_read_only(rootfs, True)
    os.rename(staging, os.path.join(store, 'layers', chain[7:]))
    return chain


def layer_root(store, chain):
    return os.path.join(store, 'layers', chain[7:], 'rootfs')


def tree(root):
    """Every path below ``root`` with its type, mode, owner, size, content hash, link target and xattrs."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            item = [stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid]
            if stat.S_ISREG(st.st_mode):
                with open(full, 'rb') as handle:
                    item.append(hashlib.sha256(handle.read()).hexdigest())
            elif stat.S_ISLNK(st.st_mode):
                item.append(os.readlink(full))
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                item.append(st.st_rdev)
            if not stat.S_ISLNK(st.st_mode):
                item.append(sorted((key, os.getxattr(full, key).hex()) for key in os.listxattr(full)))
            result[os.path.relpath(full, root)] = item
    return result


def exclusive_bytes(path):
    """What btrfs counts as the subvolume's own data (not shared with another one)."""
    subprocess.run(['btrfs', 'filesystem', 'sync', path], check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run(['btrfs', 'filesystem', 'du', '-s', '--raw', path], check=True, stdout=subprocess.PIPE,
                         env=dict(os.environ, LC_ALL='C'), universal_newlines=True).stdout
    return int(out.splitlines()[1].split()[1])


def main():
    store, canary_dir = sys.argv[1], sys.argv[2]
    for name in ('tmp', 'layers', 'blobs'):
        os.makedirs(os.path.join(store, name))
    canary = os.path.join(canary_dir, 'canary')
    canary_before = tree(canary_dir)

    big = os.urandom(8 * 1024 * 1024)
    base = add_layer(store, None, [
        entry('bin', tarfile.DIRTYPE, mode=0o755),
        entry('bin/busybox', data=big, mode=0o755),
        entry('bin/sh', tarfile.SYMTYPE, linkname='busybox', mode=0o777),
        entry('bin/su', data=b'su', mode=0o4755, uid=0, gid=0),
        entry('bin/ping', data=b'ping', mode=0o755, xattrs={'security.capability': CAPABILITY}),
        entry('bin/bb', tarfile.LNKTYPE, linkname='bin/busybox'),
        entry('dev/null', tarfile.CHRTYPE, mode=0o666, major=1, minor=3),
        entry('run/fifo', tarfile.FIFOTYPE, mode=0o600),
        entry('etc/gone', data=b'1'), entry('etc/kept', data=b'2', uid=1000, gid=1000),
        entry('opt/d/old', data=b'old'), entry('opt/d/sub/older', data=b'older'),
        entry('home/link-out', tarfile.SYMTYPE, linkname=canary_dir, mode=0o777),
    ])
    check(isinstance(base, str), 'base layer: %s' % base)
    base_tree = tree(layer_root(store, base))

    top = add_layer(store, base, [
        entry('etc/.wh.gone'),
        entry('opt/d', tarfile.DIRTYPE, mode=0o750), entry('opt/d/.wh..wh..opq'),
        entry('opt/d/new', data=b'new'),
        entry('bin/su', data=b'su2', mode=0o755),
        entry('home/link-out', data=b'a file now'),
    ])
    check(isinstance(top, str), 'top layer: %s' % top)
    top_root = layer_root(store, top)
    top_tree = tree(top_root)
    check(tree(layer_root(store, base)) == base_tree, 'the base layer changed under the top one')
    expected = dict(base_tree)
    for key in ('etc/gone', 'opt/d/old', 'opt/d/sub', 'opt/d/sub/older', 'bin/su', 'home/link-out'):
        expected.pop(key)
    expected['opt/d'] = top_tree.get('opt/d')
    for key in ('opt/d/new', 'bin/su', 'home/link-out'):
        expected[key] = top_tree.get(key)
    check(top_tree == expected, 'top layer tree differs at %s' % sorted(
        key for key in set(top_tree) | set(expected) if top_tree.get(key) != expected.get(key)))
    check(top_tree['opt/d'][1] == 0o750 and top_tree['bin/su'][1] == 0o755, 'top layer modes')
    check(dict(top_tree['bin/ping'][-1]).get('security.capability') == CAPABILITY.hex(), 'file capability kept')
    check(os.lstat(os.path.join(top_root, 'bin/bb')).st_ino == os.lstat(os.path.join(top_root, 'bin/busybox')).st_ino,
          'hard link kept in the snapshot')
    check(btrfsutil.get_subvolume_read_only(top_root), 'the top layer is read-only')
    top_exclusive = exclusive_bytes(top_root)
    check(top_exclusive < 1024 * 1024, 'the top layer shares the base extents (exclusive %d bytes)' % top_exclusive)

    hostile = add_layer(store, top, [
        entry('ok', data=b'fine'),
        entry('escape', tarfile.SYMTYPE, linkname=canary_dir, mode=0o777),
        entry('escape/canary', data=b'pwned'),
    ])
    check(isinstance(hostile, LayerError) and hostile.entry == 'escape/canary', 'hostile layer refused: %r' % hostile)
    hostile_lower = add_layer(store, base, [entry('home/link-out/canary', data=b'pwned')])
    check(isinstance(hostile_lower, LayerError) and 'home/link-out' in hostile_lower.msg,
          'write through a lower layer symlink refused: %r' % hostile_lower)

    image = os.path.join(store, 'image-rootfs')
    btrfsutil.create_snapshot(top_root, image)
    check(tree(image) == top_tree, 'an image snapshot of the top layer has its tree')
    btrfsutil.delete_subvolume(image)

    check(tree(canary_dir) == canary_before, 'the canary directory changed')
    with open(canary, 'rb') as handle:
        check(handle.read() == b'canary\n', 'the canary content changed')
    check(os.listdir(os.path.join(store, 'tmp')) == [], 'debris in tmp: %s' % os.listdir(os.path.join(store, 'tmp')))
    check(sorted(os.listdir(os.path.join(store, 'layers'))) == sorted([base[7:], top[7:]]), 'layers listed')
    for chain in (top, base):
        btrfsutil.delete_subvolume(layer_root(store, chain))
    print(json.dumps({'layers': 2, 'hostile_refused': [str(hostile), str(hostile_lower)],
                      'top_exclusive_bytes': top_exclusive, 'failures': FAILURES}))
    return 1 if FAILURES else 0


if __name__ == '__main__':
    sys.exit(main())
