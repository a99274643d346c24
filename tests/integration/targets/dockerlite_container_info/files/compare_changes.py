# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Check changes.py on real send streams against a brute-force comparison.

For each seed: build a random tree in a subvolume and make it read-only (the image),
snapshot it (the container), apply random changes (new, written, chmod-ed, renamed,
swapped, hard-linked, deleted files and directories, symlinks, fifos, xattrs), take a
read-only snapshot, and compare what ``stream_changes`` makes of
``btrfs send --no-data -p`` with a walk of both trees: a path is modified when its
inode number or change time differs.

    compare_changes.py <directory on btrfs> <first seed> <count>

Prints a JSON summary; exits 1 if any case differs. Needs the collection on PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys

import btrfsutil

from ansible_collections.dockerlite.core.plugins.module_utils._store.changes import stream_changes

NAMES = ['a', 'b', 'c', 'dir', 'file', 'x', 'o257-5-0']


def walk(root):
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            found['/' + os.path.relpath(path, root)] = os.lstat(path)
    return found


def brute_force(image, container):
    before, after = walk(image), walk(container)
    modified = [path for path in set(before) & set(after)
                if (before[path].st_ino, before[path].st_ctime_ns) != (after[path].st_ino, after[path].st_ctime_ns)]
    return {'added': sorted(set(after) - set(before)), 'modified': sorted(modified),
            'deleted': sorted(set(before) - set(after))}


def entries(root, kind=None):
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            is_dir = os.path.isdir(path) and not os.path.islink(path)
            is_file = os.path.isfile(path) and not os.path.islink(path)
            if kind is None or (kind == 'dir' and is_dir) or (kind == 'file' and is_file):
                found.append(path)
    return found


def new_name(rng, root):
    return os.path.join(rng.choice([root] + entries(root, 'dir')), rng.choice(NAMES) + str(rng.randint(0, 4)))


def build(root, rng):
    for _step in range(rng.randint(10, 60)):
        path = new_name(rng, root)
        if os.path.lexists(path):
            continue
        pick = rng.random()
        if pick < 0.3:
            os.mkdir(path)
        elif pick < 0.7:
            with open(path, 'w') as handle:
                handle.write('x' * rng.randint(0, 100))
        elif pick < 0.8:
            os.symlink(rng.choice(['/nonexistent/target', '../x', 'a']), path)
        elif entries(root, 'file'):
            os.link(rng.choice(entries(root, 'file')), path)


def mutate(root, rng):
    for _step in range(rng.randint(1, 40)):
        every, files = entries(root), entries(root, 'file')
        pick = rng.random()
        try:
            if pick < 0.15:
                path = new_name(rng, root)
                if rng.random() < 0.5:
                    os.mkdir(path)
                else:
                    # O_EXCL: never write through one of the symlinks made above.
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                    os.write(fd, b'new')
                    os.close(fd)
            elif pick < 0.25 and files:
                with open(rng.choice(files), 'a') as handle:
                    handle.write('more')
            elif pick < 0.32 and every:
                path = rng.choice(every)
                if not os.path.islink(path):
                    os.chmod(path, rng.choice([0o600, 0o755, 0o700]))
            elif pick < 0.45 and every:
                os.rename(rng.choice(every), new_name(rng, root))
            elif pick < 0.55 and every:
                path = rng.choice(every)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
            elif pick < 0.62 and files:
                os.link(rng.choice(files), new_name(rng, root))
            elif pick < 0.68 and files:
                os.truncate(rng.choice(files), 0)
            elif pick < 0.74 and every:
                path = rng.choice(every)
                if not os.path.islink(path):
                    os.setxattr(path, 'user.k', b'v')
            elif pick < 0.8:
                os.symlink('t', new_name(rng, root))
            elif pick < 0.86 and len(every) > 1:
                first, second = rng.sample(every, 2)
                parked = os.path.join(root, 'parked')
                os.rename(first, parked)
                os.rename(second, first)
                os.rename(parked, second)
            elif pick < 0.9:
                os.mkfifo(new_name(rng, root))
            elif every:
                path = rng.choice(every)
                if not os.path.islink(path):
                    os.utime(path)
        except OSError:
            pass  # a random operation that makes no sense here (EEXIST, ENOTEMPTY, EINVAL ...)


def remove(*paths):
    for path in paths:
        if os.path.lexists(path):
            btrfsutil.delete_subvolume(path)


def main():
    work, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.makedirs(work, exist_ok=True)
    image, container, snapshot = (os.path.join(work, name) for name in ('image', 'container', 'snapshot'))
    mismatches, changed_paths = [], 0
    try:
        for seed in range(first, first + count):
            rng = random.Random(seed)
            remove(snapshot, container, image)
            btrfsutil.create_subvolume(image)
            build(image, rng)
            btrfsutil.set_subvolume_read_only(image, True)
            btrfsutil.create_snapshot(image, container)
            mutate(container, rng)
            btrfsutil.create_snapshot(container, snapshot, read_only=True)
            stream = subprocess.run(['btrfs', '-q', 'send', '--no-data', '-p', image, snapshot],
                                    stdout=subprocess.PIPE, check=True).stdout
            got, want = stream_changes(stream, image, snapshot), brute_force(image, snapshot)
            changed_paths += sum(len(paths) for paths in want.values())
            if got != want:
                mismatches.append({'seed': seed, 'got': got, 'want': want})
    finally:
        remove(snapshot, container, image)
        os.rmdir(work)
    print(json.dumps({'cases': count, 'changed_paths': changed_paths, 'mismatches': mismatches}))
    return 1 if mismatches else 0


if __name__ == '__main__':
    sys.exit(main())
