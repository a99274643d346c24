# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""rootfs.py: telling static from dynamic ELF binaries, and the offline busybox rootfs."""

from __future__ import annotations

import os
import stat
import struct

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._store import rootfs
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError

BUSYBOX = '/bin/busybox'


def read_head(path):
    with open(path, 'rb') as handle:
        return handle.read(65536)


def busybox_is_static():
    return os.path.exists(BUSYBOX) and not rootfs.elf_has_interpreter(read_head(BUSYBOX))


@pytest.mark.skipif(not os.path.exists(BUSYBOX), reason='no /bin/busybox on this host')
def test_busybox_is_static():
    # busybox-static is what the busybox image source needs (see .ci/run).
    assert rootfs.elf_has_interpreter(read_head(BUSYBOX)) is False


def test_ls_is_dynamic():
    assert rootfs.elf_has_interpreter(read_head(os.path.realpath('/bin/ls'))) is True


def synthetic_elf(is64, little, types):
    """An ELF header plus program headers of the given p_type values."""
    endian = '<' if little else '>'
    ident = b'\x7fELF' + bytes([2 if is64 else 1, 1 if little else 2, 1]) + b'\0' * 9
    if is64:
        ehsize, phentsize = 64, 56
        header = ident + struct.pack(endian + 'HHIQQQIHHHHHH', 2, 62, 1, 0, ehsize, 0, 0, ehsize, phentsize,
                                     len(types), 0, 0, 0)
        phdrs = b''.join(struct.pack(endian + 'II6Q', p_type, 0, 0, 0, 0, 0, 0, 0) for p_type in types)
    else:
        ehsize, phentsize = 52, 32
        header = ident + struct.pack(endian + 'HHIIIIIHHHHHH', 2, 3, 1, 0, ehsize, 0, 0, ehsize, phentsize,
                                     len(types), 0, 0, 0)
        phdrs = b''.join(struct.pack(endian + '8I', p_type, 0, 0, 0, 0, 0, 0, 0) for p_type in types)
    assert len(header) == ehsize
    return header + phdrs


@pytest.mark.parametrize('is64', [True, False])
@pytest.mark.parametrize('little', [True, False])
@pytest.mark.parametrize('types, expected', [([6, 3, 1], True), ([1, 1, 2, 4], False), ([], False), ([3], True)])
def test_synthetic_elf(is64, little, types, expected):
    assert rootfs.elf_has_interpreter(synthetic_elf(is64, little, types)) is expected


@pytest.mark.parametrize('data', [b'#!/bin/sh\n', b'', b'\x7fEL'])
def test_not_elf(data):
    with pytest.raises(ValueError):
        rootfs.elf_has_interpreter(data)


def test_build_rootfs_unknown_source(tmp_path):
    with pytest.raises(DockerliteError) as info:
        rootfs.build_rootfs(str(tmp_path), 'oci', {})
    assert "'oci'" in info.value.msg


def test_build_rootfs_empty(tmp_path):
    rootfs.build_rootfs(str(tmp_path), 'empty', {})
    assert not os.listdir(str(tmp_path))


def test_busybox_refuses_a_dynamic_binary(tmp_path):
    with pytest.raises(DockerliteError) as info:
        rootfs.build_busybox(str(tmp_path), busybox=os.path.realpath('/bin/ls'))
    assert 'dynamically linked' in info.value.msg
    assert not os.listdir(str(tmp_path))


def test_busybox_refuses_a_missing_binary(tmp_path):
    with pytest.raises(DockerliteError) as info:
        rootfs.build_busybox(str(tmp_path), busybox=str(tmp_path / 'nope'))
    assert str(tmp_path / 'nope') in info.value.msg


@pytest.mark.skipif(not busybox_is_static(), reason='no static /bin/busybox on this host')
def test_build_busybox(tmp_path):
    root = str(tmp_path)
    rootfs.build_busybox(root)
    assert os.path.isfile(os.path.join(root, 'bin/busybox'))
    assert not os.path.islink(os.path.join(root, 'bin/busybox'))
    assert os.readlink(os.path.join(root, 'bin/sh')) == '/bin/busybox'
    assert os.readlink(os.path.join(root, 'sbin/init')) == '/bin/busybox'
    assert stat.S_IMODE(os.stat(os.path.join(root, 'tmp')).st_mode) == 0o1777
    for path in ('proc', 'sys', 'dev'):
        assert os.path.isdir(os.path.join(root, path))
    with open(os.path.join(root, 'etc/passwd')) as handle:
        assert handle.read().startswith('root:x:0:0:')
    assert os.path.isfile(os.path.join(root, 'etc/group'))
    assert os.access(os.path.join(root, 'etc/init.d/rcS'), os.X_OK)
