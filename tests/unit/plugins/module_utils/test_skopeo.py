# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Tests for _clients/skopeo.py: argv and credentials (with subprocess faked), then the real skopeo on
OCI layouts the test writes (no network)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import stat
import subprocess
import tarfile

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._clients import skopeo
from ansible_collections.dockerlite.core.plugins.module_utils._clients.skopeo import (
    ImageNotFoundError, Platform, PlatformNotFoundError, RegistryAccess, RegistryAuthError, RegistryTLSError,
    SkopeoClient, SkopeoError)
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError, ValidationError

SECRET = 'pa55-w0rd-not-in-argv'


class Recorder:
    """Stands in for subprocess.run: records each argv and the files it names, answers ``stdout``."""

    def __init__(self, stdout=b'{}', rc=0, stderr=b''):
        self.calls = []
        self.stdout, self.rc, self.stderr = stdout, rc, stderr

    def __call__(self, cmd, **kwargs):
        seen = {'cmd': list(cmd), 'env': kwargs.get('env'), 'files': {}}
        for index, arg in enumerate(cmd):
            if arg.endswith('authfile') and index + 1 < len(cmd) and os.path.exists(cmd[index + 1]):
                path = cmd[index + 1]
                seen['files'][path] = (open(path, encoding='utf-8').read(), stat.S_IMODE(os.stat(path).st_mode),
                                       stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode))
            if arg.endswith('cert-dir'):
                seen['files'][cmd[index + 1]] = sorted(os.listdir(cmd[index + 1]))
            if arg == '--digestfile':
                with open(cmd[index + 1], 'w', encoding='ascii') as handle:
                    handle.write('sha256:' + 'c' * 64)
        self.calls.append(seen)
        return subprocess.CompletedProcess(cmd, self.rc, self.stdout, self.stderr)


@pytest.fixture
def recorder(monkeypatch):
    rec = Recorder()
    monkeypatch.setattr(skopeo.subprocess, 'run', rec)
    return rec


@pytest.fixture
def client(tmp_path):
    tmpdir = tmp_path / 'store-tmp'
    tmpdir.mkdir()
    return SkopeoClient(str(tmpdir))


def test_password_goes_to_a_private_auth_file_never_into_argv(recorder, client, monkeypatch):
    monkeypatch.setenv('REGISTRY_AUTH_FILE', '/somewhere/else.json')
    access = RegistryAccess(username='alice', password=SECRET)
    client.inspect_raw('docker://registry.example:5000/team/app:1.2', access)
    call = recorder.calls[0]
    assert not any(SECRET in arg for arg in call['cmd'])
    assert not any(SECRET in value for value in call['env'].values())
    assert 'REGISTRY_AUTH_FILE' not in call['env'] and call['env']['LC_ALL'] == 'C'
    (path, (content, mode, dir_mode)), = call['files'].items()
    assert (mode, dir_mode) == (0o600, 0o700)
    token = json.loads(content)['auths']['registry.example:5000']['auth']
    assert base64.b64decode(token).decode() == 'alice:' + SECRET
    assert not os.path.exists(path)
    assert os.listdir(client.tmpdir) == []  # the private directory went too
    assert call['cmd'][:5] == ['skopeo', '--tmpdir', client.tmpdir, 'inspect', '--raw']
    assert call['cmd'][-2:] == ['--', 'docker://registry.example:5000/team/app:1.2']
    assert '--tls-verify=true' in call['cmd']


def test_copy_passes_source_options_platform_and_shared_blobs(recorder, client, tmp_path):
    ca = tmp_path / 'ca.pem'
    ca.write_text('-----BEGIN CERTIFICATE-----\n')
    access = RegistryAccess(tls_verify=False, ca_file=str(ca), username='bob', password=SECRET)
    digest = client.copy_to_layout('docker://localhost/app:1', str(tmp_path / 'layout'), 'image', access,
                                   Platform.parse('linux/arm/v7'), shared_blob_dir=str(tmp_path / 'blobs'))
    assert digest == 'sha256:' + 'c' * 64
    cmd = recorder.calls[0]['cmd']
    assert cmd[3:10] == ['--override-os', 'linux', '--override-arch', 'arm', '--override-variant', 'v7', 'copy']
    assert '--src-tls-verify=false' in cmd
    assert cmd[cmd.index('--dest-shared-blob-dir') + 1] == str(tmp_path / 'blobs')
    cert_dir = cmd[cmd.index('--src-cert-dir') + 1]
    assert recorder.calls[0]['files'][cert_dir] == ['ca.crt']
    auth = cmd[cmd.index('--src-authfile') + 1]
    assert 'localhost' in json.loads(recorder.calls[0]['files'][auth][0])['auths']
    assert cmd[-3:] == ['--', 'docker://localhost/app:1', 'oci:%s:image' % (tmp_path / 'layout')]
    assert not any(SECRET in arg for arg in cmd)
    assert os.listdir(client.tmpdir) == []


