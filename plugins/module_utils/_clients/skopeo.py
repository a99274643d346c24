# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""One client over the ``skopeo`` CLI: registry protocol, auth and transport for image pulls and pushes.

Runs skopeo with argv lists and LC_ALL=C. Credentials never appear in an argv (which any
user sees in ``ps``): a username and password are written to a private auth file for the
one call and removed after it. Failures raise SkopeoError subclasses carrying skopeo's stderr.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import platform as _platform
import re
import shutil
import subprocess
import tempfile

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import CommandError, ValidationError

# The transports dockerlite reads images from; a reference always starts with one, so never with '-'.
TRANSPORTS = ('docker://', 'oci:', 'oci-archive:', 'docker-archive:')
# Architectures as Go (and so the OCI image index) names them, from what uname -m says.
MACHINE_ARCH = {
    'x86_64': ('amd64', None), 'amd64': ('amd64', None), 'aarch64': ('arm64', None), 'arm64': ('arm64', None),
    'armv7l': ('arm', 'v7'), 'armv6l': ('arm', 'v6'), 'i686': ('386', None), 'i386': ('386', None),
    'ppc64le': ('ppc64le', None), 's390x': ('s390x', None), 'riscv64': ('riscv64', None),
}
PLATFORM_PART_RE = re.compile(r'^[a-z0-9][a-z0-9_.-]*$')
# skopeo logs its failure as: time="..." level=fatal msg="<message>"
FATAL_MSG_RE = re.compile(r'level=fatal msg="((?:[^"\\]|\\.)*)"')
DEFAULT_TIMEOUT = 3600


class SkopeoError(CommandError):
    """skopeo failed; ``msg`` says what was asked and skopeo's own message, ``stderr`` all it said."""


class ImageNotFoundError(SkopeoError):
    """The registry or the archive has no such image (or tag)."""


class RegistryAuthError(SkopeoError):
    """The registry refused the credentials, or wants some."""


class RegistryTLSError(SkopeoError):
    """TLS to the registry failed: an unknown CA, a bad certificate, or a plain HTTP registry."""


class PlatformNotFoundError(SkopeoError):
    """The image index has no image for the platform asked for."""


# Checked in this order; each pattern is a piece of containers/image's or the registry's message (LC_ALL=C).
ERROR_KINDS = (
    (PlatformNotFoundError, ('no image found in manifest list for architecture', 'no image found in image index',
                             'choosing image instance', 'choosing an image from manifest list')),
    (RegistryAuthError, ('unauthorized', 'authentication required', 'denied:', 'invalid username/password',
                         'requested access to the resource is denied')),
    (RegistryTLSError, ('x509:', 'certificate', 'tls: ', 'server gave http response to https client')),
    (ImageNotFoundError, ('manifest unknown', 'name unknown', 'no such file or directory', 'not found',
                          'no descriptor found for reference')),
)


class Platform:
    """An ``os/arch[/variant]`` platform, as an OCI image index lists them."""

    def __init__(self, os_name, arch, variant=None):
        self.os = os_name
        self.arch = arch
        self.variant = variant

    @classmethod
    def parse(cls, text):
        """``linux/amd64`` or ``linux/arm/v7``; a ValidationError names a bad value."""
        parts = text.split('/') if isinstance(text, str) else []
        if len(parts) not in (2, 3) or not all(PLATFORM_PART_RE.match(part) for part in parts):
            raise ValidationError('platform %r is not os/arch or os/arch/variant (for example linux/amd64)' % (text,))
        return cls(*parts)

    @classmethod
    def host(cls):
        """The platform of this machine (what skopeo would choose by itself)."""
        machine = _platform.machine()
        arch, variant = MACHINE_ARCH.get(machine, (machine.lower(), None))
        return cls('linux', arch, variant)

    def __str__(self):
        return '/'.join(part for part in (self.os, self.arch, self.variant) if part)

    def __eq__(self, other):
        return isinstance(other, Platform) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))

    def argv(self):
        args = ['--override-os', self.os, '--override-arch', self.arch]
        if self.variant:
            args += ['--override-variant', self.variant]
        return args


class RegistryAccess:
    """How to reach a registry: TLS checking, a CA file, and either a username and password or an auth file."""

    def __init__(self, tls_verify=True, ca_file=None, username=None, password=None, auth_file=None):
        if (username is None) != (password is None):
            raise ValidationError('username and password go together: give both or neither')
        if username is not None and auth_file is not None:
            raise ValidationError('give either username and password or auth_file, not both')
        if username is not None and ':' in username:
            raise ValidationError('username %r contains ":", which the registry auth format cannot carry' % username)
        self.tls_verify = tls_verify
        self.ca_file = ca_file
        self.username = username
        self.password = password
        self.auth_file = auth_file


def registry_of(reference):
    """The registry host of a ``docker://`` reference, as the auth file keys it (docker.io by default)."""
    name = reference[len('docker://'):]
    first = name.split('/', 1)[0]
    if '/' in name and ('.' in first or ':' in first or first == 'localhost'):
        return first
    return 'docker.io'


