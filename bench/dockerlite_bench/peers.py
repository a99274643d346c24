# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Docker, Podman and a registry for the benchmark, through the integration tests' own helper
(tests/integration/targets/setup_peers/files/peers.py): one way to run them on this machine,
with their state under the run's directory, for the tests and the benchmark alike."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import time

from .common import BENCH_DIR, BenchError

PEERS_PY = os.path.join(os.path.dirname(BENCH_DIR), 'tests', 'integration', 'targets', 'setup_peers', 'files',
                        'peers.py')


def load_helper():
    spec = importlib.util.spec_from_file_location('dockerlite_peers', PEERS_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BenchPeers:
    """The peers of one benchmark run, started under ``directory``; ``stop`` is safe to call twice."""

    def __init__(self, directory, which):
        self.helper = load_helper()
        self.peers = self.helper.Peers(directory)
        try:
            self.state = self.peers.start(which)
        except self.helper.PeerError as exc:
            raise BenchError('could not start the peers: %s' % exc) from None
        self.stopped = False

    def available(self, peer):
        return peer in self.state and peer not in self.state['skipped']

    def skipped(self, peer):
        return self.state['skipped'].get(peer)

    def cli(self, peer, args, check=True):
        """Run a peer's CLI (``docker`` or ``podman``) with this run's options; its stdout."""
        spec = self.state[peer]
        proc = subprocess.run(spec['argv'] + list(args), env=dict(spec['env']), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            raise BenchError('%s %s exited %d: %s' % (peer, ' '.join(args), proc.returncode, proc.stderr.strip()))
        return proc.stdout

    def timed_cli(self, peer, args):
        started = time.monotonic()
        self.cli(peer, args)
        return (time.monotonic() - started) * 1000.0

    def stop(self):
        """Stop them all; the list of what is left (empty when clean)."""
        if self.stopped:
            return []
        self.stopped = True
        return self.peers.stop()


def podman_wrapper(ws, peers):
    """An executable for the ``executable`` option of containers.podman's modules: podman with this run's
    options and environment (a shell script in the run's directory)."""
    spec = peers.state['podman']
    path = os.path.join(ws.tmp, 'podman-bench')
    exports = ''.join('export %s=%s\n' % (key, shell_quote(value)) for key, value in sorted(spec['env'].items()))
    with open(path, 'w') as handle:
        handle.write('#!/bin/sh\n%sexec %s "$@"\n' % (exports, ' '.join(shell_quote(arg) for arg in spec['argv'])))
    os.chmod(path, 0o755)
    return path


def shell_quote(value):
    return "'" + str(value).replace("'", "'\\''") + "'"
