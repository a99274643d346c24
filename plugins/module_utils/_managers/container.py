# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_container: create, configure, start, stop, freeze, run once and remove containers."""

from __future__ import annotations

import ipaddress
import math
import os

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError, ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._store.idmap import (
    LEGACY_SPEC, HostIds, allocate_idmap, idmap_held, shared_idmap)
from ansible_collections.dockerlite.core.plugins.module_utils._store.lxc_config import init_cmd_line, render_config
from ansible_collections.dockerlite.core.plugins.module_utils._managers.base import NEXT_MAJOR, Manager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image_common import DEFAULT_COMMAND
from ansible_collections.dockerlite.core.plugins.module_utils._store.network import (
    CONTAINER_INTERFACE, NETWORK_NONE, HostNetwork, addresses_held, container_ipv4, hostname_file, hosts_file,
    missing_bridge_error, normalize_network, resolve_network)
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import ORPHANED, new_id, utc_now
from ansible_collections.dockerlite.core.plugins.module_utils._common.validation import (
    image_ref, normalize_capabilities, normalize_command, normalize_env, normalize_mounts, normalize_user,
    normalize_workdir, parse_cpus, parse_disk_limit, parse_size, validate_container_name, validate_hostname,
    validate_pids_limit, validate_stop_timeout, validate_timeout)

STATES = ('present', 'started', 'stopped', 'restarted', 'frozen', 'absent')
# dockerlite_container's options (the store's root aside); dockerlite_stack takes the same per container.
CONTAINER_OPTIONS = dict(
    name=dict(type='str', required=True),
    image=dict(type='str'),
    state=dict(type='str', default='started', choices=list(STATES)),
    command=dict(type='raw'),
    env=dict(type='dict'),
    workdir=dict(type='str'),
    user=dict(type='str'),
    mounts=dict(type='list', elements='dict', options=dict(
        source=dict(type='path', required=True),
        target=dict(type='str', required=True),
        read_only=dict(type='bool', default=False),
        idmap=dict(type='bool', default=False),
    )),
    hostname=dict(type='str'),
    memory=dict(type='str'),
    disk_limit=dict(type='str'),
    cpus=dict(type='float'),
    pids_limit=dict(type='int'),
    capabilities=dict(type='list', elements='str'),
    cap_drop=dict(type='list', elements='str'),
    autostart=dict(type='bool'),
    privileged=dict(type='bool'),
    isolated_idmap=dict(type='bool'),
    recreate=dict(type='bool', default=False),
    detach=dict(type='bool', default=True),
    cleanup=dict(type='bool', default=False),
    timeout=dict(type='float'),
    stop_timeout=dict(type='int'),
    network=dict(type='dict', options=dict(
        mode=dict(type='str', choices=['none', 'bridge']),
        bridge=dict(type='str'),
        ipv4=dict(type='str'),
        gateway=dict(type='str'),
    )),
    wait_for_ipv4=dict(type='bool'),
)
COMMAND_STOP_SIGNAL = 'SIGTERM'
DEFAULT_STOP_TIMEOUT = 10
SECCOMP_PROFILE = '/usr/share/lxc/config/common.seccomp'
# Options compared between the task and the container; all live in the LXC config.
SPEC_KEYS = ('command', 'env', 'workdir', 'user', 'mounts', 'hostname', 'memory', 'cpus', 'pids_limit',
             'capabilities', 'cap_drop', 'autostart', 'privileged', 'isolated_idmap')
# user_ids: what ``user`` was resolved to in the rootfs (None for root); see ContainerManager._identity.
SPEC_DEFAULTS = {'workdir': None, 'user': None, 'user_ids': None, 'mounts': [], 'hostname': None, 'memory': None,
                 'cpus': None, 'pids_limit': None,
                 'capabilities': [], 'cap_drop': [], 'autostart': False, 'privileged': False,
                 'isolated_idmap': False}
