# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The store of the modules that move images: layers, blobs, registries, archives, streams, pruning.

``ImageStore`` is a ``Store`` with what only dockerlite_image, dockerlite_image_push,
dockerlite_image_export and dockerlite_prune need. It lives apart so that the modules that
run containers (container, stack, exec, commit, the info modules) neither import nor carry
in their payload the registry client, the layer applier, the OCI writer and the stream
format: every module pays for what it imports, on every task.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import tempfile
from typing import Callable, Optional

from ansible_collections.dockerlite.core.plugins.module_utils._clients.interfaces import RegistryInterface
from ansible_collections.dockerlite.core.plugins.module_utils._clients.skopeo import (
    ImageNotFoundError, Platform, RegistryAccess, SkopeoClient)
from ansible_collections.dockerlite.core.plugins.module_utils._store import image_stream, oci, oci_export, permissions
from ansible_collections.dockerlite.core.plugins.module_utils._store.changes import stream_changes
from ansible_collections.dockerlite.core.plugins.module_utils._store.layers import apply_layer
from ansible_collections.dockerlite.core.plugins.module_utils._store.paths import (
    CONTAINER_META, ID_RE, IMAGE_META, LAYER_META)
from ansible_collections.dockerlite.core.plugins.module_utils._store.store import (
    LAYER_FIELDS, Store, _real_directory, check_fields, check_image_meta, json_text, read_json, write_atomic,
    write_new)
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError, StoreDataError


