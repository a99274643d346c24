# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""permissions.py: the ACL encoding, the permission plan, and the store's modes on real directories."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._store import permissions as perms
from ansible_collections.dockerlite.core.plugins.module_utils._store import store as store_module
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import FakeHost, store_state
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.test_store import (
    build, container_meta)

UID = 1000000
IDMAP = {'uid': UID, 'gid': UID, 'size': 65536}
# What `setfacl -m u:1000000:x DIR` stores on a 0700 directory (read back with os.getxattr on this host).
SETFACL_700_U1000000_X = bytes.fromhex(
    '02000000 01000700ffffffff 0200010040420f00 04000000ffffffff 10000100ffffffff 20000000ffffffff')


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def acl(path):
    try:
        return os.getxattr(path, perms.ACL_XATTR_ACCESS, follow_symlinks=False)
    except OSError:
        return None


# -- ACL encoding -----------------------------------------------------------------

def test_encode_matches_setfacl():
    assert perms.encode_acl(perms.traverse_acl(0o700, UID)) == SETFACL_700_U1000000_X


def test_encode_sorts_entries_and_ignores_ids_of_unqualified_tags():
    entries = [(perms.ACL_OTHER, 0, 7), (perms.ACL_USER, 1, 20), (perms.ACL_MASK, 5, None),
               (perms.ACL_USER, 4, 10), (perms.ACL_GROUP_OBJ, 5, None), (perms.ACL_USER_OBJ, 7, None),
               (perms.ACL_GROUP, 1, 3)]
    assert perms.decode_acl(perms.encode_acl(entries)) == [
        (perms.ACL_USER_OBJ, 7, perms.ACL_UNDEFINED_ID), (perms.ACL_USER, 4, 10), (perms.ACL_USER, 1, 20),
        (perms.ACL_GROUP_OBJ, 5, perms.ACL_UNDEFINED_ID), (perms.ACL_GROUP, 1, 3),
        (perms.ACL_MASK, 5, perms.ACL_UNDEFINED_ID), (perms.ACL_OTHER, 0, perms.ACL_UNDEFINED_ID)]


@pytest.mark.parametrize('entry, message', [
    ((0x40, 1, None), 'unknown ACL tag 64'),
    ((perms.ACL_USER, 8, 5), 'permission 8'),
    ((perms.ACL_USER, -1, 5), 'permission -1'),
    ((perms.ACL_USER, 1, None), 'ACL id None'),
    ((perms.ACL_GROUP, 1, -1), 'ACL id -1'),
    ((perms.ACL_USER, 1, 0xFFFFFFFF), 'ACL id 4294967295'),
    ((perms.ACL_USER, 1, '5'), "ACL id '5'"),
])
def test_encode_rejects_bad_entries(entry, message):
    with pytest.raises(ValueError, match=message):
        perms.encode_acl([entry])


@pytest.mark.parametrize('data, message', [
    (b'', 'not a version header'),
    (b'\x02\x00\x00\x00\x01', 'not a version header'),
    (bytes.fromhex('01000000') + bytes(8), 'version 1'),
])
def test_decode_rejects_bad_values(data, message):
    with pytest.raises(ValueError, match=message):
        perms.decode_acl(data)


def test_traverse_acl_grants_only_search_to_the_uid():
    assert perms.traverse_acl(0o750, 42) == [
        (perms.ACL_USER_OBJ, 7, None), (perms.ACL_USER, 1, 42), (perms.ACL_GROUP_OBJ, 5, None),
        (perms.ACL_MASK, 5, None), (perms.ACL_OTHER, 0, None)]
    assert perms.acl_mode(0o700, 42) == 0o710
    assert perms.acl_mode(0o700, None) == 0o700


@pytest.mark.parametrize('idmap, uid', [(None, None), (IDMAP, UID), ({'uid': 1}, 1), ({'uid': 0xFFFFFFFE}, 0xFFFFFFFE)])
def test_idmap_uid(idmap, uid):
    assert perms.idmap_uid(idmap) == uid


