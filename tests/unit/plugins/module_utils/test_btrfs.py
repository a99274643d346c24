# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""btrfs.py pure helpers: mountinfo parsing, the mount a path lives on, qgroup listings."""

from __future__ import annotations

import os

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._clients import btrfs
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import MissingLibraryError

MOUNTINFO = '\n'.join([
    '22 27 0:21 / /proc rw,relatime - proc proc rw',
    '27 1 259:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
    '30 27 0:40 / /var/lib/dockerlite rw,relatime shared:20 master:3 - btrfs /dev/loop0 rw,space_cache=v2',
    '31 27 0:41 /sub /srv/my\\040store rw - btrfs /dev/loop1 rw',
    '32 27 0:42 / /mnt/back\\134slash\\011tab rw - tmpfs tmpfs rw',
    '33 30 0:40 /images /var/lib/dockerlite/containers/web/rootfs/mnt rw - btrfs /dev/loop0 rw',
    'garbage line without separator',
    '',
])


def test_read_mounts():
    assert btrfs.read_mounts(MOUNTINFO) == [
        ('/proc', 'proc'),
        ('/', 'ext4'),
        ('/var/lib/dockerlite', 'btrfs'),
        ('/srv/my store', 'btrfs'),
        ('/mnt/back\\slash\ttab', 'tmpfs'),
        ('/var/lib/dockerlite/containers/web/rootfs/mnt', 'btrfs'),
    ]


@pytest.mark.parametrize('field, expected', [
    ('/plain', '/plain'),
    ('/a\\040b', '/a b'),
    ('/a\\134040b', '/a\\040b'),
    ('/nl\\012x', '/nl\nx'),
    ('/trailing\\', '/trailing\\'),
    ('/short\\04', '/short\\04'),
    ('/not\\x20octal', '/not\\x20octal'),
])
def test_unescape_mountinfo(field, expected):
    assert btrfs._unescape_mountinfo(field) == expected


def test_read_mounts_of_this_host():
    with open('/proc/self/mountinfo') as handle:
        mounts = btrfs.read_mounts(handle.read())
    assert '/' in [mount for mount, _fstype in mounts]
    assert all(mount.startswith('/') and fstype for mount, fstype in mounts)


MOUNTS = btrfs.read_mounts(MOUNTINFO)


@pytest.mark.parametrize('path, expected', [
    ('/', ('/', 'ext4')),
    ('/etc/passwd', ('/', 'ext4')),
    ('/var/lib/dockerlite', ('/var/lib/dockerlite', 'btrfs')),
    ('/var/lib/dockerlite/images/x', ('/var/lib/dockerlite', 'btrfs')),
    ('/var/lib/dockerlite2', ('/', 'ext4')),
    ('/var/lib/dockerlite/containers/web/rootfs/mnt/x', ('/var/lib/dockerlite/containers/web/rootfs/mnt', 'btrfs')),
    ('/srv/my store/a', ('/srv/my store', 'btrfs')),
    ('/srv/my', ('/', 'ext4')),
    ('/proc/self', ('/proc', 'proc')),
])
def test_filesystem_of(path, expected):
    assert btrfs.filesystem_of(path, MOUNTS) == expected


def test_filesystem_of_without_a_root_mount():
    assert btrfs.filesystem_of('/x', [('/proc', 'proc')]) == ('/', 'unknown')


def test_filesystem_of_an_over_mounted_path():
    """Mounting on the same point again hides the earlier mount; mountinfo lists the later one last."""
    mounts = [('/', 'ext4'), ('/store', 'ext4'), ('/store', 'btrfs')]
    assert btrfs.filesystem_of('/store/images', mounts) == ('/store', 'btrfs')


@pytest.mark.parametrize('path, expected', [
    ('/var/lib/dockerlite', ['/var/lib/dockerlite/containers/web/rootfs/mnt']),
    ('/var/lib/dockerlite/', ['/var/lib/dockerlite/containers/web/rootfs/mnt']),
    ('/var/lib/dockerlite/containers/web/rootfs/mnt', []),
    ('/var/lib', ['/var/lib/dockerlite', '/var/lib/dockerlite/containers/web/rootfs/mnt']),
    ('/srv/my', []),
    ('/mnt', ['/mnt/back\\slash\ttab']),
])
def test_mounts_under(path, expected):
    assert btrfs.mounts_under(path, MOUNTS) == expected


def test_nearest_existing(tmp_path):
    real = tmp_path / 'real'
    real.mkdir()
    link = tmp_path / 'link'
    link.symlink_to(real)
    assert btrfs.nearest_existing(str(real)) == str(real)
    assert btrfs.nearest_existing(str(real / 'a' / 'b' / 'c')) == str(real)
    assert btrfs.nearest_existing(str(link / 'missing')) == str(real)
    assert btrfs.nearest_existing(str(tmp_path / 'x' / '..' / 'real' / 'y')) == str(real)
    assert btrfs.nearest_existing('/nonexistent-dockerlite-test/a') == '/'