def check_reference(reference):
    """A reference skopeo takes: one of TRANSPORTS, no control characters."""
    if not isinstance(reference, str) or not reference.startswith(TRANSPORTS):
        raise ValidationError('image reference %r does not start with one of %s' % (reference, ', '.join(TRANSPORTS)))
    if any(ord(char) < 32 or ord(char) == 127 for char in reference):
        raise ValidationError('image reference %r contains a control character' % (reference,))
    return reference


def _skopeo_message(stderr):
    found = FATAL_MSG_RE.findall(stderr)
    if found:
        return found[-1].replace('\\"', '"').replace('\\\\', '\\')
    lines = stderr.strip().splitlines()
    return lines[-1] if lines else ''


def error_for(what, cmd, rc, stdout, stderr):
    """The SkopeoError subclass for a failed skopeo call, from what it said on stderr."""
    message = _skopeo_message(stderr) or 'exit code %s' % rc
    lowered = message.lower()
    kind = SkopeoError
    for candidate, patterns in ERROR_KINDS:
        if any(pattern in lowered for pattern in patterns):
            kind = candidate
            break
    return kind('%s failed: %s' % (what, message), cmd, rc, stdout, stderr)


class Manifest:
    """A manifest (or image index) exactly as the source holds it, and its digest."""

    def __init__(self, raw):
        self.raw = raw
        self.digest = 'sha256:' + hashlib.sha256(raw).hexdigest()

    def json(self):
        try:
            value = json.loads(self.raw.decode('utf-8'))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValidationError('the manifest %s is not JSON: %s' % (self.digest, exc))
        if not isinstance(value, dict):
            raise ValidationError('the manifest %s is not a JSON object' % self.digest)
        return value

    @property
    def media_type(self):
        return self.json().get('mediaType')


