# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""OCI images as the store reads them: where an image comes from, its manifest, its config.

Pure: nothing here opens a file or runs skopeo. ``image_source`` turns a task's options into
the skopeo reference, registry access and platform a pull uses; ``parse_manifest`` and
``parse_config`` check what a registry or archive served before the store trusts it;
``layer_chain`` pairs the manifest's blobs with the config's diff ids and chain ids, and
``config_settings`` turns the config into an image's defaults (image.json fields).
"""

from __future__ import annotations

import hashlib
import json
import os
import re

from ansible_collections.dockerlite.core.plugins.module_utils._clients.skopeo import (
    Platform, RegistryAccess, check_reference)
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._common.validation import (
    check_no_control_chars, normalize_command, normalize_env, normalize_labels)
from ansible_collections.dockerlite.core.plugins.module_utils._store.layers import chain_ids

# dockerlite_image sources that pull an image (every other source builds one).
PULL_SOURCES = ('registry', 'oci-archive', 'docker-archive', 'oci-layout')
ARCHIVE_TRANSPORTS = {'oci-archive': 'oci-archive:', 'docker-archive': 'docker-archive:', 'oci-layout': 'oci:'}
# The tag skopeo gives the one image it copies into a staging OCI layout.
LAYOUT_TAG = 'image'
MANIFEST_TYPES = ('application/vnd.oci.image.manifest.v1+json',
                  'application/vnd.docker.distribution.manifest.v2+json')
LAYER_TYPES = (
    'application/vnd.oci.image.layer.v1.tar', 'application/vnd.oci.image.layer.v1.tar+gzip',
    'application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.nondistributable.v1.tar',
    'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
    'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
    'application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
)
DIGEST_RE = re.compile(r'sha256:[0-9a-f]{64}')
SIGNAL_RE = re.compile(r'(SIG)?([A-Z][A-Z0-9]*(?:[+-][0-9]+)?)')
# What a container of an OCI image gets when the config names no stop signal: Docker's default.
OCI_STOP_SIGNAL = 'SIGTERM'
# Manifests and configs are small; anything larger is not one.
MAX_METADATA_BLOB = 16 * 1024 * 1024


class ImageSource:
    """Where a pull reads an image: the skopeo ``reference``, how to reach it (``access``), the ``platform``."""

    def __init__(self, source, reference, access, platform):
        self.source = source
        self.reference = reference
        self.access = access
        self.platform = platform

    def record(self):
        """What image.json keeps of it (never credentials): enough to pull the same reference again."""
        return {'reference': self.reference, 'platform': str(self.platform)}


def _registry_reference(ref):
    """A ``docker://`` reference from a registry reference as users write it (``host:5000/team/app:1.2``)."""
    if ref.startswith('docker://'):
        ref = ref[len('docker://'):]
    if not ref or ref.startswith(('-', '/')) or any(char.isspace() for char in ref) or '://' in ref:
        raise ValidationError('ref %r is not a registry reference such as registry.example:5000/team/app:1.2 or '
                              'name@sha256:<digest>' % ref)
    return 'docker://' + ref


def image_source(params, name):
    """The ImageSource of a dockerlite_image task with a pull source; ``name`` is its canonical name:tag.

    For ``registry`` the reference is ``ref``, else ``name``; for an archive or a layout it is
    ``path`` plus, when given, ``ref`` (the image's name or tag inside it).
    """
    source = params['source']
    ref = params.get('ref')
    if ref is not None:
        check_no_control_chars(ref, 'ref')
    if source == 'registry':
        if params.get('path'):
            raise ValidationError('path is for the archive and layout sources, not for source registry')
        reference = _registry_reference(ref if ref is not None else name)
    else:
        path = params.get('path')
        if not path:
            raise ValidationError('source %s needs path' % source)
        path = os.path.abspath(path)
        check_no_control_chars(path, 'path')
        if ':' in path:
            raise ValidationError('path %s contains ":", which skopeo cannot tell from the image name after it'
                                  % path)
        if source == 'oci-layout' and not os.path.isdir(path):
            raise ValidationError('path %s for source oci-layout is not a directory' % path)
        if source != 'oci-layout' and not os.path.isfile(path):
            raise ValidationError('path %s for source %s is not a file' % (path, source))
        reference = ARCHIVE_TRANSPORTS[source] + path + (':' + ref if ref else '')
    check_reference(reference)
    if source != 'registry':
        given = [key for key in ('username', 'password', 'auth_file', 'ca_file') if params.get(key) is not None]
        if given:
            raise ValidationError('%s only apply to source registry, not to source %s' % (', '.join(given), source))
    auth_file = params.get('auth_file')
    if auth_file is not None and not os.path.isfile(auth_file):
        raise ValidationError('auth_file %s is not a file' % auth_file)
    access = RegistryAccess(tls_verify=params.get('tls_verify', True), ca_file=params.get('ca_file'),
                            username=params.get('username'), password=params.get('password'), auth_file=auth_file)
    platform = Platform.parse(params['platform']) if params.get('platform') else Platform.host()
    return ImageSource(source, reference, access, platform)


