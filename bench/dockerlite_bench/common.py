# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""What every part of the benchmark shares: settings, constants, commands, statistics."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
BENCH_DIR = os.path.dirname(PACKAGE_DIR)
HOST_PYTHON = '/usr/bin/python3'
MIB = 1024 * 1024
# PID 1 of every benchmark container: no handler for the halt signal, so a stop is a kill
# and no figure waits for an init system to shut down.
COMMAND = ['/bin/sleep', '2147483647']
IMAGE = 'busybox'
IMAGE_MODULE = 'dockerlite.core.dockerlite_image'
CONTAINER_MODULE = 'dockerlite.core.dockerlite_container'
COMMIT_MODULE = 'dockerlite.core.dockerlite_commit'
STACK_MODULE = 'dockerlite.core.dockerlite_stack'
PEER_MODULE = 'community.general.lxc_container'
FLOOR_MODULE = 'ansible.builtin.file'
# A module run directly: /usr/bin/python3 -m COLLECTION_MODULES + name, from the build copy.
COLLECTION_MODULES = 'ansible_collections.dockerlite.core.plugins.modules.'
COMMON_CONF = '/usr/share/lxc/config/common.conf'
STARTED = time.monotonic()


class BenchError(Exception):
    pass


def log(message):
    print('[bench %6.1fs] %s' % (time.monotonic() - STARTED, message), file=sys.stderr, flush=True)


def run(argv, **kwargs):
    """Run a command, failing with its output if it fails."""
    kwargs.setdefault('stdout', subprocess.PIPE)
    kwargs.setdefault('stderr', subprocess.PIPE)
    proc = subprocess.run(argv, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        raise BenchError('%s exited %d: %s' % (' '.join(argv), proc.returncode, (proc.stderr or '').strip()))
    return proc.stdout


def median(values):
    return statistics.median(values) if values else None


def mean(values):
    return statistics.fmean(values) if values else None


def timed_ms(call):
    started = time.monotonic()
    call()
    return (time.monotonic() - started) * 1000.0


def module_run(ws, module, args, root=None):
    """Run a dockerlite module directly (``/usr/bin/python3 -m``, arguments from a file, no controller), on
    the store ``root`` (the workspace's store by default): its ms and its result; a failed run raises."""
    path = os.path.join(ws.tmp, 'direct-args.json')
    with open(path, 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': dict(args, root=root or ws.root)}, handle)
    started = time.monotonic()
    proc = subprocess.run([HOST_PYTHON, '-m', COLLECTION_MODULES + module, path], capture_output=True, text=True,
                          env=ws.host_env(), check=False)
    elapsed = (time.monotonic() - started) * 1000.0
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        result = {'failed': True, 'msg': proc.stdout + proc.stderr}
    if proc.returncode != 0 or result.get('failed'):
        raise BenchError('%s %s failed: %s' % (module, json.dumps(args), result.get('msg')))
    return elapsed, result


def module_ms(ws, module, args, expect_stdout=None):
    """A dockerlite module run directly on the workspace's store (``module_run``): its ms. With
    ``expect_stdout``, a run that printed something else raises."""
    elapsed, result = module_run(ws, module, args)
    if expect_stdout is not None and result.get('stdout', '').strip() != expect_stdout:
        raise BenchError('%s printed %r, expected %r' % (module, result.get('stdout'), expect_stdout))
    return elapsed


def env_ints(environ, name, default):
    return [int(word) for word in environ.get(name, default).split()]


KNOWN_PEERS = ('docker', 'podman')


def parse_peers(value):
    """BENCH_PEERS: the peers to start, in order; "none" (or nothing) for none."""
    words = value.replace(',', ' ').split()
    if words in ([], ['none']):
        return []
    unknown = [word for word in words if word not in KNOWN_PEERS]
    if unknown:
        raise BenchError('BENCH_PEERS: unknown peer %s (known: %s, or none)' % (', '.join(unknown),
                                                                                ', '.join(KNOWN_PEERS)))
    return list(dict.fromkeys(words))


class Settings:
    """The run's settings: the command line's directories and the BENCH_* environment variables
    (bench/README.md lists them)."""

    def __init__(self, build, output, environ=None):
        environ = os.environ if environ is None else environ
        self.build = os.path.abspath(build)
        self.output = os.path.abspath(output)
        self.ns = env_ints(environ, 'BENCH_N', '10 50')
        peer = environ.get('BENCH_PEER_N', '').split()
        self.peer_ns = self.ns if not peer else [int(word) for word in peer if int(word) > 0]
        self.commit_mib = env_ints(environ, 'BENCH_COMMIT_MIB', '1 100 1024')
        self.commit_repeat = int(environ.get('BENCH_COMMIT_REPEAT', '3'))
        self.hook_n = int(environ.get('BENCH_HOOK_N', '10'))
        self.repeat = int(environ.get('BENCH_REPEAT', '7'))
        self.split_n = int(environ.get('BENCH_SPLIT_N', '10'))
        self.loop_size = environ.get('BENCH_LOOP_SIZE', '8G')
        self.tmp_parent = environ.get('BENCH_TMPDIR') or None
        self.stack_n = int(environ.get('BENCH_STACK_N', '100'))
        self.quota_n = int(environ.get('BENCH_QUOTA_N', '10'))
        self.pull_mib = int(environ.get('BENCH_PULL_MIB', '100'))
        # Measure only the named once-per-run figures (e.g. "registry"): no per-N figures, no plots.
        self.only = environ.get('BENCH_ONLY', '').split()
        # Docker and Podman, side by side (figure 9): which to start ("none" or empty: none), the loop
        # items per container figure, and the Python the three container modules run on.
        self.peers = parse_peers(environ.get('BENCH_PEERS', ' '.join(KNOWN_PEERS)))
        self.peers_n = int(environ.get('BENCH_PEERS_N', '10'))
        self.module_python = environ.get('BENCH_MODULE_PYTHON') or HOST_PYTHON
        self.bin = os.path.dirname(sys.executable)