@pytest.mark.parametrize('idmap', [{}, {'uid': 0}, {'uid': -1}, {'uid': True}, {'uid': '1000000'},
                                   {'uid': 0xFFFFFFFF}, {'uid': 1.5}, 'x', []])
def test_idmap_uid_rejects_bad_values(idmap):
    with pytest.raises(ValueError) as info:
        perms.idmap_uid(idmap)
    assert repr(idmap) in str(info.value)


# -- the plan -------------------------------------------------------------------------

@pytest.mark.parametrize('parts, kind, acl_uid, plan', [
    ((), 'dir', None, (0o711, None)),
    (('containers',), 'dir', None, (0o711, None)),
    (('images',), 'dir', None, (0o700, None)),
    (('tmp',), 'dir', None, (0o700, None)),
    (('stacks',), 'dir', None, (0o700, None)),
    (('stray',), 'dir', None, (0o700, None)),
    (('.dockerlite.json',), 'file', None, (0o600, None)),
    (('.lock',), 'file', None, (0o600, None)),
    (('containers',), 'file', None, (0o600, None)),
    (('.lock',), 'other', None, None),
    (('link',), 'link', None, None),
    (('images', 'abc'), 'dir', None, (0o700, None)),
    (('images', 'abc'), 'file', None, (0o600, None)),
    (('images', 'abc', 'image.json'), 'file', None, (0o600, None)),
    (('images', 'abc', 'image.json.tmp-1234'), 'file', None, (0o600, None)),
    (('images', 'abc', 'rootfs'), 'dir', None, None),
    (('images', 'abc', 'rootfs', 'bin'), 'dir', None, None),
    (('containers', 'web'), 'dir', None, (0o700, None)),
    (('containers', 'web'), 'dir', UID, (0o700, UID)),
    (('containers', 'web'), 'file', None, (0o600, None)),
    (('containers', 'web', 'config'), 'file', None, (0o600, None)),
    (('containers', 'web', 'container.json'), 'file', None, (0o600, None)),
    (('containers', 'web', 'lxc.log'), 'file', None, (0o600, None)),
    (('containers', 'web', 'hosts'), 'file', None, (0o644, None)),
    (('containers', 'web', 'hostname'), 'file', None, (0o644, None)),
    (('containers', 'web', 'hosts'), 'dir', None, (0o700, None)),
    (('containers', 'web', 'rootfs'), 'dir', None, None),
    (('containers', 'web', 'rootfs'), 'file', None, (0o600, None)),
    (('containers', 'web', 'rootfs', 'suid'), 'file', None, None),
    (('stacks', 'app.json'), 'file', None, (0o600, None)),
    (('stacks', 'app', 'x'), 'file', None, None),
    (('tmp', 'abc'), 'dir', None, None),
    (('tmp', 'abc', 'config'), 'file', None, None),
])
def test_plan(parts, kind, acl_uid, plan):
    assert perms.wanted(parts, kind, acl_uid) == plan


# -- the store on real directories ------------------------------------------------

@pytest.fixture
def host(tmp_path):
    return FakeHost(tmp_path / 'store')


def unprivileged_meta(name, image, uid=UID):
    return dict(container_meta(name, image), idmap={'uid': uid, 'gid': uid, 'size': 65536})


FILES = {'hosts': '127.0.0.1 localhost\n', 'hostname': 'web\n'}