class SkopeoClient:
    """Runs skopeo; ``tmpdir`` (the store's staging area) receives its temporary files and the auth files."""

    def __init__(self, tmpdir, binary='skopeo', timeout=DEFAULT_TIMEOUT):
        self.tmpdir = tmpdir
        self.binary = binary
        self.timeout = timeout

    # --- running -------------------------------------------------------------------------------

    def _run(self, args, what):
        cmd = [self.binary, '--tmpdir', self.tmpdir] + args
        env = dict(os.environ, LC_ALL='C')
        # Only what this call passes: a REGISTRY_AUTH_FILE in the environment would add credentials silently.
        env.pop('REGISTRY_AUTH_FILE', None)
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=env, timeout=self.timeout, check=False)
        except OSError as exc:
            raise SkopeoError('%s: cannot run %s: %s' % (what, self.binary, exc), cmd, None, '', '')
        except subprocess.TimeoutExpired as exc:
            raise SkopeoError('%s: skopeo did not finish within %s seconds' % (what, self.timeout), cmd, None,
                              (exc.stdout or b'').decode('utf-8', 'replace'),
                              (exc.stderr or b'').decode('utf-8', 'replace'))
        if proc.returncode != 0:
            raise error_for(what, cmd, proc.returncode, proc.stdout.decode('utf-8', 'replace'),
                            proc.stderr.decode('utf-8', 'replace'))
        return proc.stdout

    def _access_args(self, reference, access, private, prefix):
        """TLS and credential options for a docker:// source; files they need go into ``private``."""
        if not reference.startswith('docker://'):
            return []
        access = access or RegistryAccess()
        args = ['--%stls-verify=%s' % (prefix, 'true' if access.tls_verify else 'false')]
        if access.ca_file is not None:
            cert_dir = os.path.join(private, 'certs')
            os.mkdir(cert_dir, 0o700)
            try:
                shutil.copyfile(access.ca_file, os.path.join(cert_dir, 'ca.crt'))
            except OSError as exc:
                raise ValidationError('ca_file %s cannot be read: %s' % (access.ca_file, exc.strerror or exc))
            args += ['--%scert-dir' % prefix, cert_dir]
        if access.username is not None:
            token = base64.b64encode(('%s:%s' % (access.username, access.password)).encode('utf-8')).decode('ascii')
            auth_file = os.path.join(private, 'auth.json')
            fd = os.open(auth_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, 'w') as handle:
                json.dump({'auths': {registry_of(reference): {'auth': token}}}, handle)
            args += ['--%sauthfile' % prefix, auth_file]
        elif access.auth_file is not None:
            args += ['--%sauthfile' % prefix, access.auth_file]
        else:
            # No credentials given: anonymous, never whatever a default auth file of this host holds.
            args += ['--%sno-creds' % prefix]
        return args

    @contextlib.contextmanager
    def _private(self):
        """A directory only root can read, for one call's auth file, CA copy and digest file."""
        private = tempfile.mkdtemp(prefix='skopeo-', dir=self.tmpdir)
        try:
            yield private
        finally:
            shutil.rmtree(private, ignore_errors=True)

    def _call(self, global_args, command, options, reference, access, what, private, prefix='', positional=()):
        check_reference(reference)
        args = list(global_args) + [command] + list(options) + self._access_args(reference, access, private, prefix)
        return self._run(args + ['--', reference] + list(positional), what)

    # --- operations ------------------------------------------------------------------------------

    def inspect_raw(self, reference, access=None):
        """The manifest or image index that ``reference`` names, byte for byte (its digest is the image's)."""
        with self._private() as private:
            return Manifest(self._call([], 'inspect', ['--raw'], reference, access,
                                       'skopeo inspect of %s' % reference, private))

    def inspect_config(self, reference, access=None, platform=None):
        """The image config (raw bytes) of ``reference``, for ``platform`` when it names an image index."""
        with self._private() as private:
            return self._call(platform.argv() if platform else [], 'inspect', ['--config', '--raw'], reference,
                              access, 'skopeo inspect of the config of %s' % reference, private)

    def copy_to_layout(self, reference, layout_dir, tag, access=None, platform=None, shared_blob_dir=None):
        """Copy one image (for ``platform``) into the OCI layout ``layout_dir`` under ``tag``; return its digest.

        With ``shared_blob_dir`` the blobs go there, and blobs already there are not fetched again.
        """
        if ':' in layout_dir:
            raise ValidationError('the OCI layout directory %r contains ":", which an oci: reference cannot hold'
                                  % layout_dir)
        if not re.match(r'^[A-Za-z0-9_][A-Za-z0-9._-]*$', tag):
            raise ValidationError('OCI layout tag %r is not a plain name' % tag)
        with self._private() as private:
            digest_file = os.path.join(private, 'digest')
            options = ['--digestfile', digest_file]
            if shared_blob_dir is not None:
                options += ['--dest-shared-blob-dir', shared_blob_dir]
            self._call(platform.argv() if platform else [], 'copy', options, reference, access,
                       'skopeo copy of %s' % reference, private, prefix='src-',
                       positional=['oci:%s:%s' % (layout_dir, tag)])
            with open(digest_file, encoding='ascii') as handle:
                digest = handle.read().strip()
        if not re.match(r'^sha256:[0-9a-f]{64}$', digest):
            raise ValidationError('skopeo copy of %s wrote the digest %r' % (reference, digest))
        return digest

    @staticmethod
    def layout_manifest_digest(layout_dir, tag):
        """The digest of the manifest tagged ``tag`` in the OCI layout's index.json."""
        path = os.path.join(layout_dir, 'index.json')
        try:
            with open(path, 'rb') as handle:
                index = json.loads(handle.read().decode('utf-8'))
            for descriptor in index['manifests']:
                if descriptor.get('annotations', {}).get('org.opencontainers.image.ref.name') == tag:
                    return descriptor['digest']
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValidationError('%s is not an OCI layout index skopeo wrote: %s' % (path, exc))
        raise ValidationError('%s has no manifest tagged %s' % (path, tag))

    def copy_from_layout(self, layout_dir, tag, destination, access=None, shared_blob_dir=None):
        """Copy the image tagged ``tag`` in OCI layout ``layout_dir`` to ``destination`` (``docker://``,
        ``oci-archive:`` or ``docker-archive:``); return the digest of the manifest written there.

        Blobs are read from ``shared_blob_dir`` when given. Registries and OCI archives receive the
        manifest unchanged (``--preserve-digests``: skopeo fails rather than convert it), so the
        pushed digest is the layout's; a Docker archive holds a Docker manifest, converted.
        """
        if ':' in layout_dir:
            raise ValidationError('the OCI layout directory %r contains ":", which an oci: reference cannot hold'
                                  % layout_dir)
        if not re.match(r'^[A-Za-z0-9_][A-Za-z0-9._-]*$', tag):
            raise ValidationError('OCI layout tag %r is not a plain name' % tag)
        check_reference(destination)
        if destination.startswith('oci:'):
            raise ValidationError('destination %r: copy to a registry or an archive file' % destination)
        with self._private() as private:
            digest_file = os.path.join(private, 'digest')
            options = ['--digestfile', digest_file]
            if not destination.startswith('docker-archive:'):
                options.append('--preserve-digests')
            if shared_blob_dir is not None:
                options += ['--src-shared-blob-dir', shared_blob_dir]
            options += self._access_args(destination, access, private, 'dest-')
            self._run(['copy'] + options + ['--', 'oci:%s:%s' % (layout_dir, tag), destination],
                      'skopeo copy to %s' % destination)
            with open(digest_file, encoding='ascii') as handle:
                digest = handle.read().strip()
        if not re.match(r'^sha256:[0-9a-f]{64}$', digest):
            raise ValidationError('skopeo copy to %s wrote the digest %r' % (destination, digest))
        return digest
