# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_image_push and dockerlite_image_export: an image as an OCI image, to a registry or an archive file."""

from __future__ import annotations

import os
import re

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._common.validation import image_ref
from ansible_collections.dockerlite.core.plugins.module_utils._managers.base import Manager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image_common import DEFAULT_COMMAND
from ansible_collections.dockerlite.core.plugins.module_utils._store.image_store import ImageStore

ID_RE = re.compile(r'[0-9a-f]{64}')
# A registry reference: [host[:port]/]path[:tag]; no digest (a push names a tag), no white space or control characters.
PUSH_REF_RE = re.compile(r'[a-z0-9][a-zA-Z0-9._:/-]*')
FORMATS = ('oci-archive', 'docker-archive')
GZIP_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip'


def push_reference(value):
    """``docker://<host>/<path>:<tag>`` from ``ref`` (``docker://`` optional, tag ``latest`` by default)."""
    ref = value[len('docker://'):] if isinstance(value, str) and value.startswith('docker://') else value
    if not isinstance(ref, str) or not PUSH_REF_RE.fullmatch(ref) or '//' in ref or ref.endswith(('/', ':')):
        raise ValidationError('ref %r is not a registry reference such as registry.example:5000/team/app:1.2 (a tag, '
                              'not a digest; lower-case host and path)' % (value,))
    last = ref.rsplit('/', 1)[-1]
    if ':' not in last:
        ref += ':latest'
    return 'docker://' + ref


def check_archive_path(path, skopeo=True):
    """``path`` made absolute, if it can be written as an archive (``skopeo``: named in a skopeo reference,
    which cannot hold ``:``) or stream file; ValidationError otherwise."""
    path = os.path.abspath(path)
    if skopeo and ':' in path:
        raise ValidationError('path %s contains ":", which an archive reference cannot hold' % path)
    if not os.path.isdir(os.path.dirname(path)):
        raise ValidationError('path %s: directory %s does not exist' % (path, os.path.dirname(path)))
    if os.path.isdir(path):
        raise ValidationError('path %s is a directory; give the archive file to write' % path)
    return path


def find_image(store, name):
    """The image ``name`` (name:tag, or an image id) names; ValidationError when there is none."""
    if isinstance(name, str) and ID_RE.fullmatch(name):
        image = store.get_image(name)
    else:
        image = store.find_image(image_ref(name, 'name'))
    if image is None:
        raise ValidationError('image %s does not exist in %s' % (name, store.root))
    return image


class OciImageManager(Manager):
    """What push and export share: the layers an image still needs (action ``make_layers``) and the result."""

    store_class = ImageStore

    def _plan_layers(self, image):
        self.image = image
        self.made = []
        self.to_make = self.store.oci_layers_to_make(image)
        self.oci = None if self.to_make else self.store.image_oci(image)
        if self.to_make:
            self.actions.append('make_layers')

    def apply_make_layers(self):
        self.image, self.made = self.store.make_oci_image(self.image, default_command=DEFAULT_COMMAND)
        self.oci = self.store.image_oci(self.image)

    def _layers_view(self):
        """The image's layers, bottom first; in check mode those still to make have no digest or size yet."""
        made = {layer['digest'] for layer in self.made}
        if self.oci is not None:
            return [{'digest': layer['digest'], 'size': layer['size'], 'media_type': layer['media_type'],
                     'made': layer['digest'] in made} for layer in self.oci['layers']]
        bottom, kind = self.to_make[0]
        base = self.store.image_oci(self.store.oci_parent(bottom)) if kind == 'changes' else None
        known = [{'digest': layer['digest'], 'size': layer['size'], 'media_type': layer['media_type'], 'made': False}
                 for layer in (base['layers'] if base else [])]
        return known + [{'digest': None, 'size': None, 'media_type': GZIP_LAYER, 'made': True}
                        for _target in self.to_make]

    def _common_result(self):
        return {
            'image': {'name': self.image.get('name'), 'id': self.image['id']},
            'manifest_digest': self.oci['manifest_digest'] if self.oci else None,
            'config_digest': self.oci['config_digest'] if self.oci else None,
            'layers': self._layers_view(),
            'bytes_made': sum(layer['size'] for layer in self.made),
        }


class PushManager(OciImageManager):
    """dockerlite_image_push: nothing when the registry holds the image's manifest under the tag already."""

    def validate(self):
        params = self.params
        name = params['name']
        if params['ref'] is None and ID_RE.fullmatch(name or ''):
            raise ValidationError('ref is required when name is an image id (%s)' % name)
        reference = push_reference(params['ref'] if params['ref'] is not None else image_ref(name, 'name'))
        if params['ca_file'] is not None and not os.path.isfile(params['ca_file']):
            raise ValidationError('ca_file %s is not a file' % params['ca_file'])
        if (params['username'] is None) != (params['password'] is None):
            raise ValidationError('username and password go together: give both or neither')
        if params['username'] is not None and params['auth_file'] is not None:
            raise ValidationError('give either username and password or auth_file, not both')
        access = {key: params[key] for key in ('tls_verify', 'ca_file', 'username', 'password', 'auth_file')}
        return name, reference, access

    def plan(self, request):
        name, self.reference, self.access = request
        self._plan_layers(find_image(self.store, name))
        self.remote = self.store.remote_manifest_digest(self.reference, self.access)
        ours = self.oci['manifest_digest'] if self.oci else None
        self.tracker.add('manifest_digest', self.remote, ours if ours else 'made by this push')
        if ours is None or ours != self.remote:
            self.actions.append('push')

    def apply_push(self):
        pushed = self.store.push_image(self.image, self.reference, self.access)
        if pushed != self.oci['manifest_digest']:
            raise ValidationError('the registry took %s as %s, not as the image\'s manifest %s'
                                  % (self.reference, pushed, self.oci['manifest_digest']))

    def report(self):
        return self.result(reference=self.reference[len('docker://'):], **self._common_result())


class ExportManager(OciImageManager):
    """dockerlite_image_export: nothing when ``path`` holds this image already (unless ``force``)."""

    def validate(self):
        params = self.params
        if params.get('parent') is not None:
            raise ValidationError('parent %s only applies with format btrfs-stream, not %s'
                                  % (params['parent'], params['format']))
        return params['name'], check_archive_path(params['path']), params['format'], params['force']

    def plan(self, request):
        name, self.path, self.format, force = request
        self._plan_layers(find_image(self.store, name))
        found = self.store.archive_digests(self.path) if os.path.isfile(self.path) else (None, None)
        found_key = found[0] if self.format == 'oci-archive' else found[1]
        wanted = None
        if self.oci:
            wanted = self.oci['manifest_digest'] if self.format == 'oci-archive' else self.oci['config_digest']
        self.tracker.add('archive', {'path': self.path, 'image': found_key},
                         {'path': self.path, 'image': wanted or 'made by this export'})
        if force or wanted is None or wanted != found_key:
            self.actions.append('export')

    def apply_export(self):
        self.store.export_image(self.image, self.path, self.format)

    def report(self):
        # Not ``path``: AnsibleModule adds the file's attributes (owner, mode, size...) to a result with that key.
        return self.result(archive=self.path, format=self.format, **self._common_result())
