# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The skopeo client against real registries (Debian's docker-registry) on 127.0.0.1.

    REGISTRY_PASSWORD=... registry_client.py <temporary directory> <plain port> <TLS port> <CA certificate>

The test starts the two registries (setup_peers/files/registry.py): one over plain HTTP, one
over TLS with a certificate its CA signed and htpasswd authentication of alice with
REGISTRY_PASSWORD. This pushes a two-platform image written here as an OCI layout (with
skopeo), then checks what the client reads, copies and which error class each failure gets.
Prints a JSON summary; exits 1 when a check fails. Needs the collection on PYTHONPATH.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

from ansible_collections.dockerlite.core.plugins.module_utils._clients.skopeo import (
    ImageNotFoundError, Platform, RegistryAccess, RegistryAuthError, RegistryTLSError, SkopeoClient)

FAILURES = []


def check(condition, what):
    if not condition:
        FAILURES.append(what)


def blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, 'blobs', 'sha256', digest), 'wb') as handle:
        handle.write(data)
    return {'digest': 'sha256:' + digest, 'size': len(data)}


def write_layout(layout):
    """A two-platform OCI image index tagged v1; returns the digests of the index and of each manifest."""
    os.makedirs(os.path.join(layout, 'blobs', 'sha256'))
    with open(os.path.join(layout, 'oci-layout'), 'w', encoding='ascii') as handle:
        handle.write('{"imageLayoutVersion": "1.0.0"}')
    manifests = []
    for arch in ('amd64', 'arm64'):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as tar:
            data = ('hello from %s\n' % arch).encode()
            info = tarfile.TarInfo('hello')
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        diff_id = 'sha256:' + hashlib.sha256(buf.getvalue()).hexdigest()
        config = json.dumps({'architecture': arch, 'os': 'linux', 'config': {'Cmd': ['/hello']},
                             'rootfs': {'type': 'layers', 'diff_ids': [diff_id]}}).encode()
        manifest = json.dumps({
            'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
            'config': dict(blob(layout, config), mediaType='application/vnd.oci.image.config.v1+json'),
            'layers': [dict(blob(layout, gzip.compress(buf.getvalue(), mtime=0)),
                            mediaType='application/vnd.oci.image.layer.v1.tar+gzip')]}).encode()
        manifests.append(dict(blob(layout, manifest), mediaType='application/vnd.oci.image.manifest.v1+json',
                              platform={'os': 'linux', 'architecture': arch}))
    index = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json',
                        'manifests': manifests}).encode()
    top = dict(blob(layout, index), mediaType='application/vnd.oci.image.index.v1+json',
               annotations={'org.opencontainers.image.ref.name': 'v1'})
    with open(os.path.join(layout, 'index.json'), 'w', encoding='ascii') as handle:
        json.dump({'schemaVersion': 2, 'manifests': [top]}, handle)
    return top['digest'], {m['platform']['architecture']: m['digest'] for m in manifests}


