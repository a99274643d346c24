# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Jobs in forked worker processes: the stack's stop and start waves, the btrfs client's snapshots.

python3-lxc and libbtrfsutil keep the GIL while the kernel works, so threads would take turns;
processes let the kernel do several at once (and btrfs commit several snapshots together).
"""

from __future__ import annotations

import json
import os
import struct
import traceback

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError, MissingLibraryError


def error_dict(exc):
    if isinstance(exc, DockerliteError):
        return {'msg': exc.msg, 'details': exc.details}
    return {'msg': '%s: %s' % (type(exc).__name__, exc), 'details': {'exception': traceback.format_exc()}}


def run_parallel(jobs, workers):
    """Call every job of ``jobs`` (callables returning a list) in up to ``workers`` forked processes.

    Returns one (returned list, error) pair per job, in order; error is None or
    {'msg', 'details'}. A job that raised after some of its steps reports them through
    the ``done`` attribute of the exception, if set. Jobs are handed out one at a time
    from a pipe, so a slow job does not hold up the others behind it. With one worker
    or one job, everything runs in this process.
    """
    results = [None] * len(jobs)
    if workers <= 1 or len(jobs) <= 1:
        for index, job in enumerate(jobs):
            results[index] = call_job(job)
        return results
    queue_read, queue_write = os.pipe()
    outputs = []
    for _worker in range(min(workers, len(jobs))):
        out_read, out_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, reported through the pipe
            status = 1
            try:
                os.close(queue_write)
                os.close(out_read)
                for read_end, _pid in outputs:
                    os.close(read_end)
                _worker_loop(jobs, queue_read, out_write)
                status = 0
            finally:
                os._exit(status)
        os.close(out_write)
        outputs.append((out_read, pid))
    os.close(queue_read)
    # Writes of up to PIPE_BUF bytes are atomic, so a reader always gets whole 4-byte records.
    records = [struct.pack('=I', index) for index in range(len(jobs))]
    for start in range(0, len(records), 1024):
        os.write(queue_write, b''.join(records[start:start + 1024]))
    os.close(queue_write)
    for out_read, pid in outputs:
        with os.fdopen(out_read, 'r') as handle:
            for line in handle:
                index, done, error = json.loads(line)
                results[index] = (done, error)
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if status:
            for index, result in enumerate(results):
                if result is None:
                    results[index] = ([], {'msg': 'a worker process exited with status %d' % status, 'details': {}})
    return results


def call_job(job):
    try:
        return job(), None
    except MissingLibraryError:
        raise
    except Exception as exc:  # pylint: disable=broad-except  # reported with its traceback
        return list(getattr(exc, 'done', [])), error_dict(exc)


def _worker_loop(jobs, queue_read, out_write):  # pragma: no cover - runs in forked workers
    with os.fdopen(out_write, 'w') as out:
        while True:
            record = os.read(queue_read, 4)
            if len(record) < 4:
                return
            index = struct.unpack('=I', record)[0]
            done, error = call_job(jobs[index])
            out.write(json.dumps([index, done, error], default=str) + '\n')
            out.flush()