class ImageStore(Store):
    """A Store that also pulls, pushes, exports, ships and prunes images (see the module docstring).

    ``registry_factory(tmpdir)`` makes the registry client (skopeo by default; the unit tests
    pass a fake).
    """

    def __init__(self, root, btrfs, lxc_factory=None, attach_factory=None,
                 registry_factory: Optional[Callable[[str], RegistryInterface]] = None):
        super().__init__(root, btrfs, lxc_factory=lxc_factory, attach_factory=attach_factory)
        self._registry_factory = registry_factory or SkopeoClient

    # -- image layers and pulls (registries, archives) --------------------
    #
    # A pull copies one image's blobs into blobs/ (skopeo's shared blob directory: blobs the
    # store holds are not fetched again), makes each missing layer a read-only subvolume under
    # layers/<chain id hex> (a snapshot of its parent layer with the layer applied), and
    # installs the image as a read-only snapshot of its top layer. See docs/design.md.

    @property
    def _registry(self):
        """The registry client; its temporary files (auth files, big blobs) go to tmp/ in a session that
        may write, else (check mode, which writes nothing in the store) to the host's temporary directory."""
        return self._registry_factory(self.tmp_dir if self._writable else tempfile.gettempdir())

    def inspect_image_source(self, source):
        """The manifest or image index that ``source`` (an oci.ImageSource) names: raw bytes and digest.

        Reads only (one manifest request for a registry): also in check mode.
        """
        return self._registry.inspect_raw(source.reference, source.access)

    def inspect_image_config(self, source):
        """(digest, config) of the image config of ``source`` for its platform, checked (oci.parse_config); reads only."""
        raw = self._registry.inspect_config(source.reference, source.access, source.platform)
        digest = oci.sha256_of(raw)
        return digest, oci.parse_config(raw, digest)

    def layer_exists(self, chain_id):
        """Whether the layer ``chain_id`` is in layers/ and sound (reused by a pull)."""
        try:
            self._load_layer(chain_id)
        except StoreDataError:
            return False
        return True

    def _load_layer(self, chain_id):
        directory = self.paths.layer_dir(chain_id)
        if not _real_directory(directory):
            raise StoreDataError(directory, 'no such layer')
        path = self.paths.layer_meta(chain_id)
        meta = read_json(path)
        check_fields(meta, LAYER_FIELDS, path)
        if meta['chain_id'] != chain_id:
            raise StoreDataError(path, 'chain_id %s differs from the directory name' % json.dumps(meta['chain_id'])[:80])
        if not _real_directory(self.paths.layer_rootfs(chain_id)):
            raise StoreDataError(self.paths.layer_rootfs(chain_id), 'the rootfs of layer %s is missing' % chain_id)
        return meta

    def _private_dir(self, path):
        """Make one of the store's own directories (layers/, blobs/) if missing, private (0700)."""
        if not os.path.isdir(path):
            os.makedirs(path, mode=permissions.PRIVATE_DIR_MODE, exist_ok=True)
            os.chmod(path, permissions.PRIVATE_DIR_MODE)

    def _blob_sizes(self):
        """{file name: size} of the blobs in blobs/sha256/."""
        directory = os.path.join(self.paths.blobs, 'sha256')
        if not os.path.isdir(directory):
            return {}
        sizes = {}
        for entry in os.listdir(directory):
            with contextlib.suppress(OSError):
                sizes[entry] = os.lstat(os.path.join(directory, entry)).st_size
        return sizes

    def read_blob(self, digest, limit=oci.MAX_METADATA_BLOB):
        """The bytes of blob ``digest`` (a manifest or a config: at most ``limit``), checked against the digest."""
        path = self.paths.blob_path(digest)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
        except FileNotFoundError:
            raise StoreDataError(path, 'blob %s is missing' % digest) from None
        with os.fdopen(fd, 'rb') as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise StoreDataError(path, 'is not a regular file')
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise StoreDataError(path, 'blob %s is larger than %d bytes, too large for a manifest or config'
                                 % (digest, limit))
        if oci.sha256_of(data) != digest:
            raise StoreDataError(path, 'blob %s does not match its digest' % digest)
        return data

    def fetch_image(self, source):
        """Copy the image ``source`` names (for its platform) into blobs/; what it is, checked.

        Returns {manifest_digest, manifest (oci.parse_manifest), config_digest, config
        (oci.parse_config), blobs_added, bytes_added}: the blobs that were not in the store
        before, counted from blobs/ (skopeo fetches only those). The staging OCI layout in
        tmp/ is deleted whatever happens; the blobs are whole (skopeo renames each into place
        once its digest checked), and stay for the next pull.
        """
        self._require_lock()
        self._private_dir(self.paths.blobs)
        before = self._blob_sizes()
        staged = self._stage()
        try:
            digest = self._registry.copy_to_layout(
                source.reference, os.path.join(staged, 'layout'), oci.LAYOUT_TAG, source.access, source.platform,
                shared_blob_dir=self.paths.blobs)
        finally:
            self._btrfs.remove_tree(staged)
        after = self._blob_sizes()
        added = {name: size for name, size in after.items() if name not in before}
        manifest = oci.parse_manifest(self.read_blob(digest), digest)
        config_digest = manifest['config']['digest']
        config = oci.parse_config(self.read_blob(config_digest), config_digest)
        return {'manifest_digest': digest, 'manifest': manifest, 'config_digest': config_digest, 'config': config,
                'blobs_added': len(added), 'bytes_added': sum(added.values())}

    def ensure_layer(self, layer):
        """Make layer ``layer`` (an item of oci.layer_chain) unless layers/ holds it; whether it was made.

        Staged as tmp/<x>/rootfs: a new subvolume for the bottom layer, else a writable snapshot
        of the parent layer's rootfs; the blob applied (layers.apply_layer), made read-only,
        layer.json written, then tmp/<x> renamed to layers/<chain id hex>. A refused layer
        (LayerError) leaves nothing. A damaged layer in the way is replaced (images are
        snapshots of layers, never the layers themselves, so none depends on it).
        """
        self._require_lock()
        chain_id = layer['chain_id']
        target = self.paths.layer_dir(chain_id)
        if self.layer_exists(chain_id):
            return False
        if os.path.lexists(target):
            self._warn('layer %s in %s is damaged; replaced' % (chain_id, target))
            self._discard(target)
        self._private_dir(self.paths.layers)
        with self._staging() as staged:
            rootfs = os.path.join(staged, 'rootfs')
            if layer['parent'] is None:
                self._btrfs.create_subvolume(rootfs)
            else:
                self._btrfs.snapshot(self.paths.layer_rootfs(layer['parent']), rootfs)
            apply_layer(self.paths.blob_path(layer['digest']), rootfs, layer['digest'], layer['diff_id'],
                        layer['media_type'])
            self._btrfs.set_read_only(rootfs, True)
            # Staged and renamed whole: one fsync (write_new), not write_json's two.
            write_new(os.path.join(staged, LAYER_META), json_text({key: layer[key] for key in LAYER_FIELDS}))
            os.rename(staged, target)
        return True

    def install_pulled_image(self, meta, top_chain_id):
        """Install a pulled image: a read-only snapshot of layer ``top_chain_id`` (an empty subvolume
        for an image without layers) with ``meta`` as its image.json; the same staging and commit
        point as build_image. The caller then retires the tag from older images."""
        with self._staging() as staged:
            rootfs = os.path.join(staged, 'rootfs')
            if top_chain_id is None:
                self._btrfs.create_subvolume(rootfs)
                self._btrfs.set_read_only(rootfs, True)
            else:
                self._load_layer(top_chain_id)
                self._btrfs.snapshot(self.paths.layer_rootfs(top_chain_id), rootfs, read_only=True)
            write_new(os.path.join(staged, IMAGE_META), json_text(meta))
        return self._install_image(staged, meta)

    # -- push and export --------------------------------------------------
    #
    # An image is pushed or exported as an OCI image whose blobs live in <root>/blobs. A
    # pulled image has its original ones (image.json ``layers`` and ``oci``); for any other
    # image they are made once (oci_export.py) and recorded the same way, with
    # ``oci.made: true``, so that the next push sends the same bytes.

    def _blob_present(self, digest):
        try:
            return os.path.isfile(self.paths.blob_path(digest))
        except StoreDataError:
            return False

    def image_oci(self, image):
        """{manifest_digest, config_digest, layers, made} of ``image`` when every blob it names is in
        the store; None when its layers are still to be made. A pulled image missing a blob is an error."""
        oci, layers = image.get('oci'), image.get('layers')
        ready = (isinstance(oci, dict) and isinstance(layers, list) and layers
                 and all(isinstance(layer, dict) for layer in layers))
        digests = [oci.get('manifest_digest'), oci.get('config_digest')] + [
            layer.get('digest') for layer in layers] if ready else []
        missing = [digest for digest in digests if not self._blob_present(digest)]
        if ready and not missing:
            return {'manifest_digest': oci['manifest_digest'], 'config_digest': oci['config_digest'],
                    'layers': layers, 'made': bool(oci.get('made'))}
        if layers and not (isinstance(oci, dict) and oci.get('made')):
            raise StoreDataError(self.paths.image_meta(image['id']), 'image %s came from %s, but the store no longer '
                                 'holds its blobs %s; pull it again' % (
                                     image.get('name') or image['id'],
                                     (oci or {}).get('reference') if isinstance(oci, dict) else 'a registry',
                                     ', '.join(str(digest) for digest in missing) or '(not recorded)'))
        return None

    def oci_parent(self, image):
        """The parent image of a committed image, None when it has none or it is gone or damaged."""
        parent_id = image.get('parent')
        if not parent_id or not ID_RE.fullmatch(parent_id):
            return None
        try:
            return self.get_image(parent_id)
        except StoreDataError:
            return None

    def oci_layers_to_make(self, image):
        """[(image, kind)], bottom first: the images whose layer must be made before ``image`` can be
        pushed, kind ``changes`` (the difference from its parent) or ``full`` (its whole rootfs)."""
        chain, current = [], image
        while current is not None and self.image_oci(current) is None:
            parent = self.oci_parent(current)
            chain.append((current, 'changes' if parent is not None else 'full'))
            current = parent
        return list(reversed(chain))

    def make_oci_image(self, image, default_command=None):
        """Make and record the layers, config and manifest that ``image`` (and the parents it needs)
        lack; returns (image as now recorded, [layer records made now]). ``default_command`` goes into
        the config of an image without a command: what a container of it runs."""
        self._require_lock()
        made = []
        for target, kind in self.oci_layers_to_make(image):
            parent = self.oci_parent(target) if kind == 'changes' else None
            base = self.image_oci(parent) if parent is not None else None
            layer = self._make_layer(target, parent)
            made.append(layer)
            layers = oci_export.with_chain_ids(list(base['layers'] if base else []) + [layer])
            parent_config = self._read_blob_json(base['config_digest']) if base else None
            config = oci_export.make_config(
                target, layers, parent_config, architecture=Platform.host().arch, default_command=default_command,
                created_by='dockerlite %s' % ('commit of container %s' % target.get('container')
                                              if kind == 'changes' else 'image (%s)' % target.get('source')))
            config_blob = oci_export.json_bytes(config)
            config_digest = self._write_blob(config_blob)
            manifest_blob = oci_export.json_bytes(oci_export.make_manifest(config_digest, len(config_blob), layers))
            manifest_digest = self._write_blob(manifest_blob)
            updated = self.update_image(target, layers=layers, oci={
                'reference': None, 'manifest_digest': manifest_digest, 'config_digest': config_digest,
                'index_digest': None, 'made': True})
            if target['id'] == image['id']:
                image = updated
        return image, made

    def _make_layer(self, image, parent):
        """Write ``image``'s layer (the changes from ``parent``, or its whole rootfs) into blobs/."""
        self._require_lock()
        with self._staging() as staged:
            path = os.path.join(staged, 'layer')
            with open(path, 'xb') as handle:
                if parent is None:
                    layer = oci_export.write_full_layer(image['rootfs'], handle)
                else:
                    stream = self._btrfs.send(image['rootfs'], parent=parent['rootfs'])
                    found = stream_changes(stream, parent['rootfs'], image['rootfs'])
                    layer = oci_export.write_changeset_layer(image['rootfs'], found, handle)
                handle.flush()
                os.fsync(handle.fileno())
            self._install_blob(path, layer['digest'])
        self._btrfs.remove_tree(staged)
        return layer

    def _blob_dir(self):
        directory = os.path.dirname(self.paths.blob_path('sha256:' + '0' * 64))
        os.makedirs(directory, mode=permissions.PRIVATE_DIR_MODE, exist_ok=True)
        return directory

    def _install_blob(self, path, digest):
        """Rename the staged file ``path`` into blobs/ as ``digest`` (kept if that blob is there already)."""
        self._blob_dir()
        target = self.paths.blob_path(digest)
        if os.path.isfile(target):
            os.unlink(path)
        else:
            os.rename(path, target)

    def _write_blob(self, data):
        """Store ``data`` as a blob (through tmp/); its digest."""
        digest = oci_export.sha256_of(data)
        if not self._blob_present(digest):
            self._blob_dir()
            write_atomic(self.paths.blob_path(digest), data.decode('utf-8'), self.tmp_dir)
        return digest

    def _read_blob_json(self, digest):
        path = self.paths.blob_path(digest)
        try:
            with open(path, 'rb') as handle:
                return json.loads(handle.read().decode('utf-8'))
        except (OSError, ValueError) as exc:
            raise StoreDataError(path, 'blob %s cannot be read as JSON: %s' % (digest, exc)) from None

    def remote_manifest_digest(self, reference, access=None):
        """The digest of what ``reference`` (``docker://...``) names now; None when the registry has no such tag.

        ``access`` is a dict of RegistryAccess's arguments (tls_verify, ca_file, username, password, auth_file).
        """
        try:
            return self._registry.inspect_raw(reference, RegistryAccess(**(access or {}))).digest
        except ImageNotFoundError:
            return None

    @contextlib.contextmanager
    def _oci_layout(self, image):
        """An OCI layout under tmp/ naming ``image``'s manifest as tag ``image`` (blobs stay in blobs/)."""
        oci = self.image_oci(image)
        if oci is None:
            raise DockerliteError('internal error: image %s has no layers made' % image['id'])
        manifest = self._read_blob_json(oci['manifest_digest'])
        size = os.path.getsize(self.paths.blob_path(oci['manifest_digest']))
        staged = self._stage()
        try:
            write_atomic(os.path.join(staged, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}', self.tmp_dir)
            index = oci_export.layout_index(oci['manifest_digest'], size,
                                            manifest.get('mediaType') or oci_export.OCI_MANIFEST, 'image')
            write_atomic(os.path.join(staged, 'index.json'), oci_export.json_bytes(index).decode('utf-8'),
                         self.tmp_dir)
            yield staged, 'image'
        finally:
            self._btrfs.remove_tree(staged)

    def push_image(self, image, reference, access=None):
        """Push ``image`` (its layers made) to ``reference`` (``docker://...``) with ``access`` (as in
        ``remote_manifest_digest``); the manifest digest pushed."""
        self._require_lock()
        with self._oci_layout(image) as (layout, tag):
            return self._registry.copy_from_layout(layout, tag, reference, RegistryAccess(**(access or {})),
                                                   shared_blob_dir=self.paths.blobs)

    def export_image(self, image, path, archive_format):
        """Write ``image`` (its layers made) as an ``oci-archive`` or ``docker-archive`` file at ``path``:
        into a temporary file beside it, renamed over it when complete."""
        self._require_lock()
        directory, base = os.path.split(os.path.abspath(path))
        partial = os.path.join(directory, '.%s.%s.part' % (base, secrets.token_hex(6)))
        destination = '%s:%s' % (archive_format, partial)
        if archive_format == 'docker-archive' and image.get('name'):
            destination += ':' + image['name']
        try:
            with self._oci_layout(image) as (layout, tag):
                self._registry.copy_from_layout(layout, tag, destination, shared_blob_dir=self.paths.blobs)
            os.rename(partial, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)

    @staticmethod
    def archive_digests(path):
        """(manifest digest, config digest) of the image in archive ``path`` (see oci_export.archive_digests)."""
        return oci_export.archive_digests(path)

    # -- prune ------------------------------------------------------------

    def image_ids_in_use(self):
        """({image id: [names of the containers made from it]}, [containers whose image cannot be told]).

        Damaged containers count too: their image id is read from container.json as far as it
        is readable, and a container whose image id is unreadable is named in the second list.
        """
        used, unknown = {}, []
        if not _real_directory(self.containers_dir):
            return used, unknown
        for entry in sorted(os.listdir(self.containers_dir)):
            try:
                image_id = self._load_container(entry)['image_id']
            except StoreDataError:
                image_id = self._raw_image_id(entry)
            if image_id is None:
                unknown.append(entry)
            else:
                used.setdefault(image_id, []).append(entry)
        return used, unknown

    def _raw_image_id(self, entry):
        """The image id a damaged container's metadata still names, or None."""
        try:
            image_id = read_json(os.path.join(self.containers_dir, entry, CONTAINER_META)).get('image_id')
        except (StoreDataError, OSError):
            return None
        return image_id if isinstance(image_id, str) and ID_RE.fullmatch(image_id) else None

    def damaged_image_ids(self):
        """The entries of images/ whose metadata or rootfs is damaged (what they need cannot be told)."""
        return [entry for entry, _meta, error in self._image_entries() if error is not None]

    def list_layers(self):
        """[{chain_id, digest}] of every layer in layers/; ``digest`` (of its blob) None when its layer.json
        is damaged (warned). Entries that are not layers are warned of and skipped."""
        layers = []
        if not _real_directory(self.paths.layers):
            return layers
        for entry in sorted(os.listdir(self.paths.layers)):
            directory = os.path.join(self.paths.layers, entry)
            if not ID_RE.fullmatch(entry) or not _real_directory(directory):
                self._skip(StoreDataError(directory, 'not a layer: not a directory named by a 64-hex-digit chain id'))
                continue
            chain_id = 'sha256:' + entry
            digest = None
            try:
                digest = self._load_layer(chain_id)['digest']
            except StoreDataError as exc:
                self._warn('%s; the layer is kept only while an image needs it' % exc.msg)
            layers.append({'chain_id': chain_id, 'digest': digest})
        return layers

    def list_blobs(self):
        """[{digest, size}] of every blob in blobs/sha256/ (regular files named by their sha256); anything
        else there is warned of and skipped."""
        directory = os.path.join(self.paths.blobs, 'sha256')
        blobs = []
        if not _real_directory(self.paths.blobs) or not _real_directory(directory):
            return blobs
        for entry in sorted(os.listdir(directory)):
            path = os.path.join(directory, entry)
            st = os.lstat(path)
            if not ID_RE.fullmatch(entry) or not stat.S_ISREG(st.st_mode):
                self._skip(StoreDataError(path, 'not a blob: not a regular file named by a sha256 digest'))
                continue
            blobs.append({'digest': 'sha256:' + entry, 'size': st.st_size})
        return blobs

    def remove_layer(self, chain_id):
        """Delete the layer ``chain_id`` (its read-only subvolume and layer.json)."""
        self._discard(self.paths.layer_dir(chain_id))

    def remove_blob(self, digest):
        """Delete blob ``digest`` from blobs/."""
        self._discard(self.paths.blob_path(digest))

    def free_bytes(self):
        """The free bytes of the store's filesystem, once what was deleted has been freed."""
        return self._btrfs.free_bytes(self.root)

    def wait_for_cleaner(self):
        """Wait until the extents of deleted subvolumes are freed (the btrfs cleaner runs in the background)."""
        self._btrfs.wait_for_cleaner(self.root)

    # -- image streams (btrfs send/receive between stores) ----------------

    def export_image_stream(self, image_id, dest, parent_id=None):
        """Write image ``image_id`` to the file ``dest`` as an image stream (``image_stream``), incremental
        from image ``parent_id`` when given. ``dest`` appears whole or not at all (a temporary file beside
        it, fsynced, then renamed). Returns {size, digest, bytes, parent}: the send stream's length and
        sha256 and the whole file's size."""
        self._require_lock()
        image = self._stream_image(image_id, 'image')
        parent = self._stream_image(parent_id, 'parent image') if parent_id else None
        header = image_stream.header_for(image, self.image_origin(image_id), parent,
                                         self.image_origin(parent_id) if parent else None)
        tmp = os.path.join(os.path.dirname(os.path.abspath(dest)),
                           '.%s.%s.tmp' % (os.path.basename(dest), secrets.token_hex(6)))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         permissions.PRIVATE_FILE_MODE)
            with os.fdopen(fd, 'wb') as handle:
                size, digest = image_stream.write_stream(handle, header, lambda write: self._btrfs.send_to(
                    image['rootfs'], write, parent=parent['rootfs'] if parent else None))
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(tmp, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return {'size': size, 'digest': digest, 'bytes': os.stat(dest).st_size, 'parent': parent_id}

    def _stream_image(self, image_id, what):
        image = self.get_image(image_id)
        if image is None:
            raise DockerliteError('%s %s does not exist in %s' % (what, image_id, self.root), image=image_id)
        return image

    def import_image_stream(self, path):
        """Receive the image stream in file ``path`` as a new image: (image, True); (the image, False)
        when the store holds it already (same id, same origin), without receiving anything.

        The send stream is received into ``tmp/<random>/`` by a ``btrfs receive`` confined there,
        checked (one read-only subvolume named ``rootfs`` whose received uuid is the header's origin,
        a sha256 equal to the trailer's), given its image.json, then renamed into ``images/``: a
        truncated, corrupt or foreign stream leaves nothing.
        """
        self._require_lock()
        header, offset, length, digest = image_stream.read_header(path)
        meta, origin = header['image'], header['origin']
        existing = self.get_image(meta['id'])
        if existing is not None:
            held = self.image_origin(meta['id'])
            if held != origin:
                raise DockerliteError('image stream %s: image %s exists in %s with another origin (%s, the stream '
                                      'has %s); remove it first' % (path, meta['id'], self.root, held, origin))
            return existing, False
        parent = header['parent']
        if parent is not None:
            held = self.get_image(parent['id'])
            if held is None or self.image_origin(parent['id']) != parent['origin']:
                raise DockerliteError(
                    'image stream %s is incremental from image %s (origin %s), which %s does not hold; import '
                    'that image first or export a full stream' % (path, parent['id'], parent['origin'], self.root),
                    parent=parent['id'])
        with self._staging() as staged:
            self._btrfs.receive_from(staged, image_stream.stream_chunks(path, offset, length, digest))
            rootfs = os.path.join(staged, 'rootfs')
            if sorted(os.listdir(staged)) != ['rootfs'] or not self._btrfs.is_read_only(rootfs):
                raise image_stream.StreamError(path, 'it did not make one read-only subvolume named rootfs')
            received = self._btrfs.subvolume_uuids(rootfs)['received_uuid']
            if received != origin:
                raise image_stream.StreamError(path, 'the received subvolume comes from %s, the header says %s'
                                               % (received, origin))
            # Layers and blobs stay behind in the sending store: here the image is its rootfs alone.
            meta = {key: value for key, value in meta.items() if key not in ('layers', 'oci')}
            meta['received'] = {'origin': origin, 'parent': parent['id'] if parent else None, 'digest': digest}
            check_image_meta(meta, path, meta['id'])
            self.write_json(os.path.join(staged, IMAGE_META), meta)
        return self._install_image(staged, meta), True

    def inspect_image_stream(self, path):
        """The header of the image stream file ``path`` (its framing checked; nothing received)."""
        return image_stream.read_header(path)[0]

    def stream_identity(self, image_id, parent_id=None):
        """What identifies a stream of image ``image_id`` from ``parent_id``: {image, origin, parent}."""
        return {'image': image_id, 'origin': self.image_origin(image_id), 'parent': parent_id}

    @staticmethod
    def stream_file_identity(path):
        """The identity (as ``stream_identity``) of the stream in file ``path``; None if it is not a sound one."""
        try:
            header = image_stream.read_header(path)[0]
        except image_stream.StreamError:
            return None
        return {'image': header['image']['id'], 'origin': header['origin'],
                'parent': header['parent']['id'] if header['parent'] else None}
