# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The user and working directory of a container's PID 1: validation, lookup in a rootfs (never
through a symbolic link), the LXC config lines, and the managers over the fakes."""

from __future__ import annotations

import os

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError, ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._common.validation import (
    normalize_user, normalize_workdir)
from ansible_collections.dockerlite.core.plugins.module_utils._managers.commit import CommitManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import ContainerManager, image_defaults
from ansible_collections.dockerlite.core.plugins.module_utils._managers.exec import ExecManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.image import ImageManager
from ansible_collections.dockerlite.core.plugins.module_utils._managers.stack import StackManager
from ansible_collections.dockerlite.core.plugins.module_utils._store.identity import (
    UnsafePath, ensure_workdir, read_rootfs_file, resolve_user)
from ansible_collections.dockerlite.core.plugins.module_utils._store.lxc_config import init_identity_lines
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import (
    FakeHost, check_mode_run, run_manager)

PASSWD = ('root:x:0:0:root:/root:/bin/sh\n'
          'nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'
          'app:x:1000:1000:app:/home/app:/bin/sh\n')
GROUP = 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\nstaff:x:50:app,other\n'
# What a symbolic link out of the rootfs would lead to: a user that only the canary knows.
CANARY_PASSWD = 'canary:x:4242:4242:canary:/canary:/bin/sh\n'


def make_rootfs(path, passwd=PASSWD, group=GROUP):
    os.makedirs(os.path.join(path, 'etc'))
    os.makedirs(os.path.join(path, 'bin'))
    for name, text in (('passwd', passwd), ('group', group)):
        if text is not None:
            with open(os.path.join(path, 'etc', name), 'w') as handle:
                handle.write(text)
    return path


@pytest.fixture
def canary(tmp_path):
    path = tmp_path / 'canary-passwd'
    path.write_text(CANARY_PASSWD)
    return str(path)


# -- validation -------------------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    (None, None), ('/srv/app', '/srv/app'), ('/srv//app/', '/srv/app'), ('//', '/'), ('/a/./b', '/a/b'),
])
def test_workdir_normalised(value, expected):
    assert normalize_workdir(value) == expected


@pytest.mark.parametrize('value, fragment', [
    ('srv', 'must be an absolute path'), ('', 'must be an absolute path'), ('/a/../b', 'must not contain ".."'),
    ('/a\nlxc.init.uid = 0', 'control character'), ('/a ', 'white space'), (7, 'must be an absolute path'),
])
def test_workdir_refused(value, fragment):
    with pytest.raises(ValidationError, match=fragment) as caught:
        normalize_workdir(value)
    assert repr(value) in caught.value.msg


@pytest.mark.parametrize('value, expected', [
    (None, None), ('nobody', 'nobody'), ('1000', '1000'), (1000, '1000'), ('1000:50', '1000:50'),
    ('app:staff', 'app:staff'), ('www-data', 'www-data'),
])
def test_user_normalised(value, expected):
    assert normalize_user(value) == expected


@pytest.mark.parametrize('value', ['', 'a:b:c', 'a b', 'root\nlxc.init.uid = 0', ':1', '1:', '-x', True, [1]])
def test_user_refused(value):
    with pytest.raises(ValidationError) as caught:
        normalize_user(value)
    assert repr(value) in caught.value.msg


# -- lookup in a rootfs -------------------------------------------------------------

@pytest.mark.parametrize('user, ids', [
    ('root', (0, 0, [0], '/root')),
    ('nobody', (65534, 65534, [65534], '/nonexistent')),
    ('app', (1000, 1000, [1000, 50], '/home/app')),
    ('1000', (1000, 1000, [1000, 50], '/home/app')),
    ('app:staff', (1000, 50, [50], '/home/app')),
    ('app:7', (1000, 7, [7], '/home/app')),
    ('4321', (4321, 4321, [4321], '/')),
    ('4321:99', (4321, 99, [99], '/')),
])
def test_resolve_user(tmp_path, user, ids):
    rootfs = make_rootfs(str(tmp_path / 'rootfs'))
    found = resolve_user(rootfs, user, 'image x')
    assert (found['uid'], found['gid'], found['groups'], found['home']) == ids


@pytest.mark.parametrize('user, fragment', [
    ('ghost', 'user ghost not found in /etc/passwd'),
    ('app:ghosts', 'group ghosts not found in /etc/group'),
])
def test_unknown_user_or_group_names_the_value_and_the_image(tmp_path, user, fragment):
    rootfs = make_rootfs(str(tmp_path / 'rootfs'))
    with pytest.raises(DockerliteError) as caught:
        resolve_user(rootfs, user, 'image web:1')
    assert caught.value.msg.startswith('user %s: ' % user)
    assert fragment in caught.value.msg and 'image web:1' in caught.value.msg


def test_missing_passwd_allows_numbers_only(tmp_path):
    rootfs = make_rootfs(str(tmp_path / 'rootfs'), passwd=None, group=None)
    assert resolve_user(rootfs, '5:6', 'image x')['uid'] == 5
    with pytest.raises(DockerliteError, match='user app not found'):
        resolve_user(rootfs, 'app', 'image x')


@pytest.mark.parametrize('link', ['etc/passwd', 'etc'])
def test_a_symlinked_passwd_is_refused_not_followed(tmp_path, canary, link):
    """An image whose /etc/passwd (or /etc) links to a host file: the host file is never read."""
    rootfs = make_rootfs(str(tmp_path / 'rootfs'))
    if link == 'etc':
        # The whole /etc is a link to a host directory holding the canary as its passwd.
        os.rename(os.path.join(rootfs, 'etc'), os.path.join(rootfs, 'etc.real'))
        host_etc = tmp_path / 'host-etc'
        host_etc.mkdir()
        os.symlink(canary, str(host_etc / 'passwd'))
        os.symlink(str(host_etc), os.path.join(rootfs, 'etc'))
    else:
        os.unlink(os.path.join(rootfs, 'etc', 'passwd'))
        os.symlink(canary, os.path.join(rootfs, 'etc', 'passwd'))
    with pytest.raises(DockerliteError) as caught:
        resolve_user(rootfs, 'canary', 'image evil:1')
    message = caught.value.msg
    assert 'symbolic link' in message and 'image evil:1' in message and '4242' not in message
    with pytest.raises(UnsafePath):
        read_rootfs_file(rootfs, '/etc/passwd')
    # Numbers need no file: they still work, and take nothing from the canary.
    assert resolve_user(rootfs, '4242:4242', 'image evil:1')['home'] == '/'


def test_passwd_that_is_not_a_regular_file_is_refused(tmp_path):
    rootfs = make_rootfs(str(tmp_path / 'rootfs'))
    os.unlink(os.path.join(rootfs, 'etc', 'passwd'))
    os.mkfifo(os.path.join(rootfs, 'etc', 'passwd'))
    with pytest.raises(DockerliteError, match='not a regular file'):
        resolve_user(rootfs, 'app', 'image x')


# -- the working directory ----------------------------------------------------------

def test_workdir_is_made_when_missing(tmp_path):
    rootfs = make_rootfs(str(tmp_path / 'rootfs'))
    old_umask = os.umask(0o077)
    try:
        ensure_workdir(rootfs, '/srv/app/data')
    finally:
        os.umask(old_umask)
    for path in ('srv', 'srv/app', 'srv/app/data'):
        assert os.stat(os.path.join(rootfs, path)).st_mode & 0o7777 == 0o755
    ensure_workdir(rootfs, '/srv/app/data')  # again: nothing to do


def test_workdir_walk_stops_at_a_symlink(tmp_path):
    rootfs = make_rootfs(str(tmp_path / 'rootfs'))
    outside = tmp_path / 'outside'
    outside.mkdir()
    os.symlink(str(outside), os.path.join(rootfs, 'srv'))
    ensure_workdir(rootfs, '/srv/app')
    assert os.listdir(str(outside)) == []


# -- the LXC config -------------------------------------------------------------------

def test_no_lines_without_user_or_workdir():
    assert init_identity_lines({'env': {}}) == []
    assert init_identity_lines({'env': {}, 'workdir': None, 'user': None, 'user_ids': None}) == []


def test_config_lines():
    spec = {'env': {}, 'workdir': '/tmp', 'user': 'app',
            'user_ids': {'uid': 1000, 'gid': 1000, 'groups': [1000, 50], 'home': '/home/app'}}
    assert init_identity_lines(spec) == ['lxc.init.cwd = /tmp', 'lxc.init.uid = 1000', 'lxc.init.gid = 1000',
                                         'lxc.init.groups = 1000,50', 'lxc.environment = HOME=/home/app']
    spec['env'] = {'HOME': '/data'}
    assert 'lxc.environment = HOME=/home/app' not in init_identity_lines(spec)


# -- the managers ---------------------------------------------------------------------

def run(host, manager, module, check_mode=False, **params):
    return run_manager(host, manager, module, check_mode=check_mode, **params)


def image(host, src, **params):
    return run(host, ImageManager, 'dockerlite_image', name='base', source='directory', path=src, **params)


def container(host, check_mode=False, **params):
    params.setdefault('name', 'web')
    params.setdefault('command', ['sleep', '60'])
    return run(host, ContainerManager, 'dockerlite_container', check_mode=check_mode, **params)


IDENTITY_KEYS = ('lxc.init.cwd', 'lxc.init.uid', 'lxc.init.gid', 'lxc.init.groups', 'lxc.environment = HOME')


def config_lines(host, name='web'):
    with open(host.store().container_paths(name)['config']) as handle:
        return [line for line in handle.read().split('\n') if line.startswith(IDENTITY_KEYS)]


@pytest.fixture
def src(tmp_path):
    return make_rootfs(str(tmp_path / 'src'))


@pytest.fixture
def host(tmp_path):
    return FakeHost(tmp_path / 'store')


def test_image_metadata_workdir_and_user(host, src):
    built = image(host, src, user='app', workdir='/srv')['image']
    assert (built['user'], built['workdir']) == ('app', '/srv')
    check = run(host, ImageManager, 'dockerlite_image', check_mode=True, name='base', user='nobody')
    real = run(host, ImageManager, 'dockerlite_image', name='base', user='nobody')
    assert check['actions'] == real['actions'] == ['update_metadata']
    assert check['diff'] == real['diff']
    assert real['diff']['before']['image']['user'] == 'app' and real['diff']['after']['image']['user'] == 'nobody'
    assert real['image']['workdir'] == '/srv'
    again = run(host, ImageManager, 'dockerlite_image', name='base', user='nobody', workdir='/srv')
    assert again['actions'] == [] and again['changed'] is False
    rebuilt = run(host, ImageManager, 'dockerlite_image', name='base', force=True)['image']
    assert (rebuilt['user'], rebuilt['workdir']) == ('nobody', '/srv')


def test_container_takes_the_images_user_and_workdir(host, src):
    image(host, src, user='app', workdir='/srv/app')
    host.forget_calls()
    check = check_mode_run(host, lambda: container(host, check_mode=True, image='base'))
    real = container(host, image='base')
    assert check['actions'] == real['actions'] == ['create', 'start']
    assert check['diff'] == real['diff']
    view = real['container']
    assert (view['user'], view['workdir']) == ('app', '/srv/app')
    assert view['user_ids'] == {'uid': 1000, 'gid': 1000, 'groups': [1000, 50], 'home': '/home/app'}
    assert config_lines(host) == ['lxc.init.cwd = /srv/app', 'lxc.init.uid = 1000', 'lxc.init.gid = 1000',
                                  'lxc.init.groups = 1000,50', 'lxc.environment = HOME=/home/app']
    assert os.path.isdir(os.path.join(host.store().container_paths('web')['rootfs'], 'srv', 'app'))
    for check_mode in (True, False):
        again = container(host, check_mode=check_mode, image='base')
        assert again['actions'] == [] and again['diff']['before'] == again['diff']['after']


def test_container_options_win_and_a_change_restarts(host, src):
    image(host, src, user='app', workdir='/srv')
    view = container(host, image='base', user='nobody', workdir='/tmp')['container']
    assert (view['user'], view['workdir'], view['user_ids']['uid']) == ('nobody', '/tmp', 65534)
    check = container(host, check_mode=True, user='1000:50')
    real = container(host, user='1000:50')
    assert check['actions'] == real['actions'] == ['stop', 'update_config', 'start']
    assert check['diff'] == real['diff']
    assert real['diff']['before']['user'] == 'nobody' and real['diff']['after']['user'] == '1000:50'
    assert 'lxc.init.gid = 50' in config_lines(host)
    assert container(host, user='1000:50')['actions'] == []
    assert container(host, workdir='/var')['actions'] == ['stop', 'update_config', 'start']


def test_a_container_without_them_has_no_lines(host, src):
    image(host, src)
    view = container(host, image='base')['container']
    assert (view['user'], view['workdir'], view['user_ids']) == (None, None, None)
    assert config_lines(host) == []


def test_unknown_user_of_the_image_is_an_error_naming_it(host, src):
    image(host, src, user='ghost')
    with pytest.raises(DockerliteError) as caught:
        container(host, image='base')
    assert 'user ghost' in caught.value.msg and 'image base:latest' in caught.value.msg
    assert not host.store().container_exists('web')


def test_a_symlinked_passwd_in_the_image_is_refused(host, src, canary):
    os.unlink(os.path.join(src, 'etc', 'passwd'))
    os.symlink(canary, os.path.join(src, 'etc', 'passwd'))
    image(host, src)
    with pytest.raises(DockerliteError, match='symbolic link'):
        container(host, image='base', user='canary')
    assert not host.store().container_exists('web')


def test_unprivileged_user_must_be_mapped(host, src):
    image(host, src)
    with pytest.raises(ValidationError, match='maps only ids 0 to 65535'):
        container(host, image='base', user='70000:70000')
    assert container(host, image='base', user='70000:70000', privileged=True)['container']['user_ids']['uid'] == 70000


def test_one_off_run_uses_them(host, src):
    image(host, src)
    result = container(host, name='once', image='base', detach=False, user='nobody', workdir='/tmp',
                       command=['id', '-u'])
    assert result['actions'] == ['create', 'run']
    assert 'lxc.init.uid = 65534' in config_lines(host, 'once')


def test_exec_defaults_to_the_containers_user_and_workdir(host, src):
    image(host, src)
    container(host, image='base', user='app:staff', workdir='/srv')
    run(host, ExecManager, 'dockerlite_exec', container='web', argv=['id'], creates='marker')
    run(host, ExecManager, 'dockerlite_exec', container='web', argv=['id'], user='nobody', workdir='/tmp')
    calls = host.attach.calls
    assert calls[0] == ('test_paths', 'web', '/srv/marker', None)
    assert calls[1][4:7] == ('/srv', 'app', 'staff')
    assert calls[2][4:7] == ('/tmp', 'nobody', None)


def test_commit_keeps_them_unless_given(host, src):
    image(host, src, user='app', workdir='/srv')
    container(host, image='base', workdir='/tmp')
    committed = run(host, CommitManager, 'dockerlite_commit', container='web', image='snap')['image']
    assert (committed['user'], committed['workdir']) == ('app', '/tmp')
    again = run(host, CommitManager, 'dockerlite_commit', container='web', image='snap')
    assert again['actions'] == []
    check = run(host, CommitManager, 'dockerlite_commit', check_mode=True, container='web', image='snap',
                user='nobody')
    real = run(host, CommitManager, 'dockerlite_commit', container='web', image='snap', user='nobody')
    assert check['actions'] == real['actions'] == ['commit', 'remove_previous']
    assert check['diff'] == real['diff']
    assert (real['image']['user'], real['image']['workdir']) == ('nobody', '/tmp')


def test_stack_members_take_them_too(host, src):
    image(host, src, user='app', workdir='/srv')
    members = [{'name': 'a', 'image': 'base', 'command': ['sleep', '60']},
               {'name': 'b', 'image': 'base', 'command': ['sleep', '60'], 'user': 'nobody', 'workdir': '/tmp'}]
    result = run(host, StackManager, 'dockerlite_stack', name='shop', parallel=1, containers=members)
    views = {member['container']['name']: member['container'] for member in result['containers']}
    assert (views['a']['user'], views['a']['workdir']) == ('app', '/srv')
    assert (views['b']['user'], views['b']['workdir'], views['b']['user_ids']['uid']) == ('nobody', '/tmp', 65534)
    assert 'lxc.init.uid = 65534' in config_lines(host, 'b')
    again = run(host, StackManager, 'dockerlite_stack', name='shop', parallel=1, containers=members)
    assert again['changed'] is False


def test_empty_image_fields_mean_none():
    """An OCI config writes "" for no user and no working directory."""
    defaults = image_defaults({'workdir': '', 'user': ''})
    assert (defaults['workdir'], defaults['user']) == (None, None)
