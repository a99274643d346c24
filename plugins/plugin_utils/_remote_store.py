# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""A store on another host, reached over SSH: what the inventory and connection plugins run there.

The remote side needs only what a managed host has anyway: ``/usr/bin/python3`` and the LXC
tools. Each call is one ``ssh`` process running one small Python program (its source in argv,
its input on stdin), so nothing of the collection has to be installed on the host.
"""

from __future__ import annotations

import json
import shlex

# Lists a store: {lxc_ls: the lxc-ls table, containers: {entry: container.json text or null}}.
# argv: lxcpath. Metadata files are opened without following symbolic links.
LIST_PROGRAM = r'''
import json, os, subprocess, sys
lxcpath = sys.argv[1]
out = {'lxc_ls': '', 'containers': {}}
if os.path.isdir(lxcpath):
    out['lxc_ls'] = subprocess.run(['lxc-ls', '--lxcpath', lxcpath, '--fancy', '--fancy-format', 'NAME,STATE,PID'],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True,
                                   env={'LC_ALL': 'C', 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'}).stdout.decode()
    for entry in sorted(os.listdir(lxcpath)):
        try:
            fd = os.open(os.path.join(lxcpath, entry, 'container.json'), os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            out['containers'][entry] = None
            continue
        with os.fdopen(fd, 'rb') as f:
            out['containers'][entry] = f.read(1 << 20).decode('utf-8', 'replace')
json.dump(out, sys.stdout)
'''

# One container: {state: lxc-info's state or '', meta: container.json text or null}. argv: lxcpath, name.
INFO_PROGRAM = r'''
import json, os, subprocess, sys
lxcpath, name = sys.argv[1:3]
out = {'state': '', 'meta': None}
try:
    fd = os.open(os.path.join(lxcpath, name, 'container.json'), os.O_RDONLY | os.O_NOFOLLOW)
except OSError:
    pass
else:
    with os.fdopen(fd, 'rb') as f:
        out['meta'] = f.read(1 << 20).decode('utf-8', 'replace')
    out['state'] = subprocess.run(['lxc-info', '--lxcpath', lxcpath, '--name', name, '--state', '--no-humanize'],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env={'LC_ALL': 'C', 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'}).stdout.decode()
json.dump(out, sys.stdout)
'''

# Runs a command in a container. argv: lxcpath, name. The first line of stdin is {argv, env} (JSON);
# the rest is the command's stdin. The line is read a byte at a time so that nothing after it is
# consumed; the environment goes to lxc-attach through its own environment (--keep-env), not argv,
# which every user of the host can read.
RUN_PROGRAM = r'''
import json, os, sys
lxcpath, name = sys.argv[1:3]
line = b''
while not line.endswith(b'\n'):
    byte = os.read(0, 1)
    if not byte:
        sys.exit('dockerlite: no command spec on stdin')
    line += byte
spec = json.loads(line)
os.chdir('/')
os.execve('/usr/bin/lxc-attach', ['lxc-attach', '--lxcpath', lxcpath, '--name', name, '--keep-env', '--']
          + spec['argv'], spec['env'])
'''


def ssh_argv(host, remote_argv, user=None, port=None, private_key_file=None, ssh_args='', ssh='ssh'):
    """argv of ``ssh`` that runs ``remote_argv`` on ``host`` (each word quoted for the remote shell)."""
    argv = [ssh] + shlex.split(ssh_args or '')
    if port:
        argv += ['-p', str(port)]
    if user:
        argv += ['-l', str(user)]
    if private_key_file:
        argv += ['-i', str(private_key_file)]
    argv += ['--', str(host), ' '.join(shlex.quote(str(word)) for word in remote_argv)]
    return argv


def program_argv(python, program, *args):
    """The remote argv that runs ``program`` (Python source) with ``args``."""
    return [python, '-c', program] + [str(arg) for arg in args]


def run_spec_line(argv, env):
    """The first line of the run program's stdin: the command and its whole environment."""
    return (json.dumps({'argv': list(argv), 'env': dict(env)}, sort_keys=True) + '\n').encode('utf-8')


def parse_json_output(text, what):
    """The JSON object a remote program printed; ValueError naming ``what`` otherwise."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError('%s printed no JSON (%s): %r' % (what, exc, text[:200])) from None
    if not isinstance(data, dict):
        raise ValueError('%s printed %s, not an object' % (what, type(data).__name__))
    return data


class PrefixedReader:
    """A binary reader that yields ``prefix``, then what ``source`` (bytes or a binary file) holds."""

    def __init__(self, prefix, source=None):
        self._prefix = prefix
        if source is None or isinstance(source, (bytes, bytearray)):
            self._bytes, self._file = bytes(source or b''), None
        else:
            self._bytes, self._file = b'', source

    def read(self, size=-1):
        if self._prefix:
            chunk, self._prefix = (self._prefix, b'') if size < 0 else (self._prefix[:size], self._prefix[size:])
            return chunk
        if self._bytes:
            chunk, self._bytes = (self._bytes, b'') if size < 0 else (self._bytes[:size], self._bytes[size:])
            return chunk
        return self._file.read(size) if self._file is not None else b''
