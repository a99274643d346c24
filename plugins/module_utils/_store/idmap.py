# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""User namespaces: root's subordinate id ranges and the id map (shared or isolated) of each container."""

from __future__ import annotations

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError

SUBUID = '/etc/subuid'
SUBGID = '/etc/subgid'
# The ids a container sees: 0-65535, as Docker and LXD map them.
BLOCK_SIZE = 65536
SUBID_USER = 'root'
# The spec of a container made before containers ran unprivileged by default: privileged, no id map.
LEGACY_SPEC = {'privileged': True, 'isolated_idmap': False}


def parse_subid(text, user=SUBID_USER, uid=0):
    """The ranges [(first host id, count)] that a subuid/subgid text gives ``user`` (or its ``uid``), in order.

    Lines are ``name-or-id:first:count``; comments, blank and malformed lines are
    skipped, as shadow's own parser does.
    """
    ranges = []
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        fields = line.split(':')
        if len(fields) != 3 or fields[0] not in (user, str(uid)):
            continue
        try:
            first, count = int(fields[1]), int(fields[2])
        except ValueError:
            continue
        if first >= 0 and count > 0:
            ranges.append((first, count))
    return ranges


def host_range(subuid_text, subgid_text, subuid_path=SUBUID, subgid_path=SUBGID):
    """({'uid': first, 'gid': first}, number of blocks) of root's first ranges large enough for one block.

    Fails naming both files when root has no range in one of them, or none of at
    least BLOCK_SIZE ids.
    """
    found = {}
    counts = []
    for key, text, path in (('uid', subuid_text, subuid_path), ('gid', subgid_text, subgid_path)):
        ranges = parse_subid(text)
        large = [item for item in ranges if item[1] >= BLOCK_SIZE]
        if not large:
            raise DockerliteError(
                'unprivileged containers need a range of at least %d subordinate ids for root in %s and in %s, '
                'such as "root:1000000:1000000000" in both '
                '(the dockerlite.core.dockerlite_prerequisites role adds it); '
                '%s gives root %s' % (
                    BLOCK_SIZE, subuid_path, subgid_path, path,
                    'no range' if not ranges else 'only %s' % ', '.join('%d ids from %d' % (c, f) for f, c in ranges)),
                subuid=subuid_path, subgid=subgid_path)
        found[key] = large[0][0]
        counts.append(large[0][1] // BLOCK_SIZE)
    return found, min(counts)


def idmap_held(containers, exclude=None):
    """{host uid of container root: container name} for every container with an id map but ``exclude``."""
    held = {}
    for container in containers:
        idmap = container.get('idmap')
        if container.get('name') == exclude or not isinstance(idmap, dict) or 'uid' not in idmap:
            continue
        held.setdefault(idmap['uid'], container.get('name'))
    return held


def shared_idmap(first):
    """The id map every unprivileged container without ``isolated_idmap`` shares: the range's first block."""
    return {'uid': first['uid'], 'gid': first['gid'], 'size': BLOCK_SIZE}


def allocate_idmap(first, blocks, held, current=None):
    """An isolated id map: the container's ``current`` one while it is still its own, else the lowest free block.

    ``first`` and ``blocks`` come from host_range; ``held`` maps host uids of container
    root (of other containers, and reserved in this session) to their holders. Block 0
    is the shared map, so isolated maps start at block 1; a block is free when no
    container holds its uid (uid and gid blocks are taken at the same index). Like an
    IPv4 address, the block is kept only in its container's metadata (``idmap`` in
    container.json), read back under the store lock: removing the container frees it.
    """
    def block_map(index):
        return {'uid': first['uid'] + index * BLOCK_SIZE, 'gid': first['gid'] + index * BLOCK_SIZE,
                'size': BLOCK_SIZE}

    if current:
        for index in range(1, blocks):
            if block_map(index) == current and current['uid'] not in held:
                return dict(current)
    for index in range(1, blocks):
        candidate = block_map(index)
        if candidate['uid'] not in held:
            return candidate
    raise DockerliteError('no free block of %d subordinate ids left for an isolated id map: root\'s range gives %d '
                          'blocks, the first is shared and %d are held by containers of this store'
                          % (BLOCK_SIZE, blocks, max(blocks - 1, 0)))


class HostIds:
    """Reads root's subordinate id ranges from the host, once."""

    def __init__(self, subuid=SUBUID, subgid=SUBGID):
        self.subuid = subuid
        self.subgid = subgid
        self._range = None

    @staticmethod
    def _read(path):
        try:
            with open(path) as handle:
                return handle.read()
        except FileNotFoundError:
            return ''
        except OSError as exc:
            raise DockerliteError('cannot read %s: %s' % (path, exc.strerror), path=path)

    def range(self):
        """(first ids, number of blocks), as host_range returns them."""
        if self._range is None:
            self._range = host_range(self._read(self.subuid), self._read(self.subgid), self.subuid, self.subgid)
        return self._range
