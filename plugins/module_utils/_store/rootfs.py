# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Fill an empty, writable subvolume with a root filesystem from one of the image sources."""

from __future__ import annotations

import os
import shutil
import struct

from ansible_collections.dockerlite.core.plugins.module_utils._common.command import run
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError

BUSYBOX = '/bin/busybox'
PT_INTERP = 3

# Laid out like LXC's busybox template: the directories, then a few files.
BUSYBOX_DIRS = (
    ('bin', 0o755), ('sbin', 0o755), ('usr', 0o755), ('usr/bin', 0o755), ('usr/sbin', 0o755),
    ('etc', 0o755), ('etc/init.d', 0o755), ('dev', 0o755), ('proc', 0o555), ('sys', 0o555),
    ('tmp', 0o1777), ('root', 0o700), ('home', 0o755), ('mnt', 0o755), ('var', 0o755),
    ('var/run', 0o755), ('var/log', 0o755), ('lib', 0o755),
)
BUSYBOX_FILES = (
    ('etc/passwd', 0o644, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n'),
    ('etc/group', 0o644, 'root:x:0:root\nnogroup:x:65534:\n'),
    ('etc/hosts', 0o644, '127.0.0.1\tlocalhost\n::1\tlocalhost\n'),
    # The mount targets of the hosts and hostname files containers get bind-mounted:
    # present in the image, so starting a container adds nothing to its rootfs.
    ('etc/hostname', 0o644, 'localhost\n'),
    ('etc/inittab', 0o644, '::sysinit:/etc/init.d/rcS\n'),
    ('etc/init.d/rcS', 0o755, '#!/bin/sh\n# dockerlite busybox image: nothing to start by default.\n'),
)


def elf_has_interpreter(data):
    """True when ELF bytes name a program interpreter, i.e. the binary is dynamically linked."""
    if data[:4] != b'\x7fELF':
        raise ValueError('not an ELF file')
    is64 = data[4] == 2
    endian = '<' if data[5] == 1 else '>'
    if is64:
        phoff, = struct.unpack_from(endian + 'Q', data, 0x20)
        phentsize, phnum = struct.unpack_from(endian + 'HH', data, 0x36)
    else:
        phoff, = struct.unpack_from(endian + 'I', data, 0x1C)
        phentsize, phnum = struct.unpack_from(endian + 'HH', data, 0x2A)
    for index in range(phnum):
        p_type, = struct.unpack_from(endian + 'I', data, phoff + index * phentsize)
        if p_type == PT_INTERP:
            return True
    return False


def build_busybox(rootfs, busybox=BUSYBOX):
    """A minimal offline rootfs from the host's static busybox and its applet links."""
    try:
        with open(busybox, 'rb') as handle:
            header = handle.read(65536)
        dynamic = elf_has_interpreter(header)
    except (OSError, ValueError, struct.error) as exc:
        raise DockerliteError('source busybox needs a static busybox at %s (Debian: busybox-static): %s'
                              % (busybox, exc))
    if dynamic:
        raise DockerliteError('source busybox needs a static busybox, but %s is dynamically linked '
                              '(install busybox-static)' % busybox)
    applets = run([busybox, '--list-full'], 'listing busybox applets').split()
    for path, mode in BUSYBOX_DIRS:
        os.makedirs(os.path.join(rootfs, path), exist_ok=True)
        os.chmod(os.path.join(rootfs, path), mode)
    shutil.copy2(busybox, os.path.join(rootfs, 'bin/busybox'))
    for applet in applets:
        target = os.path.join(rootfs, applet)
        if applet != 'bin/busybox' and not os.path.lexists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.symlink('/bin/busybox', target)
    for path, mode, text in BUSYBOX_FILES:
        with open(os.path.join(rootfs, path), 'w') as handle:
            handle.write(text)
        os.chmod(os.path.join(rootfs, path), mode)


def build_debootstrap(rootfs, suite, mirror, variant, timeout=3600):
    cmd = ['debootstrap', '--variant=%s' % variant, suite, rootfs]
    if mirror:
        cmd.append(mirror)
    run(cmd, 'debootstrap of %s' % suite, timeout=timeout)


def build_archive(rootfs, path):
    """Unpack a rootfs tarball; GNU tar recognises the compression by itself."""
    if not os.path.isfile(path):
        raise DockerliteError('archive %s does not exist or is not a file' % path)
    run(['tar', '--extract', '--file', path, '--directory', rootfs, '--numeric-owner',
         '--same-permissions', '--xattrs', '--xattrs-include=*'], 'unpacking %s' % path)


def build_directory(rootfs, path):
    """Copy an existing rootfs tree; reflinks share extents when it is on the same btrfs."""
    if not os.path.isdir(path):
        raise DockerliteError('directory %s does not exist or is not a directory' % path)
    run(['cp', '-a', '--reflink=auto', '--', os.path.join(path, '.'), rootfs + '/'], 'copying %s' % path)


def build_rootfs(rootfs, source, params):
    """Dispatch on the image ``source``; ``empty`` leaves the subvolume empty."""
    if source == 'busybox':
        build_busybox(rootfs)
    elif source == 'debootstrap':
        build_debootstrap(rootfs, params['suite'], params.get('mirror'), params['variant'])
    elif source == 'archive':
        build_archive(rootfs, params['path'])
    elif source == 'directory':
        build_directory(rootfs, params['path'])
    elif source != 'empty':
        raise DockerliteError('unknown image source %r' % source)
