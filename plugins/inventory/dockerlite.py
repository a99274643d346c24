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
'''

import os
import re

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable

from ansible_collections.dockerlite.core.plugins.module_utils._common.command import run
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import CommandError, DockerliteError
from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc import STATE_NAMES
from ansible_collections.dockerlite.core.plugins.module_utils._store.paths import StorePaths
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import read_container

CONNECTION = 'dockerlite.core.dockerlite'
LXC_LS = 'lxc-ls'
GROUP_UNSAFE_RE = re.compile(r'[^A-Za-z0-9_]')


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
        layout = StorePaths(root)
        containers = self._read_containers(layout)
        states = self._states(layout.containers) if containers else {}
        strict = self.get_option('strict')
        for container in containers:
            name = container['name']
            state, pid = states.get(name, ('unknown', None))
            variables = host_vars(container, root, state, pid)
            self.inventory.add_host(name)
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value)
            for group in host_groups(variables):
                self.inventory.add_group(group)
                self.inventory.add_child(group, name)
            self._set_composite_vars(self.get_option('compose'), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), variables, name, strict=strict)

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
