# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Make the benchmark's package (bench/dockerlite_bench) importable: bench/ is not on sys.path."""

from __future__ import annotations

import os
import sys

_BENCH_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), 'bench')
if _BENCH_DIR not in sys.path:
    sys.path.insert(0, _BENCH_DIR)
