# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Stand-ins for the btrfs, LXC and attach clients, and helpers to drive the managers.

FakeBtrfs keeps subvolumes as plain directories; FakeLxc keeps container states in a
dict; FakeAttach answers from a set of paths. They implement the protocols of
``_clients/interfaces.py`` (test_interfaces checks every signature). FakeBtrfs and
FakeLxc record their mutating calls, so a test can assert that check mode made
none. The flags and counters FakeBtrfs keeps are keyed by inode, because the store
moves subvolumes into place with rename(2).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import io
import itertools
import json
import os
import shutil
import stat
import struct
import tarfile

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc_attach import ExecResult
from ansible_collections.dockerlite.core.plugins.module_utils._clients.skopeo import ImageNotFoundError, Manifest
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import CommandError
from ansible_collections.dockerlite.core.plugins.module_utils._store.idmap import host_range
from ansible_collections.dockerlite.core.plugins.module_utils._store.network import Bridge
from ansible_collections.dockerlite.core.plugins.module_utils._store.image_store import ImageStore

MODULES = 'ansible_collections.dockerlite.core.plugins.modules.'
MANAGER_MODULES = (
    'ansible_collections.dockerlite.core.plugins.module_utils._managers.image',
    'ansible_collections.dockerlite.core.plugins.module_utils._managers.container',
    'ansible_collections.dockerlite.core.plugins.module_utils._managers.commit',
    'ansible_collections.dockerlite.core.plugins.module_utils._managers.pull',
)


def _inode(path):
    st = os.stat(path)
    return st.st_dev, st.st_ino


def tree_signature(path):
    """What changes when anything in the tree is written: names, types, sizes, times, links."""
    entries = []
    for dirpath, dirnames, filenames in os.walk(path):
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            entries.append((os.path.relpath(full, path), st.st_mode, st.st_size, st.st_mtime_ns))
    return tuple(sorted(entries))


