# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Compare two root filesystem trees entry by entry.

    compare_trees.py <expected tree> <actual tree>

For every path below the two roots: its type, mode (permissions with setuid, setgid and
sticky), owner and group, size and sha256 of a regular file's content, a symbolic link's
target, a device's numbers, its extended attributes, and which paths share an inode (hard
links). Prints {"entries": <number compared>, "differences": [...]} as JSON; exits 1 when
the trees differ. Symbolic links are never followed.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys


def describe(root):
    entries, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            entry = {'type': stat.S_IFMT(st.st_mode), 'mode': '%o' % stat.S_IMODE(st.st_mode), 'uid': st.st_uid,
                     'gid': st.st_gid}
            if stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256()
                with open(path, 'rb') as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b''):
                        digest.update(chunk)
                entry.update(size=st.st_size, sha256=digest.hexdigest())
                if st.st_nlink > 1:
                    inodes.setdefault(st.st_ino, []).append(rel)
            elif stat.S_ISLNK(st.st_mode):
                entry['target'] = os.readlink(path)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                entry['rdev'] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
            if not stat.S_ISLNK(st.st_mode):
                entry['xattrs'] = {key: os.getxattr(path, key, follow_symlinks=False).hex()
                                   for key in sorted(os.listxattr(path, follow_symlinks=False))
                                   if not key.startswith('system.posix_acl')}
            entries[rel] = entry
    for names in inodes.values():
        for name in names:
            entries[name]['hard_links'] = sorted(names)
    return entries


def main():
    expected, actual = describe(sys.argv[1]), describe(sys.argv[2])
    differences = []
    for rel in sorted(set(expected) | set(actual)):
        if rel not in actual:
            differences.append('%s: missing' % rel)
        elif rel not in expected:
            differences.append('%s: not expected' % rel)
        elif expected[rel] != actual[rel]:
            keys = sorted(key for key in set(expected[rel]) | set(actual[rel])
                          if expected[rel].get(key) != actual[rel].get(key))
            shown = ['%s %r != %r' % (key, expected[rel].get(key), actual[rel].get(key)) for key in keys]
            differences.append('%s: %s' % (rel, ', '.join(shown)))
    print(json.dumps({'entries': len(expected), 'differences': differences}))
    return 1 if differences else 0


if __name__ == '__main__':
    sys.exit(main())
