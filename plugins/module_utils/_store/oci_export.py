# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Make OCI layers, image configs and manifests from image trees, for push and export.

A layer is a deterministic tar (entries in path order, numeric owners, mtimes from the
files, PAX records for extended attributes and long names), gzip-compressed with mtime 0,
so the same tree always gives the same bytes and digests. A layer is either a whole
rootfs or the changeset between a parent image and an image committed on it, from the
lists ``changes.stream_changes`` makes (OCI image spec, "Representing Changes"):
added and modified paths are entries taken from the image, a deleted path is a
``.wh.<name>`` whiteout. Every path is opened one component at a time without following
symbolic links, so a link planted in a committed tree cannot lead a layer to host files.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import io
import json
import os
import stat
import tarfile

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError
from ansible_collections.dockerlite.core.plugins.module_utils._store.layers import chain_id

OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
# The same bytes under their OCI names (a Docker schema 2 layer is a plain or gzip tar too).
LAYER_MEDIA_TYPES = {
    'application/vnd.docker.image.rootfs.diff.tar.gzip': OCI_LAYER_GZIP,
    'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.oci.image.layer.v1.tar',
}
WHITEOUT = '.wh.'
GZIP_LEVEL = 6
CHUNK = 1 << 20
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# Extended attributes that are not file data: POSIX ACLs have their own tar encoding, which layers do not carry.
SKIPPED_XATTR_PREFIXES = ('system.',)


class LayerMakeError(DockerliteError):
    """A tree that cannot be written as a layer; names the path."""


def json_bytes(value):
    """Canonical JSON: the same value always gives the same bytes (and digest)."""
    return json.dumps(value, sort_keys=True, separators=(',', ':')).encode('utf-8')


def sha256_of(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def sort_key(path):
    """Parents before their children, siblings by name: a depth-first walk in name order."""
    return path.split('/')


class _Hashing(io.RawIOBase):
    """A write-only stream that hashes and counts what goes through it to ``target``."""

    def __init__(self, target):
        super().__init__()
        self.target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self):
        return True

    def write(self, data):
        self.sha256.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)

    def digest(self):
        return 'sha256:' + self.sha256.hexdigest()


class _Dir:
    """A directory descriptor cache for one tree: every component opened with O_NOFOLLOW."""

    def __init__(self, root):
        self.root = root
        self.fds = {}

    def fd(self, directory):
        if directory in self.fds:
            return self.fds[directory]
        if directory == '':
            fd = os.open(self.root, DIR_FLAGS)
        else:
            parent, _sep, name = directory.rpartition('/')
            try:
                fd = os.open(name, DIR_FLAGS, dir_fd=self.fd(parent))
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise LayerMakeError('%s: /%s is not a directory of the image (a symbolic link or a file)'
                                         % (self.root, directory)) from None
                raise
        self.fds[directory] = fd
        return fd

    def close(self):
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}

    def proc_path(self, path):
        """A path to ``path`` that resolves its directory through an open descriptor; the last
        component is never followed by the *_follow_symlinks=False calls that use it."""
        parent, _sep, name = path.rpartition('/')
        return '/proc/self/fd/%d/%s' % (self.fd(parent), name)


