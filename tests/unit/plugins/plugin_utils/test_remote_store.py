# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""What the plugins run on a remote host over SSH: the ssh argv, the quoting, the run program's stdin."""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys

import pytest

from ansible_collections.dockerlite.core.plugins.plugin_utils import _remote_store as remote


def test_ssh_argv_quotes_every_word_for_the_remote_shell():
    argv = remote.ssh_argv('192.0.2.1', ['python3', '-c', 'print("a b")\n', "it's; rm -rf /x"], user='root', port=2222,
                           private_key_file='/k ey', ssh_args='-o BatchMode=yes -o "ControlPath=/c p/%h"')
    assert argv[:12] == ['ssh', '-o', 'BatchMode=yes', '-o', 'ControlPath=/c p/%h', '-p', '2222', '-l', 'root',
                         '-i', '/k ey', '--'][:12]
    assert argv[-2] == '192.0.2.1'
    # The remote shell splits the command string back into exactly the words given.
    assert shlex.split(argv[-1]) == ['python3', '-c', 'print("a b")\n', "it's; rm -rf /x"]


def test_ssh_argv_leaves_unset_options_to_ssh():
    assert remote.ssh_argv('h', ['true']) == ['ssh', '--', 'h', 'true']


def test_run_spec_line_is_one_line():
    line = remote.run_spec_line(['sh', '-c', 'echo "a\nb"'], {'K': 'v\nw'})
    assert line.endswith(b'\n') and line.count(b'\n') == 1
    assert json.loads(line) == {'argv': ['sh', '-c', 'echo "a\nb"'], 'env': {'K': 'v\nw'}}


@pytest.mark.parametrize('source', [None, b'payload', io.BytesIO(b'payload')])
def test_prefixed_reader(source):
    reader = remote.PrefixedReader(b'line\n', source)
    chunks = []
    while True:
        chunk = reader.read(3)
        if not chunk:
            break
        chunks.append(chunk)
    assert b''.join(chunks) == b'line\n' + (b'' if source is None else b'payload')


@pytest.mark.parametrize('text, words', [('nope', 'printed no JSON'), ('[1]', 'printed list, not an object')])
def test_parse_json_output_refuses(text, words):
    with pytest.raises(ValueError, match=words):
        remote.parse_json_output(text, 'the listing')


def test_run_program_reads_only_its_line(tmp_path):
    """The run program consumes exactly the spec line: what follows is the command's stdin. Checked with a
    stand-in lxc-attach (the program execs /usr/bin/lxc-attach, so the copy points it elsewhere)."""
    fake = tmp_path / 'lxc-attach'
    fake.write_text('#!%s\nimport json, os, sys\nprint(json.dumps({"argv": sys.argv[1:], "stdin": sys.stdin.read(), '
                    '"env": dict(os.environ), "cwd": os.getcwd()}))\n' % sys.executable)
    fake.chmod(0o755)
    program = remote.RUN_PROGRAM.replace("'/usr/bin/lxc-attach'", repr(str(fake)))
    assert program != remote.RUN_PROGRAM
    stdin = remote.run_spec_line(['cat'], {'PATH': '/bin', 'SECRET': 's'}) + b'rest of stdin\nmore'
    proc = subprocess.run([sys.executable, '-c', program, '/s/containers', 'web'], input=stdin,
                          stdout=subprocess.PIPE, check=True, env={'LEAK': '1', 'PATH': os.environ['PATH']})
    got = json.loads(proc.stdout)
    assert got['argv'] == ['--lxcpath', '/s/containers', '--name', 'web', '--keep-env', '--', 'cat']
    assert got['stdin'] == 'rest of stdin\nmore'
    assert got['cwd'] == '/'
    # Exactly the spec's environment (the interpreter may add nothing but LC_CTYPE coercion).
    assert {k: v for k, v in got['env'].items() if k != 'LC_CTYPE'} == {'PATH': '/bin', 'SECRET': 's'}