# The network is in the spec too, but resolved by the manager (it allocates addresses),
# not merged by desired_spec; so is the id map (top-level ``idmap`` in container.json).
COMPARED_KEYS = SPEC_KEYS + ('network',)
# Options in the spec that are not in the LXC config: each is changed by its own action,
# without a restart. disk_limit is bytes or None (no limit).
LIVE_KEYS = ('disk_limit',)
SPEC_DEFAULTS = dict(SPEC_DEFAULTS, disk_limit=None)
RUNNING = ('running', 'frozen')
# Files in the container's directory that the config bind-mounts over these paths.
ETC_FILES = (('hosts', '/etc/hosts'), ('hostname', '/etc/hostname'))
# Seconds a start waits for the container's IPv4 address to show up inside it.
WAIT_FOR_IPV4_TIMEOUT = 10
STOP_WAIT_DEPRECATION = (
    'dockerlite_container used timeout as the seconds to wait for a graceful stop, because stop_timeout is not set. '
    'From dockerlite.core %s on, timeout is only the longest a command run with detach: false may run (as in '
    'dockerlite_exec), and a graceful stop waits stop_timeout seconds (default %d). Set stop_timeout instead'
    % (NEXT_MAJOR, DEFAULT_STOP_TIMEOUT))


def image_defaults(image):
    """What a container takes from its image when it is created; kept in container.json."""
    return {'command': image.get('command') or list(DEFAULT_COMMAND), 'env': image.get('env') or {},
            'labels': image.get('labels') or {}, 'stop_signal': image.get('stop_signal') or 'SIGPWR',
            # An OCI config writes "" for none.
            'workdir': image.get('workdir') or None, 'user': image.get('user') or None}


def desired_spec(given, defaults, current_spec=None):
    """The runtime spec the task asks for.

    Options the task leaves out keep the container's current value (or the default
    for a new container); env is the image's env updated with the task's.
    """
    if current_spec:
        spec = dict(current_spec)
    else:
        spec = dict(SPEC_DEFAULTS, command=defaults['command'], env=dict(defaults['env']),
                    workdir=defaults.get('workdir'), user=defaults.get('user'))
    for key in SPEC_KEYS:
        if given.get(key) is None:
            continue
        spec[key] = dict(defaults['env'], **given['env']) if key == 'env' else given[key]
    for key in LIVE_KEYS:
        # 0 removes the limit; a container made before disk limits existed has none.
        spec[key] = (given[key] or None) if given.get(key) is not None else spec.get(key)
    spec['stop_signal'] = defaults['stop_signal'] if spec['command'] == DEFAULT_COMMAND else COMMAND_STOP_SIGNAL
    return spec


def legacy_warning(name):
    """What the module says about a container made before unprivileged containers were the default."""
    return ('container %s was made before containers ran unprivileged by default and still runs privileged '
            '(container root is host root). Set privileged: false to run it in a user namespace: that only '
            'rewrites its config and restarts it; its rootfs is left as it is. Set privileged: true to keep it '
            'privileged and silence this warning' % name)


def plan_state(actual, wanted, reconfigure):
    """Actions that take a container from ``actual`` to ``wanted`` state.

    ``reconfigure`` means the LXC config was rewritten, so a running container must
    restart to pick it up.
    """
    running = actual in RUNNING
    if wanted == 'stopped':
        return ['stop'] if running else []
    if wanted == 'present':
        if not running or not reconfigure:
            return []
        return ['stop', 'start'] + (['freeze'] if actual == 'frozen' else [])
    restart = running and (reconfigure or wanted == 'restarted')
    actions = ['stop', 'start'] if restart else ([] if running else ['start'])
    if wanted == 'frozen' and (actions or actual != 'frozen'):
        actions.append('freeze')
    if wanted in ('started', 'restarted') and actual == 'frozen' and not actions:
        actions.append('unfreeze')
    return actions


def etc_files(name, spec):
    """{file name: text} of the files behind ETC_FILES."""
    return {'hosts': hosts_file(name, spec.get('hostname'), spec.get('network')),
            'hostname': hostname_file(name, spec.get('hostname'))}


