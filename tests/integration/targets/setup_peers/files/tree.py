# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Describe file trees and compare them: image root filesystems, what a peer or umoci made of them.

    tree.py describe dir PATH OUT.json [--xattrs] [--hard-links]   a directory (a rootfs)
    tree.py describe tar FILE OUT.json                            a tar stream (docker export, podman export)
    tree.py compare A B [--xattrs] [--hard-links] [--ignore PATH ...] [--expect-absent PATH ...]
                        [--expect-content PATH=TEXT ...]

A description maps each path (relative to the root, with a leading /) to its type, mode
(permission bits with setuid/setgid/sticky; none for a symbolic link), owner, group and, by
type, its size and the sha256 of its contents, its link target, or its device numbers.
Timestamps are left out: engines set them as they commit. With ``--xattrs`` an entry also
holds its extended attributes (but POSIX ACLs), with ``--hard-links`` a regular file with
more than one link lists the paths that share its inode. In a tar stream a hard link is the
regular file it names. Symbolic links are never followed.

``compare`` takes two descriptions, each a JSON file written by ``describe`` or a directory
described on the spot, and prints a JSON object: ``entries`` (the number in A and in B),
``differences`` (paths only in A, only in B, or described differently, at most 50 shown),
``count`` (of differences), ``ignored`` (paths under an ``--ignore`` found, e.g. the mount
points an engine adds to every container it exports) and ``checks`` that failed. Exits 1 on
any difference or failed check.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import stat
import sys
import tarfile

SHOWN = 50


def digest(handle):
    sha = hashlib.sha256()
    for chunk in iter(lambda: handle.read(1 << 20), b''):
        sha.update(chunk)
    return sha.hexdigest()


def describe_dir(root, xattrs=False, hard_links=False):
    tree, inodes = {}, {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(top, name)
            key = '/' + os.path.relpath(path, root)
            st = os.lstat(path)
            entry = {'mode': '%04o' % stat.S_IMODE(st.st_mode), 'uid': st.st_uid, 'gid': st.st_gid}
            if stat.S_ISDIR(st.st_mode):
                entry['type'] = 'dir'
            elif stat.S_ISREG(st.st_mode):
                entry['type'] = 'file'
                entry['size'] = st.st_size
                with open(path, 'rb') as handle:
                    entry['sha256'] = digest(handle)
                if st.st_nlink > 1:
                    inodes.setdefault(st.st_ino, []).append(key)
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
            if xattrs and not stat.S_ISLNK(st.st_mode):
                entry['xattrs'] = {attr: os.getxattr(path, attr, follow_symlinks=False).hex()
                                   for attr in sorted(os.listxattr(path, follow_symlinks=False))
                                   if not attr.startswith('system.posix_acl')}
            tree[key] = entry
    if hard_links:
        for names in inodes.values():
            for name in names:
                tree[name]['hard_links'] = sorted(names)
    return tree


def describe_tar(tar_path):
    """A tar stream as its tree: hard links become the regular file they name."""
    tree = {}
    with tarfile.open(tar_path) as tar:
        by_name = {}
        for member in tar.getmembers():
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
            keys = sorted(key for key in set(first[path]) | set(second[path])
                          if first[path].get(key) != second[path].get(key))
            differences.append({'path': path, 'first': {key: first[path].get(key) for key in keys},
                                'second': {key: second[path].get(key) for key in keys}})
    return differences, ignored


def load(source, xattrs, hard_links):
    """A description: the JSON file ``source``, or the directory ``source`` described now."""
    if os.path.isdir(source):
        return describe_dir(source, xattrs, hard_links)
    with open(source) as handle:
        return json.load(handle)


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
    for command in (describe, comparing):
        command.add_argument('--xattrs', action='store_true', help='describe extended attributes too')
        command.add_argument('--hard-links', action='store_true', help='describe which files share an inode')
    opts = parser.parse_args(argv)
    if opts.action == 'describe':
        if opts.kind == 'tar' and (opts.xattrs or opts.hard_links):
            parser.error('--xattrs and --hard-links describe a directory only')
        tree = describe_dir(opts.source, opts.xattrs, opts.hard_links) if opts.kind == 'dir' \
            else describe_tar(opts.source)
        with open(opts.out, 'w') as handle:
            json.dump(tree, handle, indent=0, sort_keys=True)
        print(json.dumps({'entries': len(tree)}))
        return
    first = load(opts.first, opts.xattrs, opts.hard_links)
    second = load(opts.second, opts.xattrs, opts.hard_links)
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
    print(json.dumps({'entries': [len(first), len(second)], 'differences': differences[:SHOWN],
                      'count': len(differences), 'ignored': ignored, 'checks': checks}))
    if differences or checks:
        sys.exit(1)


if __name__ == '__main__':
    main()
