# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The dockerlite connection plugin: command building, streaming, and the Connection class.

The Connection tests use stand-ins for the attach helper's Python (option dockerlite_python)
and for lxc-info (first on PATH): the helper one logs its arguments, environment and spec
and runs the spec's command on this machine, so exec_command, put_file and fetch_file move
real bytes through real pipes. The
integration target connection_dockerlite runs the same against real containers.
"""

from __future__ import annotations

import io
import json
import os
import stat
import sys

import pytest

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.playbook.play_context import PlayContext

from ansible_collections.dockerlite.core.plugins.connection import dockerlite as plugin

DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'


# -- pure helpers -----------------------------------------------------------------

def test_attach_env_defaults():
    assert plugin.attach_env({}) == {'PATH': DEFAULT_PATH, 'HOME': '/root', 'container': 'lxc'}
    assert plugin.attach_env(None) == {'PATH': DEFAULT_PATH, 'HOME': '/root', 'container': 'lxc'}


def test_attach_env_keeps_what_the_container_sets():
    assert plugin.attach_env({'PATH': '/opt/bin', 'LANG': 'C'}) == {'PATH': '/opt/bin', 'LANG': 'C', 'HOME': '/root',
                                                                    'container': 'lxc'}
    assert plugin.attach_env({'HOME': '/srv', 'PATH': '/bin', 'container': 'x'}) == {
        'HOME': '/srv', 'PATH': '/bin', 'container': 'x'}


def test_helper_command_keeps_the_spec_out_of_argv():
    spec = plugin.attach_spec(['/bin/sh', '-c', 'echo "a b"'], {'SECRET': 's3cret'})
    assert spec == {'mode': 'run', 'argv': ['/bin/sh', '-c', 'echo "a b"'], 'env': {'SECRET': 's3cret'}, 'cwd': '/',
                    'user': None, 'group': None}
    argv, env = plugin.helper_command('/usr/bin/python3', '/s/containers', 'web', spec)
    helper = 'ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc_attach'
    assert argv == ['/usr/bin/python3', '-m', helper, '/s/containers', 'web']
    assert json.loads(env.pop('DOCKERLITE_ATTACH_SPEC')) == spec
    assert env == {'PYTHONPATH': plugin.COLLECTIONS_DIR, 'LC_ALL': 'C'}
    assert os.path.isfile(os.path.join(plugin.COLLECTIONS_DIR, *plugin.HELPER_MODULE.split('.')) + '.py')


def test_shell_argv_passes_arguments_whole():
    assert plugin.shell_argv('cat > "$1"', '/tmp/a b') == ['/bin/sh', '-c', 'cat > "$1"', 'sh', '/tmp/a b']


@pytest.mark.parametrize('text, state', [
    ('RUNNING\n', 'running'), ('FROZEN\n', 'frozen'), ('STOPPED\n', 'stopped'), ('STARTING', 'running'),
    ('ABORTING\n', 'stopped'), ('WEIRD\n', 'weird'), ('', 'unknown'), ('\n', 'unknown'),
])
def test_parse_state(text, state):
    assert plugin.parse_state(text) == state


# -- run_streamed, with real processes ---------------------------------------------

def test_run_streamed_keeps_stdout_stderr_and_rc_apart():
    rc, out, err = plugin.run_streamed(['/bin/sh', '-c', 'echo out; echo err >&2; exit 3'])
    assert (rc, out, err) == (3, b'out\n', b'err\n')


def test_run_streamed_without_stdin_reads_eof():
    assert plugin.run_streamed(['cat']) == (0, b'', b'')


def test_run_streamed_feeds_more_than_a_pipe_holds_both_ways():
    # 3 MiB in and out, plus stderr, at once: a naive write-then-read would deadlock.
    data = os.urandom(3 * 1024 * 1024)
    rc, out, err = plugin.run_streamed(['/bin/sh', '-c', 'tee /dev/stderr'], stdin=data)
    assert rc == 0
    assert out == data
    assert err == data


def test_run_streamed_streams_files(tmp_path):
    data = bytes(range(256)) * 1000
    source = tmp_path / 'in'
    source.write_bytes(data)
    with open(source, 'rb') as handle, open(tmp_path / 'out', 'wb') as sink:
        rc, out, err = plugin.run_streamed(['cat'], stdin=handle, stdout=sink)
    assert (rc, out, err) == (0, b'', b'')
    assert (tmp_path / 'out').read_bytes() == data


def test_run_streamed_survives_a_process_that_does_not_read():
    rc, out, err = plugin.run_streamed(['/bin/sh', '-c', 'exit 4'], stdin=b'x' * (1024 * 1024))
    assert (rc, out, err) == (4, b'', b'')


def test_run_streamed_missing_program():
    with pytest.raises(OSError):
        plugin.run_streamed(['/nonexistent/program'])


def test_run_streamed_kills_the_process_when_reading_the_source_fails():
    class Broken(io.RawIOBase):
        def read(self, size=-1):
            raise OSError('disk on fire')

    with pytest.raises(OSError, match='disk on fire'):
        plugin.run_streamed(['sleep', '30'], stdin=Broken())


# -- the file scripts, run by a real /bin/sh ---------------------------------------

@pytest.mark.parametrize('name', ['plain', 'with space', '-n', "quote'\"s", '$(touch pwned)', 'new\nline', '*'])
def test_put_and_fetch_scripts_take_any_path(tmp_path, name):
    path = str(tmp_path / name)
    data = b'\x00binary\xff' * 100
    rc, dummy, err = plugin.run_streamed(plugin.shell_argv(plugin.PUT_SCRIPT, path), stdin=data)
    assert (rc, err) == (0, b'')
    with open(path, 'rb') as handle:
        assert handle.read() == data
    rc, out, err = plugin.run_streamed(plugin.shell_argv(plugin.FETCH_SCRIPT, path))
    assert (rc, out, err) == (0, data, b'')
    assert sorted(os.listdir(tmp_path)) == [name]


# -- the Connection class, with stand-in LXC tools ---------------------------------

FAKE_HELPER = r'''#!%s
# Stand-in for the attach helper's Python: log what it got, run the spec's command here.
import json, os, sys
spec = json.loads(os.environ['DOCKERLITE_ATTACH_SPEC'])
with open(os.path.join(os.path.dirname(sys.argv[0]), '..', 'attach.log'), 'w') as log:
    json.dump({'argv': sys.argv[1:], 'env': sorted(os.environ), 'cwd': os.getcwd(), 'spec': spec}, log)
os.execvpe(spec['argv'][0], spec['argv'], dict(spec['env'], PATH='/usr/bin:/bin'))
'''
FAKE_INFO = '''#!/bin/sh
[ -n "$FAKE_INFO_FAIL" ] && { echo "$FAKE_INFO_FAIL" >&2; exit 1; }
cat "$FAKE_STATE_FILE"
'''


@pytest.fixture
def lxc_tools(tmp_path, monkeypatch):
    """Stand-ins for the helper's Python and lxc-info; returns a function that sets the state lxc-info reports."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name, text in (('fake-python', FAKE_HELPER % sys.executable), ('lxc-info', FAKE_INFO)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(stat.S_IRWXU)
    state_file = tmp_path / 'state'
    monkeypatch.setenv('PATH', '%s:%s' % (bin_dir, os.environ['PATH']))
    monkeypatch.setenv('FAKE_STATE_FILE', str(state_file))
    monkeypatch.setenv('FAKE_PYTHON', str(bin_dir / 'fake-python'))
    monkeypatch.delenv('FAKE_INFO_FAIL', raising=False)

    def set_state(state):
        state_file.write_text(state + '\n')
    set_state('RUNNING')
    return set_state


