# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Start or stop a docker-registry (distribution) on a free 127.0.0.1 port with its storage in DIR.

    registry.py start DIR   prints {"pid": ..., "port": ...} once the registry answers
    registry.py stop PID    stops that registry (only a docker-registry process) and waits for it
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def start(directory):
    port = free_port()
    storage = os.path.join(directory, 'storage')
    os.makedirs(storage, exist_ok=True)
    config = os.path.join(directory, 'config.yml')
    with open(config, 'w', encoding='ascii') as handle:
        handle.write('version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n'
                     'http:\n  addr: 127.0.0.1:%d\n' % (storage, port))
    with open(os.path.join(directory, 'registry.log'), 'wb') as log:
        proc = subprocess.Popen(['docker-registry', 'serve', config], stdout=log, stderr=log,  # pylint: disable=consider-using-with
                                stdin=subprocess.DEVNULL, start_new_session=True)
    for _attempt in range(100):
        try:
            socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                sys.exit('docker-registry exited with %s' % proc.returncode)
            time.sleep(0.1)
    else:
        proc.kill()
        sys.exit('docker-registry did not answer on port %d' % port)
    print(json.dumps({'pid': proc.pid, 'port': port}))


def stop(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            argv = handle.read().split(b'\0')
    except FileNotFoundError:
        return
    if os.path.basename(argv[0]) != b'docker-registry':
        sys.exit('pid %d is not a docker-registry: %r' % (pid, argv))
    os.kill(pid, signal.SIGTERM)
    for _attempt in range(100):
        if not os.path.exists('/proc/%d' % pid):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


if __name__ == '__main__':
    if sys.argv[1] == 'start':
        start(sys.argv[2])
    else:
        stop(int(sys.argv[2]))