class LayerWriter:
    """Writes one gzip-compressed layer tar to ``fileobj``; ``finish()`` gives (diff_id, digest, size)."""

    def __init__(self, fileobj):
        self._compressed = _Hashing(fileobj)
        self._gzip = gzip.GzipFile(filename='', mode='wb', fileobj=self._compressed, mtime=0,
                                   compresslevel=GZIP_LEVEL)
        self._plain = _Hashing(self._gzip)
        self._tar = tarfile.open(fileobj=self._plain, mode='w|', format=tarfile.PAX_FORMAT, encoding='utf-8',
                                 errors='surrogateescape', bufsize=CHUNK)
        self._links = {}  # (dev, ino) of a file with more names: the first name written

    def add_whiteout(self, path):
        parent, _sep, name = path.rpartition('/')
        info = tarfile.TarInfo((parent + '/' if parent else '') + WHITEOUT + name)
        info.mode = 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = ''
        self._tar.addfile(info)

    def add(self, tree, path):
        """Add ``path`` (relative, '/'-separated) of ``tree`` (a _Dir) as it is on disk."""
        proc_path = tree.proc_path(path)
        try:
            st = os.lstat(proc_path)
        except FileNotFoundError:
            raise LayerMakeError('%s: /%s vanished while the layer was written' % (tree.root, path)) from None
        info = tarfile.TarInfo(path)
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.uname = info.gname = ''
        info.mtime = int(st.st_mtime)
        xattrs = self._xattrs(proc_path)
        if xattrs:
            info.pax_headers = xattrs
        content = None
        if stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(st.st_mode):
            info.type = tarfile.SYMTYPE
            info.linkname = os.readlink(proc_path)
        elif stat.S_ISREG(st.st_mode):
            first = self._links.get((st.st_dev, st.st_ino)) if st.st_nlink > 1 else None
            if first is not None:
                info.type = tarfile.LNKTYPE
                info.linkname = first
            else:
                if st.st_nlink > 1:
                    self._links[(st.st_dev, st.st_ino)] = path
                info.type = tarfile.REGTYPE
                info.size = st.st_size
                parent, _sep, name = path.rpartition('/')
                content = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=tree.fd(parent))
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif stat.S_ISFIFO(st.st_mode):
            info.type = tarfile.FIFOTYPE
        else:
            return False  # a socket: a layer cannot hold one (Docker leaves them out too)
        if content is None:
            self._tar.addfile(info)
            return True
        with os.fdopen(content, 'rb') as handle:
            if os.fstat(handle.fileno()).st_size != info.size:
                raise LayerMakeError('%s: /%s changed while the layer was written' % (tree.root, path))
            self._tar.addfile(info, handle)
        return True

    @staticmethod
    def _xattrs(proc_path):
        try:
            names = os.listxattr(proc_path, follow_symlinks=False)
        except OSError as exc:
            if exc.errno in (errno.ENOTSUP, errno.EPERM):
                return {}
            raise
        records = {}
        for name in sorted(names):
            if name.startswith(SKIPPED_XATTR_PREFIXES):
                continue
            value = os.getxattr(proc_path, name, follow_symlinks=False)
            # tarfile writes a value that is not UTF-8 as raw bytes (hdrcharset=BINARY), as GNU tar does.
            records['SCHILY.xattr.' + name] = value.decode('utf-8', 'surrogateescape')
        return records

    def finish(self):
        self._tar.close()
        self._gzip.close()
        return {'diff_id': self._plain.digest(), 'digest': self._compressed.digest(), 'size': self._compressed.size,
                'media_type': OCI_LAYER_GZIP}


def walk_tree(tree):
    """Every path of ``tree`` (a _Dir), parents first, siblings in name order (a depth-first walk)."""
    def children(directory):
        names = sorted(os.listdir(tree.fd(directory)), reverse=True)
        return [directory + '/' + name if directory else name for name in names]
    pending = children('')
    while pending:
        path = pending.pop()
        yield path
        if stat.S_ISDIR(os.lstat(tree.proc_path(path)).st_mode):
            pending.extend(children(path))


def write_full_layer(rootfs, fileobj):
    """The whole tree ``rootfs`` as one layer; (layer record without chain id)."""
    tree = _Dir(rootfs)
    try:
        writer = LayerWriter(fileobj)
        for path in walk_tree(tree):
            writer.add(tree, path)
        return writer.finish()
    finally:
        tree.close()


def changeset_entries(changes, is_dir):
    """The layer's entries from ``changes`` ({added, modified, deleted}: absolute paths):
    sorted [(path, whiteout?)]. ``is_dir(path)`` says whether a path is a directory in the new tree.

    A deleted path becomes a whiteout only where its parent is a directory of the new tree: below
    a deleted directory the directory's own whiteout hides all, and below a path that is now a
    file the file's entry replaces the old tree.
    """
    present = {path.lstrip('/') for path in list(changes['added']) + list(changes['modified'])}
    present.discard('')
    entries = [(path, False) for path in present]
    for path in (path.lstrip('/') for path in changes['deleted']):
        parent = path.rpartition('/')[0]
        if path and (parent == '' or is_dir(parent)):
            entries.append((path, True))
    return sorted(entries, key=lambda entry: sort_key(entry[0]))