def make_store(tmp_path, name='web', env=None, metadata=True):
    root = tmp_path / 'store'
    container = root / 'containers' / name
    container.mkdir(parents=True)
    (container / 'config').write_text('lxc.uts.name = %s\n' % name)
    if metadata:
        (container / 'rootfs').mkdir()
        command = ['/sbin/init']
        (container / 'container.json').write_text(json.dumps({
            'id': 'a' * 64, 'name': name, 'image': 'base:latest', 'image_id': 'b' * 64, 'created': 'now',
            'image_defaults': {'command': command, 'env': {}, 'stop_signal': 'SIGPWR'},
            'spec': {'command': command, 'env': env or {}, 'stop_signal': 'SIGPWR'}}))
    return str(root)


def connection(root, name='web'):
    conn = plugin.Connection(PlayContext())
    # What the plugin loader and the task executor would set from the host's variables.
    conn._options.update({'remote_addr': name, 'dockerlite_root': root, 'dockerlite_ssh_host': None,
                          'dockerlite_python': os.environ.get('FAKE_PYTHON', '/usr/bin/python3')})
    return conn


def attach_log(tmp_path):
    return json.loads((tmp_path / 'attach.log').read_text())


def test_exec_command_runs_through_lxc_attach(tmp_path, lxc_tools):
    root = make_store(tmp_path, env={'PATH': '/usr/bin:/bin'})
    conn = connection(root)
    rc, out, err = conn.exec_command('echo out; echo err >&2; exit 5')
    assert (rc, out, err) == (5, b'out\n', b'err\n')
    assert attach_log(tmp_path) == {
        'argv': ['-m', plugin.HELPER_MODULE, os.path.join(root, 'containers'), 'web'],
        'env': ['DOCKERLITE_ATTACH_SPEC', 'LC_ALL', 'PYTHONPATH'], 'cwd': '/',
        'spec': {'mode': 'run', 'argv': ['/bin/sh', '-c', 'echo out; echo err >&2; exit 5'], 'cwd': '/',
                 'env': {'PATH': '/usr/bin:/bin', 'HOME': '/root', 'container': 'lxc'}, 'user': None, 'group': None}}


