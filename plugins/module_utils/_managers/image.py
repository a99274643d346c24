# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_image: build, converge and remove images."""

from __future__ import annotations

import os

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError, ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._managers.base import Manager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image_common import (
    RetiresTag, compared, image_view)
from ansible_collections.dockerlite.core.plugins.module_utils._managers.pull import PullsImages, pull_request
from ansible_collections.dockerlite.core.plugins.module_utils._managers.stream import ReceivesStream
from ansible_collections.dockerlite.core.plugins.module_utils._store.rootfs import build_rootfs
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import new_id, utc_now
from ansible_collections.dockerlite.core.plugins.module_utils._common.validation import (
    image_ref, normalize_command, normalize_env, normalize_labels, normalize_user, normalize_workdir)
from ansible_collections.dockerlite.core.plugins.module_utils._store.image_store import ImageStore

# The signal LXC sends PID 1 to halt: busybox init halts on SIGUSR1, systemd and
# sysvinit on SIGPWR (LXC's default).
STOP_SIGNALS = {'busybox': 'SIGUSR1'}
DEFAULT_STOP_SIGNAL = 'SIGPWR'
METADATA_KEYS = ('command', 'env', 'labels', 'workdir', 'user')


def build_inputs(params, source):
    """The options that describe how ``source`` builds, recorded for a later rebuild."""
    if source in ('archive', 'directory'):
        if not params.get('path'):
            raise ValidationError('source %s needs path' % source)
        return {'path': os.path.abspath(params['path'])}
    if source == 'debootstrap':
        return {'suite': params['suite'], 'mirror': params.get('mirror'), 'variant': params['variant']}
    return {}


def check_build_inputs(source, inputs):
    """Refuse a build whose input is missing, before anything is staged."""
    path = inputs.get('path')
    if source == 'archive' and not os.path.isfile(path):
        raise ValidationError('path %s for source archive is not a file' % path)
    if source == 'directory' and not os.path.isdir(path):
        raise ValidationError('path %s for source directory is not a directory' % path)


class ImageManager(RetiresTag, PullsImages, ReceivesStream, Manager):
    """dockerlite_image: plan a build, a pull, a metadata update or a removal, then carry it out."""

    store_class = ImageStore

    _pull_report = None

    def validate(self):
        params = self.params
        ref = image_ref(params['name'])
        if params['state'] == 'present':
            pull_request(params, ref)  # a bad pull option fails here, before the store is touched
        return ref, {'command': normalize_command(params['command']),
                     'env': normalize_env(params['env']),
                     'labels': normalize_labels(params['labels']),
                     'workdir': normalize_workdir(params.get('workdir')),
                     'user': normalize_user(params.get('user'))}

    def plan(self, request):
        ref, given = request
        # image: what RV(image) shows (the planned image until apply makes it); remove: the ids to delete.
        self._planned = {'image': None, 'remove': [], 'changes': None, 'build': None, 'pull': None}
        current = self.store.find_image(ref)
        source = pull_request(self.params, ref, current) if self.params['state'] == 'present' else None
        if self.params['state'] == 'absent':
            if current is None:
                self._plan_absent_damaged(ref)
            else:
                self._plan_absent(ref, current)
        elif source is not None:
            self._plan_pull(ref, current, given, source, compared)
        elif self.params['source'] == 'stream':
            self._plan_receive(ref, current, given, compared)
        elif current is None or self.params['force']:
            self._plan_build(ref, current, given)
        else:
            self._plan_present(ref, current, given)

    def _plan_absent(self, ref, current):
        if current:
            users = self.store.containers_using(current['id'])
            if users and not self.params['force']:
                raise DockerliteError('image %s is in use by container(s) %s; remove them first or set force: true '
                                      '(their data is kept either way)' % (ref, ', '.join(users)), containers=users)
            self.actions.append('remove')
            self._planned['remove'].append(current['id'])
        self.tracker.add('image', compared(current), compared(None))

    def _plan_absent_damaged(self, ref):
        """Remove the damaged images that ``name`` names (by id, or by their still readable name)."""
        damaged = self.store.damaged_images(self.params['name'])
        if self.params['name'] != ref:
            damaged += [image_id for image_id in self.store.damaged_images(ref) if image_id not in damaged]
        for image_id in damaged:
            self.warnings.append('removing damaged image %s (%s)' % (image_id, self.store.image_dir(image_id)))
            self.actions.append('remove')
            self._planned['remove'].append(image_id)
        self.tracker.add('image', compared(None) if not damaged else {'state': 'damaged'}, compared(None))

    def _plan_present(self, ref, current, given, warn_source=True):
        params = self.params
        changes = {key: value for key, value in given.items() if value is not None and value != current.get(key)}
        if warn_source and params['source'] and params['source'] != current.get('source'):
            self.warnings.append('image %s exists (source %s); source %s is used only to build a missing image or '
                                 'with force: true' % (ref, current.get('source'), params['source']))
        after = dict(current, **changes)
        self.tracker.add('image', compared(current), compared(after))
        if changes:
            self.actions.append('update_metadata')
        self._planned.update(image=after, current=current, changes=changes)

    def _plan_build(self, ref, current, given):
        params = self.params
        source = params['source'] or (current or {}).get('source')
        if not source:
            raise ValidationError('image %s does not exist in %s; set source to build it' % (ref, self.store.root))
        inputs = build_inputs(params, source) if params['source'] else dict(current.get('build') or {})
        check_build_inputs(source, inputs)
        meta = {
            'id': new_id(), 'name': ref, 'parent': None, 'source': source, 'build': inputs, 'created': utc_now(),
            'command': given['command'], 'env': given['env'] or {}, 'labels': given['labels'] or {},
            'workdir': given['workdir'], 'user': given['user'],
            'stop_signal': STOP_SIGNALS.get(source, DEFAULT_STOP_SIGNAL),
        }
        if current:
            for key in METADATA_KEYS:
                if given[key] is None:
                    meta[key] = current.get(key)
        self.actions.append('build')
        self._plan_retire(current)
        self.tracker.add('image', compared(current), dict(compared(meta), **({'rebuilt': True} if current else {})))
        # Until it is built the image has no id, rootfs or creation time to show.
        self._planned.update(image=dict(meta, id=None, created=None, rootfs=None),
                             build=(meta, lambda rootfs: build_rootfs(rootfs, source, inputs)))

    # -- apply --------------------------------------------------------------

    def apply_remove(self):
        self.store.remove_image(self._planned['remove'].pop(0))

    def apply_update_metadata(self):
        self._planned['image'] = self.store.update_image(self._planned['current'], **self._planned['changes'])

    def apply_build(self):
        self._planned['image'] = self.store.build_image(*self._planned['build'])

    def report(self):
        image = self._planned['image']
        extra = {'pull': dict(self._pull_report)} if self._pull_report is not None else {}
        return self.result(image=image_view(self.store, image) if image is not None else None, **extra)