class FakeBtrfs:
    """The BtrfsInterface the store uses, over plain directories."""

    MUTATING = ('create_subvolume', 'snapshot', 'set_read_only', 'delete_subvolume', 'remove_tree', 'enable_quota',
                'set_qgroup_limit')
    FREE_BYTES = 10 ** 9

    def __init__(self, fstype='btrfs', calls=None):
        self.fstype = fstype
        self.calls = [] if calls is None else calls
        self.transaction = 100
        self._read_only = {}
        self._created = {}
        self._generation = {}
        self.quota = False
        self.limits = {}  # subvolume id: exclusive limit, as qgroups keep them (gone with the subvolume)
        self.usage = {}  # subvolume id: exclusive bytes that a test wants qgroups to show
        self.freed = 0  # bytes of the files remove_tree deleted (free_bytes grows by them)
        self._uuids = {}  # inode key: {uuid, parent_uuid, received_uuid}

    def mutating_calls(self):
        return [call for call in self.calls if call[0] in self.MUTATING]

    def _new_transaction(self):
        self.transaction += 1
        return self.transaction

    def filesystem(self, path):
        self.calls.append(('filesystem', path))
        return '/', self.fstype

    def check_unmounted(self, path):
        self.calls.append(('check_unmounted', path))

    def is_subvolume(self, path):
        return os.path.isdir(path) and _inode(path) in self._created

    def create_subvolume(self, path):
        self.calls.append(('create_subvolume', path))
        os.mkdir(path)
        key = _inode(path)
        self._read_only[key] = False
        self._created[key] = self._new_transaction()
        self._generation[key] = (self.transaction, tree_signature(path))

    def snapshots(self, pairs, workers):
        pairs = list(pairs)
        self.calls.append(('snapshots', len(pairs), workers))
        for source, path in pairs:
            self.snapshot(source, path)

    def snapshot(self, source, path, read_only=False):
        """Like btrfs: the snapshot is created in a new transaction, which the source's generation moves to."""
        self.calls.append(('snapshot', source, path, read_only))
        shutil.copytree(source, path, symlinks=True)
        key = _inode(path)
        transaction = self._new_transaction()
        self._read_only[key] = read_only
        self._created[key] = transaction
        self._generation[key] = (transaction, tree_signature(path))
        self._generation[_inode(source)] = (transaction, tree_signature(source))

    def set_read_only(self, path, read_only=True):
        self.calls.append(('set_read_only', path, read_only))
        self._read_only[_inode(path)] = read_only

    def is_read_only(self, path):
        return self._read_only.get(_inode(path), False)

    def generation(self, path):
        """A new transaction number once anything below ``path`` was written since the last look."""
        self.calls.append(('generation', path))
        key = _inode(path)
        signature = tree_signature(path)
        known = self._generation.get(key)
        if known is None or known[1] != signature:
            self._generation[key] = (self._new_transaction(), signature)
        return self._generation[key][0]

    def created_transaction(self, path):
        return self._created[_inode(path)]

    def subvolume_id(self, path):
        if not self.is_subvolume(path):
            raise AssertionError('subvolume id of %s, which is not a subvolume' % path)
        return _inode(path)[1]

    def sync(self, path):
        self.calls.append(('sync', path))

    def qgroups(self, path):
        """Quotas on: every subvolume's qgroup, its exclusive bytes being the size of its files."""
        self.calls.append(('qgroups', path))
        if not self.quota:
            return None
        qgroups = {}
        for (_dev, ino), _transaction in self._created.items():
            qgroups[ino] = {'exclusive': self.usage.get(ino, 0), 'referenced': self.usage.get(ino, 0),
                            'max_exclusive': self.limits.get(ino), 'max_referenced': None}
        return qgroups

    def quota_enabled(self, path):
        self.calls.append(('quota_enabled', path))
        return self.quota

    def enable_quota(self, path):
        self.calls.append(('enable_quota', path))
        self.quota = True

    def set_qgroup_limit(self, path, limit, via):
        self.calls.append(('set_qgroup_limit', path, limit, via))
        if not self.quota:
            raise AssertionError('qgroup limit on %s with quotas off' % path)
        self.limits[self.subvolume_id(path)] = limit

    def limit_of(self, path):
        return self.limits.get(self.subvolume_id(path))

    def send(self, subvolume, parent=None, no_data=True, timeout=600):
        """A send stream from ``parent`` to ``subvolume``, built by comparing the two trees.

        Simpler than the kernel's (no renames or links: new entries are made under a
        temporary name and moved into place, changed ones get utimes), but a stream the
        parser must follow all the same. Both must be read-only, as btrfs demands.
        """
        self.calls.append(('send', subvolume, parent, no_data))
        for path in (subvolume, parent):
            if path is not None and not self.is_read_only(path):
                raise AssertionError('btrfs send of %s, which is not read-only' % path)
        return build_send_stream(tree_commands(parent, subvolume))

    def free_bytes(self, path):
        """A filesystem of FREE_BYTES, plus the sizes of the files remove_tree deleted."""
        self.calls.append(('free_bytes', path))
        return self.FREE_BYTES + self.freed

    def wait_for_cleaner(self, path, timeout=120):
        self.calls.append(('wait_for_cleaner', path))

    def subvolume_uuids(self, path):
        if not self.is_subvolume(path):
            raise AssertionError('subvolume uuids of %s, which is not a subvolume' % path)
        fresh = {'uuid': os.urandom(16).hex(), 'parent_uuid': None, 'received_uuid': None}
        return dict(self._uuids.setdefault(_inode(path), fresh))

    def send_to(self, subvolume, write, parent=None, timeout=3600):
        """A stand-in for a send stream: a JSON line (name, origins) and a tar of the whole tree."""
        self.calls.append(('send_to', subvolume, parent))
        for path in (subvolume, parent):
            if path is not None and not self.is_read_only(path):
                raise AssertionError('btrfs send of %s, which is not read-only' % path)
        uuids = self.subvolume_uuids(subvolume)
        head = {'name': os.path.basename(subvolume), 'origin': uuids['received_uuid'] or uuids['uuid'],
                'parent': None}
        if parent is not None:
            parent_uuids = self.subvolume_uuids(parent)
            head['parent'] = parent_uuids['received_uuid'] or parent_uuids['uuid']
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode='w') as tar:
            tar.add(subvolume, arcname='.')
        write((json.dumps(head) + '\n').encode())
        write(buffer.getvalue())

    def receive_from(self, directory, chunks, timeout=3600):
        self.calls.append(('receive_from', directory))
        data = b''.join(chunks)
        line, _sep, body = data.partition(b'\n')
        try:
            head = json.loads(line)
            tar = tarfile.open(fileobj=io.BytesIO(body), mode='r')
            members = tar.getmembers()
        except (ValueError, tarfile.TarError) as exc:
            raise CommandError('btrfs receive into %s failed: %s' % (directory, exc), ['btrfs', 'receive'], 1, '', '')
        known = [value.get('received_uuid') or value['uuid'] for value in self._uuids.values()]
        if head['parent'] is not None and head['parent'] not in known:
            raise CommandError('btrfs receive into %s failed: cannot find parent subvolume' % directory,
                               ['btrfs', 'receive'], 1, '', '')
        path = os.path.join(directory, head['name'])
        self.create_subvolume(path)
        tar.extractall(path, members=[member for member in members if member.name != '.'])
        self._uuids[_inode(path)] = {'uuid': os.urandom(16).hex(), 'parent_uuid': None,
                                     'received_uuid': head['origin']}
        self.set_read_only(path, True)

    def remove_tree(self, path):
        self.calls.append(('remove_tree', path))
        if not os.path.lexists(path):
            return
        self.freed += sum(os.lstat(os.path.join(dirpath, name)).st_size
                          for dirpath, _dirnames, filenames in os.walk(path) for name in filenames) \
            if os.path.isdir(path) and not os.path.islink(path) else os.lstat(path).st_size
        if os.path.isdir(path) and not os.path.islink(path):
            for dirpath, _dirnames, _filenames in os.walk(path):
                key = _inode(dirpath)
                for table in (self._read_only, self._created, self._generation):
                    table.pop(key, None)
                self.limits.pop(key[1], None)
            shutil.rmtree(path)
        else:
            os.unlink(path)