def modes_of_store(root):
    """{relative path: (mode, ACL bytes or None)} of the store's own top levels."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if 'rootfs' in dirnames:
            dirnames.remove('rootfs')
        if rel == 'tmp':
            dirnames[:] = []
        for name in ['.'] + dirnames + filenames:
            path = os.path.normpath(os.path.join(dirpath, name))
            found[os.path.relpath(path, root)] = (mode(path), acl(path))
    return found


def test_session_makes_a_private_layout(host):
    old = os.umask(0)
    try:
        with host.store().session():
            pass
    finally:
        os.umask(old)
    assert modes_of_store(host.root) == {
        '.': (0o711, None), 'containers': (0o711, None), 'images': (0o700, None), 'tmp': (0o700, None),
        '.dockerlite.json': (0o600, None), '.lock': (0o600, None)}


def test_images_and_containers_are_private(host):
    store = host.store()
    old = os.umask(0)
    try:
        with store.session():
            image = build(store)
            os.chmod(image['rootfs'], 0o755)
            store.create_container(container_meta('web', image), image, 'config\n', FILES)
            store.create_container(unprivileged_meta('app', image), image, 'config\n', FILES)
    finally:
        os.umask(old)
    image_dir = os.path.join('images', image['id'])
    assert modes_of_store(host.root) == {
        '.': (0o711, None), 'containers': (0o711, None), 'images': (0o700, None), 'tmp': (0o700, None),
        '.dockerlite.json': (0o600, None), '.lock': (0o600, None),
        image_dir: (0o700, None), os.path.join(image_dir, 'image.json'): (0o600, None),
        'containers/web': (0o700, None), 'containers/app': (0o710, SETFACL_700_U1000000_X),
        'containers/web/config': (0o600, None), 'containers/app/config': (0o600, None),
        'containers/web/container.json': (0o600, None), 'containers/app/container.json': (0o600, None),
        'containers/web/lxc.log': (0o600, None), 'containers/app/lxc.log': (0o600, None),
        'containers/web/hosts': (0o644, None), 'containers/app/hosts': (0o644, None),
        'containers/web/hostname': (0o644, None), 'containers/app/hostname': (0o644, None)}
    # The image's own root directory is its content: untouched.
    assert mode(image['rootfs']) == 0o755


def test_update_switches_the_acl_with_the_idmap(host):
    store = host.store()
    with store.session():
        image = build(store)
        meta = store.create_container(container_meta('web', image), image, 'config\n', FILES)
        directory = store.container_paths('web')['dir']
        assert (mode(directory), acl(directory)) == (0o700, None)
        meta = store.update_container(dict(meta, idmap=IDMAP), 'config\n', FILES)
        assert (mode(directory), acl(directory)) == (0o710, SETFACL_700_U1000000_X)
        other = dict(meta, idmap={'uid': 2000000, 'gid': 2000000, 'size': 65536})
        meta = store.update_container(other, 'config\n', FILES)
        assert perms.decode_acl(acl(directory))[1] == (perms.ACL_USER, 1, 2000000)
        store.update_container(dict(meta, idmap=None), 'config\n', FILES)
        assert (mode(directory), acl(directory)) == (0o700, None)


def test_update_sets_the_acl_before_the_metadata(host, monkeypatch):
    """A run that dies before the metadata is written is redone by the next run, ACL included;
    metadata written first would leave an unprivileged container without the ACL for good."""
    store = host.store()
    with store.session():
        image = build(store)
        meta = store.create_container(container_meta('web', image), image, 'config\n', FILES)

        def die(path, data, tmp_dir):
            raise OSError(28, 'No space left on device')

        monkeypatch.setattr(store_module, 'write_json', die)
        with pytest.raises(OSError):
            store.update_container(dict(meta, idmap=IDMAP), 'config\n', FILES)
    directory = store.container_paths('web')['dir']
    assert (mode(directory), acl(directory)) == (0o710, SETFACL_700_U1000000_X)
    assert host.store().get_container('web').get('idmap') is None


def test_a_bad_idmap_is_refused_before_anything_is_made(host):
    store = host.store()
    with store.session():
        image = build(store)
        before = store_state(host.root)
        with pytest.raises(DockerliteError) as info:
            store.create_container(unprivileged_meta('web', image, uid=0), image, 'config\n', FILES)
        assert store_state(host.root) == before
    assert "container web: idmap {'uid': 0" in info.value.msg


def test_an_old_store_is_tightened_by_the_next_session_only(host):
    store = host.store()
    with store.session():
        image = build(store, files={'bin/tool': 'x'})
        store.create_container(container_meta('web', image), image, 'config\n', FILES)
        store.create_container(unprivileged_meta('app', image), image, 'config\n', FILES)
        os.makedirs(os.path.join(host.root, 'stacks'))
        with open(os.path.join(host.root, 'stacks', 'app.json'), 'w') as handle:
            handle.write('{}')
    tight = modes_of_store(host.root)
    # Loosen everything as an older version left it; mark content inside the rootfs.
    for rel in tight:
        path = os.path.join(host.root, rel)
        if os.path.isdir(path):
            os.setxattr(path, perms.ACL_XATTR_DEFAULT, perms.encode_acl(perms.traverse_acl(0o755, 65534)))
        if acl(path) is not None:
            os.removexattr(path, perms.ACL_XATTR_ACCESS)
        os.chmod(path, 0o755 if os.path.isdir(path) else 0o644)
    suid = os.path.join(store.container_paths('app')['rootfs'], 'bin', 'tool')
    os.chmod(suid, 0o4755)
    os.chmod(image['rootfs'], 0o755)
    outside = os.path.join(os.path.dirname(host.root), 'outside')
    os.mkdir(outside, 0o755)
    os.symlink(outside, os.path.join(host.root, 'containers', 'link'))
    loose = modes_of_store(host.root)
    assert loose != tight
    with host.store().session(check_mode=True):
        pass
    assert modes_of_store(host.root) == loose
    with host.store().session():
        pass
    assert modes_of_store(host.root) == dict(tight, **{'stacks': (0o700, None), 'stacks/app.json': (0o600, None),
                                                       'containers/link': (0o777, None)})
    for rel in tight:
        assert perms.ACL_XATTR_DEFAULT not in os.listxattr(os.path.join(host.root, rel))
    assert (mode(suid), mode(image['rootfs']), mode(outside)) == (0o4755, 0o755, 0o755)
    assert perms.tighten_store(host.root, lambda name: UID if name == 'app' else None, '.dockerlite.json') == []


def test_a_tight_store_is_not_walked(host):
    """The root (0711) and the marker (0600) record a completed walk: a path loosened by hand
    under a tight root and marker stays as it is."""
    store = host.store()
    with store.session():
        image = build(store)
        store.create_container(container_meta('web', image), image, 'config\n', FILES)
    config = store.container_paths('web')['config']
    os.chmod(config, 0o644)
    assert perms.is_tight(host.root, '.dockerlite.json')
    with host.store().session():
        pass
    assert mode(config) == 0o644
    os.chmod(host.root, 0o755)
    assert not perms.is_tight(host.root, '.dockerlite.json')
    with host.store().session():
        pass
    assert (mode(config), mode(host.root)) == (0o600, 0o711)


def test_an_interrupted_walk_is_done_again(host, monkeypatch):
    store = host.store()
    with store.session():
        image = build(store)
        store.create_container(container_meta('web', image), image, 'config\n', FILES)
    marker = os.path.join(host.root, '.dockerlite.json')
    config = store.container_paths('web')['config']
    for path, loose in ((host.root, 0o755), (marker, 0o644), (config, 0o644)):
        os.chmod(path, loose)
    real_apply = perms.apply_wanted

    def fail_on_config(path, *args):
        if path == config:
            raise OSError(5, 'Input/output error')
        return real_apply(path, *args)

    monkeypatch.setattr(perms, 'apply_wanted', fail_on_config)
    with pytest.raises(DockerliteError) as info:
        with host.store().session():
            pass
    assert info.value.msg == 'cannot set the permissions of %s in the store: Input/output error' % config
    assert (mode(host.root), mode(marker)) == (0o755, 0o644)
    monkeypatch.setattr(perms, 'apply_wanted', real_apply)
    with host.store().session():
        pass
    assert (mode(host.root), mode(marker), mode(config)) == (0o711, 0o600, 0o600)


def test_metadata_of_an_unreadable_container_leaves_its_directory_closed(host):
    store = host.store()
    with store.session():
        image = build(store)
        store.create_container(unprivileged_meta('app', image), image, 'config\n', FILES)
    directory = store.container_paths('app')['dir']
    with open(store.container_paths('app')['meta'], 'w') as handle:
        handle.write('{"idmap": ')
    os.chmod(host.root, 0o755)
    with host.store().session():
        pass
    assert (mode(directory), acl(directory)) == (0o700, None)