def test_no_credentials_means_anonymous_and_an_auth_file_is_passed_as_is(recorder, client):
    client.inspect_raw('docker://busybox:latest')
    client.inspect_raw('docker://busybox:latest', RegistryAccess(auth_file='/root/auth.json'))
    assert '--no-creds' in recorder.calls[0]['cmd']
    cmd = recorder.calls[1]['cmd']
    assert cmd[cmd.index('--authfile') + 1] == '/root/auth.json' and '--no-creds' not in cmd


def test_local_transports_get_no_registry_options(recorder, client):
    client.inspect_raw('oci-archive:/srv/app.tar', RegistryAccess(username='u', password=SECRET))
    cmd = recorder.calls[0]['cmd']
    assert not [arg for arg in cmd if 'tls' in arg or 'auth' in arg or 'creds' in arg]


@pytest.mark.parametrize('reference', ['-v', '--help', 'busybox', 'http://x/y', 'docker://a\nb', 'dir:/tmp/x', None])
def test_bad_references_are_refused_before_running(recorder, client, reference):
    with pytest.raises(ValidationError, match='image reference'):
        client.inspect_raw(reference)
    assert recorder.calls == []


def test_bad_layout_targets_are_refused(recorder, client):
    with pytest.raises(ValidationError, match='contains ":"'):
        client.copy_to_layout('docker://a/b:c', '/tmp/x:y', 'image')
    with pytest.raises(ValidationError, match='not a plain name'):
        client.copy_to_layout('docker://a/b:c', '/tmp/x', '-bad')
    assert recorder.calls == []


