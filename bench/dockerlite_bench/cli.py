# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite.core benchmark: the modules against their floors and their peers, side by side in one run.

Run as root with the project's venv Python (``make bench`` does both); see
bench/README.md for what each row means. Everything happens on a throwaway
loopback btrfs filesystem under a fresh temporary directory, which is torn down
(containers killed, filesystem unmounted, loop device detached, files deleted)
however the run ends.

Settings, from the environment:
  BENCH_N           container counts for figures 1, 2, 4 and 5 (default "10 50")
  BENCH_PEER_N      counts at which community.general.lxc_container runs too
                    (default: BENCH_N; "0" skips the peer)
  BENCH_COMMIT_MIB  data sizes for the commit figure, in MiB (default "1 100 1024")
  BENCH_COMMIT_REPEAT  commits per size and mode; the median counts (default 3)
  BENCH_HOOK_N      containers per config in the lxcfs hook comparison (default 10)
  BENCH_SPLIT_N     loop items in the plays that split an item into module process
                    and controller (default 10, at most N)
  BENCH_REPEAT      runs of each import probe (default 7)
  BENCH_LOOP_SIZE   apparent size of the sparse loop file (default 8G)
  BENCH_TMPDIR      where the temporary directory goes (default: $TMPDIR or /tmp)
  BENCH_STACK_N     containers in the one dockerlite_stack task (default 100; 0 skips it)
  BENCH_QUOTA_N     containers per loop of the quotas off/on figure (default 10; 0 skips the figure)
  BENCH_PULL_MIB    size of the 3-layer image of the registry figure (default 100; 0 skips the figure)
  BENCH_ONLY        measure only these once-per-run figures (e.g. "registry", "peers"): no per-N figures, no plots
  BENCH_PEERS       peers started and measured side by side (default "docker podman", those installed;
                    "none" skips the figure)
  BENCH_PEERS_N     loop items and direct runs per container figure of the peers' figure (default 10)
  BENCH_MODULE_PYTHON  the Python of the three container modules in the peers' figure (default
                    /usr/bin/python3; make bench: a venv of it with requests, for community.docker)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time

from .common import BENCH_DIR, HOST_PYTHON, STARTED, BenchError, Settings, log
from .measure import ONCE, PER_N, build_image
from .plots import plot_all
from .report import busy, write_report
from .workspace import Workspace

COLLECTION = ('ansible_collections', 'dockerlite', 'core')


def machine(settings):
    def first(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, check=False)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return 'n/a'

    with open('/proc/cpuinfo') as handle:
        models = re.findall(r'^model name\s*:\s*(.*)$', handle.read(), re.M)
    with open('/proc/meminfo') as handle:
        mem_kib = int(re.search(r'^MemTotal:\s+(\d+)', handle.read(), re.M).group(1))
    try:
        with open('/etc/debian_version') as handle:
            debian = handle.read().strip()
    except OSError:
        debian = 'n/a'
    return {
        'cpu': '%d × %s' % (len(models), models[0] if models else 'unknown'),
        'memory': '%.1f GiB' % (mem_kib / 1024 / 1024), 'kernel': platform.release(), 'debian': debian,
        'host_python': first([HOST_PYTHON, '--version']),
        'ansible': first([os.path.join(settings.bin, 'ansible-playbook'), '--version']),
        'lxc': first(['lxc-start', '--version']), 'btrfs': first(['btrfs', '--version']),
    }


