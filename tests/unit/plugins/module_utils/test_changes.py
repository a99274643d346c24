# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""changes.py: the send stream parser on streams built here with struct, and the change model
on such streams against real directory trees standing in for the image and the snapshot."""

from __future__ import annotations

import os
import struct

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._store.changes import (
    SendStreamError, Tree, display_path, parse_stream, stream_changes)
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import build_send_stream

MAGIC = b'btrfs-stream\x00'
LATER = {'atime': (1, 0), 'mtime': (2, 0), 'ctime': (3, 0)}


def make_tree(root, entries):
    """``entries`` maps paths to 'dir', 'link:<target>', 'hard:<existing path>' or file contents."""
    os.makedirs(root, exist_ok=True)
    for path in sorted(entries):
        full = os.path.join(root, path)
        value = entries[path]
        if value == 'dir':
            os.makedirs(full, exist_ok=True)
        elif value.startswith('link:'):
            os.symlink(value[len('link:'):], full)
        elif value.startswith('hard:'):
            os.link(os.path.join(root, value[len('hard:'):]), full)
        else:
            with open(full, 'w') as handle:
                handle.write(value)
    return str(root)


BASE = {
    'etc': 'dir', 'etc/passwd': 'root\n', 'etc/hosts': 'localhost\n', 'etc/init.d': 'dir', 'etc/init.d/rcS': 'sh\n',
    'var': 'dir', 'var/log': 'dir', 'var/log/a': 'a', 'var/log/sub': 'dir', 'var/log/sub/b': 'b',
    'bin': 'dir', 'bin/busybox': 'elf', 'bin/sh': 'link:/bin/busybox',
}


def changes(tmp_path, commands, after, before=None, version=1):
    image = make_tree(tmp_path / 'image', BASE if before is None else before)
    container = make_tree(tmp_path / 'container', after)
    return stream_changes(build_send_stream(commands, version), image, container)


def without(entries, *prefixes):
    return {path: value for path, value in entries.items()
            if not any(path == prefix or path.startswith(prefix + '/') for prefix in prefixes)}


def nothing():
    return {'added': [], 'modified': [], 'deleted': []}


# -- parser ------------------------------------------------------------------------

def test_parse_decodes_commands_and_attributes():
    stream = build_send_stream([
        ('mkfile', {'path': 'o257-7-0', 'ino': 257}),
        ('rename', {'path': 'o257-7-0', 'path_to': 'etc/new'}),
        ('utimes', {'path': 'etc/new', 'atime': (10, 1), 'mtime': (11, 2), 'ctime': (12, 3)}),
        ('set_xattr', {'path': 'etc/new', 'xattr_name': 'user.k', 'xattr_data': b'\x00v'}),
    ])
    parsed = list(parse_stream(stream))
    assert [command for command, _attributes in parsed] == ['snapshot', 'mkfile', 'rename', 'utimes', 'set_xattr',
                                                            'end']
    assert parsed[1][1] == {'path': 'o257-7-0', 'ino': 257}
    assert parsed[2][1] == {'path': 'o257-7-0', 'path_to': 'etc/new'}
    assert parsed[3][1] == {'path': 'etc/new', 'atime': (10, 1), 'mtime': (11, 2), 'ctime': (12, 3)}
    assert parsed[4][1]['xattr_data'] == b'\x00v'
    assert parsed[0][1]['ctransid'] == 7 and parsed[0][1]['clone_uuid'] == b'\x02' * 16


def test_parse_version_2_data_runs_to_the_end_of_the_command():
    stream = build_send_stream([('write', {'path': 'f', 'file_offset': 0, 'data': b'abc\x00def'})], version=2)
    parsed = dict(parse_stream(stream))
    assert parsed['write'] == {'path': 'f', 'file_offset': 0, 'data': b'abc\x00def'}


def test_parse_keeps_non_utf8_names_and_displays_them_escaped():
    name = os.fsdecode(b'caf\xe9')
    parsed = dict(parse_stream(build_send_stream([('unlink', {'path': name})])))
    assert os.fsencode(parsed['unlink']['path']) == b'caf\xe9'
    assert display_path('/' + parsed['unlink']['path']) == '/caf\\xe9'


@pytest.mark.parametrize('stream, message', [
    (b'not-a-stream-at-all', 'bad magic'),
    (MAGIC + struct.pack('<I', 9), 'version 9 is not supported'),
    (MAGIC + struct.pack('<I', 1) + b'\x05\x00', 'command header at byte 17'),
    (MAGIC + struct.pack('<I', 1) + struct.pack('<IHI', 50, 11, 0) + b'x', 'needs 50 bytes'),
    (MAGIC + struct.pack('<I', 1) + struct.pack('<IHI', 0, 99, 0), 'unknown btrfs send stream command 99'),
    (MAGIC + struct.pack('<I', 1) + struct.pack('<IHI', 6, 11, 0) + struct.pack('<HH', 15, 9) + b'ab',
     'truncated attribute 15'),
    (MAGIC + struct.pack('<I', 1) + struct.pack('<IHI', 2, 11, 0) + b'\x0f\x00', 'truncated attribute header'),
])
def test_parse_rejects_malformed_streams(stream, message):
    with pytest.raises(SendStreamError, match=message):
        list(parse_stream(stream))


def test_commands_after_end_are_ignored(tmp_path):
    stream = build_send_stream([('end', {}), ('unlink', {'path': 'etc/hosts'})], end=False)
    image = make_tree(tmp_path / 'image', BASE)
    assert stream_changes(stream, image, make_tree(tmp_path / 'container', BASE)) == nothing()


# -- the model ---------------------------------------------------------------------

def test_no_commands_no_changes(tmp_path):
    assert changes(tmp_path, [], BASE) == nothing()


def test_the_root_directory_is_never_listed(tmp_path):
    # LXC changes the times of the root directory at every start.
    assert changes(tmp_path, [('utimes', dict(LATER, path=''))], BASE) == nothing()


def test_new_file_made_under_a_temporary_name(tmp_path):
    commands = [
        ('mkfile', {'path': 'o300-9-0', 'ino': 300}),
        ('rename', {'path': 'o300-9-0', 'path_to': 'etc/new'}),
        ('update_extent', {'path': 'etc/new', 'file_offset': 0, 'size': 4}),
        ('chmod', {'path': 'etc/new', 'mode': 0o644}),
        ('utimes', dict(LATER, path='etc/new')),
        ('utimes', dict(LATER, path='etc')),
        ('utimes', dict(LATER, path='')),
    ]
    assert changes(tmp_path, commands, dict(BASE, **{'etc/new': 'new\n'})) == {
        'added': ['/etc/new'], 'modified': ['/etc'], 'deleted': []}


def test_new_directory_tree_symlink_fifo_and_device(tmp_path):
    commands = [
        ('mkdir', {'path': 'o300-9-0', 'ino': 300}),
        ('rename', {'path': 'o300-9-0', 'path_to': 'opt'}),
        ('mkdir', {'path': 'o301-9-0', 'ino': 301}),
        ('rename', {'path': 'o301-9-0', 'path_to': 'opt/app'}),
        ('mkfile', {'path': 'o302-9-0', 'ino': 302}),
        ('rename', {'path': 'o302-9-0', 'path_to': 'opt/app/run'}),
        ('symlink', {'path': 'o303-9-0', 'ino': 303, 'path_link': '/etc/passwd'}),
        ('rename', {'path': 'o303-9-0', 'path_to': 'opt/link'}),
        ('mkfifo', {'path': 'o304-9-0', 'ino': 304, 'mode': 0o10644, 'rdev': 0}),
        ('rename', {'path': 'o304-9-0', 'path_to': 'opt/fifo'}),
        ('mknod', {'path': 'o305-9-0', 'ino': 305, 'mode': 0o20644, 'rdev': 259}),
        ('rename', {'path': 'o305-9-0', 'path_to': 'opt/null'}),
    ]
    after = dict(BASE, **{'opt': 'dir', 'opt/app': 'dir', 'opt/app/run': 'x', 'opt/link': 'link:/etc/passwd',
                          'opt/fifo': '', 'opt/null': ''})
    assert changes(tmp_path, commands, after) == {
        'added': ['/opt', '/opt/app', '/opt/app/run', '/opt/fifo', '/opt/link', '/opt/null'],
        'modified': [], 'deleted': []}


def test_deleted_tree_parked_under_a_temporary_name(tmp_path):
    # rm -r /etc/init.d: the kernel moves the directory aside, empties it, removes it.
    commands = [
        ('rename', {'path': 'etc/init.d', 'path_to': 'o260-5-0'}),
        ('unlink', {'path': 'etc/hosts'}),
        ('unlink', {'path': 'o260-5-0/rcS'}),
        ('rmdir', {'path': 'o260-5-0'}),
        ('utimes', dict(LATER, path='etc')),
    ]
    assert changes(tmp_path, commands, without(BASE, 'etc/init.d', 'etc/hosts')) == {
        'added': [], 'modified': ['/etc'], 'deleted': ['/etc/hosts', '/etc/init.d', '/etc/init.d/rcS']}


def test_renamed_directory_moves_every_path_below_it(tmp_path):
    commands = [('rename', {'path': 'var/log', 'path_to': 'var/logs'}), ('utimes', dict(LATER, path='var'))]
    after = without(BASE, 'var/log')
    after.update({'var/logs': 'dir', 'var/logs/a': 'a', 'var/logs/sub': 'dir', 'var/logs/sub/b': 'b'})
    assert changes(tmp_path, commands, after) == {
        'added': ['/var/logs', '/var/logs/a', '/var/logs/sub', '/var/logs/sub/b'],
        'modified': ['/var'],
        'deleted': ['/var/log', '/var/log/a', '/var/log/sub', '/var/log/sub/b']}


def test_renamed_directory_with_changes_inside(tmp_path):
    commands = [
        ('rename', {'path': 'var/log', 'path_to': 'srv'}),
        ('unlink', {'path': 'srv/a'}),
        ('chmod', {'path': 'srv/sub/b', 'mode': 0o600}),
        ('utimes', dict(LATER, path='srv')),
        ('utimes', dict(LATER, path='var')),
    ]
    after = without(BASE, 'var/log')
    after.update({'srv': 'dir', 'srv/sub': 'dir', 'srv/sub/b': 'b'})
    assert changes(tmp_path, commands, after) == {
        'added': ['/srv', '/srv/sub', '/srv/sub/b'],
        'modified': ['/var'],
        'deleted': ['/var/log', '/var/log/a', '/var/log/sub', '/var/log/sub/b']}


def test_file_renamed_by_link_and_unlink(tmp_path):
    # mv /etc/hosts /etc/hosts.old, as the kernel sends it.
    commands = [
        ('link', {'path': 'etc/hosts.old', 'path_link': 'etc/hosts'}),
        ('unlink', {'path': 'etc/hosts'}),
        ('utimes', dict(LATER, path='etc/hosts.old')),
        ('utimes', dict(LATER, path='etc')),
    ]
    after = dict(without(BASE, 'etc/hosts'), **{'etc/hosts.old': 'localhost\n'})
    assert changes(tmp_path, commands, after) == {
        'added': ['/etc/hosts.old'], 'modified': ['/etc'], 'deleted': ['/etc/hosts']}


def test_new_hard_link_changes_the_file_it_links_to(tmp_path):
    commands = [
        ('link', {'path': 'etc/passwd.hard', 'path_link': 'etc/passwd'}),
        ('utimes', dict(LATER, path='etc/passwd')),
        ('utimes', dict(LATER, path='etc')),
    ]
    after = dict(BASE, **{'etc/passwd.hard': 'hard:etc/passwd'})
    assert changes(tmp_path, commands, after) == {
        'added': ['/etc/passwd.hard'], 'modified': ['/etc', '/etc/passwd'], 'deleted': []}


def test_change_through_one_hard_link_shows_at_every_name(tmp_path):
    before = dict(BASE, **{'bin/ls': 'hard:bin/busybox', 'usr': 'dir', 'usr/cat': 'hard:bin/busybox'})
    commands = [('chmod', {'path': 'bin/ls', 'mode': 0o700}), ('utimes', dict(LATER, path='bin/ls'))]
    assert changes(tmp_path, commands, before, before) == {
        'added': [], 'modified': ['/bin/busybox', '/bin/ls', '/usr/cat'], 'deleted': []}


@pytest.mark.parametrize('command, attributes', [
    ('write', {'file_offset': 0, 'data': b'x'}),
    ('update_extent', {'file_offset': 4096, 'size': 4096}),
    ('truncate', {'size': 0}),
    ('chmod', {'mode': 0o600}),
    ('chown', {'uid': 1000, 'gid': 1000}),
    ('set_xattr', {'xattr_name': 'user.k', 'xattr_data': b'v'}),
    ('remove_xattr', {'xattr_name': 'user.k'}),
    ('clone', {'file_offset': 0, 'clone_len': 4096, 'clone_uuid': b'\x01' * 16, 'clone_ctransid': 5,
               'clone_path': 'bin/busybox'}),
])
def test_every_inode_change_counts(tmp_path, command, attributes):
    commands = [(command, dict(attributes, path='etc/passwd'))]
    assert changes(tmp_path, commands, BASE) == {'added': [], 'modified': ['/etc/passwd'], 'deleted': []}


def test_access_time_alone_does_not_count(tmp_path):
    image = make_tree(tmp_path / 'image', BASE)
    st = os.lstat(os.path.join(image, 'etc/passwd'))
    ctime = (st.st_ctime_ns // 10**9, st.st_ctime_ns % 10**9)
    read_only = [('utimes', {'path': 'etc/passwd', 'atime': (99, 0), 'mtime': (1, 0), 'ctime': ctime})]
    container = make_tree(tmp_path / 'container', BASE)
    assert stream_changes(build_send_stream(read_only), image, container) == nothing()
    touched = [('utimes', {'path': 'etc/passwd', 'atime': (99, 0), 'mtime': (1, 0), 'ctime': (ctime[0] + 1, 0)})]
    assert stream_changes(build_send_stream(touched), image, container)['modified'] == ['/etc/passwd']


def test_replaced_file_is_modified_not_added(tmp_path):
    # rm /bin/sh; echo > /bin/sh: a new inode at a path the image has.
    commands = [
        ('unlink', {'path': 'bin/sh'}),
        ('mkfile', {'path': 'o400-9-0', 'ino': 400}),
        ('rename', {'path': 'o400-9-0', 'path_to': 'bin/sh'}),
        ('utimes', dict(LATER, path='bin')),
    ]
    assert changes(tmp_path, commands, dict(BASE, **{'bin/sh': '#!\n'})) == {
        'added': [], 'modified': ['/bin', '/bin/sh'], 'deleted': []}


def test_directory_replaced_by_a_file(tmp_path):
    commands = [
        ('rename', {'path': 'var/log', 'path_to': 'o270-5-0'}),
        ('unlink', {'path': 'o270-5-0/a'}),
        ('unlink', {'path': 'o270-5-0/sub/b'}),
        ('rmdir', {'path': 'o270-5-0/sub'}),
        ('rmdir', {'path': 'o270-5-0'}),
        ('mkfile', {'path': 'o401-9-0', 'ino': 401}),
        ('rename', {'path': 'o401-9-0', 'path_to': 'var/log'}),
    ]
    assert changes(tmp_path, commands, dict(without(BASE, 'var/log'), **{'var/log': 'file'})) == {
        'added': [], 'modified': ['/var/log'], 'deleted': ['/var/log/a', '/var/log/sub', '/var/log/sub/b']}


def test_swapped_directories(tmp_path):
    before = dict(BASE, **{'a': 'dir', 'a/same': '1', 'a/only_a': '1', 'b': 'dir', 'b/same': '2', 'b/only_b': '2'})
    after = dict(BASE, **{'b': 'dir', 'b/same': '1', 'b/only_a': '1', 'a': 'dir', 'a/same': '2', 'a/only_b': '2'})
    commands = [
        ('rename', {'path': 'a', 'path_to': 'o280-5-0'}),
        ('rename', {'path': 'b', 'path_to': 'a'}),
        ('rename', {'path': 'o280-5-0', 'path_to': 'b'}),
    ]
    assert changes(tmp_path, commands, after, before) == {
        'added': ['/a/only_b', '/b/only_a'],
        'modified': ['/a', '/a/same', '/b', '/b/same'],
        'deleted': ['/a/only_a', '/b/only_b']}


def test_parked_and_restored_directory_is_unchanged(tmp_path):
    commands = [('rename', {'path': 'var/log', 'path_to': 'o290-5-0'}),
                ('rename', {'path': 'o290-5-0', 'path_to': 'var/log'})]
    assert changes(tmp_path, commands, BASE) == nothing()


def test_rename_over_an_entry_replaces_it(tmp_path):
    commands = [('rename', {'path': 'etc/hosts', 'path_to': 'etc/passwd'}), ('utimes', dict(LATER, path='etc'))]
    after = dict(without(BASE, 'etc/hosts'), **{'etc/passwd': 'localhost\n'})
    assert changes(tmp_path, commands, after) == {
        'added': [], 'modified': ['/etc', '/etc/passwd'], 'deleted': ['/etc/hosts']}


@pytest.mark.parametrize('commands, message', [
    ([('unlink', {'path': 'etc/hosts'}), ('unlink', {'path': 'etc/hosts'})], 'names etc/hosts, which does not'),
    ([('mkdir', {'path': 'o1-1-0', 'ino': 1}), ('unlink', {'path': 'o1-1-0/x'})], 'names o1-1-0/x'),
    ([('mkfile', {'path': 'o1-1-0', 'ino': 1}), ('mkfile', {'path': 'o1-1-0', 'ino': 2})], 'already exists'),
    ([('chmod', {'mode': 0o600})], 'chmod has no path'),
    ([('rename', {'path': 'etc/hosts'})], 'rename has no path_to'),
    ([('unlink', {'path': ''})], 'on the subvolume root'),
])
def test_streams_the_model_cannot_follow_are_errors(tmp_path, commands, message):
    with pytest.raises(SendStreamError, match=message):
        changes(tmp_path, commands, BASE)


# -- Tree --------------------------------------------------------------------------

def test_tree_never_follows_a_symbolic_link(tmp_path):
    outside = make_tree(tmp_path / 'host', {'secret': 'dir', 'secret/key': 'k'})
    root = make_tree(tmp_path / 'rootfs', {'etc': 'dir', 'etc/x': 'x', 'escape': 'link:%s/secret' % outside,
                                           'loop': 'link:loop'})
    tree = Tree(root)
    assert tree.exists('etc/x') and tree.is_dir('etc') and not tree.is_dir('etc/x')
    assert tree.exists('escape') and not tree.is_dir('escape')
    assert not tree.exists('escape/key') and tree.listdir('escape') == [] and tree.listdir('loop') == []
    assert not tree.exists('loop/x') and not tree.exists('etc/x/y') and not tree.exists('nothing/here')
    assert sorted(path for path, _st in tree.walk()) == ['escape', 'etc', 'etc/x', 'loop']


def test_a_tree_deeper_than_the_recursion_limit(tmp_path):
    depth = 1100

    def make(root, parent):
        """root/top, and a chain of ``depth`` directories named d below root/parent."""
        os.makedirs(os.path.join(str(root), 'top'))
        path = os.path.join(str(root), parent)
        for _level in range(depth):
            path = os.path.join(path, 'd')
            os.mkdir(path)  # os.makedirs would recurse as deep
        return str(root)

    def remove(top):
        """The chain below ``top``, deepest first (shutil.rmtree, and so pytest's clean-up, would recurse)."""
        path = top
        while os.path.isdir(os.path.join(path, 'd')):
            path = os.path.join(path, 'd')
        while path != top:
            os.rmdir(path)
            path = os.path.dirname(path)

    stream = build_send_stream([('rename', {'path': 'd', 'path_to': 'top/d'}), ('utimes', dict(LATER, path='top'))])
    try:
        image, container = make(tmp_path / 'image', ''), make(tmp_path / 'container', 'top')
        result = stream_changes(stream, image, container)
    finally:
        remove(str(tmp_path / 'image'))
        remove(str(tmp_path / 'container' / 'top'))
    assert len(result['added']) == depth and result['added'][-1] == '/top' + '/d' * depth
    assert len(result['deleted']) == depth and result['deleted'][0] == '/d'
    assert result['modified'] == ['/top']