@pytest.mark.parametrize('kwargs, message', [
    ({'username': 'a'}, 'go together'),
    ({'password': 'a'}, 'go together'),
    ({'username': 'a', 'password': 'b', 'auth_file': '/x'}, 'not both'),
    ({'username': 'a:b', 'password': 'c'}, 'contains ":"'),
])
def test_bad_access(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        RegistryAccess(**kwargs)


@pytest.mark.parametrize('text, expected', [
    ('linux/amd64', ['--override-os', 'linux', '--override-arch', 'amd64']),
    ('linux/arm64/v8', ['--override-os', 'linux', '--override-arch', 'arm64', '--override-variant', 'v8']),
])
def test_platform_argv(text, expected):
    assert Platform.parse(text).argv() == expected
    assert str(Platform.parse(text)) == text


@pytest.mark.parametrize('text', ['linux', 'linux/', '/amd64', 'linux/amd64/v8/x', 'Linux/AMD64', 'linux/-x', 7])
def test_bad_platforms(text):
    with pytest.raises(ValidationError, match='platform'):
        Platform.parse(text)


def test_host_platform(monkeypatch):
    monkeypatch.setattr(skopeo._platform, 'machine', lambda: 'x86_64')
    assert str(Platform.host()) == 'linux/amd64'
    monkeypatch.setattr(skopeo._platform, 'machine', lambda: 'armv7l')
    assert str(Platform.host()) == 'linux/arm/v7'


@pytest.mark.parametrize('reference, registry', [
    ('docker://busybox', 'docker.io'), ('docker://library/busybox:1', 'docker.io'),
    ('docker://localhost/a', 'localhost'), ('docker://127.0.0.1:5000/a/b:c', '127.0.0.1:5000'),
    ('docker://quay.io/a/b', 'quay.io'),
])
def test_registry_of(reference, registry):
    assert skopeo.registry_of(reference) == registry


@pytest.mark.parametrize('message, kind', [
    ('reading manifest 1.2 in 127.0.0.1:5000/a: manifest unknown: manifest unknown', ImageNotFoundError),
    ('Error parsing image name \\"oci:/x:y\\": open /x/index.json: no such file or directory', ImageNotFoundError),
    ('reading manifest latest in r/a: unauthorized: authentication required', RegistryAuthError),
    ('pinging container registry r: Get \\"https://r/v2/\\": x509: certificate signed by unknown authority',
     RegistryTLSError),
    ('pinging container registry r: Get \\"https://r/v2/\\": http: server gave HTTP response to HTTPS client',
     RegistryTLSError),
    ('choosing image instance: no image found in manifest list for architecture s390x, variant \\"\\", OS linux',
     PlatformNotFoundError),
    ('pinging container registry r: dial tcp 127.0.0.1:1: connect: connection refused', SkopeoError),
])
def test_errors_are_classified_from_stderr(client, monkeypatch, message, kind):
    stderr = ('time="2026-11-30T04:09:16Z" level=fatal msg="%s"\n' % message).encode()
    monkeypatch.setattr(skopeo.subprocess, 'run', Recorder(rc=1, stdout=b'', stderr=stderr))
    with pytest.raises(kind) as info:
        client.inspect_raw('docker://r/a:1')
    assert type(info.value) is kind  # pylint: disable=unidiomatic-typecheck
    assert isinstance(info.value, DockerliteError)
    assert info.value.details['stderr'] == stderr.decode()
    assert info.value.details['rc'] == 1
    assert message.replace('\\"', '"') in info.value.msg


def test_missing_skopeo_is_a_clear_error(tmp_path):
    client = SkopeoClient(str(tmp_path), binary=str(tmp_path / 'no-skopeo'))
    with pytest.raises(SkopeoError, match='cannot run'):
        client.inspect_raw('oci:/x:y')


# --- the real skopeo, on OCI layouts the test writes ------------------------------------------------

def _blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    (layout / 'blobs' / 'sha256' / digest).write_bytes(data)
    return {'digest': 'sha256:' + digest, 'size': len(data)}


def _layer(content):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo('hello')
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    tar_bytes = buf.getvalue()
    return gzip.compress(tar_bytes, mtime=0), 'sha256:' + hashlib.sha256(tar_bytes).hexdigest()


def write_layout(layout, platforms):
    """An OCI layout with one image per platform (an index when more than one), tagged ``v1``."""
    (layout / 'blobs' / 'sha256').mkdir(parents=True)
    (layout / 'oci-layout').write_text('{"imageLayoutVersion": "1.0.0"}')
    manifests = []
    for text in platforms:
        plat = Platform.parse(text)
        layer, diff_id = _layer(('hello from %s\n' % text).encode())
        config = json.dumps({'architecture': plat.arch, 'os': plat.os, 'config': {'Cmd': ['/hello', text]},
                             'rootfs': {'type': 'layers', 'diff_ids': [diff_id]}}).encode()
        manifest = json.dumps({
            'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
            'config': dict(_blob(layout, config), mediaType='application/vnd.oci.image.config.v1+json'),
            'layers': [dict(_blob(layout, layer), mediaType='application/vnd.oci.image.layer.v1.tar+gzip')]}).encode()
        descriptor = dict(_blob(layout, manifest), mediaType='application/vnd.oci.image.manifest.v1+json',
                          platform={'os': plat.os, 'architecture': plat.arch})
        manifests.append(descriptor)
    if len(manifests) > 1:
        index = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json',
                            'manifests': manifests}).encode()
        top = dict(_blob(layout, index), mediaType='application/vnd.oci.image.index.v1+json')
    else:
        top = {key: value for key, value in manifests[0].items() if key != 'platform'}
    top['annotations'] = {'org.opencontainers.image.ref.name': 'v1'}
    (layout / 'index.json').write_text(json.dumps({'schemaVersion': 2, 'manifests': [top]}))
    return top['digest']