def preflight(settings):
    if not os.path.isdir(os.path.join(settings.build, *COLLECTION)):
        raise BenchError('no collection copy under %s; run make collection' % settings.build)
    if os.geteuid() != 0:
        raise BenchError('the benchmark needs root (loop devices, mounts, LXC)')
    for tool in ('truncate', 'losetup', 'mkfs.btrfs', 'btrfs', 'lxc-ls', 'lxc-stop', 'lxc-config', 'unshare'):
        if not shutil.which(tool):
            raise BenchError('%s not found; install btrfs-progs, lxc and util-linux' % tool)
    probe = subprocess.run([HOST_PYTHON, '-c', 'import btrfsutil, lxc'], capture_output=True, text=True,
                           check=False)
    if probe.returncode != 0:
        raise BenchError('%s cannot import btrfsutil and lxc (python3-btrfsutil, python3-lxc): %s'
                         % (HOST_PYTHON, probe.stderr.strip()))


def from_json(path, settings):
    """Measure nothing: the table and plots again from a run's results.json."""
    with open(path) as handle:
        results = json.load(handle)
    settings.ns = [fleet['n'] for fleet in results['fleets']]
    settings.peer_ns = [fleet['n'] for fleet in results['fleets'] if 'peer_create' in fleet]
    os.makedirs(settings.output, exist_ok=True)
    print(write_report(results, settings))
    if not results.get('only'):
        plot_all(results, settings.output)


def measure(settings):
    """Every measurement on a fresh workspace, torn down however the run ends; the results dict."""
    # The measurements import defaults from the collection copy under test.
    sys.path.insert(0, settings.build)
    results = {'only': settings.only, 'machine': machine(settings), 'date': time.strftime('%Y-%m-%d %H:%M:%S %Z'),
               'fleets': [], 'hook_n': settings.hook_n, 'load_before': os.getloadavg()}
    ws = Workspace(settings)
    try:
        ws.setup()
        build_image(ws, results)
        for n in ([] if settings.only else settings.ns):
            fleet = {'n': n}
            results['fleets'].append(fleet)
            for step in PER_N:
                log('N=%d: %s' % (n, step.__name__))
                step(ws, fleet)
        for step in ONCE:
            if settings.only and step.__name__.replace('measure_', '') not in settings.only:
                continue
            log(step.__name__)
            step(ws, results)
    finally:
        if os.path.exists(ws.loopfile):
            results['loopfile_allocated'] = os.stat(ws.loopfile).st_blocks * 512
        log('teardown')
        ws.teardown()
    results['seconds'] = time.monotonic() - STARTED
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog='bench.py', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--build', default=os.path.join(os.path.dirname(BENCH_DIR), '.build'),
                        help='directory holding ansible_collections/dockerlite/core (make collection)')
    parser.add_argument('--output', default=os.path.join(BENCH_DIR, 'output'), help='where results and plots go')
    parser.add_argument('--from-json', metavar='RESULTS',
                        help='measure nothing: make the table and plots again from a results.json')
    opts = parser.parse_args(argv)
    settings = Settings(opts.build, opts.output)
    if opts.from_json:
        from_json(opts.from_json, settings)
        return
    preflight(settings)
    os.makedirs(settings.output, exist_ok=True)

    # SIGTERM and SIGHUP unwind like Ctrl-C, so the teardown runs.
    def interrupted(signum, _frame):
        raise KeyboardInterrupt('signal %d' % signum)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupted)

    results = measure(settings)
    cpus = os.cpu_count() or 1
    if busy(results['load_before'][0], cpus):
        log('the machine was busy (load average %.2f on %d CPUs): the figures are noisy'
            % (results['load_before'][0], cpus))
    results['load_after'] = os.getloadavg()
    text = write_report(results, settings)
    plots = [] if settings.only else plot_all(results, settings.output)
    print(text)
    print('Results: %s; plots: %s' % (os.path.join(settings.output, 'results.json'), ', '.join(plots) or 'none'))


def run_cli(argv=None):
    """main(), with the benchmark's errors and interruptions as a one-line message and exit status 1."""
    try:
        main(argv)
    except BenchError as exc:
        sys.exit('bench: %s' % exc)
    except KeyboardInterrupt as exc:
        sys.exit('bench: interrupted (%s); the store was torn down' % (exc or 'Ctrl-C'))