def test_exec_command_feeds_in_data(tmp_path, lxc_tools):
    conn = connection(make_store(tmp_path))
    data = os.urandom(200000)
    assert conn.exec_command('cat', in_data=data) == (0, data, b'')


def test_store_path_is_made_absolute_like_the_modules_do(tmp_path, lxc_tools, monkeypatch):
    root = make_store(tmp_path)
    monkeypatch.chdir(tmp_path)
    conn = connection('store/')
    conn.exec_command('true')
    assert attach_log(tmp_path)['argv'][2] == os.path.join(root, 'containers')


def test_put_and_fetch_file(tmp_path, lxc_tools):
    conn = connection(make_store(tmp_path))
    data = os.urandom(300000)
    (tmp_path / 'local').write_bytes(data)
    remote = str(tmp_path / 'remote file')
    conn.put_file(str(tmp_path / 'local'), remote)
    assert attach_log(tmp_path)['spec']['argv'] == ['/bin/sh', '-c', 'cat > "$1"', 'sh', remote]
    assert (tmp_path / 'remote file').read_bytes() == data
    conn.fetch_file(remote, str(tmp_path / 'back'))
    assert attach_log(tmp_path)['spec']['argv'] == ['/bin/sh', '-c', 'cat < "$1"', 'sh', remote]
    assert (tmp_path / 'back').read_bytes() == data


def test_put_file_missing_source(tmp_path, lxc_tools):
    conn = connection(make_store(tmp_path))
    with pytest.raises(AnsibleFileNotFound, match='does not exist'):
        conn.put_file(str(tmp_path / 'nope'), str(tmp_path / 'x'))


def test_put_file_failure_names_the_path(tmp_path, lxc_tools):
    conn = connection(make_store(tmp_path))
    (tmp_path / 'local').write_bytes(b'x')
    with pytest.raises(AnsibleError, match='failed to write .*/no/such/dir/x in container web'):
        conn.put_file(str(tmp_path / 'local'), str(tmp_path / 'no/such/dir/x'))


def test_fetch_file_failure_names_the_path(tmp_path, lxc_tools):
    conn = connection(make_store(tmp_path))
    with pytest.raises(AnsibleError, match='failed to read .*/missing in container web'):
        conn.fetch_file(str(tmp_path / 'missing'), str(tmp_path / 'back'))


@pytest.mark.parametrize('state, words', [
    ('STOPPED', 'is stopped, not running; start it'),
    ('FROZEN', 'is frozen, not running; thaw it'),
])
def test_connect_refuses_a_container_that_does_not_run(tmp_path, lxc_tools, state, words):
    lxc_tools(state)
    conn = connection(make_store(tmp_path))
    with pytest.raises(AnsibleConnectionFailure, match='container web in the store at .* %s' % words):
        conn.exec_command('true')
    assert not (tmp_path / 'attach.log').exists()


def test_connect_refuses_a_missing_container(tmp_path, lxc_tools):
    root = make_store(tmp_path)
    conn = connection(root, name='other')
    with pytest.raises(AnsibleConnectionFailure, match='container other does not exist in the store at %s' % root):
        conn.exec_command('true')


@pytest.mark.parametrize('name', ['../web', 'a b', '', '-n'])
def test_connect_refuses_a_bad_name(tmp_path, lxc_tools, name):
    conn = connection(make_store(tmp_path), name=name)
    with pytest.raises(AnsibleConnectionFailure, match='container name .* is invalid'):
        conn.exec_command('true')


def test_connect_reports_lxc_info_failure(tmp_path, lxc_tools, monkeypatch):
    monkeypatch.setenv('FAKE_INFO_FAIL', 'something broke')
    conn = connection(make_store(tmp_path))
    with pytest.raises(AnsibleConnectionFailure, match='lxc-info for container web failed: something broke'):
        conn.exec_command('true')


