# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r'''
name: dockerlite
short_description: Run tasks inside a running dockerlite container
version_added: 0.1.0
description:
  - Runs commands in, and copies files to and from, a running container of a dockerlite store on the controller,
    through LXC's attach with a clean environment. Nothing needs to be installed in the container for
    M(ansible.builtin.raw) and M(ansible.builtin.script); other modules need Python in the container, as usual.
  - Files travel as a byte stream through the attached command (C(cat) inside the container), never through the container's
    root filesystem on the host, so a symbolic link inside the container resolves inside the container and cannot
    redirect a write onto the host.
  - The attach is done by a helper process run with O(dockerlite_python) (it needs python3-lxc) that keeps only the
    command's stdin, stdout and stderr pipes and has no log file open when it joins the container, so no descriptor of
    Ansible or of the host reaches the container, not even for an instant.
  - By default the container runs on the controller itself (the host that runs C(ansible-playbook)), and the controller
    must run as root.
  - With O(dockerlite_ssh_host), the container runs on that host instead, reached over SSH (the C(ssh) client of the
    controller, as root or a user allowed to run C(lxc-attach) there). Each command is one C(ssh) to the host that
    runs C(lxc-attach --keep-env) there, with the container's environment handed over on stdin, never in a command
    line. The host needs only what the modules need (C(/usr/bin/python3), the LXC tools); nothing is installed on it.
    The P(dockerlite.core.dockerlite#inventory) inventory plugin sets these variables for the containers of the hosts
    it lists in its C(hosts) option.
  - The P(dockerlite.core.dockerlite#inventory) inventory plugin sets the variables this plugin reads for every container of a store.
extends_documentation_fragment:
  - connection_pipelining
options:
  remote_addr:
    description:
      - Name of the container.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
      - name: ansible_dockerlite_host
  dockerlite_root:
    description:
      - Path of the dockerlite store that holds the container, as given to the modules' O(dockerlite.core.dockerlite_container#module:root)
        option. Its C(containers) directory is the LXC path.
    type: path
    default: /var/lib/dockerlite
    vars:
      - name: dockerlite_root
    env:
      - name: DOCKERLITE_ROOT
    ini:
      - section: dockerlite_connection
        key: root
  dockerlite_ssh_host:
    description:
      - The host that runs the container, reached over SSH (an address or a name C(ssh) resolves). Unset, the container
        runs on the controller.
    type: str
    vars:
      - name: dockerlite_ssh_host
  dockerlite_ssh_user:
    description: The user to log in as on O(dockerlite_ssh_host) (unset, C(ssh) chooses).
    type: str
    vars:
      - name: dockerlite_ssh_user
  dockerlite_ssh_port:
    description: The SSH port of O(dockerlite_ssh_host) (unset, C(ssh) chooses).
    type: int
    vars:
      - name: dockerlite_ssh_port
  dockerlite_ssh_private_key_file:
    description: The private key to log in to O(dockerlite_ssh_host) with.
    type: path
    vars:
      - name: dockerlite_ssh_private_key_file
  dockerlite_ssh_args:
    description:
      - More arguments of C(ssh), split as a shell would (for example connection sharing with C(-o ControlMaster=auto
        -o ControlPersist=60s -o ControlPath=...), or C(-o StrictHostKeyChecking=...)).
    type: str
    default: -o BatchMode=yes
    vars:
      - name: dockerlite_ssh_args
  dockerlite_remote_python:
    description: The Python interpreter on O(dockerlite_ssh_host) that runs the small programs the plugin sends there.
    type: str
    default: /usr/bin/python3
    vars:
      - name: dockerlite_remote_python
  dockerlite_python:
    description:
      - The Python interpreter on the controller that runs the attach helper; it must be able to import python3-lxc.
        Not used with O(dockerlite_ssh_host).
    type: path
    default: /usr/bin/python3
    vars:
      - name: dockerlite_python
    ini:
      - section: dockerlite_connection
        key: python
notes:
  - Tasks run as root in the container (the attach enters it as root); O(remote_addr) names the container, and
    C(ansible_user) is ignored.
  - The environment is cleared. The command sees the container's own environment (its C(env), as the container's
    process does), plus C(PATH) and C(HOME=/root) unless the container sets them.
  - C(become) with the default C(become_user=root) changes nothing, since tasks already run as root, so it works in
    any container. Becoming another user needs a become method that exists in the container and asks root for no
    password, such as C(become_method=ansible.builtin.su) with C(become_flags=-s /bin/sh) (busybox and Debian have
    C(su); the C(-s) flag matters when the user's login shell is C(/bin/false) or C(nologin)). C(sudo) is in neither
    the busybox nor the Debian minbase image. A become password cannot be answered (no terminal is allocated) and
    fails the task with an error saying so.
  - A stopped, frozen or missing container fails the task as unreachable, with a message that says which.
  - Pipelining is supported and off by default, as for every connection; O(pipelining) turns it on, through
    C(ansible_pipelining) (a string such as C(false) in an INI inventory counts as the boolean it spells),
    C(ANSIBLE_PIPELINING) or the C([defaults]) or C([connection]) C(pipelining) setting. Without it, each module is
    written into the container's remote temporary directory and run from there.
seealso:
  - plugin: dockerlite.core.dockerlite
    plugin_type: inventory
  - module: dockerlite.core.dockerlite_container
author:
  - dockerlite.core maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
# A container on another host, over SSH to that host then lxc-attach there (the inventory plugin, with its
# hosts option, sets these variables for every container of the hosts it lists):
#   [remote_containers]
#   web.node1 ansible_connection=dockerlite.core.dockerlite ansible_host=web dockerlite_root=/var/lib/dockerlite
#             dockerlite_ssh_host=node1.example.com dockerlite_ssh_user=root

# In an inventory file (the dockerlite.core.dockerlite inventory plugin sets the same variables):
#   [containers]
#   web ansible_connection=dockerlite.core.dockerlite dockerlite_root=/var/lib/dockerlite
#   db  ansible_connection=dockerlite.core.dockerlite ansible_host=db-1 ansible_python_interpreter=/usr/bin/python3

- name: Provision the inside of containers
  hosts: containers
  gather_facts: false
  tasks:
    - name: Raw works in any container, even one without Python (busybox)
      ansible.builtin.raw: cat /etc/hostname
      changed_when: false

    - name: Other modules need Python in the container, as on any host
      ansible.builtin.copy:
        content: "hello from {{ inventory_hostname }}\n"
        dest: /etc/motd
        mode: "0644"
      when: inventory_hostname == 'db'

    - name: Become another user through su (root needs no password; sudo is rarely there)
      ansible.builtin.raw: id -un
      become: true
      become_method: ansible.builtin.su
      become_user: nobody
      become_flags: -s /bin/sh
      changed_when: false
'''

import io
import json
import os
import selectors
import stat
import subprocess
import tempfile

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

from ansible_collections.dockerlite.core.plugins.module_utils._common.command import run
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import (
    CommandError, StoreDataError, ValidationError)
from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc import STATE_NAMES
from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc_attach import SPEC_ENV
from ansible_collections.dockerlite.core.plugins.module_utils._store.paths import StorePaths
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import read_container
from ansible_collections.dockerlite.core.plugins.module_utils._common.validation import validate_container_name
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import check_container_meta
from ansible_collections.dockerlite.core.plugins.plugin_utils._remote_store import (
    INFO_PROGRAM, RUN_PROGRAM, PrefixedReader, parse_json_output, program_argv, run_spec_line, ssh_argv)

display = Display()

# Run with dockerlite_python as ``-m``, from the collection this plugin belongs to.
HELPER_MODULE = 'ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc_attach'
# <dir>/ansible_collections/dockerlite/core/plugins/connection/dockerlite.py -> <dir>
COLLECTIONS_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
LXC_INFO = 'lxc-info'
# The exit status of ssh itself when it could not connect (or the connection broke).
SSH_FAILED = 255
SHELL = '/bin/sh'
# Set in the container unless its own environment (lxc.environment) sets them; ``container``
# is what lxc-attach and LXC's init set, for programs that look for it.
DEFAULT_ENV = (
    ('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'),
    ('HOME', '/root'),
    ('container', 'lxc'),
)
CHUNK = 65536
# The shell scripts that move a file; the path is an argument, never spliced into the script.
PUT_SCRIPT = 'cat > "$1"'
FETCH_SCRIPT = 'cat < "$1"'


def attach_env(container_env):
    """The command's whole environment: the container's own env over our defaults."""
    env = dict(DEFAULT_ENV)
    env.update(container_env or {})
    return env


def attach_spec(argv, env):
    """What the attach helper runs: ``argv`` as root in /, with exactly ``env``."""
    return {'mode': 'run', 'argv': list(argv), 'env': dict(env), 'cwd': '/', 'user': None, 'group': None}


def helper_command(python, lxcpath, name, spec):
    """(argv, environment) of the attach helper that runs ``spec`` in container ``name``.

    The spec travels in the helper's environment, which only root can read, not in its argv.
    stdin, stdout and stderr are never terminals here, so they stay three apart pipes.
    """
    env = {'PYTHONPATH': COLLECTIONS_DIR, 'LC_ALL': 'C', SPEC_ENV: json.dumps(spec)}
    return [python, '-m', HELPER_MODULE, lxcpath, name], env


def shell_argv(script, *args):
    """``/bin/sh -c script sh args...``: the arguments arrive as $1..., unquoted and whole."""
    return [SHELL, '-c', script, 'sh'] + list(args)


def parse_state(text):
    """The state that ``lxc-info -s -H`` printed, named as the modules name it (running, frozen, stopped)."""
    state = text.strip()
    return STATE_NAMES.get(state, state.lower() or 'unknown')


def fetched_mode(path):
    """Mode for a fetched file at ``path``: that of the file it replaces, else 0666 less the umask, as open() gives."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        pass
    # The umask can only be read by setting it; the worker running this is single-threaded.
    umask = os.umask(0o077)
    os.umask(umask)
    return 0o666 & ~umask


def run_streamed(argv, stdin=None, stdout=None, env=None):
    """Run ``argv`` (with environment ``env``, from /); return (rc, stdout bytes, stderr bytes).

    ``stdin`` is bytes or a binary file to feed the process (None: nothing); when
    ``stdout`` is a binary file, the process's output is written there instead of being
    returned. Files are streamed in chunks, and only through pipes: the container's
    processes never hold a descriptor of a controller file.
    """
    # stdin is a pipe even without input (closed at once): the container gets no host file.
    source = io.BytesIO(stdin or b'') if stdin is None or isinstance(stdin, (bytes, bytearray)) else stdin
    # From /: ``python -m`` looks for modules in its working directory first.
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd='/')
    try:
        out, err = _pump(proc, source, stdout)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc.wait(), out, err


def _pump(proc, source, sink):
    """Feed ``source`` to the process and drain its stdout and stderr, all at once, until EOF."""
    out_chunks = []
    err_chunks = []
    pending = b''
    with selectors.DefaultSelector() as selector:
        if proc.stdin is not None:
            os.set_blocking(proc.stdin.fileno(), False)
            selector.register(proc.stdin, selectors.EVENT_WRITE)
        selector.register(proc.stdout, selectors.EVENT_READ)
        selector.register(proc.stderr, selectors.EVENT_READ)
        while selector.get_map():
            for key, dummy in selector.select():
                stream = key.fileobj
                if stream is proc.stdin:
                    pending = pending or source.read(CHUNK)
                    if pending:
                        try:
                            pending = pending[os.write(stream.fileno(), pending):]
                            continue
                        except BlockingIOError:
                            continue
                        except BrokenPipeError:
                            pass  # the process stopped reading; its exit code tells why
                    selector.unregister(stream)
                    stream.close()
                    continue
                data = os.read(stream.fileno(), CHUNK)
                if not data:
                    selector.unregister(stream)
                    stream.close()
                elif stream is proc.stderr:
                    err_chunks.append(data)
                elif sink is not None:
                    sink.write(data)
                else:
                    out_chunks.append(data)
    return b''.join(out_chunks), b''.join(err_chunks)


class Connection(ConnectionBase):
    """Tasks inside a dockerlite container, through LXC's attach on the controller."""

    transport = 'dockerlite.core.dockerlite'
    has_pipelining = True
    # The attach enters as root; Ansible then skips become to root as a no-op.
    default_user = 'root'
    # No pseudo-terminal: become prompts cannot be answered.
    has_tty = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._container = None
        self._lxcpath = None
        self._env = {}
        self._ssh_host = None

    # -- connection -------------------------------------------------------

    def _connect(self):
        if self._connected:
            return self
        super()._connect()
        name = self.get_option('remote_addr')
        root = self.get_option('dockerlite_root')
        try:
            validate_container_name(name)
        except ValidationError as exc:
            raise AnsibleConnectionFailure('dockerlite connection: %s' % exc.msg)
        # LXC names a container's command socket after the LXC path string it was started
        # with; StorePaths spells it as the modules do.
        layout = StorePaths(root)
        paths = layout.container(name)
        self._container = name
        self._lxcpath = layout.containers
        self._ssh_host = self.get_option('dockerlite_ssh_host') or None
        if self._ssh_host:
            meta, state = self._remote_info()
            if meta is None:
                raise AnsibleConnectionFailure(
                    'dockerlite connection: container %s does not exist in the store at %s on %s (no %s); '
                    'check ansible_host, dockerlite_root and dockerlite_ssh_host'
                    % (name, root, self._ssh_host, paths['meta']))
            self._env = attach_env(self._remote_env(meta, paths['meta']))
            root = '%s on %s' % (root, self._ssh_host)
        else:
            if not os.path.isfile(paths['config']):
                raise AnsibleConnectionFailure(
                    'dockerlite connection: container %s does not exist in the store at %s (no %s); '
                    'check ansible_host and dockerlite_root' % (name, root, paths['config']))
            self._env = attach_env(self._container_env(layout, name))
            state = self._state()
        if state != 'running':
            hint = {'frozen': '; thaw it with dockerlite.core.dockerlite_container state=started',
                    'stopped': '; start it with dockerlite.core.dockerlite_container state=started'}.get(state, '')
            raise AnsibleConnectionFailure('dockerlite connection: container %s in the store at %s is %s, not running%s'
                                           % (name, root, state, hint))
        where = ' on %s over SSH' % self._ssh_host if self._ssh_host else ''
        display.vvv('ATTACH to container %s under %s%s' % (name, self._lxcpath, where), host=name)
        self._connected = True
        return self

    @staticmethod
    def _container_env(layout, name):
        """The env the container was configured with (container.json), or {} for a plain LXC container."""
        try:
            container = read_container(layout, name) or {}
        except StoreDataError as exc:
            display.warning('dockerlite connection: container %s has damaged metadata, so its env is not set: %s'
                            % (name, exc.msg))
            return {}
        except OSError:
            return {}
        return (container.get('spec') or {}).get('env') or {}

    # -- a container on another host, over SSH ----------------------------

    def _ssh(self, program, *args, **kwargs):
        """Run ``program`` (Python source) on the SSH host with ``args``: (rc, stdout, stderr)."""
        remote = program_argv(self.get_option('dockerlite_remote_python'), program, *args)
        cmd = ssh_argv(self._ssh_host, remote, user=self.get_option('dockerlite_ssh_user'),
                       port=self.get_option('dockerlite_ssh_port'),
                       private_key_file=self.get_option('dockerlite_ssh_private_key_file'),
                       ssh_args=self.get_option('dockerlite_ssh_args'))
        try:
            rc, out, err = run_streamed(cmd, **kwargs)
        except OSError as exc:
            raise AnsibleConnectionFailure('dockerlite connection: cannot run ssh: %s' % exc)
        if rc == SSH_FAILED:
            raise AnsibleConnectionFailure('dockerlite connection: ssh to %s failed (rc %d): %s'
                                           % (self._ssh_host, rc, to_text(err).strip()))
        return rc, out, err

    def _remote_info(self):
        """(container.json text or None, state) of the container on the SSH host."""
        rc, out, err = self._ssh(INFO_PROGRAM, self._lxcpath, self._container)
        try:
            if rc != 0:
                raise ValueError('rc %d: %s' % (rc, to_text(err).strip()[-500:]))
            info = parse_json_output(to_text(out), 'the container check on %s' % self._ssh_host)
        except ValueError as exc:
            raise AnsibleConnectionFailure('dockerlite connection: cannot look at container %s on %s: %s'
                                           % (self._container, self._ssh_host, exc))
        return info.get('meta'), parse_state(info.get('state') or '')

    def _remote_env(self, text, path):
        """The env of the container whose container.json (on the SSH host) is ``text``."""
        try:
            meta = check_container_meta(json.loads(text), path, self._container)
        except (ValueError, StoreDataError) as exc:
            display.warning('dockerlite connection: container %s on %s has damaged metadata, so its env is not '
                            'set: %s' % (self._container, self._ssh_host, getattr(exc, 'msg', exc)))
            return {}
        return (meta.get('spec') or {}).get('env') or {}

    def _state(self):
        if self._ssh_host:
            return self._remote_info()[1]
        cmd = [LXC_INFO, '--lxcpath', self._lxcpath, '--name', self._container, '--state', '--no-humanize']
        try:
            return parse_state(run(cmd, '%s for container %s' % (LXC_INFO, self._container)))
        except CommandError as exc:
            raise AnsibleConnectionFailure('dockerlite connection: %s' % exc.msg)

    def _run(self, argv, stdin=None, stdout=None):
        if self._ssh_host:
            line = run_spec_line([to_text(arg, errors='surrogate_or_strict') for arg in argv], self._env)
            rc, out, err = self._ssh(RUN_PROGRAM, self._lxcpath, self._container,
                                     stdin=PrefixedReader(line, stdin), stdout=stdout)
            if rc != 0 and self._state() != 'running':
                raise AnsibleConnectionFailure('dockerlite connection: container %s on %s stopped being reachable'
                                               % (self._container, self._ssh_host))
            return rc, out, err
        spec = attach_spec([to_text(arg, errors='surrogate_or_strict') for arg in argv], self._env)
        python = self.get_option('dockerlite_python')
        cmd, env = helper_command(python, self._lxcpath, self._container, spec)
        try:
            rc, out, err = run_streamed(cmd, stdin=stdin, stdout=stdout, env=env)
        except OSError as exc:
            raise AnsibleConnectionFailure('dockerlite connection: cannot run the attach helper with %s (set '
                                           'dockerlite_python to a Python that has python3-lxc): %s' % (python, exc))
        if rc != 0:
            # The attach fails the same way when the container stopped since _connect: say so.
            state = self._state()
            if state != 'running':
                raise AnsibleConnectionFailure('dockerlite connection: container %s stopped being reachable: it is %s'
                                               % (self._container, state))
        return rc, out, err

    # -- the interface Ansible calls --------------------------------------

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        if sudoable and self.become and self.become.expect_prompt():
            raise AnsibleError('dockerlite connection: become with a password is not supported (no terminal to answer '
                               'the prompt); tasks already run as root, and root needs no password to become another '
                               'user with su')
        display.vvv('EXEC %s' % to_text(cmd), host=self._container)
        return self._run([SHELL, '-c', cmd], stdin=in_data)

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        display.vvv('PUT %s TO %s' % (in_path, out_path), host=self._container)
        b_in_path = to_bytes(in_path, errors='surrogate_or_strict')
        if not os.path.isfile(b_in_path):
            raise AnsibleFileNotFound('file or module does not exist: %s' % to_native(in_path))
        with open(b_in_path, 'rb') as source:
            rc, dummy, err = self._run(shell_argv(PUT_SCRIPT, out_path), stdin=source)
        if rc != 0:
            raise AnsibleError('dockerlite connection: failed to write %s in container %s (rc %d): %s'
                               % (to_native(out_path), self._container, rc, to_text(err).strip()))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        display.vvv('FETCH %s TO %s' % (in_path, out_path), host=self._container)
        b_out_path = to_bytes(out_path, errors='surrogate_or_strict')
        # The bytes go to a temporary file beside the destination, renamed over it only once the
        # read succeeded: a failed read leaves an existing local file as it was.
        b_dir, b_name = os.path.split(b_out_path)
        try:
            fd, b_tmp_path = tempfile.mkstemp(dir=b_dir or b'.', prefix=b'.' + b_name + b'.', suffix=b'.part')
        except OSError as exc:
            raise AnsibleError('dockerlite connection: cannot create a temporary file beside %s: %s'
                               % (to_native(out_path), exc))
        try:
            with os.fdopen(fd, 'wb') as sink:
                rc, dummy, err = self._run(shell_argv(FETCH_SCRIPT, in_path), stdout=sink)
            if rc != 0:
                raise AnsibleError('dockerlite connection: failed to read %s in container %s (rc %d): %s'
                                   % (to_native(in_path), self._container, rc, to_text(err).strip()))
            try:
                os.chmod(b_tmp_path, fetched_mode(b_out_path))
                os.replace(b_tmp_path, b_out_path)
            except OSError as exc:
                raise AnsibleError('dockerlite connection: cannot write %s: %s' % (to_native(out_path), exc))
        except BaseException:
            try:
                os.unlink(b_tmp_path)
            except OSError:
                pass
            raise

    def reset(self):
        """Nothing lives between commands: forget the check, so the next command makes it again."""
        self.close()

    def close(self):
        super().close()
        self._connected = False
