# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Test images made offline with umoci from rootfs trees, in one OCI layout.

    make_images.py <work directory> <canary directory>

Tags in <work>/layout:
  base   one layer: the host's static busybox, a file the next layer deletes, a directory the
         layer after replaces, a hard link, a symbolic link, a setuid file, a file with xattrs
         (user.* and a file capability) and a file owned by 1000:1000
  app    base + a layer that deletes a file (whiteout) and adds some + a layer made by hand
         with an opaque directory (.wh..wh..opq); its config: entrypoint, cmd, env, workdir,
         user, labels, exposed port, stop signal
  other  base + one layer of its own (shares base's layer with app)
  hostile-dotdot, hostile-symlink
         base + a layer aimed at the canary directory: an entry ../../../canary/planted (from a
         layer staged in <store>/tmp/<x>/rootfs, with the store in the canary's parent), and a
         symbolic link to the canary directory followed by an entry through it
Also <work>/app-docker.tar (docker-archive) and <work>/app-oci.tar (oci-archive) of app, and
umoci's own unpacking of each tag in <work>/unpacked-<tag>/rootfs, the trees to compare with.
Prints a JSON summary.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

CAPABILITY = bytes.fromhex('0100000200200000000000000000000000000000')  # cap_net_bind_service, permitted


def run(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(text)
    os.chmod(path, mode)


def base_tree(rootfs):
    for directory in ('bin', 'etc', 'proc', 'sys', 'dev', 'srv', 'opt/data', 'usr/local/bin'):
        os.makedirs(os.path.join(rootfs, directory), exist_ok=True)
    os.makedirs(os.path.join(rootfs, 'tmp'), exist_ok=True)
    os.chmod(os.path.join(rootfs, 'tmp'), 0o1777)
    shutil.copy2('/bin/busybox', os.path.join(rootfs, 'bin', 'busybox'))
    for applet in ('sh', 'cat', 'echo', 'ls', 'id', 'pwd', 'sleep'):
        os.symlink('busybox', os.path.join(rootfs, 'bin', applet))
    write(os.path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n')
    write(os.path.join(rootfs, 'etc', 'group'), 'root:x:0:\napp:x:1000:\n')
    write(os.path.join(rootfs, 'etc', 'doomed'), 'deleted by the next layer\n')
    write(os.path.join(rootfs, 'etc', 'motd'), 'base\n')
    write(os.path.join(rootfs, 'opt', 'data', 'a'), 'a\n')
    write(os.path.join(rootfs, 'opt', 'data', 'b'), 'b\n')
    write(os.path.join(rootfs, 'srv', 'hard1'), 'one inode, two names\n')
    os.link(os.path.join(rootfs, 'srv', 'hard1'), os.path.join(rootfs, 'srv', 'hard2'))
    os.symlink('hard1', os.path.join(rootfs, 'srv', 'link'))
    os.symlink('/etc/motd', os.path.join(rootfs, 'srv', 'abs-link'))
    write(os.path.join(rootfs, 'usr', 'local', 'bin', 'suid-tool'), '#!/bin/sh\nid\n', 0o4755)
    xattr_file = os.path.join(rootfs, 'srv', 'xattr-file')
    write(xattr_file, 'with xattrs\n', 0o755)
    os.setxattr(xattr_file, 'user.dockerlite', b'hello')
    os.setxattr(xattr_file, 'security.capability', CAPABILITY)
    write(os.path.join(rootfs, 'srv', 'owned'), 'owned by 1000\n', 0o640)
    os.chown(os.path.join(rootfs, 'srv', 'owned'), 1000, 1000)


def opaque_layer(path):
    """A layer umoci would not write itself: opt/data made opaque, so base's a and b are hidden."""
    with tarfile.open(path, 'w', format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in (('opt/data/', None, 0o755), ('opt/data/.wh..wh..opq', b'', 0o644),
                                 ('opt/data/c', b'c, after the opaque marker\n', 0o644)):
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            info.mode = mode
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def hostile_layer(path, canary):
    """A layer whose second entry would write into ``canary`` (the test's own canary directory)."""
    with tarfile.open(path, 'w', format=tarfile.PAX_FORMAT) as tar:
        if path.endswith('dotdot.tar'):
            names = [('srv/harmless', None), ('../../../canary/planted', None)]
        else:
            names = [('srv/evil', canary), ('srv/evil/planted', None)]
        for name, target in names:
            info = tarfile.TarInfo(name)
            if target:
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
            else:
                data = b'planted by a hostile layer\n'
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def main():
    work, canary = sys.argv[1], sys.argv[2]
    layout = os.path.join(work, 'layout')

    def image(tag):
        return '%s:%s' % (layout, tag)

    run('umoci', 'init', '--layout', layout)
    run('umoci', 'new', '--image', image('base'))
    bundle = os.path.join(work, 'bundle-base')
    run('umoci', 'unpack', '--image', image('base'), bundle)
    base_tree(os.path.join(bundle, 'rootfs'))
    run('umoci', 'repack', '--image', image('base'), bundle)

    bundle = os.path.join(work, 'bundle-app')
    run('umoci', 'unpack', '--image', image('base'), bundle)
    rootfs = os.path.join(bundle, 'rootfs')
    os.unlink(os.path.join(rootfs, 'etc', 'doomed'))
    write(os.path.join(rootfs, 'etc', 'motd'), 'app\n')
    write(os.path.join(rootfs, 'srv', 'app.txt'), 'hello from app\n')
    run('umoci', 'repack', '--image', image('app'), bundle)
    layer = os.path.join(work, 'opaque-layer.tar')
    opaque_layer(layer)
    run('umoci', 'raw', 'add-layer', '--image', image('app'), layer)
    run('umoci', 'config', '--image', image('app'), '--config.entrypoint', '/bin/sh', '--config.entrypoint', '-c',
        '--config.cmd', 'cat /srv/app.txt; echo mode=$MODE', '--config.env', 'MODE=prod',
        '--config.env', 'PATH=/bin:/usr/local/bin', '--config.workingdir', '/srv', '--config.user', '0:0',
        '--config.label', 'org.example.app=app', '--config.exposedports', '8080/tcp',
        '--config.stopsignal', 'SIGQUIT')

    bundle = os.path.join(work, 'bundle-other')
    run('umoci', 'unpack', '--image', image('base'), bundle)
    write(os.path.join(bundle, 'rootfs', 'srv', 'other.txt'), 'hello from other\n')
    run('umoci', 'repack', '--image', image('other'), bundle)
    run('umoci', 'config', '--image', image('other'), '--config.cmd', '/bin/cat', '--config.cmd', '/srv/other.txt')

    for kind in ('dotdot', 'symlink'):
        layer = os.path.join(work, 'hostile-%s.tar' % kind)
        hostile_layer(layer, canary)
        run('umoci', 'tag', '--image', image('base'), 'hostile-' + kind)
        run('umoci', 'raw', 'add-layer', '--image', image('hostile-' + kind), layer)

    summary = {'layout': layout, 'tags': {}}
    for tag in ('base', 'app', 'other'):
        unpacked = os.path.join(work, 'unpacked-' + tag)
        run('umoci', 'unpack', '--image', image(tag), unpacked)
        with open(os.path.join(layout, 'index.json'), encoding='utf-8') as handle:
            index = json.load(handle)
        digest = [m['digest'] for m in index['manifests']
                  if m.get('annotations', {}).get('org.opencontainers.image.ref.name') == tag][0]
        with open(os.path.join(layout, 'blobs', 'sha256', digest[7:]), encoding='utf-8') as handle:
            manifest = json.load(handle)
        summary['tags'][tag] = {'manifest_digest': digest, 'rootfs': os.path.join(unpacked, 'rootfs'),
                                'layers': [layer['size'] for layer in manifest['layers']]}
    docker_archive = os.path.join(work, 'app-docker.tar')
    oci_archive = os.path.join(work, 'app-oci.tar')
    run('skopeo', 'copy', '--quiet', 'oci:' + image('app'), 'docker-archive:%s:test/app:v1' % docker_archive)
    run('skopeo', 'copy', '--quiet', 'oci:' + image('app'), 'oci-archive:%s:app' % oci_archive)
    summary.update(docker_archive=docker_archive, oci_archive=oci_archive)
    print(json.dumps(summary))


if __name__ == '__main__':
    main()