def test_container_that_stops_meanwhile_is_unreachable(tmp_path, lxc_tools):
    conn = connection(make_store(tmp_path))
    assert conn.exec_command('true')[0] == 0
    lxc_tools('STOPPED')
    with pytest.raises(AnsibleConnectionFailure, match='container web stopped being reachable: it is stopped'):
        conn.exec_command('exit 1')


def test_plain_lxc_container_without_metadata_gets_the_defaults(tmp_path, lxc_tools):
    conn = connection(make_store(tmp_path, metadata=False))
    conn.exec_command('true')
    assert attach_log(tmp_path)['spec']['env'] == {'PATH': DEFAULT_PATH, 'HOME': '/root', 'container': 'lxc'}


def test_become_with_a_password_is_refused(tmp_path, lxc_tools):
    class PromptingBecome:
        @staticmethod
        def expect_prompt():
            return True

    conn = connection(make_store(tmp_path))
    conn.become = PromptingBecome()
    with pytest.raises(AnsibleError, match='become with a password is not supported'):
        conn.exec_command('true', sudoable=True)
    assert conn.exec_command('echo ok', sudoable=False) == (0, b'ok\n', b'')


def test_reset_checks_the_container_again(tmp_path, lxc_tools):
    conn = connection(make_store(tmp_path))
    assert conn.exec_command('true')[0] == 0
    lxc_tools('FROZEN')
    conn.reset()
    assert not conn.connected
    with pytest.raises(AnsibleConnectionFailure, match='is frozen, not running'):
        conn.exec_command('true')


# -- fetch_file replaces the destination only when the read succeeded --------------

def test_fetch_file_failure_leaves_an_existing_local_file_intact(tmp_path, lxc_tools):
    conn = connection(make_store(tmp_path))
    local = tmp_path / 'dest'
    local.mkdir()
    (local / 'back').write_bytes(b'what was there before\n')
    with pytest.raises(AnsibleError, match='failed to read .*/missing in container web'):
        conn.fetch_file(str(tmp_path / 'missing'), str(local / 'back'))
    assert (local / 'back').read_bytes() == b'what was there before\n'
    assert sorted(os.listdir(local)) == ['back']


def test_fetch_file_failure_creates_nothing(tmp_path, lxc_tools):
    conn = connection(make_store(tmp_path))
    local = tmp_path / 'dest'
    local.mkdir()
    with pytest.raises(AnsibleError, match='failed to read'):
        conn.fetch_file(str(tmp_path / 'missing'), str(local / 'back'))
    assert os.listdir(local) == []


def test_fetch_file_interrupted_removes_its_temporary_file(tmp_path, lxc_tools, monkeypatch):
    conn = connection(make_store(tmp_path))
    (tmp_path / 'remote').write_bytes(b'new')
    local = tmp_path / 'dest'
    local.mkdir()
    (local / 'back').write_bytes(b'old')

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt()
    monkeypatch.setattr(plugin, 'run_streamed', interrupted)
    with pytest.raises(KeyboardInterrupt):
        conn.fetch_file(str(tmp_path / 'remote'), str(local / 'back'))
    assert sorted(os.listdir(local)) == ['back']
    assert (local / 'back').read_bytes() == b'old'


def test_fetch_file_replaces_an_existing_file_keeping_its_mode(tmp_path, lxc_tools):
    conn = connection(make_store(tmp_path))
    (tmp_path / 'remote').write_bytes(b'new content\n')
    local = tmp_path / 'dest'
    local.mkdir()
    (local / 'back').write_bytes(b'old')
    (local / 'back').chmod(0o640)
    conn.fetch_file(str(tmp_path / 'remote'), str(local / 'back'))
    assert (local / 'back').read_bytes() == b'new content\n'
    assert stat.S_IMODE((local / 'back').stat().st_mode) == 0o640
    assert sorted(os.listdir(local)) == ['back']


def test_fetch_file_new_file_gets_the_mode_open_would_give(tmp_path, lxc_tools):
    conn = connection(make_store(tmp_path))
    (tmp_path / 'remote').write_bytes(b'x')
    old_umask = os.umask(0o027)
    try:
        conn.fetch_file(str(tmp_path / 'remote'), str(tmp_path / 'back'))
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / 'back').stat().st_mode) == 0o640


def test_fetch_file_into_a_missing_directory_names_it(tmp_path, lxc_tools):
    conn = connection(make_store(tmp_path))
    (tmp_path / 'remote').write_bytes(b'x')
    with pytest.raises(AnsibleError, match='cannot create a temporary file beside .*/no/such/dir/back'):
        conn.fetch_file(str(tmp_path / 'remote'), str(tmp_path / 'no/such/dir/back'))