def final_state(actual, actions):
    state = actual
    for action in actions:
        state = {'start': 'running', 'unfreeze': 'running', 'stop': 'stopped', 'freeze': 'frozen',
                 'kill_orphan': 'stopped', 'run': 'stopped', 'create': 'stopped', 'remove': 'absent'}.get(action, state)
    return state


def container_view(store, meta, state, pid):
    """The ``container`` return value (of dockerlite_container, its info module and the stack's members).

    ``meta`` is a container's metadata, or the one a check run plans for a container it
    would create (which has no ``rootfs`` yet, so no id, creation time or disk usage).
    Every key is always there: spec keys a container made by an earlier release lacks
    take the value they have for it.
    """
    made = 'rootfs' in meta
    view = dict(SPEC_DEFAULTS, network=dict(NETWORK_NONE), **LEGACY_SPEC)
    view.update(meta['spec'])
    view['mounts'] = [dict({'idmap': False}, **mount) for mount in view['mounts'] or ()]
    view.update({
        'name': meta['name'], 'id': meta['id'] if made else None, 'image': meta['image'],
        'image_id': meta['image_id'], 'state': state, 'pid': pid,
        'rootfs': store.container_paths(meta['name'])['rootfs'], 'created': meta['created'] if made else None,
        'idmap': meta.get('idmap'), 'ipv4': container_ipv4(view['network']),
        # Only an existing container has a rootfs to measure.
        'disk_usage': store.container_disk_usage(meta['name']) if made else None,
    })
    return view