def test_real_inspect_and_copy_with_platform_choice(client, tmp_path):
    source = tmp_path / 'source'
    index_digest = write_layout(source, ['linux/amd64', 'linux/arm64'])
    manifest = client.inspect_raw('oci:%s:v1' % source)
    assert manifest.digest == index_digest
    assert manifest.media_type == 'application/vnd.oci.image.index.v1+json'
    assert len(manifest.json()['manifests']) == 2
    config = json.loads(client.inspect_config('oci:%s:v1' % source, platform=Platform.parse('linux/arm64')))
    assert config['architecture'] == 'arm64' and config['config']['Cmd'] == ['/hello', 'linux/arm64']

    blobs = tmp_path / 'blobs'
    target = tmp_path / 'copy'
    digest = client.copy_to_layout('oci:%s:v1' % source, str(target), 'image', platform=Platform.parse('linux/arm64'),
                                   shared_blob_dir=str(blobs))
    assert digest == manifest.json()['manifests'][1]['digest']
    copied = json.loads((blobs / 'sha256' / digest[7:]).read_bytes())
    layer_blob = blobs / 'sha256' / copied['layers'][0]['digest'][7:]
    assert hashlib.sha256(layer_blob.read_bytes()).hexdigest() == copied['layers'][0]['digest'][7:]
    assert not (target / 'blobs' / 'sha256' / digest[7:]).exists()  # the blobs went to the shared directory
    assert os.listdir(client.tmpdir) == []

    # A second copy reuses the blobs the shared directory holds: same files, not written again.
    inode = os.stat(layer_blob).st_ino
    again = client.copy_to_layout('oci:%s:v1' % source, str(tmp_path / 'copy2'), 'image',
                                  platform=Platform.parse('linux/arm64'), shared_blob_dir=str(blobs))
    assert again == digest and os.stat(layer_blob).st_ino == inode


def test_real_errors(client, tmp_path):
    source = tmp_path / 'source'
    write_layout(source, ['linux/amd64', 'linux/arm64'])
    with pytest.raises(ImageNotFoundError) as info:
        client.inspect_raw('oci:%s:v1' % (tmp_path / 'absent'))
    assert 'index.json' in info.value.msg and info.value.details['stderr']
    with pytest.raises(ImageNotFoundError) as info:
        client.inspect_raw('oci:%s:nosuchtag' % source)
    assert 'nosuchtag' in info.value.msg
    with pytest.raises(PlatformNotFoundError):
        client.copy_to_layout('oci:%s:v1' % source, str(tmp_path / 'copy'), 'image',
                              platform=Platform.parse('linux/s390x'))
    assert os.listdir(client.tmpdir) == []


def test_copy_from_a_layout_passes_destination_options_and_keeps_digests(recorder, client, tmp_path):
    access = RegistryAccess(tls_verify=False, username='carol', password=SECRET)
    digest = client.copy_from_layout(str(tmp_path / 'layout'), 'image', 'docker://127.0.0.1:5000/team/app:1', access,
                                     shared_blob_dir=str(tmp_path / 'blobs'))
    assert digest == 'sha256:' + 'c' * 64
    cmd = recorder.calls[0]['cmd']
    assert cmd[3] == 'copy' and '--preserve-digests' in cmd and '--dest-tls-verify=false' in cmd
    assert cmd[cmd.index('--src-shared-blob-dir') + 1] == str(tmp_path / 'blobs')
    auth = cmd[cmd.index('--dest-authfile') + 1]
    assert '127.0.0.1:5000' in json.loads(recorder.calls[0]['files'][auth][0])['auths']
    assert cmd[-3:] == ['--', 'oci:%s:image' % (tmp_path / 'layout'), 'docker://127.0.0.1:5000/team/app:1']
    assert not any(SECRET in arg for arg in cmd)
    assert os.listdir(client.tmpdir) == []


def test_copy_to_archives_takes_no_registry_options(recorder, client, tmp_path):
    client.copy_from_layout(str(tmp_path / 'layout'), 'image', 'oci-archive:%s' % (tmp_path / 'out.tar'))
    client.copy_from_layout(str(tmp_path / 'layout'), 'image', 'docker-archive:%s:app:1' % (tmp_path / 'out.tar'))
    oci, docker = (call['cmd'] for call in recorder.calls)
    assert '--preserve-digests' in oci and '--preserve-digests' not in docker  # a Docker archive is converted
    assert not any(arg.startswith('--dest-') for arg in oci + docker)


@pytest.mark.parametrize('destination', ['oci:/tmp/x:y', 'dir:/tmp/x', '-x', 'docker://a\nb'])
def test_bad_copy_destinations_are_refused(recorder, client, tmp_path, destination):
    with pytest.raises(ValidationError):
        client.copy_from_layout(str(tmp_path / 'layout'), 'image', destination)
    assert recorder.calls == []
