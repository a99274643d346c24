# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""A docker-registry (distribution) on a free 127.0.0.1 port with all its files in one directory.

    registry.py start DIR [--tls USER PASSWORD]   prints {"pid", "port", "address", "ca", "log"} once it answers
    registry.py stop PID                          stops that registry by pid and waits for it to go

``start`` writes DIR/config.yml (storage in DIR/storage, deletes allowed, log in DIR/registry.log)
and serves plain HTTP; with ``--tls`` it serves HTTPS with a certificate for 127.0.0.1 signed by
a CA made in DIR (``ca`` is the CA's certificate, else null) and asks for USER's PASSWORD
(htpasswd, bcrypt). The registry runs in a session of its own and outlives this script: the
caller stops it by pid. ``stop`` refuses a pid that is not a docker-registry, sends SIGTERM,
then SIGKILL after 30 s; a pid already gone is no error.

Standard library only (and openssl for ``--tls``): setup_peers/files/peers.py loads this file
as a module, for the tests' peers and the benchmark alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings

REGISTRY = 'docker-registry'
START_TIMEOUT = 60
STOP_TIMEOUT = 30


class RegistryError(Exception):
    pass


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def openssl(*args):
    proc = subprocess.run(['openssl'] + list(args), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise RegistryError('openssl %s exited %d: %s' % (args[0], proc.returncode, proc.stderr.strip()))


def make_tls(directory):
    """A CA, and a certificate for 127.0.0.1 that it signed: (CA certificate, certificate, key)."""
    ca_key, ca_crt, key, csr, crt, ext = (os.path.join(directory, name) for name in (
        'ca.key', 'ca.crt', 'server.key', 'server.csr', 'server.crt', 'ext.cnf'))
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=dockerlite test CA',
            '-keyout', ca_key, '-out', ca_crt)
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', csr)
    with open(ext, 'w', encoding='ascii') as handle:
        handle.write('subjectAltName = IP:127.0.0.1\n')
    openssl('x509', '-req', '-in', csr, '-CA', ca_crt, '-CAkey', ca_key, '-CAcreateserial', '-days', '2',
            '-extfile', ext, '-out', crt)
    return ca_crt, crt, key


def write_htpasswd(path, user, password):
    """docker-registry reads bcrypt entries only; crypt (deprecated, still in 3.11) makes them."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        import crypt  # pylint: disable=deprecated-module,import-outside-toplevel
    with open(path, 'w', encoding='ascii') as handle:
        handle.write('%s:%s\n' % (user, crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))))


def start(directory, user=None, password=None, timeout=START_TIMEOUT):
    """Start a registry with its files in ``directory`` (made when missing), TLS and htpasswd when
    ``user`` is given; return {pid, port, address, ca, log} once it accepts connections."""
    binary = shutil.which(REGISTRY)
    if not binary:
        raise RegistryError('%s is not installed' % REGISTRY)
    directory = os.path.abspath(directory)
    storage = os.path.join(directory, 'storage')
    os.makedirs(storage, exist_ok=True)
    port = free_port()
    lines = ['version: 0.1', 'log:', '  level: warn', 'storage:', '  filesystem:', '    rootdirectory: ' + storage,
             '  delete:', '    enabled: true', 'http:', '  addr: 127.0.0.1:%d' % port]
    ca_crt = None
    if user is not None:
        ca_crt, crt, key = make_tls(directory)
        htpasswd = os.path.join(directory, 'htpasswd')
        write_htpasswd(htpasswd, user, password)
        lines += ['  tls:', '    certificate: ' + crt, '    key: ' + key,
                  'auth:', '  htpasswd:', '    realm: test', '    path: ' + htpasswd]
    config = os.path.join(directory, 'config.yml')
    with open(config, 'w', encoding='ascii') as handle:
        handle.write('\n'.join(lines) + '\n')
    log = os.path.join(directory, 'registry.log')
    with open(log, 'ab') as handle:
        # A session of its own: the caller's signals do not reach it, and it outlives this process.
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [binary, 'serve', config], stdin=subprocess.DEVNULL, stdout=handle, stderr=handle,
            start_new_session=True, cwd=directory)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RegistryError('%s exited %d at start: %s' % (REGISTRY, proc.returncode, tail(log)))
            try:
                socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RegistryError('%s did not listen on 127.0.0.1:%d within %d s: %s'
                                        % (REGISTRY, port, timeout, tail(log))) from None
                time.sleep(0.05)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return {'pid': proc.pid, 'port': port, 'address': '127.0.0.1:%d' % port, 'ca': ca_crt, 'log': log}


def tail(path):
    with open(path, 'rb') as handle:
        return handle.read()[-2000:].decode('utf-8', 'replace').strip()


# Processes by pid: this file's registries, and (peers.py uses these too) dockerd and containerd.

def alive(pid):
    """True while ``pid`` runs (a zombie, which has exited, is not alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def wait_gone(pids, timeout):
    """Wait up to ``timeout`` seconds for ``pids`` to exit; those still alive (empty when all went)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [pid for pid in pids if alive(pid)]
        if not pids:
            return []
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def kill(pids, signum):
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def stop_process(pid, timeout=STOP_TIMEOUT):
    """SIGTERM, then SIGKILL after ``timeout`` seconds; reaped when this process started it."""
    if alive(pid):
        kill([pid], signal.SIGTERM)
        if wait_gone([pid], timeout):
            kill([pid], signal.SIGKILL)
            wait_gone([pid], 5)
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop(pid, timeout=STOP_TIMEOUT):
    """Stop the registry ``pid`` (``stop_process``); refuse any other process. A pid already gone is no error."""
    if alive(pid):
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                argv = handle.read().split(b'\0')
        except FileNotFoundError:
            argv = None
        if argv is not None and os.path.basename(argv[0]).decode('utf-8', 'replace') != REGISTRY:
            raise RegistryError('pid %d is not a %s: %r' % (pid, REGISTRY, argv))
    stop_process(pid, timeout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='action', required=True)
    starting = sub.add_parser('start')
    starting.add_argument('dir', help="the registry's directory (made when missing)")
    starting.add_argument('--tls', nargs=2, metavar=('USER', 'PASSWORD'),
                          help='serve HTTPS with a CA made here and ask for this user and password')
    stopping = sub.add_parser('stop')
    stopping.add_argument('pid', type=int)
    opts = parser.parse_args(argv)
    try:
        if opts.action == 'start':
            print(json.dumps(start(opts.dir, *(opts.tls or ()))))
        else:
            stop(opts.pid)
    except (RegistryError, OSError) as exc:
        sys.exit('registry: %s' % exc)


if __name__ == '__main__':
    main()