def test_nearest_existing_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert btrfs.nearest_existing('missing/child') == os.path.realpath(str(tmp_path))


def test_client_needs_the_library(monkeypatch):
    monkeypatch.setattr(btrfs, 'btrfsutil', None)
    with pytest.raises(MissingLibraryError) as info:
        btrfs.BtrfsClient()
    assert info.value.library == 'python3-btrfsutil'


# What btrfs-progs 6.2 prints for ``btrfs qgroup show --raw -re``: a level-1 qgroup is left
# out, the top level (0/5) is kept, "none" is no limit, a path may hold spaces.
QGROUP_SHOW = """\
Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive   Path
--------    ----------    ---------  --------------  -------------   ----
0/5              16384        16384            none           none   <toplevel>
0/257         31440896     10469376            none       10485760   containers/web app/rootfs
0/258         20987904        16384            none           none   <stale>
1/100                0            0            none           none   <under parent>
"""


def test_parse_qgroup_show():
    assert btrfs.parse_qgroup_show(QGROUP_SHOW) == {
        5: {'exclusive': 16384, 'referenced': 16384, 'max_exclusive': None, 'max_referenced': None},
        257: {'exclusive': 10469376, 'referenced': 31440896, 'max_exclusive': 10485760, 'max_referenced': None},
        258: {'exclusive': 16384, 'referenced': 20987904, 'max_exclusive': None, 'max_referenced': None},
    }


def test_parse_qgroup_show_of_nothing():
    assert btrfs.parse_qgroup_show('') == {}


@pytest.mark.parametrize('line', ['0/257 31440896 lots none none x', '0/257 31440896', '0/257'])
def test_parse_qgroup_show_refuses_what_it_cannot_read(line):
    with pytest.raises(btrfs.DockerliteError) as info:
        btrfs.parse_qgroup_show(QGROUP_SHOW + line + '\n')
    assert 'btrfs qgroup show' in info.value.msg and repr(line) in info.value.msg


@pytest.mark.parametrize('dirs, expected', [(['fs-1/qgroups'], True), (['fs-1'], False)])
def test_quota_enabled_reads_sysfs(tmp_path, monkeypatch, dirs, expected):
    for path in dirs:
        os.makedirs(str(tmp_path / path))
    monkeypatch.setattr(btrfs, 'SYSFS_BTRFS', str(tmp_path))
    monkeypatch.setattr(btrfs.BtrfsClient, 'fsid', staticmethod(lambda path: 'fs-1'))
    monkeypatch.setattr(btrfs.BtrfsClient, 'qgroups', lambda self, path: pytest.fail('ran btrfs qgroup show'))
    client = object.__new__(btrfs.BtrfsClient)  # the library is not needed for this
    assert client.quota_enabled('/store') is expected


def test_quota_enabled_without_sysfs_asks_the_cli(tmp_path, monkeypatch):
    monkeypatch.setattr(btrfs, 'SYSFS_BTRFS', str(tmp_path / 'absent'))
    monkeypatch.setattr(btrfs.BtrfsClient, 'fsid', staticmethod(lambda path: 'fs-1'))
    monkeypatch.setattr(btrfs.BtrfsClient, 'qgroups', lambda self, path: {})
    assert object.__new__(btrfs.BtrfsClient).quota_enabled('/store') is True


class FakeBtrfsutil:
    """create_snapshot as a directory with the source's name in it; a source named ``bad`` fails."""

    class BtrfsUtilError(Exception):
        pass

    @classmethod
    def create_snapshot(cls, source, path, read_only=False):
        if os.path.basename(source) == 'bad':
            raise cls.BtrfsUtilError('Read-only file system')
        os.mkdir(path)
        with open(os.path.join(path, 'from'), 'w') as handle:
            handle.write(source)


def snapshot_client(monkeypatch):
    monkeypatch.setattr(btrfs, 'btrfsutil', FakeBtrfsutil)
    return btrfs.BtrfsClient()


@pytest.mark.parametrize('workers', [1, 3, 8])
def test_snapshots_side_by_side_make_each_one(tmp_path, monkeypatch, workers):
    client = snapshot_client(monkeypatch)
    pairs = [('/images/%d' % index, str(tmp_path / ('s%d' % index))) for index in range(7)]
    client.snapshots(pairs, workers)
    for source, path in pairs:
        with open(os.path.join(path, 'from')) as handle:
            assert handle.read() == source


def test_snapshots_name_the_one_that_failed(tmp_path, monkeypatch):
    client = snapshot_client(monkeypatch)
    pairs = [('/images/ok', str(tmp_path / 'a')), ('/images/bad', str(tmp_path / 'b')),
             ('/images/ok', str(tmp_path / 'c'))]
    with pytest.raises(btrfs.DockerliteError) as info:
        client.snapshots(pairs, 3)
    assert info.value.msg == 'btrfs: cannot snapshot /images/bad to %s: Read-only file system' % (tmp_path / 'b')