def _json(raw, what):
    try:
        value = json.loads(raw.decode('utf-8') if isinstance(raw, bytes) else raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationError('%s is not JSON: %s' % (what, exc))
    if not isinstance(value, dict):
        raise ValidationError('%s is not a JSON object' % what)
    return value


def _descriptor(value, what):
    if not isinstance(value, dict) or not isinstance(value.get('digest'), str) \
            or not DIGEST_RE.fullmatch(value['digest']) or not isinstance(value.get('size'), int) \
            or isinstance(value.get('size'), bool) or value['size'] < 0:
        raise ValidationError('%s is not a descriptor with a sha256 digest and a size: %s'
                              % (what, json.dumps(value)[:200]))
    media_type = value.get('mediaType')
    if media_type is not None and not isinstance(media_type, str):
        raise ValidationError('%s has a media type that is not a string' % what)
    return {'digest': value['digest'], 'size': value['size'], 'media_type': media_type}


def parse_manifest(raw, digest):
    """{config, layers} descriptors of an image manifest (OCI or Docker schema 2); ValidationError otherwise."""
    what = 'the manifest %s' % digest
    manifest = _json(raw, what)
    media_type = manifest.get('mediaType')
    if manifest.get('schemaVersion') != 2 or (media_type is not None and media_type not in MANIFEST_TYPES):
        raise ValidationError('%s is not an OCI or Docker schema 2 image manifest (schemaVersion %s, media type %s)'
                              % (what, manifest.get('schemaVersion'), media_type))
    if not isinstance(manifest.get('layers'), list):
        raise ValidationError('%s has no list of layers' % what)
    layers = []
    for number, value in enumerate(manifest['layers']):
        layer = _descriptor(value, '%s, layer %d,' % (what, number))
        if layer['media_type'] not in LAYER_TYPES:
            raise ValidationError('%s: layer %s has the media type %s, which is not an image layer'
                                  % (what, layer['digest'], layer['media_type']))
        layers.append(layer)
    return {'config': _descriptor(manifest.get('config'), '%s, config,' % what), 'layers': layers}


def parse_config(raw, digest):
    """An image config as a dict, with ``rootfs.diff_ids`` checked; ValidationError otherwise."""
    what = 'the image config %s' % digest
    config = _json(raw, what)
    rootfs = config.get('rootfs')
    diff_ids = rootfs.get('diff_ids') if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) and DIGEST_RE.fullmatch(d) for d in diff_ids):
        raise ValidationError('%s has no rootfs.diff_ids list of sha256 digests' % what)
    if config.get('config') is not None and not isinstance(config.get('config'), dict):
        raise ValidationError('%s: config is not an object' % what)
    return config


def diff_ids(config):
    return list(config['rootfs']['diff_ids'])


def layer_chain(manifest, config, config_digest):
    """The image's layers bottom to top: {chain_id, parent, diff_id, digest, media_type, size} each."""
    ids = diff_ids(config)
    if len(ids) != len(manifest['layers']):
        raise ValidationError('the image config %s lists %d diff ids for the %d layers of its manifest'
                              % (config_digest, len(ids), len(manifest['layers'])))
    chain, parent = [], None
    for layer, diff_id, chain_id in zip(manifest['layers'], ids, chain_ids(ids)):
        chain.append({'chain_id': chain_id, 'parent': parent, 'diff_id': diff_id, 'digest': layer['digest'],
                      'media_type': layer['media_type'], 'size': layer['size']})
        parent = chain_id
    return chain


def _strings(value, what):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError('%s is not a list of strings' % what)
    return value


def _stop_signal(value, what):
    if value in (None, ''):
        return OCI_STOP_SIGNAL
    if isinstance(value, str) and value.isdigit() and 0 < int(value) < 65:
        return value
    match = SIGNAL_RE.fullmatch(value.upper()) if isinstance(value, str) else None
    if not match:
        raise ValidationError('%s: StopSignal %r is not a signal name or number' % (what, value))
    return 'SIG' + match.group(2)


def config_settings(config, config_digest):
    """The image.json defaults from an image config: command, env, labels, workdir, user, stop signal, ports.

    Values that reach a container's LXC config get the checks of the matching task options,
    so an image cannot smuggle a line into it; an error names the config.
    """
    what = 'the image config %s' % config_digest
    settings = config.get('config') or {}
    try:
        command = _strings(settings.get('Entrypoint'), '%s: Entrypoint' % what) + \
            _strings(settings.get('Cmd'), '%s: Cmd' % what)
        env = {}
        for entry in _strings(settings.get('Env'), '%s: Env' % what):
            key, sep, value = entry.partition('=')
            if not sep:
                raise ValidationError('%s: Env entry %r has no "="' % (what, entry))
            env[key] = value
        labels = settings.get('Labels') or {}
        ports = settings.get('ExposedPorts') or {}
        if not isinstance(ports, dict):
            raise ValidationError('%s: ExposedPorts is not an object' % what)
        result = {
            'command': normalize_command(command) if command else None,
            'env': normalize_env(env),
            'labels': normalize_labels(labels),
            'stop_signal': _stop_signal(settings.get('StopSignal'), what),
            'exposed_ports': sorted(check_no_control_chars(port, 'exposed port') for port in ports),
        }
        for key, option in (('WorkingDir', 'workdir'), ('User', 'user')):
            value = settings.get(key)
            if value is not None and not isinstance(value, str):
                raise ValidationError('%s: %s is not a string' % (what, key))
            result[option] = check_no_control_chars(value, '%s: %s' % (what, key)) if value else None
    except ValidationError as exc:
        msg = exc.msg if exc.msg.startswith(what) else '%s: %s' % (what, exc.msg)
        raise ValidationError(msg) from None
    return result


def sha256_of(data):
    """The ``sha256:<hex>`` digest of bytes (a blob's name)."""
    return 'sha256:' + hashlib.sha256(data).hexdigest()
