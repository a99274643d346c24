# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_image's pulls: plan and apply an image from a registry, an OCI or Docker archive, or an OCI layout."""

from __future__ import annotations

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError
from ansible_collections.dockerlite.core.plugins.module_utils._store.layers import LayerError, chain_ids
from ansible_collections.dockerlite.core.plugins.module_utils._store.oci import (
    PULL_SOURCES, config_settings, diff_ids, image_source, layer_chain)
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import new_id, utc_now

# The options of dockerlite_image that only a pull reads.
PULL_OPTIONS = ('ref', 'ca_file', 'username', 'password', 'auth_file', 'platform')
LAYER_KEYS = ('chain_id', 'diff_id', 'digest', 'media_type', 'size')


def pull_request(params, ref, current=None):
    """The oci.ImageSource a task pulls from, or None when it builds.

    Without ``source``, ``force: true`` on an image that was pulled pulls its recorded
    reference and platform again (credentials and TLS options come from the task).
    """
    source = params['source']
    if source is None and params['force'] and current and current.get('source') in PULL_SOURCES:
        record = current.get('build') or {}
        if isinstance(record.get('reference'), str):
            return image_source_from_record(params, current['source'], record, ref)
    if source not in PULL_SOURCES:
        given = [key for key in PULL_OPTIONS if params.get(key) is not None]
        if given:
            raise DockerliteError('%s only apply when source is one of %s'
                                  % (', '.join(given), ', '.join(PULL_SOURCES)))
        return None
    return image_source(params, ref)


def image_source_from_record(params, source, record, ref):
    """The source of an earlier pull, from its image.json ``build`` record."""
    made = image_source(dict(params, source='registry', ref=None, path=None,
                             platform=params.get('platform') or record.get('platform')), ref)
    made.source, made.reference = source, record['reference']
    return made


def pulled_meta(ref, source, given, config, config_digest, index_digest, manifest_digest=None, chain=None):
    """image.json of a pulled image: the config's defaults (the task's command, env, labels win), its layers
    and where it came from (docs/design.md, "Image metadata of OCI images")."""
    meta = {'id': new_id(), 'name': ref, 'parent': None, 'source': source.source, 'build': source.record(),
            'created': utc_now()}
    meta.update(config_settings(config, config_digest))
    for key, value in given.items():
        if value is not None:
            meta[key] = value
    meta['layers'] = None if chain is None else [{key: layer[key] for key in LAYER_KEYS} for layer in chain]
    meta['oci'] = {'reference': source.reference, 'platform': str(source.platform), 'index_digest': index_digest,
                   'manifest_digest': manifest_digest, 'config_digest': config_digest}
    return meta


class PullsImages:
    """The pull steps of ImageManager (needs its store, actions, tracker, _planned and RetiresTag)."""

    def _plan_pull(self, ref, current, given, source, compared):
        """Pull when the image is missing, with ``force``, or with ``pull: always`` when the source's digest moved.

        An image that stays is planned as any present image (metadata updates only).
        """
        params = self.params
        manifest = None
        if current is not None and not params['force']:
            if params['pull'] == 'always':
                manifest = self.store.inspect_image_source(source)
                if self._same_origin(current, source, manifest.digest):
                    return self._plan_present(ref, current, given)
            else:
                origin = (current.get('oci') or {}).get('reference')
                if origin != source.reference:
                    self.warnings.append('image %s exists (%s); it is not pulled from %s unless pull: always or '
                                         'force: true' % (ref, 'pulled from %s' % origin if origin else
                                                          'source %s' % current.get('source'), source.reference))
                return self._plan_present(ref, current, given, warn_source=False)
        if manifest is None:
            manifest = self.store.inspect_image_source(source)
        self.actions.append('pull')
        self._plan_retire(current)
        self._planned.update(pull={'source': source, 'ref': ref, 'given': given, 'index_digest': manifest.digest,
                                   'current': current, 'compared': compared})
        self._pull_report = {'reference': source.reference, 'platform': str(source.platform),
                             'index_digest': manifest.digest, 'manifest_digest': None,
                             'layers_added': None, 'layers_reused': None, 'bytes_downloaded': None}
        if self.check_mode:
            # A real run reads the config from the blobs it copies anyway (one skopeo call fewer); check
            # mode copies nothing, so it asks for the config alone to say what the pull would make.
            self._describe_pull(*self.store.inspect_image_config(source))
        return None

    def _describe_pull(self, config_digest, config):
        """The diff, RV(image) and layer counts of the planned pull, from the image config."""
        planned = self._planned['pull']
        current, compared = planned['current'], planned['compared']
        meta = pulled_meta(planned['ref'], planned['source'], planned['given'], config, config_digest,
                           planned['index_digest'])
        layers = chain_ids(diff_ids(config))
        reused = sum(1 for chain_id in layers if self.store.layer_exists(chain_id))
        self.tracker.add('image', compared(current), dict(compared(meta), **({'rebuilt': True} if current else {})))
        self._planned['image'] = dict(meta, id=None, created=None, rootfs=None)
        self._pull_report.update(layers_added=len(layers) - reused, layers_reused=reused)

    @staticmethod
    def _same_origin(current, source, index_digest):
        oci = current.get('oci') or {}
        return (oci.get('reference') == source.reference and oci.get('index_digest') == index_digest
                and oci.get('platform') == str(source.platform))

    def apply_pull(self):
        """Copy the image's missing blobs, make its missing layers, install it as a snapshot of the top one.

        Layers made before a failure stay: each is whole, and the next pull reuses it.
        """
        planned = self._planned['pull']
        source = planned['source']
        fetched = self.store.fetch_image(source)
        # The config is checked (config_settings) before any layer is made: a refused one leaves only blobs.
        self._describe_pull(fetched['config_digest'], fetched['config'])
        chain = layer_chain(fetched['manifest'], fetched['config'], fetched['config_digest'])
        added = 0
        for layer in chain:
            try:
                added += 1 if self.store.ensure_layer(layer) else 0
            except LayerError as exc:
                raise DockerliteError('pull of %s: %s' % (source.reference, exc.msg), **exc.details) from exc
        meta = pulled_meta(planned['ref'], source, planned['given'], fetched['config'], fetched['config_digest'],
                           planned['index_digest'], fetched['manifest_digest'], chain)
        self._planned['image'] = self.store.install_pulled_image(meta, chain[-1]['chain_id'] if chain else None)
        self._pull_report.update(manifest_digest=fetched['manifest_digest'], layers_added=added,
                                 layers_reused=len(chain) - added, bytes_downloaded=fetched['bytes_added'])
