# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r'''
name: dockerlite
short_description: The containers of a dockerlite store as inventory hosts
version_added: 0.1.0
description:
  - Makes every container of a dockerlite store on the controller an inventory host named after the container, set up
    for the P(dockerlite.core.dockerlite#connection) connection plugin, so that plays can configure the inside of the
    containers with ordinary tasks.
  - Hosts are grouped by the image they were created from (C(image_<name>_<tag>), with every character that is not a
    letter, digit or underscore replaced by C(_), for example C(image_busybox_latest)) and by their state
    (C(state_running), C(state_frozen), C(state_stopped)).
  - Each host gets C(ansible_connection=dockerlite.core.dockerlite), C(ansible_host) (the container name),
    C(dockerlite_root) (the store), and C(dockerlite_id), C(dockerlite_image), C(dockerlite_image_id),
    C(dockerlite_state), C(dockerlite_pid) (null unless running or frozen), C(dockerlite_created) and
    C(dockerlite_labels) (the labels of its image).
  - The metadata is read from the store's files (C(<root>/containers/<name>/container.json)) and the states from
    C(lxc-ls), so the controller needs the LXC tools, read access to the store (root), but no Python bindings.
  - With O(hosts), the stores of those hosts are listed instead of the controller's, over SSH (one C(ssh) per host,
    running C(/usr/bin/python3) and C(lxc-ls) there; nothing is installed on the hosts). A container of host H is the
    inventory host C(<container>.<H>), in the group C(host_<H>) (and the image and state groups), with
    C(dockerlite_host=H) and the connection variables that make the P(dockerlite.core.dockerlite#connection) plugin
    reach it over SSH to H, then C(lxc-attach) there (C(dockerlite_ssh_host), C(dockerlite_ssh_user),
    C(dockerlite_ssh_port), C(dockerlite_ssh_private_key_file), C(dockerlite_ssh_args)).
  - The configuration file name must end in C(.dockerlite.yml) or C(.dockerlite.yaml).
extends_documentation_fragment:
  - ansible.builtin.constructed
options:
  plugin:
    description: The name of this plugin; it marks the file as this plugin's configuration.
    type: str
    required: true
    choices: [dockerlite.core.dockerlite]
  root:
    description:
      - Path of the dockerlite store on the controller, as given to the modules' O(dockerlite.core.dockerlite_container#module:root)
        option.
      - A store that does not exist yet, or has no C(containers) directory yet, has no containers.
    type: path
    default: /var/lib/dockerlite
    env:
      - name: DOCKERLITE_ROOT
  hosts:
    description:
      - Hosts whose stores to list over SSH, instead of the store on the controller. Each item is a host name, or a
        dictionary with C(name) (required; the name used in C(host_<name>), C(dockerlite_host) and the inventory names
        of its containers), C(address) (what C(ssh) connects to; default C(name)), C(root) (its store; default
        O(root)), C(user), C(port) and C(private_key_file) (for C(ssh); unset, C(ssh) chooses).
      - A host that cannot be reached or listed fails the inventory with an error naming it, unless O(skip_unreachable)
        is set.
    type: list
    elements: raw
    default: []
  ssh_args:
    description:
      - More arguments of C(ssh) for O(hosts), split as a shell would; also given to the containers as
        C(dockerlite_ssh_args) for the connection plugin.
    type: str
    default: -o BatchMode=yes
  skip_unreachable:
    description: With O(hosts), leave out (with a warning) a host that cannot be reached or listed, instead of failing.
    type: bool
    default: false
notes:
  - Two stores can be listed from two configuration files; container names must then differ between them, since a host
    name can only name one container.
seealso:
  - plugin: dockerlite.core.dockerlite
    plugin_type: connection
  - module: dockerlite.core.dockerlite_container
author:
  - dockerlite.core maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
# containers.dockerlite.yml: every container of the default store.
plugin: dockerlite.core.dockerlite

# Another store, with a group per label value and a variable of your own:
# ---
# plugin: dockerlite.core.dockerlite
# root: /srv/dockerlite
# keyed_groups:
#   - key: dockerlite_labels.role | default('none')
#     prefix: role
# compose:
#   ansible_python_interpreter: "'/usr/bin/python3' if dockerlite_image is match('debian') else omit"
# groups:
#   web: inventory_hostname is match('web')

# Then, for example: ansible -i containers.dockerlite.yml state_running -m ansible.builtin.raw -a 'uptime'

# The containers of two remote hosts, reached over SSH to the host, then lxc-attach there
# (hosts c00.node1, c00.node2, ... in groups host_node1 and host_node2):
# ---
# plugin: dockerlite.core.dockerlite
# hosts:
#   - node1
#   - name: node2
#     address: 192.0.2.12
#     root: /srv/dockerlite
#     user: root
#     private_key_file: ~/.ssh/fleet
# ssh_args: -o BatchMode=yes -o ControlMaster=auto -o ControlPersist=60s -o ControlPath=~/.ssh/cm-%C
'''

import json
import os
import re
import subprocess

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable

from ansible_collections.dockerlite.core.plugins.module_utils._common.command import run
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import CommandError, DockerliteError
from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc import STATE_NAMES
from ansible_collections.dockerlite.core.plugins.module_utils._store.paths import StorePaths
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import check_container_meta, read_container
from ansible_collections.dockerlite.core.plugins.plugin_utils._remote_store import (
    LIST_PROGRAM, parse_json_output, program_argv, ssh_argv)

CONNECTION = 'dockerlite.core.dockerlite'
LXC_LS = 'lxc-ls'
GROUP_UNSAFE_RE = re.compile(r'[^A-Za-z0-9_]')
HOST_KEYS = ('name', 'address', 'root', 'user', 'port', 'private_key_file')
# A host name as it goes into inventory names and groups: what a DNS label or an inventory name holds.
HOST_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')
REMOTE_PYTHON = '/usr/bin/python3'
SSH_TIMEOUT = 120


def group_name(prefix, value):
    """``prefix_value`` with every character Ansible does not allow in a group name replaced by ``_``."""
    return GROUP_UNSAFE_RE.sub('_', '%s_%s' % (prefix, value))


def parse_lxc_ls(text):
    """{name: (state, pid)} from ``lxc-ls --fancy --fancy-format NAME,STATE,PID``.

    States are lower-cased (running, frozen, stopped, ...); pid is an int, or None for ``-``.
    Container names hold no white space (LXC and dockerlite refuse it), so columns split on it.
    """
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines:
        return {}
    header = lines[0]
    if header[:3] != ['NAME', 'STATE', 'PID']:
        raise ValueError('unexpected lxc-ls header: %s' % ' '.join(header))
    result = {}
    for fields in lines[1:]:
        if len(fields) < 3:
            raise ValueError('unexpected lxc-ls line: %s' % ' '.join(fields))
        name, state, pid = fields[:3]
        result[name] = (STATE_NAMES.get(state, state.lower()), int(pid) if pid.isdigit() else None)
    return result


def host_vars(container, root, state, pid):
    """The variables of one container's inventory host."""
    return {
        'ansible_connection': CONNECTION,
        'ansible_host': container['name'],
        'dockerlite_root': root,
        'dockerlite_id': container.get('id'),
        'dockerlite_image': container.get('image'),
        'dockerlite_image_id': container.get('image_id'),
        'dockerlite_state': state,
        'dockerlite_pid': pid,
        'dockerlite_created': container.get('created'),
        'dockerlite_labels': (container.get('image_defaults') or {}).get('labels') or {},
    }


def host_groups(hostvars):
    """The groups this plugin puts a host in (before compose/groups/keyed_groups)."""
    groups = ['state_%s' % hostvars['dockerlite_state']]
    if hostvars['dockerlite_image']:
        groups.insert(0, group_name('image', hostvars['dockerlite_image']))
    return groups


def remote_hosts(items, default_root):
    """The ``hosts`` option as a list of {name, address, root, user, port, private_key_file}; ValueError naming a bad item."""
    if not isinstance(items, list):
        raise ValueError('hosts must be a list, not %s' % type(items).__name__)
    hosts, seen = [], set()
    for item in items:
        entry = {'name': item} if isinstance(item, str) else item
        if not isinstance(entry, dict):
            raise ValueError('an item of hosts must be a host name or a dictionary, not %r' % (item,))
        unknown = sorted(set(entry) - set(HOST_KEYS))
        if unknown:
            raise ValueError('hosts item %r has unknown keys %s (known: %s)'
                             % (item, ', '.join(map(str, unknown)), ', '.join(HOST_KEYS)))
        name = entry.get('name')
        if not isinstance(name, str) or not HOST_NAME_RE.match(name):
            raise ValueError('hosts item %r: name must be a host name (letters, digits, _ . -), not %r' % (item, name))
        if name in seen:
            raise ValueError('hosts names %s twice' % name)
        seen.add(name)
        port = entry.get('port')
        if port is not None and (isinstance(port, bool) or not str(port).isdigit() or not 0 < int(port) < 65536):
            raise ValueError('hosts item %s: port must be a TCP port number, not %r' % (name, port))
        root = entry.get('root') or default_root
        if not isinstance(root, str) or not root.startswith('/'):
            raise ValueError('hosts item %s: root must be an absolute path, not %r' % (name, root))
        hosts.append({'name': name, 'address': str(entry.get('address') or name), 'root': os.path.normpath(root),
                      'user': entry.get('user'), 'port': int(port) if port is not None else None,
                      'private_key_file': entry.get('private_key_file')})
    return hosts


def parse_remote_listing(data, layout):
    """([container metadata], {name: (state, pid)}, [warnings]) from what LIST_PROGRAM printed for ``layout``'s store.

    Every container.json is checked as on the controller; a damaged or vanished one is left out with a warning.
    """
    containers, warnings = [], []
    entries = data.get('containers')
    if not isinstance(entries, dict) or not isinstance(data.get('lxc_ls', ''), str):
        raise ValueError('the listing of %s is not {lxc_ls, containers}' % layout.containers)
    for entry, text in sorted(entries.items()):
        if text is None:
            continue  # removed while listed, or not a container directory
        try:
            meta_path = layout.container(entry)['meta']
            containers.append(check_container_meta(json.loads(text), meta_path, entry))
        except (ValueError, TypeError, KeyError, DockerliteError) as exc:
            warnings.append('%s in %s: %s; skipped' % (entry, layout.containers, getattr(exc, 'msg', exc)))
    states = parse_lxc_ls(data.get('lxc_ls') or '') if containers else {}
    return containers, states, warnings


def remote_host_vars(variables, host, ssh_args):
    """``variables`` of a container of remote ``host`` plus what the connection plugin needs to reach it over SSH."""
    out = dict(variables)
    out['dockerlite_host'] = host['name']
    out['dockerlite_ssh_host'] = host['address']
    out['dockerlite_ssh_args'] = ssh_args
    for key in ('user', 'port', 'private_key_file'):
        if host[key] is not None:
            out['dockerlite_ssh_' + key] = host[key]
    return out


def remote_inventory_name(container, host):
    """The inventory name of ``container`` on remote host ``host``."""
    return '%s.%s' % (container, host)


class InventoryModule(BaseInventoryPlugin, Constructable):
    NAME = 'dockerlite.core.dockerlite'

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(('.dockerlite.yml', '.dockerlite.yaml'))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        root = os.path.abspath(self.get_option('root'))
        if os.path.exists(root) and not os.path.isdir(root):
            raise AnsibleParserError('dockerlite store root %s is not a directory' % root)
        try:
            hosts = remote_hosts(self.get_option('hosts'), root)
        except ValueError as exc:
            raise AnsibleParserError('dockerlite inventory %s: %s' % (path, exc))
        if not hosts:
            layout = StorePaths(root)
            containers = self._read_containers(layout)
            states = self._states(layout.containers) if containers else {}
            for container in containers:
                state, pid = states.get(container['name'], ('unknown', None))
                self._add(container['name'], host_vars(container, root, state, pid), [])
            return
        ssh_args = self.get_option('ssh_args')
        for host in hosts:
            try:
                containers, states = self._remote_containers(host, ssh_args)
            except AnsibleParserError as exc:
                if not self.get_option('skip_unreachable'):
                    raise
                self.display.warning('dockerlite inventory: %s; host %s left out' % (exc.message, host['name']))
                continue
            for container in containers:
                state, pid = states.get(container['name'], ('unknown', None))
                variables = remote_host_vars(host_vars(container, host['root'], state, pid), host, ssh_args)
                self._add(remote_inventory_name(container['name'], host['name']), variables,
                          [group_name('host', host['name'])])

    def _add(self, name, variables, groups):
        strict = self.get_option('strict')
        self.inventory.add_host(name)
        for key, value in variables.items():
            self.inventory.set_variable(name, key, value)
        for group in groups + host_groups(variables):
            self.inventory.add_group(group)
            self.inventory.add_child(group, name)
        self._set_composite_vars(self.get_option('compose'), variables, name, strict=strict)
        self._add_host_to_composed_groups(self.get_option('groups'), variables, name, strict=strict)
        self._add_host_to_keyed_groups(self.get_option('keyed_groups'), variables, name, strict=strict)

    def _remote_containers(self, host, ssh_args):
        """([container metadata], states) of the store of remote ``host``, listed over SSH."""
        layout = StorePaths(host['root'])
        cmd = ssh_argv(host['address'], program_argv(REMOTE_PYTHON, LIST_PROGRAM, layout.containers),
                       user=host['user'], port=host['port'], private_key_file=host['private_key_file'],
                       ssh_args=ssh_args)
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=SSH_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AnsibleParserError('cannot list the containers of host %s over ssh: %s' % (host['name'], exc))
        if proc.returncode != 0:
            raise AnsibleParserError('cannot list the containers of host %s (%s) over ssh (rc %d): %s'
                                     % (host['name'], host['address'], proc.returncode,
                                        proc.stderr.decode('utf-8', 'replace').strip()[-800:]))
        try:
            data = parse_json_output(proc.stdout.decode('utf-8', 'replace'), 'the listing of host %s' % host['name'])
            containers, states, warnings = parse_remote_listing(data, layout)
        except ValueError as exc:
            raise AnsibleParserError('cannot read the containers of host %s: %s' % (host['name'], exc))
        for warning in warnings:
            self.display.warning('dockerlite inventory: host %s: %s' % (host['name'], warning))
        return containers, states

    def _read_containers(self, layout):
        """Every container's metadata; one removed while we read is skipped, not an error, and so
        is a damaged entry (with a warning naming it)."""
        if not os.path.isdir(layout.containers):
            return []
        containers = []
        for name in sorted(os.listdir(layout.containers)):
            try:
                container = read_container(layout, name)
            except FileNotFoundError:
                continue
            except DockerliteError as exc:  # damaged metadata, or an entry that is no container
                self.display.warning('dockerlite inventory: %s; skipped' % exc.msg)
                continue
            except (OSError, ValueError) as exc:
                raise AnsibleParserError('cannot read the metadata of container %s in %s: %s'
                                         % (name, layout.containers, exc))
            if container is not None:
                containers.append(container)
        return containers

    @staticmethod
    def _states(lxcpath):
        cmd = [LXC_LS, '--lxcpath', lxcpath, '--fancy', '--fancy-format', 'NAME,STATE,PID']
        try:
            return parse_lxc_ls(run(cmd, 'listing the containers of %s with %s' % (lxcpath, LXC_LS)))
        except CommandError as exc:
            raise AnsibleParserError(exc.msg)
        except ValueError as exc:
            raise AnsibleParserError('cannot parse the output of %s: %s' % (' '.join(cmd), exc))