def main():
    tmp, plain_port, secure_port, ca_crt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    password = os.environ['REGISTRY_PASSWORD']
    layout = os.path.join(tmp, 'layout')
    index_digest, manifest_digests = write_layout(layout)
    store_tmp = os.path.join(tmp, 'store-tmp')
    os.makedirs(store_tmp)
    client = SkopeoClient(store_tmp)
    summary = {}
    ref = 'docker://127.0.0.1:%d/test/app:v1' % plain_port
    subprocess.run(['skopeo', 'copy', '--all', '--preserve-digests', '--dest-tls-verify=false',
                    'oci:%s:v1' % layout, ref], check=True, stdout=subprocess.DEVNULL)
    insecure = RegistryAccess(tls_verify=False)
    manifest = client.inspect_raw(ref, insecure)
    check(manifest.digest == index_digest, 'inspect_raw: digest %s, pushed %s' % (manifest.digest, index_digest))
    config = json.loads(client.inspect_config(ref, insecure, Platform.parse('linux/arm64')))
    check(config.get('architecture') == 'arm64', 'inspect_config chose %s' % config.get('architecture'))
    blobs = os.path.join(tmp, 'blobs')
    digest = client.copy_to_layout(ref, os.path.join(tmp, 'copy1'), 'image', insecure,
                                   Platform.parse('linux/arm64'), shared_blob_dir=blobs)
    check(digest == manifest_digests['arm64'], 'copy_to_layout: %s' % digest)
    check(len(os.listdir(os.path.join(blobs, 'sha256'))) == 3, 'blobs of one platform (manifest, config, layer)')
    with open(os.path.join(blobs, 'sha256', digest[7:]), 'rb') as handle:
        layer_blob = os.path.join(blobs, 'sha256', json.load(handle)['layers'][0]['digest'][7:])
    inode = os.stat(layer_blob).st_ino
    # skopeo always writes the (small) config again; a layer the shared directory holds is not fetched.
    client.copy_to_layout(ref, os.path.join(tmp, 'copy2'), 'image', insecure, Platform.parse('linux/arm64'),
                          shared_blob_dir=blobs)
    check(os.stat(layer_blob).st_ino == inode, 'the layer blob was fetched again')
    for what, call, kind in (
            ('plain HTTP with tls_verify', lambda: client.inspect_raw(ref), RegistryTLSError),
            ('missing tag', lambda: client.inspect_raw(ref[:-2] + 'v9', insecure), ImageNotFoundError)):
        try:
            call()
            check(False, '%s: no error' % what)
        except kind as exc:
            summary[what] = exc.msg
        except Exception as exc:  # pylint: disable=broad-except
            check(False, '%s: %s %s' % (what, type(exc).__name__, exc))

    secure_ref = 'docker://127.0.0.1:%d/test/app:v1' % secure_port
    cert_dir = os.path.join(tmp, 'push-certs')
    os.makedirs(cert_dir)
    subprocess.run(['cp', ca_crt, os.path.join(cert_dir, 'ca.crt')], check=True)
    auth_file = os.path.join(tmp, 'push-auth.json')
    with open(auth_file, 'w', encoding='ascii') as handle:
        token = base64.b64encode(('alice:' + password).encode()).decode()
        json.dump({'auths': {'127.0.0.1:%d' % secure_port: {'auth': token}}}, handle)
    subprocess.run(['skopeo', 'copy', '--all', '--preserve-digests', '--dest-cert-dir', cert_dir,
                    '--dest-authfile', auth_file, 'oci:%s:v1' % layout, secure_ref], check=True,
                   stdout=subprocess.DEVNULL)
    good = RegistryAccess(ca_file=ca_crt, username='alice', password=password)
    check(client.inspect_raw(secure_ref, good).digest == index_digest, 'inspect over TLS with credentials')
    digest = client.copy_to_layout(secure_ref, os.path.join(tmp, 'copy3'), 'image', good,
                                   Platform.parse('linux/amd64'))
    check(digest == manifest_digests['amd64'], 'copy over TLS: %s' % digest)
    for what, access, kind in (
            ('unknown CA', RegistryAccess(username='alice', password=password), RegistryTLSError),
            ('no credentials', RegistryAccess(ca_file=ca_crt), RegistryAuthError),
            ('wrong password', RegistryAccess(ca_file=ca_crt, username='alice', password='wrong'),
             RegistryAuthError)):
        try:
            client.inspect_raw(secure_ref, access)
            check(False, '%s: no error' % what)
        except kind as exc:
            summary[what] = exc.msg
        except Exception as exc:  # pylint: disable=broad-except
            check(False, '%s: %s %s' % (what, type(exc).__name__, exc))
    check(os.listdir(store_tmp) == [], 'debris in the store tmp: %s' % os.listdir(store_tmp))
    print(json.dumps({'errors': summary, 'failures': FAILURES}))
    return 1 if FAILURES else 0


if __name__ == '__main__':
    sys.exit(main())