class FakeLxc:
    """The LxcInterface the store uses; states live in a dict."""

    MUTATING = ('start', 'stop', 'freeze', 'unfreeze', 'kill', 'kill_orphan', 'execute')
    PID = 4242
    ADDRESS_LINE = 'lxc.net.0.ipv4.address = '

    def __init__(self, lxcpath, calls=None):
        self.lxcpath = lxcpath
        self.states = {}
        self.argv = {}
        self.calls = [] if calls is None else calls
        self.execute_result = (0, 'hello\n', '', 0.01)

    def mutating_calls(self):
        return [call for call in self.calls if call[0] in self.MUTATING]

    def _config(self, name):
        """LXC needs the container's config; fail as it would when it is missing."""
        path = os.path.join(self.lxcpath, name, 'config')
        if not os.path.exists(path):
            raise AssertionError('LXC called for container %s, which has no config at %s' % (name, path))
        with open(path) as handle:
            return handle.read()

    def halt_signal_in_config(self, name):
        for line in self._config(name).split('\n'):
            if line.startswith('lxc.signal.halt = '):
                return line.split(' = ', 1)[1]
        return None

    def status(self, name):
        self.calls.append(('status', name))
        if not os.path.exists(os.path.join(self.lxcpath, name, 'config')):
            self.states.pop(name, None)
        state = self.states.get(name, 'stopped')
        return state, (self.PID if state != 'stopped' else None)

    def _expect(self, name, action, allowed):
        state = self.states.get(name, 'stopped')
        if state not in allowed:
            raise AssertionError('%s of container %s in state %s' % (action, name, state))

    def start(self, name, argv, timeout=10):
        self._config(name)
        self._expect(name, 'start', ('stopped',))
        self.calls.append(('start', name, tuple(argv)))
        self.states[name] = 'running'
        self.argv[name] = tuple(argv)

    def stop(self, name, timeout, halt_signal):
        self._expect(name, 'stop', ('running', 'frozen'))
        self.calls.append(('stop', name, timeout, halt_signal, self.halt_signal_in_config(name)))
        self.states[name] = 'stopped'

    def ipv4_addresses(self, name, interface):
        """What LXC would have configured: the address in the config, while the container runs."""
        self.calls.append(('ipv4_addresses', name, interface))
        if self.states.get(name, 'stopped') == 'stopped':
            return []
        return [line[len(self.ADDRESS_LINE):].split('/')[0] for line in self._config(name).split('\n')
                if line.startswith(self.ADDRESS_LINE)]

    def wait_for_ipv4(self, name, address, interface, timeout):
        self.calls.append(('wait_for_ipv4', name, address, interface))
        if address not in self.ipv4_addresses(name, interface):
            raise AssertionError('waited for %s in container %s, which does not have it' % (address, name))

    def freeze(self, name):
        self._config(name)
        self._expect(name, 'freeze', ('running',))
        self.calls.append(('freeze', name))
        self.states[name] = 'frozen'

    def unfreeze(self, name):
        self._config(name)
        self._expect(name, 'unfreeze', ('frozen',))
        self.calls.append(('unfreeze', name))
        self.states[name] = 'running'

    def kill(self, name):
        self.calls.append(('kill', name))
        self.states[name] = 'stopped'

    def kill_orphan(self, name):
        """An orphan (state 'orphaned': its LXC monitor died) is killed; start refuses it before."""
        self._expect(name, 'kill_orphan', ('orphaned',))
        self.calls.append(('kill_orphan', name))
        self.states[name] = 'stopped'

    def execute(self, name, argv, timeout=None):
        self._config(name)
        self._expect(name, 'execute', ('stopped',))
        self.calls.append(('execute', name, tuple(argv), timeout))
        return self.execute_result