def write_changeset_layer(rootfs, changes, fileobj):
    """The layer that turns the parent image into ``rootfs``, from ``changes``; (layer record)."""
    tree = _Dir(rootfs)
    try:
        def is_dir(path):
            try:
                return stat.S_ISDIR(os.lstat(tree.proc_path(path)).st_mode)
            except (FileNotFoundError, NotADirectoryError, LayerMakeError):
                return False
        writer = LayerWriter(fileobj)
        for path, whiteout in changeset_entries(changes, is_dir):
            if whiteout:
                writer.add_whiteout(path)
            else:
                writer.add(tree, path)
        return writer.finish()
    finally:
        tree.close()


def with_chain_ids(layers):
    """``layers`` (bottom first) with each one's chain id computed from the diff ids below it."""
    result, parent = [], None
    for layer in layers:
        parent = chain_id(parent, layer['diff_id'])
        result.append(dict(layer, chain_id=parent))
    return result


def env_list(env):
    return ['%s=%s' % (key, value) for key, value in (env or {}).items()]


def make_config(image, layers, parent_config=None, architecture='amd64', created_by=None, default_command=None):
    """The image config (a dict) of ``image`` whose layers are ``layers`` (bottom first).

    From the parent's config when there is one (its history and diff ids, which ``layers``
    extends), with the defaults a container takes from ``image``'s metadata; ``default_command``
    is what a container of an image without a command runs.
    """
    config = json.loads(json.dumps(parent_config)) if parent_config else {}
    config['architecture'] = config.get('architecture') or architecture
    config['os'] = config.get('os') or 'linux'
    config['created'] = image['created']
    runtime = dict(config.get('config') or {})
    runtime.pop('Entrypoint', None)  # the image's command is the parent's Entrypoint and Cmd already
    runtime['Cmd'] = list(image.get('command') or default_command or []) or None
    runtime['Env'] = env_list(image.get('env')) or None
    runtime['Labels'] = dict(image.get('labels') or {}) or None
    runtime['StopSignal'] = image.get('stop_signal')
    for key, field in (('WorkingDir', 'workdir'), ('User', 'user')):
        if image.get(field):
            runtime[key] = image[field]
    config['config'] = {key: value for key, value in runtime.items() if value is not None}
    config['rootfs'] = {'type': 'layers', 'diff_ids': [layer['diff_id'] for layer in layers]}
    history = list(config.get('history') or [])
    made = len(layers) - len([entry for entry in history if not entry.get('empty_layer')])
    for _index in range(max(made, 0)):
        history.append({'created': image['created'], 'created_by': created_by or 'dockerlite'})
    config['history'] = history
    return config


def make_manifest(config_digest, config_size, layers):
    """The OCI image manifest (a dict) of a config blob and layer records."""
    return {
        'schemaVersion': 2,
        'mediaType': OCI_MANIFEST,
        'config': {'mediaType': OCI_CONFIG, 'digest': config_digest, 'size': config_size},
        'layers': [{'mediaType': LAYER_MEDIA_TYPES.get(layer['media_type'], layer['media_type']),
                    'digest': layer['digest'], 'size': layer['size']} for layer in layers],
    }


def layout_index(manifest_digest, manifest_size, media_type, tag):
    """index.json of an OCI layout holding one manifest under ``tag``."""
    return {'schemaVersion': 2, 'manifests': [{
        'mediaType': media_type, 'digest': manifest_digest, 'size': manifest_size,
        'annotations': {'org.opencontainers.image.ref.name': tag}}]}


def archive_digests(path):
    """(manifest digest, config digest) of the image in an archive file, as far as it says; (None, None)
    when ``path`` is not an OCI or Docker archive. Never extracts anything."""
    try:
        with tarfile.open(path, 'r:*') as archive:
            members = {member.name.lstrip('./'): member for member in archive.getmembers() if member.isfile()}
            if 'index.json' in members:
                index = json.loads(archive.extractfile(members['index.json']).read().decode('utf-8'))
                manifests = index.get('manifests') or []
                return (manifests[0].get('digest') if len(manifests) == 1 else None), None
            if 'manifest.json' in members:
                manifest = json.loads(archive.extractfile(members['manifest.json']).read().decode('utf-8'))
                config = manifest[0].get('Config', '') if isinstance(manifest, list) and len(manifest) == 1 else ''
                hex_part = config.rsplit('/', 1)[-1].split('.', 1)[0]
                return None, ('sha256:' + hex_part if len(hex_part) == 64 else None)
    except (OSError, tarfile.TarError, ValueError, AttributeError, KeyError, IndexError, TypeError):
        pass
    return None, None
