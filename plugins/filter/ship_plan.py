# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""ship_plan: which image stream each host needs to receive an image built elsewhere."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def _by_id(images, what):
    if not isinstance(images, list):
        raise AnsibleFilterError('ship_plan: %s must be a list of images (dockerlite_image_info), got %s'
                                 % (what, type(images).__name__))
    found = {}
    for image in images:
        if not isinstance(image, dict) or not image.get('id'):
            raise AnsibleFilterError('ship_plan: %s holds an entry that is not an image: %r' % (what, image))
        found[image['id']] = image
    return found


def _tagged(name):
    """``name`` with its tag, ``latest`` when it has none (as the modules read it): ``busybox`` -> ``busybox:latest``."""
    if not isinstance(name, str):
        return name
    return name if ':' in name.rsplit('/', 1)[-1] else name + ':latest'


def _lineage(source, image):
    """``image`` and its ancestors (``parent`` links) that the build host holds, nearest first."""
    chain, seen = [], set()
    while image is not None and image['id'] not in seen:
        chain.append(image)
        seen.add(image['id'])
        image = source.get(image.get('parent')) if image.get('parent') else None
    return chain


def ship_plan(build_images, image, held):
    """The plan for shipping ``image`` (a name:tag or an id) from the build host, whose
    dockerlite_image_info images are ``build_images``, to the hosts of ``held`` ({host: their
    dockerlite_image_info images}).

    For each host: ``skip`` when it holds the image (same id and origin), otherwise the stream to
    send: incremental from the nearest ancestor it holds with the same origin, else full. Returns
    {image (id), hosts: {host: {skip, parent, stream}}, streams: [{name, parent}]}: one stream per
    (image, parent) pair, named ``<image id>-<parent id or full>``.
    """
    source = _by_id(build_images, 'the build host images')
    wanted = source.get(image) or next((item for item in source.values() if item.get('name') == _tagged(image)), None)
    if wanted is None:
        raise AnsibleFilterError('ship_plan: the build host holds no image %s' % image)
    if not isinstance(held, dict):
        raise AnsibleFilterError('ship_plan: held must map hosts to their images, got %s' % type(held).__name__)
    chain = _lineage(source, wanted)
    hosts, streams = {}, {}
    for host, images in sorted(held.items()):
        theirs = _by_id(images, 'the images of %s' % host)
        common = next((item for item in chain if item['id'] in theirs
                       and theirs[item['id']].get('origin') == item.get('origin')), None)
        if common is wanted:
            hosts[host] = {'skip': True, 'parent': None, 'stream': None}
            continue
        parent = common['id'] if common else None
        name = '%s-%s' % (wanted['id'], parent or 'full')
        streams[name] = {'name': name, 'parent': parent}
        hosts[host] = {'skip': False, 'parent': parent, 'stream': name}
    return {'image': wanted['id'], 'hosts': hosts, 'streams': [streams[name] for name in sorted(streams)]}


class FilterModule:
    def filters(self):
        return {'ship_plan': ship_plan}
