# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Write a rootfs tarball with what a host user must never reach through the store.

    /usr/bin/python3 make_tarball.py OUTPUT BUSYBOX MAJOR MINOR

A static busybox with its applet links, a setuid-root copy of it at
/usr/local/bin/busybox, and a block device node /dev/store-blk (mode 0666) for
MAJOR:MINOR, which the test points at its own loop device. The node exists only
inside the tarball and, once imported, in the store: never on the host elsewhere.
"""

import io
import sys
import tarfile

APPLETS = ('sh', 'sleep', 'cp', 'chmod', 'ls', 'cat', 'true', 'stat', 'head', 'id')
DIRS = (('bin', 0o755), ('dev', 0o755), ('etc', 0o755), ('proc', 0o555), ('sys', 0o555), ('tmp', 0o1777),
        ('root', 0o700), ('usr', 0o755), ('usr/local', 0o755), ('usr/local/bin', 0o755))


def entry(name, kind, mode, **fields):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid = info.gid = 0
    info.uname = info.gname = 'root'
    for key, value in fields.items():
        setattr(info, key, value)
    return info


def main(output, busybox, major, minor):
    with open(busybox, 'rb') as handle:
        binary = handle.read()
    with tarfile.open(output, 'w', format=tarfile.GNU_FORMAT) as tar:
        for name, mode in DIRS:
            tar.addfile(entry(name, tarfile.DIRTYPE, mode))
        for name, mode in (('bin/busybox', 0o755), ('usr/local/bin/busybox', 0o4755)):
            tar.addfile(entry(name, tarfile.REGTYPE, mode, size=len(binary)), io.BytesIO(binary))
        for applet in APPLETS:
            tar.addfile(entry('bin/' + applet, tarfile.SYMTYPE, 0o777, linkname='busybox'))
        for name, text in (('etc/passwd', b'root:x:0:0:root:/root:/bin/sh\n'), ('etc/group', b'root:x:0:\n')):
            tar.addfile(entry(name, tarfile.REGTYPE, 0o644, size=len(text)), io.BytesIO(text))
        tar.addfile(entry('dev/store-blk', tarfile.BLKTYPE, 0o666, devmajor=int(major), devminor=int(minor)))


if __name__ == '__main__':
    main(*sys.argv[1:])
