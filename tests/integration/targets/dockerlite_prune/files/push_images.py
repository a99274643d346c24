# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Two images that share their base layer, pushed to a registry for the prune test.

    push_images.py DIR ADDRESS

Writes one OCI layout, DIR, with two images, app1 and app2: the same base layer (2 MiB of
random bytes) and one layer of their own each (1 MiB), gzip-compressed; pushes them with
skopeo to the plain-HTTP registry at ADDRESS (HOST:PORT) as prune/app1:1 and prune/app2:1.
Prints {"images": [references]}.
"""

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

MIB = 1024 * 1024


def blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, 'blobs', 'sha256', digest), 'wb') as handle:
        handle.write(data)
    return {'digest': 'sha256:' + digest, 'size': len(data)}


def layer(name, size):
    """(gzip blob, diff id) of a layer holding one file ``name`` of ``size`` random bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(os.urandom(size)))
    return gzip.compress(buf.getvalue(), mtime=0), 'sha256:' + hashlib.sha256(buf.getvalue()).hexdigest()


def write_layout(layout):
    os.makedirs(os.path.join(layout, 'blobs', 'sha256'))
    with open(os.path.join(layout, 'oci-layout'), 'w', encoding='ascii') as handle:
        handle.write('{"imageLayoutVersion": "1.0.0"}')
    base = layer('base.bin', 2 * MIB)
    manifests = []
    for app in ('app1', 'app2'):
        own = layer(app + '.bin', MIB)
        config = json.dumps({'architecture': 'amd64', 'os': 'linux', 'config': {'Cmd': ['/bin/true']},
                             'rootfs': {'type': 'layers', 'diff_ids': [base[1], own[1]]}}).encode()
        manifest = json.dumps({
            'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
            'config': dict(blob(layout, config), mediaType='application/vnd.oci.image.config.v1+json'),
            'layers': [dict(blob(layout, data), mediaType='application/vnd.oci.image.layer.v1.tar+gzip')
                       for data, _diff_id in (base, own)]}).encode()
        manifests.append(dict(blob(layout, manifest), mediaType='application/vnd.oci.image.manifest.v1+json',
                              annotations={'org.opencontainers.image.ref.name': app}))
    with open(os.path.join(layout, 'index.json'), 'w', encoding='ascii') as handle:
        json.dump({'schemaVersion': 2, 'manifests': manifests}, handle)


def main(layout, address):
    write_layout(layout)
    refs = ['docker://%s/prune/%s:1' % (address, app) for app in ('app1', 'app2')]
    for app, ref in zip(('app1', 'app2'), refs):
        subprocess.run(['skopeo', 'copy', '--quiet', '--dest-tls-verify=false', 'oci:%s:%s' % (layout, app), ref],
                       check=True, stdin=subprocess.DEVNULL)
    print(json.dumps({'images': refs}))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
