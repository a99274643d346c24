# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Describe file trees and compare them, for images that cross between dockerlite and its peers.

    tree.py describe dir PATH OUT.json     a directory (an image's rootfs, an umoci bundle's rootfs)
    tree.py describe tar FILE OUT.json     a tar stream (docker export, podman export)
    tree.py compare A.json B.json [--ignore PATH ...] [--expect-absent PATH ...] [--expect-content PATH=TEXT ...]

A description maps each path (relative, with a leading /) to its type, mode (permission
bits with setuid/setgid/sticky), owner, group and, by type, its size and the sha256 of its
contents, its link target, or its device numbers. Timestamps are left out: engines set them
as they commit. ``compare`` prints a JSON object: ``differences`` (paths only in A, only in B,
or described differently), ``ignored`` (paths of ``--ignore`` found, e.g. the mount points
an engine adds to every container it exports), ``checks`` failed; exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import stat
import sys
import tarfile


def digest(handle):
    sha = hashlib.sha256()
    for chunk in iter(lambda: handle.read(1 << 20), b''):
        sha.update(chunk)
    return sha.hexdigest()


def describe_dir(root):
    tree = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(top, name)
            st = os.lstat(path)
            entry = {'mode': '%04o' % stat.S_IMODE(st.st_mode), 'uid': st.st_uid, 'gid': st.st_gid}
            if stat.S_ISDIR(st.st_mode):
                entry['type'] = 'dir'
            elif stat.S_ISREG(st.st_mode):
                entry['type'] = 'file'
                entry['size'] = st.st_size
                with open(path, 'rb') as handle:
                    entry['sha256'] = digest(handle)
            elif stat.S_ISLNK(st.st_mode):
                entry['type'] = 'symlink'
                entry['target'] = os.readlink(path)
                del entry['mode']  # a symlink's mode means nothing on Linux
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                entry['type'] = 'char' if stat.S_ISCHR(st.st_mode) else 'block'
                entry['device'] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
            elif stat.S_ISFIFO(st.st_mode):
                entry['type'] = 'fifo'
            else:
                entry['type'] = 'other'
            tree['/' + os.path.relpath(path, root)] = entry
    return tree


def describe_tar(tar_path):
    """A tar stream as its tree: hard links become the regular file they name."""
    tree = {}
    with tarfile.open(tar_path) as tar:
        members = tar.getmembers()
        by_name = {}
        for member in members:
            name = os.path.normpath('/' + member.name)
            if name == '/':
                continue
            entry = {'mode': '%04o' % (member.mode & 0o7777), 'uid': member.uid, 'gid': member.gid}
            if member.isdir():
                entry['type'] = 'dir'
            elif member.isreg() or member.islnk():
                source = by_name[member.linkname] if member.islnk() else member
                entry['type'] = 'file'
                entry['size'] = source.size
                with tar.extractfile(source) as handle:
                    entry['sha256'] = digest(handle)
            elif member.issym():
                entry['type'] = 'symlink'
                entry['target'] = member.linkname
                del entry['mode']
            elif member.ischr() or member.isblk():
                entry['type'] = 'char' if member.ischr() else 'block'
                entry['device'] = [member.devmajor, member.devminor]
            elif member.isfifo():
                entry['type'] = 'fifo'
            else:
                entry['type'] = 'other'
            by_name[member.name] = member
            tree[name] = entry
    return tree


def under(path, prefixes):
    return any(path == prefix or path.startswith(prefix.rstrip('/') + '/') for prefix in prefixes)


def compare(first, second, ignore=()):
    differences, ignored = [], []
    for path in sorted(set(first) | set(second)):
        if under(path, ignore):
            ignored.append(path)
            continue
        if path not in second:
            differences.append({'path': path, 'only_in': 'first', 'entry': first[path]})
        elif path not in first:
            differences.append({'path': path, 'only_in': 'second', 'entry': second[path]})
        elif first[path] != second[path]:
            differences.append({'path': path, 'first': first[path], 'second': second[path]})
    return differences, ignored


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='action', required=True)
    describe = sub.add_parser('describe')
    describe.add_argument('kind', choices=('dir', 'tar'))
    describe.add_argument('source')
    describe.add_argument('out')
    comparing = sub.add_parser('compare')
    comparing.add_argument('first')
    comparing.add_argument('second')
    comparing.add_argument('--ignore', action='append', default=[])
    comparing.add_argument('--expect-absent', action='append', default=[])
    comparing.add_argument('--expect-content', action='append', default=[], metavar='PATH=TEXT')
    opts = parser.parse_args(argv)
    if opts.action == 'describe':
        tree = describe_dir(opts.source) if opts.kind == 'dir' else describe_tar(opts.source)
        with open(opts.out, 'w') as handle:
            json.dump(tree, handle, indent=0, sort_keys=True)
        print(json.dumps({'entries': len(tree)}))
        return
    with open(opts.first) as handle:
        first = json.load(handle)
    with open(opts.second) as handle:
        second = json.load(handle)
    differences, ignored = compare(first, second, opts.ignore)
    checks = []
    for path in opts.expect_absent:
        if path in first or path in second:
            checks.append('%s should be absent' % path)
    for pair in opts.expect_content:
        path, text = pair.split('=', 1)
        want = hashlib.sha256(text.encode()).hexdigest()
        for label, tree in (('first', first), ('second', second)):
            if tree.get(path, {}).get('sha256') != want:
                checks.append('%s in %s does not hold %r' % (path, label, text))
    print(json.dumps({'entries': [len(first), len(second)], 'differences': differences, 'ignored': ignored,
                      'checks': checks}))
    if differences or checks:
        sys.exit(1)


if __name__ == '__main__':
    main()