# -- pipelining, resolved as the task executor resolves it --------------------------

@pytest.fixture
def loaded_connection():
    """A Connection whose option definitions (its DOCUMENTATION with the pipelining fragment) are registered."""
    from ansible import constants as C
    from ansible.plugins.loader import fragment_loader
    from ansible.utils.plugin_docs import get_docstring

    name = 'dockerlite.core.dockerlite'
    doc = get_docstring(plugin.__file__, fragment_loader, collection_name='dockerlite.core')[0]
    C.config.initialize_plugin_configuration_definitions('connection', name, doc['options'])

    def make(var_options):
        conn = plugin.Connection(PlayContext())
        conn._load_name = name
        conn.set_options(var_options=var_options)
        return conn
    return make


@pytest.mark.parametrize('value, enabled', [
    (None, False), ('false', False), ('False', False), ('no', False), ('0', False), (False, False),
    ('true', True), ('yes', True), (True, True),
])
def test_pipelining_follows_ansible_pipelining_even_as_a_string(loaded_connection, monkeypatch, value, enabled):
    monkeypatch.delenv('ANSIBLE_PIPELINING', raising=False)
    conn = loaded_connection({} if value is None else {'ansible_pipelining': value})
    # ansible-core 2.16's action plugins read this option; 2.17 and later ask is_pipelining_enabled(), which reads it.
    assert conn.get_option('pipelining') is enabled
    if hasattr(conn, 'is_pipelining_enabled'):
        assert conn.is_pipelining_enabled() is enabled


# -- a container on another host, over SSH -----------------------------------------

FAKE_SSH = """#!/bin/sh
# Stands for ssh: records its argv, then runs the remote command string here, or fails as ssh does.
printf '%s\\n' "$@" > "$FAKE_SSH_LOG"
[ -n "$FAKE_SSH_FAIL" ] && { echo "$FAKE_SSH_FAIL" >&2; exit 255; }
for last; do :; done
exec sh -c "$last"
"""


@pytest.fixture
def fake_ssh(tmp_path, monkeypatch):
    bin_dir = tmp_path / 'sshbin'
    bin_dir.mkdir()
    (bin_dir / 'ssh').write_text(FAKE_SSH)
    (bin_dir / 'ssh').chmod(stat.S_IRWXU)
    monkeypatch.setenv('PATH', '%s:%s' % (bin_dir, os.environ['PATH']))
    monkeypatch.setenv('FAKE_SSH_LOG', str(tmp_path / 'ssh.log'))
    monkeypatch.delenv('FAKE_SSH_FAIL', raising=False)
    return tmp_path / 'ssh.log'


def remote_connection(root, name='web'):
    conn = connection(root, name)
    conn._options.update({'dockerlite_ssh_host': 'node1', 'dockerlite_ssh_user': 'root', 'dockerlite_ssh_port': 2222,
                          'dockerlite_ssh_private_key_file': '/k', 'dockerlite_ssh_args': '-o BatchMode=yes',
                          'dockerlite_remote_python': sys.executable})
    return conn


def test_remote_container_is_looked_at_over_ssh(tmp_path, lxc_tools, fake_ssh):
    """The check before the first command: one ssh to the host, which reads the metadata and the state there."""
    root = make_store(tmp_path)
    lxc_tools('STOPPED')
    conn = remote_connection(root)
    with pytest.raises(AnsibleConnectionFailure, match='container web in the store at .* on node1 is stopped'):
        conn.exec_command('true')
    argv = fake_ssh.read_text().splitlines()
    assert argv[:9] == ['-o', 'BatchMode=yes', '-p', '2222', '-l', 'root', '-i', '/k', '--']
    assert argv[9] == 'node1'


def test_remote_container_missing_is_named(tmp_path, lxc_tools, fake_ssh):
    root = make_store(tmp_path)
    conn = remote_connection(root, 'db')
    with pytest.raises(AnsibleConnectionFailure, match='container db does not exist in the store at .* on node1'):
        conn.exec_command('true')


def test_remote_host_unreachable(tmp_path, lxc_tools, fake_ssh, monkeypatch):
    monkeypatch.setenv('FAKE_SSH_FAIL', 'ssh: connect to host node1 port 2222: No route to host')
    conn = remote_connection(make_store(tmp_path))
    with pytest.raises(AnsibleConnectionFailure, match='ssh to node1 failed .rc 255.: ssh: connect to host node1'):
        conn.exec_command('true')
