# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Figure 8: pull and push through a local registry, against skopeo + umoci (the floor) and Podman.

A registry (Debian's docker-registry) and Podman run through the peers helper, with their state
under the run's directory; the test images are made offline with umoci from the benchmark's
busybox rootfs plus random (incompressible) data, and pushed with skopeo:

- ``app``: three layers, BENCH_PULL_MIB in all (60 %, 30 %, 10 % of it);
- ``app2``: the same two lower layers and one of its own (10 %).

Measured: dockerlite_image (``source: registry``) pulling ``app`` (one task) against
``skopeo copy`` + ``umoci unpack`` of the same ref into the same btrfs (the floor) and
``podman pull``; then ``app2`` (time and bytes written: the device's used bytes for dockerlite,
the allocated bytes of Podman's storage for Podman); an unchanged re-pull (``pull: always``,
FLOOR_TASKS separate tasks in one play, as the floor) against Ansible's per-task floor; and a commit of a container of ``app`` after 1 MiB written,
pushed with dockerlite_image_push, against ``podman push`` of the same change (bytes uploaded:
growth of the registry's storage).

Then ``app`` twice more, each side on the same footing (after the figures above, which are left as
they were):

- directly: dockerlite_image run by ``/usr/bin/python3 -m`` (no controller) into a second, fresh
  store on the same btrfs (no layer or blob shared with the first), against the ``podman pull``
  above; the second store is deleted after it;
- through Ansible on both sides: containers.podman.podman_image in a play of one task (the bench's
  podman through the same wrapper as figure 9, on BENCH_MODULE_PYTHON) against dockerlite_image's
  one-task pull above, once every image made from ``app``'s layers is removed from Podman's storage
  (its storage's bytes before and after the removal and the pull are kept, to show it downloaded
  the layers again). Skipped, with one line, when containers.podman.podman_image is not there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from .common import COMMAND, CONTAINER_MODULE, HOST_PYTHON, IMAGE_MODULE, MIB, BenchError, log, median, module_run, \
    run, timed_ms
from .peers import BenchPeers, podman_wrapper
from .runner import task_ms

PUSH_MODULE = 'dockerlite.core.dockerlite_image_push'
COMMIT_MODULE = 'dockerlite.core.dockerlite_commit'
PODMAN_IMAGE_MODULE = 'containers.podman.podman_image'
DIRECT_STORE = 'store-direct'  # the direct pull's store, beside the workspace's on the same btrfs
LAYER_SHARES = (0.6, 0.3, 0.1)  # of BENCH_PULL_MIB, bottom first
PUSH_CHANGE_MIB = 1
FLOOR_TASKS = 10
DIRECT_REPEAT = 3  # rounds of the direct pull and of podman pull, taking turns


def module_docs(settings, modules):
    """The ansible-doc JSON of ``modules`` as the plays see them (the copy under test first); a module
    Ansible cannot find is left out."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=settings.build, ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([os.path.join(settings.bin, 'ansible-doc'), '--json'] + list(modules),
                          capture_output=True, text=True, env=env, check=False)
    try:
        return json.loads(proc.stdout or '{}')
    except ValueError:
        return {}


def missing_modules(settings, docs=None):
    """Why figure 8 cannot run with the collection copy under test (None when it can): the module
    options it needs, read with ansible-doc."""
    if docs is None:
        docs = module_docs(settings, [IMAGE_MODULE, PUSH_MODULE])
    missing = []
    image = docs.get(IMAGE_MODULE, {}).get('doc', {}).get('options', {})
    if 'registry' not in (image.get('source', {}).get('choices') or []):
        missing.append("%s has no source 'registry'" % IMAGE_MODULE)
    if PUSH_MODULE not in docs:
        missing.append('%s does not exist' % PUSH_MODULE)
    return '; '.join(missing) or None


def random_file(path, mib):
    with open(path, 'wb') as handle:
        for _mib in range(int(mib)):
            handle.write(os.urandom(MIB))
        handle.write(os.urandom(int((mib - int(mib)) * MIB)))


def make_images(ws, layout, total_mib):
    """The OCI layout with ``app`` (three layers) and ``app2`` (app's lower two and one of its own)."""
    work = os.path.join(ws.tmp, 'umoci-work')
    os.makedirs(work)
    run(['umoci', 'init', '--layout', layout])
    run(['umoci', 'new', '--image', layout + ':empty'])
    steps = (('l1', 'empty', LAYER_SHARES[0], True), ('l2', 'l1', LAYER_SHARES[1], False),
             ('app', 'l2', LAYER_SHARES[2], False), ('app2', 'l2', LAYER_SHARES[2], False))
    for tag, parent, share, with_busybox in steps:
        bundle = os.path.join(work, tag)
        run(['umoci', 'unpack', '--image', '%s:%s' % (layout, parent), bundle])
        rootfs = os.path.join(bundle, 'rootfs')
        if with_busybox:
            run(['cp', '-a', ws.image_rootfs + '/.', rootfs + '/'])
        random_file(os.path.join(rootfs, 'data-' + tag), total_mib * share)
        run(['umoci', 'repack', '--image', '%s:%s' % (layout, tag), bundle])
        shutil.rmtree(bundle)
    shutil.rmtree(work)


def du_bytes(path, apparent=False):
    """Bytes under ``path``: allocated (du -s -B1), or apparent (the sum of file sizes, du -s -b)."""
    return int(run(['du', '-s', '-x', '-b' if apparent else '--block-size=1', path]).split()[0])


def one_task(ws, label, module, args, interpreter=HOST_PYTHON):
    """A play of one task: its ms and whether it changed."""
    played = ws.ansible.play(label, [{'name': label, module: args}], interpreter=interpreter)['tasks'][0]
    return {'ms': task_ms(played), 'changed': played['changed']}


def dockerlite_pull(ws, label, name, ref, **extra):
    before = ws.disk_usage()['used']
    figures = one_task(ws, label, IMAGE_MODULE, dict({'name': name, 'source': 'registry', 'ref': ref,
                                                      'tls_verify': False}, **extra))
    figures['bytes_written'] = ws.disk_usage()['used'] - before
    return figures


def dockerlite_repull(ws, name, ref):
    """FLOOR_TASKS unchanged re-pulls (``pull: always``) as separate tasks of one play, ms per task: the shape
    of the per-task floor they are compared with. ``first_ms`` is the first task alone, which also carries
    what a play pays once per module (Ansible builds the module's payload on its first use)."""
    before = ws.disk_usage()['used']
    args = {'name': name, 'source': 'registry', 'ref': ref, 'tls_verify': False, 'pull': 'always'}
    tasks = ws.ansible.play('repull', [{'name': 'repull %d' % index, IMAGE_MODULE: args}
                                       for index in range(FLOOR_TASKS)])['tasks']
    return {'ms': (tasks[-1]['end'] - tasks[0]['start']) * 1000.0 / len(tasks), 'first_ms': task_ms(tasks[0]),
            'tasks': len(tasks), 'changed': any(task['changed'] for task in tasks),
            'bytes_written': ws.disk_usage()['used'] - before}


def podman_root(peers):
    argv = peers.state['podman']['argv']
    return argv[argv.index('--root') + 1]


def podman_pull(peers, ref):
    root = podman_root(peers)
    before = du_bytes(root)
    figures = {'ms': peers.timed_cli('podman', ['pull', '--quiet', ref])}
    figures['bytes_written'] = du_bytes(root) - before
    return figures


def measure_registry(ws, results):
    """Figure 8 (see the module's docstring); skipped, with the reason, when a module or tool is missing."""
    total = ws.settings.pull_mib
    if total <= 0:
        return
    docs = module_docs(ws.settings, [IMAGE_MODULE, PUSH_MODULE, PODMAN_IMAGE_MODULE])
    why = missing_modules(ws.settings, docs)
    missing_tools = [tool for tool in ('skopeo', 'umoci', 'docker-registry', 'podman') if not shutil.which(tool)]
    if missing_tools:
        why = '; '.join(filter(None, [why, 'not installed: ' + ', '.join(missing_tools)]))
    if why:
        log('registry figure skipped: %s' % why)
        results['registry'] = {'skipped': why}
        return
    figures = {'total_mib': total, 'layers_mib': [total * share for share in LAYER_SHARES]}
    results['registry'] = figures
    peers = BenchPeers(os.path.join(ws.tmp, 'peers'), ['registry', 'podman'])
    ws.peers = peers
    try:
        if not peers.available('podman'):
            raise BenchError('podman did not start: %s' % peers.skipped('podman'))
        registry = peers.state['registry']['address']
        layout = os.path.join(ws.tmp, 'layout')
        figures['make_images_ms'] = timed_ms(lambda: make_images(ws, layout, total))
        for tag in ('app', 'app2'):
            run(['skopeo', 'copy', '--quiet', '--dest-tls-verify=false', 'oci:%s:%s' % (layout, tag),
                 'docker://%s/bench/%s:1' % (registry, tag)])
        refs = {tag: '%s/bench/%s:1' % (registry, tag) for tag in ('app', 'app2')}
        log('registry: images of %d MiB pushed to %s' % (total, registry))

        # The floor: skopeo copy + umoci unpack of the same ref into the same btrfs.
        floor_dir = os.path.join(ws.fs, 'floor')

        def floor():
            os.mkdir(floor_dir)
            run(['skopeo', 'copy', '--quiet', '--src-tls-verify=false', 'docker://' + refs['app'],
                 'oci:%s/layout:app' % floor_dir])
            run(['umoci', 'unpack', '--image', '%s/layout:app' % floor_dir, floor_dir + '/bundle'])
        figures['floor_ms'] = timed_ms(floor)
        shutil.rmtree(floor_dir)

        figures['podman_pull'] = podman_pull(peers, refs['app'])
        figures['pull'] = dockerlite_pull(ws, 'pull', ws.prefix + 'app:1', refs['app'])
        figures['podman_second'] = podman_pull(peers, refs['app2'])
        figures['second'] = dockerlite_pull(ws, 'pull-second', ws.prefix + 'app2:1', refs['app2'])
        figures['task_floor_ms'] = ws.ansible.separate_tasks_ms('registry-floor', FLOOR_TASKS)
        figures['repull'] = dockerlite_repull(ws, ws.prefix + 'app:1', refs['app'])
        log('registry: pull %.0f ms (floor %.0f ms, podman %.0f ms); re-pull %.0f ms'
            % (figures['pull']['ms'], figures['floor_ms'], figures['podman_pull']['ms'], figures['repull']['ms']))
        measure_push(ws, peers, figures, refs['app'], registry)
        figures.update(direct_pairs(ws, peers, refs['app']))
        log('registry: pull run directly into a fresh store, median of %d: %.0f ms %s (podman pull into an emptied '
            'storage %.0f ms %s)' % (DIRECT_REPEAT, figures['direct_pull']['ms'],
                                     ['%.0f' % ms for ms in figures['direct_pull']['runs_ms']],
                                     figures['podman_pull_fresh']['ms'],
                                     ['%.0f' % ms for ms in figures['podman_pull_fresh']['runs_ms']]))
        if PODMAN_IMAGE_MODULE in docs:
            figures['podman_image_pull'] = podman_image_pull(ws, peers, refs['app'])
        else:
            figures['podman_image_skipped'] = '%s not found by ansible-doc (containers.podman is not installed where ' \
                'Ansible looks for collections)' % PODMAN_IMAGE_MODULE
            log('skipped: %s' % figures['podman_image_skipped'])
    finally:
        left = peers.stop()
        ws.peers = None
        for leftover in left:
            log('peers: LEFT BEHIND: %s' % leftover)


def measure_push(ws, peers, figures, base_ref, registry):
    """A commit of a container of ``app`` after PUSH_CHANGE_MIB written, pushed by dockerlite and by Podman."""
    storage = os.path.join(peers.state['dir'], 'registry', 'storage')
    name = ws.prefix + 'push'
    ws.ansible.play('push-container', [{'name': 'container', CONTAINER_MODULE: {
        'name': name, 'image': ws.prefix + 'app:1', 'command': COMMAND, 'state': 'started'}}])
    random_file(os.path.join(ws.containers, name, 'rootfs', 'bench-change'), PUSH_CHANGE_MIB)
    ws.ansible.play('push-commit', [{'name': 'commit', COMMIT_MODULE: {'container': name,
                                                                       'image': ws.prefix + 'pushed:1'}}])
    before = du_bytes(storage, apparent=True)
    pushed = one_task(ws, 'push', PUSH_MODULE, {'root': ws.root, 'name': ws.prefix + 'pushed:1',
                                                'ref': '%s/bench/dockerlite-pushed:1' % registry, 'tls_verify': False})
    pushed['bytes_uploaded'] = du_bytes(storage, apparent=True) - before
    figures['push'] = pushed
    ws.ansible.play('push-remove', [{'name': 'remove', CONTAINER_MODULE: {'name': name, 'state': 'absent'}}])

    peers.cli('podman', ['run', '--detach', '--name', 'bench-push', base_ref] + COMMAND)
    peers.cli('podman', ['exec', 'bench-push', '/bin/dd', 'if=/dev/urandom', 'of=/bench-change', 'bs=1M',
                         'count=%d' % PUSH_CHANGE_MIB])
    peers.cli('podman', ['commit', '--quiet', 'bench-push', '%s/bench/podman-pushed:1' % registry])
    before = du_bytes(storage, apparent=True)
    podman_ref = '%s/bench/podman-pushed:1' % registry
    figures['podman_push'] = {'ms': peers.timed_cli('podman', ['push', '--quiet', podman_ref])}
    figures['podman_push']['bytes_uploaded'] = du_bytes(storage, apparent=True) - before
    peers.cli('podman', ['rm', '--force', '--time', '0', 'bench-push'])
    log('registry: push %.0f ms, %d bytes (podman %.0f ms, %d bytes)'
        % (pushed['ms'], pushed['bytes_uploaded'], figures['podman_push']['ms'],
           figures['podman_push']['bytes_uploaded']))


def direct_pull(ws, ref):
    """dockerlite_image run directly (no controller) pulling ``ref`` into a fresh store of its own on the
    same btrfs, so nothing is shared with the workspace's store; the store is deleted after it."""
    root = ws.extra_store(DIRECT_STORE)
    try:
        before = ws.disk_usage()['used']
        args = {'name': 'app:1', 'source': 'registry', 'ref': ref, 'tls_verify': False}
        elapsed, result = module_run(ws, 'dockerlite_image', args, root=root)
        figures = {'ms': elapsed, 'changed': bool(result.get('changed')),
                   'bytes_written': ws.disk_usage()['used'] - before}
    finally:
        ws.remove_store(root)
        ws.quiesce()
    return figures


def podman_fresh_pull(peers, ref):
    """``podman pull`` of ``ref`` once Podman's storage holds no image at all (``rmi --all``): what it wrote."""
    peers.cli('podman', ['rmi', '--all', '--force'])
    return podman_pull(peers, ref)


def direct_pairs(ws, peers, ref, repeat=DIRECT_REPEAT):
    """``repeat`` rounds of the direct pull and of ``podman pull`` into an emptied storage, taking turns
    (so that both see the same machine); the medians, each run's ms, and every run's bytes written."""
    ours, theirs = [], []
    for _round in range(repeat):
        ours.append(direct_pull(ws, ref))
        theirs.append(podman_fresh_pull(peers, ref))
    figures = {}
    for key, runs in (('direct_pull', ours), ('podman_pull_fresh', theirs)):
        figures[key] = {'ms': median([run['ms'] for run in runs]), 'runs_ms': [run['ms'] for run in runs],
                        'bytes_written': min(run['bytes_written'] for run in runs)}
    figures['direct_pull']['changed'] = all(run['changed'] for run in ours)
    return figures


def podman_image_pull(ws, peers, ref):
    """containers.podman.podman_image pulling ``ref`` in a play of one task (the bench's podman through the
    wrapper figure 9 uses, on BENCH_MODULE_PYTHON), once every image is gone from Podman's storage
    (``rmi --all``): the storage's bytes before and after the removal,
    the images left, and the bytes the pull wrote."""
    root = podman_root(peers)
    figures = {'storage_before_rmi': du_bytes(root), 'interpreter': ws.settings.module_python}
    peers.cli('podman', ['rmi', '--all', '--force'])
    figures['images_left'] = peers.cli('podman', ['images', '--all', '--quiet']).split()
    figures['storage_before'] = du_bytes(root)
    figures.update(one_task(ws, 'podman-image-pull', PODMAN_IMAGE_MODULE,
                            {'name': ref, 'validate_certs': False, 'executable': podman_wrapper(ws, peers)},
                            interpreter=ws.settings.module_python))
    figures['bytes_written'] = du_bytes(root) - figures['storage_before']
    log('registry: podman_image pull through Ansible %.0f ms, %d bytes written (storage %d bytes before the removal, '
        '%d after; images left %s)' % (figures['ms'], figures['bytes_written'], figures['storage_before_rmi'],
                                       figures['storage_before'], figures['images_left'] or 'none'))
    return figures