class ContainerManager(Manager):
    """Converges one container: validate(), then in a store session plan(), apply() and report().

    run() (Manager's) does all four for the module. A caller converging several containers in one
    store session (dockerlite_stack) calls them itself, one manager per container, and may
    apply the planned actions piecewise. ``host_network`` reads the host's bridges
    (HostNetwork unless the caller gives another object with a ``bridge(name)`` method);
    ``reserved`` maps addresses (``a.b.c.d`` or IPv4Address) to the names of containers
    planned in the same session but not written yet, so that allocation skips them too;
    ``reserved_idmaps`` does the same for the host uids of isolated id maps. ``host_ids``
    reads root's subordinate ids (HostIds unless the caller gives another object with
    a ``range()`` method).
    """

    def __init__(self, params, store, check_mode=False, host_network=None, host_ids=None):
        super().__init__(params, store, check_mode)
        self.host_network = host_network
        self.host_ids = host_ids
        self.reserved = {}
        self.reserved_idmaps = {}
        self._bridges = {}
        self._planned = None
        # (state, pid) of the container as plan() read it, for a run with nothing to do.
        self._status = None
        self.run_result = None

    def _given(self):
        params = self.params
        given = {
            'command': normalize_command(params['command']),
            'env': normalize_env(params['env']),
            'workdir': normalize_workdir(params.get('workdir')),
            'user': normalize_user(params.get('user')),
            'mounts': normalize_mounts(params['mounts']),
            'hostname': validate_hostname(params['hostname']),
            'memory': parse_size(params['memory'], 'memory'),
            'disk_limit': parse_disk_limit(params.get('disk_limit')),
            'cpus': parse_cpus(params['cpus']),
            'pids_limit': validate_pids_limit(params['pids_limit']),
            'capabilities': normalize_capabilities(params['capabilities'], 'capabilities'),
            'cap_drop': normalize_capabilities(params['cap_drop'], 'cap_drop'),
            'autostart': params['autostart'],
            'privileged': params.get('privileged'),
            'isolated_idmap': params.get('isolated_idmap'),
            # Not merged by desired_spec; resolved into spec['network'] by _network.
            'network': normalize_network(params.get('network')),
        }
        if not params['detach'] and params['state'] not in ('started', 'present'):
            raise ValidationError('detach: false runs the command once; it needs state started or present, not %s'
                                  % params['state'])
        if params['cleanup'] and params['detach']:
            raise ValidationError('cleanup: true applies only with detach: false')
        if params.get('privileged') and params.get('isolated_idmap'):
            raise ValidationError('isolated_idmap: true gives an unprivileged container its own ids; a privileged '
                                  'container has none (privileged: true)')
        validate_stop_timeout(params['stop_timeout'])
        if not params['detach']:
            validate_timeout(params['timeout'])
        elif params['timeout'] is not None and not params['timeout'] >= 0:
            # The deprecated meaning, the stop wait, where 0 kills at once.
            raise ValidationError('timeout %r must not be negative' % (params['timeout'],))
        return given

    def stop_wait(self):
        """Seconds a stop waits for PID 1 to halt: stop_timeout, else (deprecated) timeout, else the default."""
        if self.params['stop_timeout'] is not None:
            return self.params['stop_timeout']
        if self.params['timeout'] is not None:
            return int(math.ceil(self.params['timeout']))
        return DEFAULT_STOP_TIMEOUT

    def _note_deprecated_stop_wait(self):
        """timeout still stands in for stop_timeout: always with detach (its only use), else when a stop is planned."""
        params = self.params
        if params['stop_timeout'] is None and params['timeout'] is not None and (
                params['detach'] or 'stop' in self.actions):
            self.note_deprecation(STOP_WAIT_DEPRECATION, NEXT_MAJOR)

    def validate(self):
        """Check the task's options before the store is touched; return (name, image ref, given options)."""
        name = validate_container_name(self.params['name'])
        ref = image_ref(self.params['image']) if self.params['image'] else None
        return name, ref, self._given()

    # -- planning ---------------------------------------------------------

    def plan(self, request):
        """Fill ``actions`` and the diff for the container of ``request`` (what validate() returned); change nothing.

        The store session must be open.
        """
        name, ref, given = request
        if self.params['state'] == 'absent':
            # Needs only the directory, so that a container with damaged metadata can be removed.
            exists = self.store.container_exists(name)
            actual = self.store.container_status(name)[0] if exists else 'absent'
            self._plan_orphan(actual)
            self._plan_absent(name, exists, actual)
            self._note_deprecated_stop_wait()
            return
        current = self.store.get_container(name)
        if current is not None:
            current['spec'].setdefault('network', dict(NETWORK_NONE))
            if 'privileged' not in current['spec']:
                if self.params['state'] != 'absent' and self.params.get('privileged') is None:
                    self.warnings.append(legacy_warning(name))
                for key, value in LEGACY_SPEC.items():
                    current['spec'].setdefault(key, value)
            current.setdefault('idmap', None)
        self._status = self.store.container_status(name) if current else ('absent', None)
        actual = self._status[0]
        self._plan_orphan(actual)
        self._plan_present(name, ref, given, current, actual)
        self._note_deprecated_stop_wait()

    def _plan_orphan(self, actual):
        if actual == ORPHANED:
            # Its LXC monitor died: nothing can stop, freeze or attach to it; kill it, then go on as from stopped.
            self.actions.append('kill_orphan')

    def _plan_absent(self, name, current, actual):
        if current:
            self.actions.extend((['stop'] if actual in RUNNING else []) + ['remove'])
        self.tracker.add('state', actual, 'absent')
        self._planned = {'name': name, 'meta': None, 'config': None, 'image': None, 'files': None}

    def _find_image(self, ref, name):
        if ref is None:
            raise ValidationError('container %s does not exist; image is needed to create it' % name)
        image = self.store.find_image(ref)
        if image is None:
            raise ValidationError('image %s not found in %s' % (ref, self.store.root))
        return image

    def _needs_recreate(self, name, ref, current):
        """Decide whether ``image`` asks for a new rootfs; refuse that unless recreate is set."""
        if ref is None:
            return None
        image = self.store.find_image(ref)
        if ref != current['image']:
            if not self.params['recreate']:
                raise DockerliteError(
                    'container %s was created from image %s; making it from %s replaces its rootfs and the data in '
                    'it. Set recreate: true to do that' % (name, current['image'], ref))
            return self._find_image(ref, name)
        if image is not None and image['id'] != current['image_id']:
            if self.params['recreate']:
                return image
            self.warnings.append('image %s has changed since container %s was created from it; set recreate: true '
                                 'to recreate the container from it' % (ref, name))
        return None

    def _plan_present(self, name, ref, given, current, actual):
        params = self.params
        image = self._find_image(ref, name) if current is None else self._needs_recreate(name, ref, current)
        recreate = current is not None and image is not None
        if image is not None:
            defaults = image_defaults(image)
            spec = desired_spec(given, defaults)
        else:
            defaults = current['image_defaults']
            spec = desired_spec(given, defaults, current['spec'])
        spec['network'] = self._network(name, given.get('network'),
                                        current['spec']['network'] if current is not None and not recreate else None)
        idmap = self._idmap(name, spec, current['idmap'] if current is not None and not recreate else None)
        self._identity(name, ref, spec, image, current if not recreate else None, idmap)
        self._check_runtime(name, spec)
        mount_kinds = self._mount_kinds(spec)

        before = dict(current['spec'], image=current['image'], image_id=current['image_id'],
                      idmap=current['idmap']) if current else {}
        after = dict(spec, image=ref, image_id=image['id']) if image is not None else \
            dict(spec, image=current['image'], image_id=current['image_id'])
        after['idmap'] = idmap
        changed = [key for key in COMPARED_KEYS + ('idmap',) if before.get(key) != after.get(key)]
        for key in ('image', 'image_id') + COMPARED_KEYS + ('idmap',) + LIVE_KEYS:
            self.tracker.add(key, before.get(key), after.get(key))

        if current is None:
            self.actions.append('create')
            state_from = 'stopped'
        elif recreate:
            self.actions.extend((['stop'] if actual in RUNNING else []) + ['remove', 'create'])
            state_from = 'stopped'
        else:
            state_from = actual
        if params['detach']:
            self.actions.extend(plan_state(state_from, params['state'], bool(changed) and current is not None
                                           and not recreate))
        else:
            if state_from in RUNNING:
                raise DockerliteError('container %s is %s; detach: false runs a command in a stopped container'
                                      % (name, state_from))
            self.actions.append('run')
            if params['cleanup']:
                self.actions.append('remove')
        if changed and current is not None and not recreate:
            # After the stop: the running PID 1 is halted with the signal of the config it was
            # started with, and a run that dies before the rewrite leaves the spec different,
            # so the next run still restarts the container.
            self.actions.insert(1 if self.actions[:1] in (['stop'], ['kill_orphan']) else 0, 'update_config')
        if before.get('disk_limit') != after.get('disk_limit') and current is not None and not recreate:
            # Before update_config, which records the whole spec: container.json says a limit
            # only once it is set.
            at = self.actions.index('update_config') if 'update_config' in self.actions else 0
            self.actions.insert(at, 'set_disk_limit')
        self.tracker.add('state', actual, final_state(state_from, self.actions))
        if {'start', 'run'} & set(self.actions):
            self._check_bridge(spec['network'])

        self._planned = {'name': name, 'meta': self._meta(name, image, ref, defaults, spec, idmap, current, recreate),
                         'config': self._render(name, spec, mount_kinds, idmap), 'image': image,
                         'files': etc_files(name, spec)}

    # -- network ----------------------------------------------------------

    def _bridge(self, name):
        """The host's bridge ``name`` (None if missing), read once per run."""
        if name not in self._bridges:
            if self.host_network is None:
                self.host_network = HostNetwork()
            self._bridges[name] = self.host_network.bridge(name)
        return self._bridges[name]

    def _network(self, name, request, current):
        """The network the container gets: the current one when the task gives none, else resolved.

        Addresses held by the store's other containers (and those reserved in this
        session) are read under the store lock, which every run holds.
        """
        if request is None:
            return current or dict(NETWORK_NONE)
        if request['mode'] != 'bridge':
            return resolve_network(request, None, {})
        held = addresses_held(self.store.list_containers(), exclude=name)
        held.update({ipaddress.IPv4Address(str(address).split('/', maxsplit=1)[0]): holder
                     for address, holder in self.reserved.items() if holder != name})
        return resolve_network(request, self._bridge(request['bridge']), held, current)

    # -- user namespace ---------------------------------------------------

    def _idmap(self, name, spec, current):
        """The container's id map: None when privileged, else the shared block or an isolated one.

        Isolated blocks held by the store's other containers (and those reserved in this
        session) are read under the store lock, like addresses.
        """
        if spec.get('privileged'):
            return None
        if self.host_ids is None:
            self.host_ids = HostIds()
        first, blocks = self.host_ids.range()
        if not spec.get('isolated_idmap'):
            return shared_idmap(first)
        held = idmap_held(self.store.list_containers(), exclude=name)
        held.update({uid: holder for uid, holder in self.reserved_idmaps.items() if holder != name})
        return allocate_idmap(first, blocks, held, current)

    # -- user and working directory ---------------------------------------

    def _identity(self, name, ref, spec, image, current, idmap):
        """Check the workdir and resolve the user into ``spec['user_ids']`` (None without a user).

        Either may come from the image, where the task's checks did not see them. The user
        is looked up in the rootfs the container is (or will be) made of when it is first
        set or changes; an unchanged user keeps the ids it was resolved to.
        """
        where = 'image %s' % ref if image is not None else 'container %s' % name
        spec['workdir'] = normalize_workdir(spec.get('workdir'), 'workdir (of %s)' % where)
        spec['user'] = normalize_user(spec.get('user'), 'user (of %s)' % where)
        if spec['user'] is None:
            spec['user_ids'] = None
            return
        kept = current['spec'] if current is not None else {}
        if kept.get('user') == spec['user'] and kept.get('user_ids'):
            spec['user_ids'] = kept['user_ids']
        else:
            rootfs = image['rootfs'] if image is not None else self.store.container_paths(name)['rootfs']
            spec['user_ids'] = self.store.resolve_user(rootfs, spec['user'], where)
        ids = spec['user_ids']
        if idmap and max(ids['uid'], ids['gid']) >= idmap['size']:
            raise ValidationError('user %s of container %s is uid %d gid %d; an unprivileged container maps only ids '
                                  '0 to %d' % (spec['user'], name, ids['uid'], ids['gid'], idmap['size'] - 1))

    def _check_bridge(self, network):
        """A container can only start when its bridge exists; refuse before anything is made."""
        if network.get('mode') == 'bridge':
            bridge = self._bridge(network['bridge'])
            if bridge is None:
                raise missing_bridge_error(network['bridge'])
            if not bridge.up:
                self.warnings.append('bridge %s is down; container traffic will not pass until it is up'
                                     % bridge.name)

    def _wants_wait(self, spec):
        wait = self.params.get('wait_for_ipv4')
        return spec['network'].get('mode') == 'bridge' and (wait is None or wait)

    def _check_runtime(self, name, spec):
        if spec.get('autostart') and init_cmd_line(spec['command']) is None:
            raise ValidationError('autostart needs a command that lxc.init.cmd can hold, without white space or '
                                  'quotes in any argument; %s has some' % (spec['command'],))
        for mount in spec.get('mounts') or ():
            if not os.path.exists(mount['source']):
                raise ValidationError('mount source %s (for %s in container %s) does not exist'
                                      % (mount['source'], mount['target'], name))

    @staticmethod
    def _mount_kinds(spec):
        return {m['source']: 'dir' if os.path.isdir(m['source']) else 'file' for m in spec.get('mounts') or ()}

    def _meta(self, name, image, ref, defaults, spec, idmap, current, recreate):
        if current is not None and not recreate:
            return dict(current, spec=spec, idmap=idmap)
        return {'id': new_id(), 'name': name, 'image': ref, 'image_id': image['id'], 'image_defaults': defaults,
                'created': utc_now(), 'spec': spec, 'idmap': idmap}

    def _render(self, name, spec, mount_kinds, idmap):
        paths = self.store.container_paths(name)
        seccomp = SECCOMP_PROFILE if os.path.exists(SECCOMP_PROFILE) else None
        generated = [(os.path.join(paths['dir'], filename), target) for filename, target in ETC_FILES]
        return render_config(name, spec, paths['rootfs'], paths['log'], self.store.host_cgroup_layout(), seccomp,
                             mount_kinds, generated, idmap)

    # -- execution --------------------------------------------------------

    def image_to_create(self):
        """The image (store record) the plan creates the container from; None when it creates none."""
        if self.check_mode or 'create' not in self.actions:
            return None
        return self._planned['image']

    def apply(self, actions=None):
        """Carry out the planned actions, or ``actions`` (some of them, in order); nothing in check mode.

        Returns the result of a ``run`` action (or the error it raised), else None; report() shows it.
        """
        if self.check_mode:
            return None
        planned = self._planned
        name, meta, config, image, files = (planned[key] for key in ('name', 'meta', 'config', 'image', 'files'))
        spec = meta['spec'] if meta else None
        stop_timeout = self.stop_wait()
        run_result = None
        for action in self.actions if actions is None else actions:
            if action == 'create':
                self.store.create_container(meta, image, config, files)
            elif action == 'set_disk_limit':
                self.store.set_container_disk_limit(name, spec['disk_limit'])
            elif action == 'update_config':
                self.store.update_container(meta, config, files)
            elif action == 'remove':
                self.store.remove_container(name)
            elif action == 'stop':
                self.store.stop_container(name, stop_timeout)
            elif action == 'start':
                self.store.start_container(name, spec['command'])
                if self._wants_wait(spec):
                    self.store.wait_for_container_ipv4(name, container_ipv4(spec['network']), CONTAINER_INTERFACE,
                                                       WAIT_FOR_IPV4_TIMEOUT)
            elif action == 'kill_orphan':
                self.store.kill_orphaned_container(name)
            elif action == 'freeze':
                self.store.freeze_container(name)
            elif action == 'unfreeze':
                self.store.unfreeze_container(name)
            elif action == 'run':
                try:
                    run_result = self.store.run_container_command(name, spec['command'], self.params['timeout'])
                except DockerliteError as exc:
                    # The container was already created or reconfigured: report that
                    # (changed, actions) along with the failure instead of losing it.
                    run_result = exc
            self.done.append(action)
        self.run_result = run_result
        return run_result

    def report(self, run_result=None):
        """The module's result for the planned container, as it is now (as it would be, in check mode)."""
        run_result = self.run_result if run_result is None else run_result
        name, meta = self._planned['name'], self._planned['meta']
        extra = {}
        if self.check_mode or not self.store.get_container(name):
            state = self.tracker.diff()['after']['state']
            container = None if state == 'absent' else container_view(self.store, meta, state, None)
        else:
            # A run that did nothing reports the state the plan read a moment ago (one LXC query
            # per container fewer: a stack's unchanged rerun made 100 of them twice).
            state, pid = self._status if self._status and not self.actions else self.store.container_status(name)
            container = container_view(self.store, self.store.get_container(name), state, pid)
        if isinstance(run_result, DockerliteError):
            details = dict(run_result.details)
            stdout, stderr = details.pop('stdout', ''), details.pop('stderr', '')
            extra = dict(details, failed=True, msg=run_result.msg, stdout=stdout, stderr=stderr,
                         stdout_lines=stdout.splitlines(), stderr_lines=stderr.splitlines())
        elif run_result is not None:
            rc, stdout, stderr, _seconds = run_result
            extra = {'rc': rc, 'stdout': stdout, 'stderr': stderr, 'stdout_lines': stdout.splitlines(),
                     'stderr_lines': stderr.splitlines()}
            if rc != 0:
                extra['failed'] = True
                extra['msg'] = 'command %s in container %s exited with rc %d%s' % (
                    meta['spec']['command'], name, rc,
                    ' (255 can also mean that LXC could not run it)' if rc == 255 else '')
        return self.result(container=container, **extra)
