# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Waiting until btrfs has dropped deleted subvolumes, before a disk figure or the next case.

Shared by the workspace (the btrfs CLI, on the controller's Python) and host_ops.py
(libbtrfsutil, on the managed host's Python, where this file is imported as a sibling
module): it imports nothing but ``time``.
"""

from __future__ import annotations

import time


def wait_for_cleaner(sync, pending, timeout=300, poll=0.05):
    """Call ``sync`` until ``pending()`` is false, then ``sync`` once more.

    The btrfs cleaner runs after a transaction commit; without the syncs it would wait
    for the next periodic commit (30 s by default). Raises TimeoutError after ``timeout`` s.
    """
    deadline = time.monotonic() + timeout
    while True:
        sync()
        if not pending():
            break
        if time.monotonic() > deadline:
            raise TimeoutError('btrfs did not clean up deleted subvolumes within %d s' % timeout)
        time.sleep(poll)
    sync()
