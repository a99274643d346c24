# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations


class ModuleDocFragment:
    """Options and requirements that every dockerlite module shares."""

    DOCUMENTATION = r'''
options:
  root:
    description:
      - Path of the dockerlite store on the managed host. It must be on a btrfs filesystem (a mounted btrfs
        device or loopback file, or a directory on a btrfs root filesystem); the module fails naming the path
        and the filesystem it found otherwise.
      - The store is created there on first use, if the directory does not exist or is empty. A directory that
        holds anything else but no store marker (C(.dockerlite.json)) is refused, naming it, and left untouched.
        Containers are LXC containers under C(<root>/containers), so
        C(lxc-ls -P <root>/containers) and C(lxc-attach -P <root>/containers -n <name>) work for debugging.
      - The store is private to root; only an unprivileged container's mapped root may traverse to its own rootfs.
        A store made by an earlier version is tightened by the next run that is not in check mode. The directories
        above O(root) must let that mapped root search them (V(0711) or V(0755)).
      - If not given, the value of the environment variable E(DOCKERLITE_ROOT) is used, and if that is not set,
        V(/var/lib/dockerlite).
    type: path
    default: /var/lib/dockerlite
requirements:
  - Debian's C(python3-btrfsutil) (libbtrfsutil) on the managed host; the PyPI C(btrfsutil) does not work with it.
  - Debian's C(python3-lxc) and the LXC tools on the managed host, for modules that touch containers.
  - Root on the managed host.
notes:
  - Every change is made under the store's lock, built under a temporary name and moved into place, so a run that
    is interrupted leaves nothing that looks complete but is not, and the next run converges.
  - An image or container whose metadata is damaged (or a stray entry in C(<root>/images) or C(<root>/containers)) is
    skipped by listings with a warning naming the file; a task on that very object fails naming the file and what
    is wrong, and removing it with C(state=absent) works. A task that fails after some of its steps reports them
    (C(changed), C(actions)).
'''

    # What every module declares; a module overrides the support levels that differ for it.
    ATTRIBUTES = r'''
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled/queried by the module has not changed in a relevant way.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: linux
    details: btrfs and LXC are Linux's; the managed host needs both.
  action_group:
    description: Use C(group/dockerlite.core.dockerlite) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - dockerlite.core.dockerlite
'''

    # With ATTRIBUTES, for the modules that only read the store.
    INFO_MODULE = r'''
attributes:
  check_mode:
    support: full
    details: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: N/A
    details: The module changes nothing, so there is nothing to diff.
  idempotent:
    support: full
    details: The module changes nothing.
'''
