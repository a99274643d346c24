# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""A registry on 127.0.0.1 holding two images that share their base layer, for the prune test.

    registry.py DIR

Writes one OCI layout with two images, prune/app1:1 and prune/app2:1: the same base layer
(2 MiB of random bytes) and one layer of their own each (1 MiB), gzip-compressed. Starts
Debian's docker-registry on a free loopback port with its storage in DIR (plain HTTP), pushes
both with skopeo, and prints {"pid", "port", "log"}. The test stops the registry by pid.
"""

import gzip
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import time

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


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def start_registry(directory):
    port = free_port()
    storage = os.path.join(directory, 'storage')
    os.makedirs(storage)
    config = os.path.join(directory, 'registry.yml')
    with open(config, 'w', encoding='ascii') as handle:
        handle.write('version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n'
                     'http:\n  addr: 127.0.0.1:%d\n' % (storage, port))
    log = os.path.join(directory, 'registry.log')
    with open(log, 'wb') as handle:
        proc = subprocess.Popen(['docker-registry', 'serve', config], stdout=handle, stderr=handle,  # pylint: disable=consider-using-with
                                stdin=subprocess.DEVNULL, start_new_session=True)
    for _attempt in range(100):
        try:
            socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
            return proc, port, log
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit('docker-registry did not listen on 127.0.0.1:%d; see %s' % (port, log))


def main(directory):
    layout = os.path.join(directory, 'layout')
    write_layout(layout)
    proc, port, log = start_registry(directory)
    try:
        for app in ('app1', 'app2'):
            subprocess.run(['skopeo', 'copy', '--quiet', '--dest-tls-verify=false', 'oci:%s:%s' % (layout, app),
                            'docker://127.0.0.1:%d/prune/%s:1' % (port, app)], check=True, stdin=subprocess.DEVNULL)
    except BaseException:
        proc.kill()
        raise
    print(json.dumps({'pid': proc.pid, 'port': port, 'log': log}))


if __name__ == '__main__':
    main(sys.argv[1])
