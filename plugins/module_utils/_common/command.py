# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Run an external tool with an argv list (never a shell string) and LC_ALL=C."""

from __future__ import annotations

import os
import subprocess

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import CommandError


def run(cmd, what, timeout=None):
    """Run ``cmd``; return stdout as text, or raise CommandError carrying cmd, rc, stdout, stderr."""
    env = dict(os.environ, LC_ALL='C')
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env, timeout=timeout, check=False)
    except OSError as exc:
        raise CommandError('%s: cannot run %s: %s' % (what, cmd[0], exc), cmd, None, '', '')
    except subprocess.TimeoutExpired as exc:
        raise CommandError('%s: %s did not finish within %s seconds' % (what, cmd[0], timeout), cmd, None,
                           (exc.stdout or b'').decode('utf-8', 'replace'),
                           (exc.stderr or b'').decode('utf-8', 'replace'))
    stdout = proc.stdout.decode('utf-8', 'replace')
    stderr = proc.stderr.decode('utf-8', 'replace')
    if proc.returncode != 0:
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else 'exit code %d' % proc.returncode
        raise CommandError('%s failed: %s' % (what, detail), cmd, proc.returncode, stdout, stderr)
    return stdout