class FakeAttach:
    """The AttachInterface the store uses; ``paths`` is what exists in every container.

    Keeps its own ``calls`` (not the host's journal), so a test sees only the attach calls.
    """

    def __init__(self, lxcpath):
        self.lxcpath = lxcpath
        self.calls = []
        self.paths = set()
        self.status = 0
        self.timed_out = False

    def test_paths(self, name, creates=None, removes=None):
        self.calls.append(('test_paths', name, creates, removes))
        return creates in self.paths, removes in self.paths

    def run(self, name, argv, env, cwd='/', user=None, group=None, stdin=None, timeout=None):
        self.calls.append(('run', name, list(argv), dict(env), cwd, user, group, stdin, timeout))
        return ExecResult(self.status, b'out\n\n', b'err\n', self.timed_out, 0.25)


def layer_tar(entries):
    """A gzip layer blob and its diff id from ``entries``: {path: bytes (a file) or None (a directory)}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as tar:
        for path, data in entries.items():
            info = tarfile.TarInfo(path)
            info.mtime = 1700000000
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0), 'sha256:' + hashlib.sha256(raw).hexdigest()


def _digest(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


class FakeRegistry:
    """The RegistryInterface the store uses: images held in memory by skopeo reference.

    ``add_image(reference, layers, settings)`` publishes an image (each layer as ``layer_tar``
    takes it; ``settings`` is the config's ``config`` object). ``requests`` counts what each
    reference was asked for; copy_to_layout writes only the blobs ``shared_blob_dir`` lacks,
    as skopeo does, and ``fetched`` lists them.
    """

    MUTATING = ('copy_to_layout', 'copy_from_layout')

    def __init__(self, calls=None):
        self.calls = [] if calls is None else calls
        self.images = {}
        self.fetched = []
        self.tmpdirs = []

    def add_image(self, reference, layers, settings=None, architecture='amd64'):
        blobs, descriptors, diff_ids = {}, [], []
        for entries in layers:
            blob, diff_id = layer_tar(entries)
            blobs[_digest(blob)] = blob
            diff_ids.append(diff_id)
            descriptors.append({'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip', 'digest': _digest(blob),
                                'size': len(blob)})
        config = json.dumps({'architecture': architecture, 'os': 'linux', 'config': settings or {},
                             'rootfs': {'type': 'layers', 'diff_ids': diff_ids}}, sort_keys=True).encode()
        blobs[_digest(config)] = config
        manifest = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                               'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',
                                          'digest': _digest(config), 'size': len(config)},
                               'layers': descriptors}, sort_keys=True).encode()
        blobs[_digest(manifest)] = manifest
        self.images[reference] = {'manifest': manifest, 'config': config, 'blobs': blobs}
        return _digest(manifest)

    def _image(self, reference):
        if reference not in self.images:
            raise ImageNotFoundError('skopeo inspect of %s failed: manifest unknown' % reference,
                                     ['skopeo', 'inspect', reference], 1, '', 'manifest unknown')
        return self.images[reference]

    def inspect_raw(self, reference, access=None):
        self.calls.append(('inspect_raw', reference))
        return Manifest(self._image(reference)['manifest'])

    def inspect_config(self, reference, access=None, platform=None):
        self.calls.append(('inspect_config', reference))
        return self._image(reference)['config']

    def copy_to_layout(self, reference, layout_dir, tag, access=None, platform=None, shared_blob_dir=None):
        self.calls.append(('copy_to_layout', reference))
        image = self._image(reference)
        directory = os.path.join(shared_blob_dir, 'sha256')
        os.makedirs(directory, exist_ok=True)
        for digest, data in sorted(image['blobs'].items()):
            path = os.path.join(directory, digest[len('sha256:'):])
            if not os.path.exists(path):
                self.fetched.append(digest)
                with open(path, 'wb') as handle:
                    handle.write(data)
        os.makedirs(layout_dir)
        digest = _digest(image['manifest'])
        with open(os.path.join(layout_dir, 'index.json'), 'w', encoding='ascii') as handle:
            json.dump({'schemaVersion': 2, 'manifests': [{'digest': digest, 'size': len(image['manifest']),
                                                          'annotations': {'org.opencontainers.image.ref.name': tag}}]},
                      handle)
        return digest

    def copy_from_layout(self, layout_dir, tag, destination, access=None, shared_blob_dir=None):
        """Push (``docker://``: the image is then in ``images``) or write an archive holding only the
        file the store reads back: an OCI archive's index.json, a Docker archive's manifest.json."""
        self.calls.append(('copy_from_layout', tag, destination, vars(access) if access else None))
        with open(os.path.join(layout_dir, 'index.json'), 'rb') as handle:
            index = json.load(handle)
        [descriptor] = [entry for entry in index['manifests']
                        if entry['annotations']['org.opencontainers.image.ref.name'] == tag]

        def blob(digest):
            with open(os.path.join(shared_blob_dir, 'sha256', digest[len('sha256:'):]), 'rb') as handle:
                data = handle.read()
            assert _digest(data) == digest, 'blob %s is damaged' % digest
            return data

        raw = blob(descriptor['digest'])
        manifest = json.loads(raw)
        blobs = {descriptor['digest']: raw}
        for entry in [manifest['config']] + manifest['layers']:
            blobs[entry['digest']] = blob(entry['digest'])
            assert len(blobs[entry['digest']]) == entry['size']
        if destination.startswith('docker://'):
            self.images[destination] = {'manifest': raw, 'config': blobs[manifest['config']['digest']],
                                        'blobs': blobs}
            return descriptor['digest']
        kind, path = destination.split(':', 2)[:2]
        name, content = (('index.json', json.dumps({'manifests': [{'digest': descriptor['digest']}]}))
                         if kind == 'oci-archive' else
                         ('manifest.json', json.dumps([{'Config': manifest['config']['digest'][7:] + '.json'}])))
        with tarfile.open(path, 'w') as archive:
            data = content.encode('utf-8')
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        return descriptor['digest']

    def mutating_calls(self):
        return [call for call in self.calls if call[0] in self.MUTATING]


class FakeHostNetwork:
    """The HostNetwork interface: bridges kept in a dict of name -> Bridge."""

    def __init__(self, calls=None):
        self.bridges = {}
        self.calls = [] if calls is None else calls

    def add_bridge(self, name, *addresses, up=True):
        self.bridges[name] = Bridge(name, addresses, up)

    def bridge(self, name):
        self.calls.append(('bridge', name))
        return self.bridges.get(name)


class FakeHostIds:
    """The HostIds interface: root's subordinate ids as /etc/subuid and /etc/subgid would give them."""

    def __init__(self, subuid='root:1000000:1000000000\n', subgid='root:1000000:1000000000\n'):
        self.subuid = subuid
        self.subgid = subgid

    def range(self):
        return host_range(self.subuid, self.subgid)


class FakeHost:
    """One host: a store root with its btrfs and LXC stand-ins, shared by successive module runs.

    Both stand-ins append to one ``calls`` journal, so tests can check the order across them.
    """

    def __init__(self, root, fstype='btrfs'):
        self.root = str(root)
        self.calls = []
        self.btrfs = FakeBtrfs(fstype, self.calls)
        self.lxc = FakeLxc(os.path.join(os.path.abspath(self.root), 'containers'), self.calls)
        self.attach = FakeAttach(self.lxc.lxcpath)
        self.registry = FakeRegistry(self.calls)
        self.network = FakeHostNetwork(self.calls)
        self.ids = FakeHostIds()

    def _lxc_factory(self, lxcpath):
        assert lxcpath == self.lxc.lxcpath
        return self.lxc

    def _attach_factory(self, lxcpath):
        assert lxcpath == self.attach.lxcpath
        return self.attach

    def _registry_factory(self, tmpdir):
        self.registry.tmpdirs.append(tmpdir)
        return self.registry

    def store(self):
        """A fresh Store object, as each module run makes one."""
        return ImageStore(self.root, self.btrfs, lxc_factory=self._lxc_factory, attach_factory=self._attach_factory,
                          registry_factory=self._registry_factory)

    def forget_calls(self):
        del self.calls[:]


def argument_spec(module):
    """The argument spec that ``plugins/modules/<module>.py`` gives AnsibleModule."""
    mod = importlib.import_module(MODULES + module)
    captured = {}

    class Captured(Exception):
        pass

    def capture(**kwargs):
        captured.update(kwargs)
        raise Captured()

    original = mod.AnsibleModule
    mod.AnsibleModule = capture
    try:
        mod.main()
    except Captured:
        pass
    finally:
        mod.AnsibleModule = original
    return captured['argument_spec']


def module_params(module, **given):
    """Task parameters as AnsibleModule would hand them to the manager (defaults, types, suboptions)."""
    result = ArgumentSpecValidator(argument_spec(module)).validate(given)
    if result.error_messages:
        raise AssertionError('bad test parameters for %s: %s' % (module, result.error_messages))
    return result.validated_parameters


def run_manager(host, manager_class, module, check_mode=False, **given):
    params = module_params(module, root=host.root, **given)
    manager = manager_class(params, host.store(), check_mode=check_mode)
    if hasattr(manager, 'host_network'):
        manager.host_network = host.network
    if hasattr(manager, 'host_ids'):
        manager.host_ids = host.ids
    return manager.run()


class DeterministicIds:
    """Replaces new_id in the managers so that two stores set up alike get the same ids."""

    def __init__(self, monkeypatch):
        self._counter = itertools.count(1)
        for name in MANAGER_MODULES:
            monkeypatch.setattr(importlib.import_module(name), 'new_id', self)

    def __call__(self):
        return '%064x' % next(self._counter)

    def reset(self):
        self._counter = itertools.count(1)


def twin_hosts(ids, make_host, setup):
    """Two hosts prepared identically, ids included: one for a check-mode run, one for the real run.

    ``make_host(label)`` makes a host ('check' or 'real'); ``setup(host)`` prepares it.
    """
    hosts = []
    for label in ('check', 'real'):
        ids.reset()
        host = make_host(label)
        setup(host)
        host.forget_calls()
        hosts.append(host)
    return hosts


def check_mode_run(host, call):
    """Return ``call()``, a check-mode run on ``host``, asserting it changed nothing there."""
    before, states = store_state(host.root), dict(host.lxc.states)
    result = call()
    assert host.btrfs.mutating_calls() == [] and host.lxc.mutating_calls() == []
    assert host.registry.mutating_calls() == []
    assert store_state(host.root) == before and host.lxc.states == states
    return result


def store_state(root):
    """Everything on disk under ``root`` (None when absent); the lock file only by name,
    since taking the lock records the holder's pid in it."""
    if not os.path.lexists(root):
        return None
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if rel == '.lock':
                state[rel] = 'lock'
            elif os.path.islink(path):
                state[rel] = ('link', os.readlink(path))
            elif os.path.isdir(path):
                state[rel] = ('dir', st.st_mode, st.st_mtime_ns)
            else:
                with open(path, 'rb') as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
                state[rel] = ('file', st.st_mode, st.st_mtime_ns, digest)
    return state


def listing(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


# -- btrfs send streams ---------------------------------------------------------

SEND_COMMANDS = {
    'subvol': 1, 'snapshot': 2, 'mkfile': 3, 'mkdir': 4, 'mknod': 5, 'mkfifo': 6, 'mksock': 7, 'symlink': 8,
    'rename': 9, 'link': 10, 'unlink': 11, 'rmdir': 12, 'set_xattr': 13, 'remove_xattr': 14, 'write': 15,
    'clone': 16, 'truncate': 17, 'chmod': 18, 'chown': 19, 'utimes': 20, 'end': 21, 'update_extent': 22,
}
SEND_ATTRIBUTES = {
    'uuid': 1, 'ctransid': 2, 'ino': 3, 'size': 4, 'mode': 5, 'uid': 6, 'gid': 7, 'rdev': 8, 'ctime': 9,
    'mtime': 10, 'atime': 11, 'xattr_name': 13, 'xattr_data': 14, 'path': 15, 'path_to': 16, 'path_link': 17,
    'file_offset': 18, 'data': 19, 'clone_uuid': 20, 'clone_ctransid': 21, 'clone_path': 22, 'clone_offset': 23,
    'clone_len': 24,
}


def _encode_attribute(name, value):
    if isinstance(value, str):
        return os.fsencode(value)
    if isinstance(value, tuple):
        return struct.pack('<QI', *value)
    if isinstance(value, int):
        return struct.pack('<Q', value)
    return bytes(value)


def send_command(name, attributes=None, version=1):
    """One command of a send stream: header (length, command, crc) and TLV attributes.

    The crc is left 0 (the parser does not check it); from version 2 on the data
    attribute has no length, as in the kernel's streams.
    """
    body = b''
    for key, value in (attributes or {}).items():
        data = _encode_attribute(key, value)
        if key == 'data' and version >= 2:
            body += struct.pack('<H', SEND_ATTRIBUTES[key]) + data
        else:
            body += struct.pack('<HH', SEND_ATTRIBUTES[key], len(data)) + data
    return struct.pack('<IHI', len(body), SEND_COMMANDS[name], 0) + body


def build_send_stream(commands, version=1, end=True):
    """A whole stream: magic, version, a snapshot command, ``commands`` [(name, attrs)], end."""
    stream = b'btrfs-stream\x00' + struct.pack('<I', version)
    stream += send_command('snapshot', {'path': 'snap', 'uuid': b'\x01' * 16, 'ctransid': 7,
                                        'clone_uuid': b'\x02' * 16, 'clone_ctransid': 5})
    for name, attributes in commands:
        stream += send_command(name, attributes, version)
    if end:
        stream += send_command('end')
    return stream


def _tree_entries(root):
    entries = {}
    if root is None:
        return entries
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                content = os.readlink(full)
            elif stat.S_ISREG(st.st_mode):
                with open(full, 'rb') as handle:
                    content = handle.read()
            else:
                content = None
            entries[os.path.relpath(full, root)] = (stat.S_IFMT(st.st_mode), st.st_mode, st.st_mtime_ns, content)
    return entries


def tree_commands(parent, subvolume):
    """Send commands that turn tree ``parent`` into tree ``subvolume`` (see FakeBtrfs.send)."""
    before, after = _tree_entries(parent), _tree_entries(subvolume)
    commands = []
    for path in sorted(set(before) - set(after), key=lambda p: (-p.count('/'), p)):
        commands.append(('rmdir' if before[path][0] == stat.S_IFDIR else 'unlink', {'path': path}))
    for number, path in enumerate(sorted(set(after) - set(before), key=lambda p: (p.count('/'), p))):
        kind, mode, _mtime, content = after[path]
        temporary = 'o%d-9-0' % (1000 + number)
        if kind == stat.S_IFDIR:
            commands.append(('mkdir', {'path': temporary, 'ino': 1000 + number}))
        elif kind == stat.S_IFLNK:
            commands.append(('symlink', {'path': temporary, 'ino': 1000 + number, 'path_link': content}))
        else:
            commands.append(('mkfile', {'path': temporary, 'ino': 1000 + number}))
        commands.append(('rename', {'path': temporary, 'path_to': path}))
        commands.append(('chmod', {'path': path, 'mode': stat.S_IMODE(mode)}))
    for path in sorted(set(before) & set(after)):
        if before[path] != after[path]:
            commands.append(('utimes', {'path': path, 'atime': (1, 0), 'mtime': (2, 0), 'ctime': (3, 0)}))
    return commands
