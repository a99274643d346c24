# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The dockerlite.core benchmark (``make bench``, entry point ``bench/bench.py``).

- ``common``: settings from the environment, constants, running commands, statistics.
- ``workspace``: the throwaway loopback btrfs store, its disk figures and its teardown.
- ``runner``: generated Ansible plays, timed by the bench_timer callback and, when asked,
  by a timed module interpreter; the AnsiballZ payload they keep.
- ``measure``: the measurements, in the order a run takes them (``PER_N``, ``ONCE``).
- ``report``: the table (pure functions of a results dict).
- ``plots``: the PNG figures.
- ``host_ops``: what runs on the managed host's /usr/bin/python3 (a script of its own).
- ``btrfs_quiet``: waiting for the btrfs cleaner, shared by the workspace and host_ops.
- ``cli``: the command line.

This file imports nothing: host_ops.py and the import probe it runs must start clean.
"""
