# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""``make bench``: run the dockerlite.core benchmark (the package dockerlite_bench, next to this file).

``python bench/bench.py --help`` lists the options and the BENCH_* environment variables;
bench/README.md says what each figure means.
"""

from __future__ import annotations

import os
import sys


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from dockerlite_bench.cli import run_cli

    run_cli()


if __name__ == '__main__':
    main()
