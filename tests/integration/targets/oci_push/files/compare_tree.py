# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Compare two trees: paths, types, modes, owners, sizes, sha256 of contents, link targets, device numbers.

    compare_tree.py EXPECTED ACTUAL   prints {"entries": N, "differences": [...]} (at most 20 shown)
"""

import hashlib
import json
import os
import stat
import sys


def describe(root):
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            entry = {'type': stat.S_IFMT(st.st_mode), 'mode': oct(stat.S_IMODE(st.st_mode)),
                     'owner': [st.st_uid, st.st_gid]}
            if stat.S_ISREG(st.st_mode):
                with open(path, 'rb') as handle:
                    entry['sha256'] = hashlib.sha256(handle.read()).hexdigest()
                entry['size'] = st.st_size
            elif stat.S_ISLNK(st.st_mode):
                entry['target'] = os.readlink(path)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                entry['rdev'] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
            found[os.path.relpath(path, root)] = entry
    return found


def main(expected_root, actual_root):
    expected, actual = describe(expected_root), describe(actual_root)
    differences = []
    for path in sorted(set(expected) | set(actual)):
        if expected.get(path) != actual.get(path):
            differences.append({'path': path, 'expected': expected.get(path), 'actual': actual.get(path)})
    print(json.dumps({'entries': len(expected), 'differences': differences[:20], 'count': len(differences)}))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
