# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Start a docker-registry (distribution) on a free 127.0.0.1 port, storage in the test's directory.

    registry.py <directory> <name>                         plain HTTP
    registry.py <directory> <name> tls <user> <password>   TLS with a CA made here, htpasswd auth

Prints {"pid", "port", "ca"} as JSON once the port answers; the registry runs on in its own
session and the test stops it by that pid.
"""

from __future__ import annotations

import crypt  # pylint: disable=deprecated-module
import json
import os
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def openssl(*args):
    subprocess.run(['openssl'] + list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_tls(directory):
    """A CA, and a certificate for 127.0.0.1 that it signed."""
    ca_key, ca_crt = os.path.join(directory, 'ca.key'), os.path.join(directory, 'ca.crt')
    key, csr, crt, ext = (os.path.join(directory, name) for name in ('server.key', 'server.csr', 'server.crt',
                                                                     'ext.cnf'))
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=dockerlite pull test CA',
            '-keyout', ca_key, '-out', ca_crt)
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', csr)
    with open(ext, 'w', encoding='ascii') as handle:
        handle.write('subjectAltName = IP:127.0.0.1\n')
    openssl('x509', '-req', '-in', csr, '-CA', ca_crt, '-CAkey', ca_key, '-CAcreateserial', '-days', '2',
            '-extfile', ext, '-out', crt)
    return ca_crt, crt, key


def main():
    directory, name = sys.argv[1], sys.argv[2]
    tls = len(sys.argv) > 3 and sys.argv[3] == 'tls'
    base = os.path.join(directory, name)
    os.makedirs(os.path.join(base, 'storage'))
    port = free_port()
    lines = ['version: 0.1', 'log:', '  level: warn', 'storage:', '  filesystem:',
             '    rootdirectory: ' + os.path.join(base, 'storage'), 'http:', '  addr: 127.0.0.1:%d' % port]
    ca_crt = None
    if tls:
        user, password = sys.argv[4], sys.argv[5]
        ca_crt, crt, key = make_tls(base)
        htpasswd = os.path.join(base, 'htpasswd')
        with open(htpasswd, 'w', encoding='ascii') as handle:
            handle.write('%s:%s\n' % (user, crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))))
        lines += ['  tls:', '    certificate: ' + crt, '    key: ' + key,
                  'auth:', '  htpasswd:', '    realm: test', '    path: ' + htpasswd]
    config = os.path.join(base, 'config.yml')
    with open(config, 'w', encoding='ascii') as handle:
        handle.write('\n'.join(lines) + '\n')
    with open(os.path.join(base, 'registry.log'), 'wb') as log:
        # The registry outlives this script: the test stops it by its pid.
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            ['docker-registry', 'serve', config], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            start_new_session=True)
    for _attempt in range(200):
        try:
            socket.create_connection(('127.0.0.1', port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                sys.exit('docker-registry exited with %s; see %s' % (proc.returncode, base))
            time.sleep(0.05)
    print(json.dumps({'pid': proc.pid, 'port': port, 'ca': ca_crt}))


if __name__ == '__main__':
    main()
