# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The benchmark's measurements that run on the managed host's Python, not through Ansible.

Run by the workspace (``Workspace.host``) as ``/usr/bin/python3 host_ops.py OP``, a
script of its own, with a JSON object of arguments on stdin; prints a JSON object on
stdout. With PYTHONPATH naming the build copy (``ansible_collections``) and a
directory holding the controller's ``ansible`` package, it imports the collection's
module_utils, so the managers measured here are the code the modules run, minus
Ansible. Imports of the collection, and of its sibling btrfs_quiet.py, are done inside
the operations: ``import_probe`` must start clean.

Operations:
  raw_create_start   the raw floor: btrfsutil snapshot + config + python3-lxc start
  raw_stop_remove    python3-lxc stop, then delete the subvolume
  managed            ContainerManager in-process: create+start, rerun, stop, remove
  commit             CommitManager in-process after writing data, synced or not
  import_probe       time the imports of a module from its AnsiballZ payload zip
"""

from __future__ import annotations

import collections
import functools
import importlib
import json
import os
import shutil
import sys
import time

MIB = 1024 * 1024


def now():
    return time.perf_counter()


def ms(seconds):
    return round(seconds * 1000.0, 3)


class StepTimer:
    """Adds up the time spent in chosen methods of chosen objects (real calls, only timed)."""

    def __init__(self):
        self.seconds = collections.defaultdict(float)

    def wrap(self, owner, attr, label):
        original = getattr(owner, attr)

        def timed(*args, **kwargs):
            started = now()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += now() - started

        setattr(owner, attr, timed)

    def take(self):
        """The totals so far, in ms, and start again from zero."""
        totals = {label: ms(value) for label, value in self.seconds.items()}
        self.seconds.clear()
        return totals


TIMER = StepTimer()


def instrumented_store(root, timer=TIMER):
    """A store as the modules open it, with its btrfs and LXC calls and metadata writes timed."""
    from ansible_collections.dockerlite.core.plugins.module_utils._store import store as store_module
    from ansible_collections.dockerlite.core.plugins.module_utils._common.runner import open_store

    store = open_store(root)
    # The clients are the store's own (private to the collection's code, not to the bench,
    # which times the calls the store makes on them).
    for attr in ('snapshot', 'generation', 'delete_subvolume'):
        timer.wrap(store._btrfs, attr, 'btrfs ' + attr)  # pylint: disable=protected-access
    for attr in ('status', 'start', 'stop', 'freeze', 'unfreeze'):
        timer.wrap(store._lxc, attr, 'lxc ' + attr)  # pylint: disable=protected-access
    if not getattr(store_module.write_atomic, 'bench_timed', False):
        # Module-level: create_container and write_json look write_atomic up here.
        timer.wrap(store_module, 'write_atomic', 'metadata write+fsync')
        store_module.write_atomic.bench_timed = True
    return store


class _SpecRead(Exception):
    pass


@functools.lru_cache(maxsize=None)
def option_defaults(module_name):
    """Every option of a dockerlite module with the value AnsibleModule gives it when a task
    leaves it out, read from the module's own argument spec: main() is called with
    AnsibleModule replaced by a function that records the spec and stops."""
    module = importlib.import_module('ansible_collections.dockerlite.core.plugins.modules.' + module_name)
    spec = {}

    def record(argument_spec, **_kwargs):
        spec.update(argument_spec)
        raise _SpecRead()

    original, module.AnsibleModule = module.AnsibleModule, record
    try:
        module.main()
    except _SpecRead:
        pass
    finally:
        module.AnsibleModule = original
    return {name: option.get('default') for name, option in spec.items()}


def warm_up():
    """Import what the managers import before timing them: imports are measured on their own."""
    for name in ('_managers.commit', '_managers.container', '_common.runner'):
        importlib.import_module('ansible_collections.dockerlite.core.plugins.module_utils.' + name)
    for module_name in ('dockerlite_container', 'dockerlite_commit'):
        option_defaults(module_name)


def with_other(steps, total_ms):
    """Per-step ms plus 'other': the time in none of the timed calls."""
    steps = dict(steps)
    steps['other'] = round(total_ms - sum(steps.values()), 3)
    return steps


def run_container_manager(root, timer, **given):
    from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import ContainerManager

    params = dict(option_defaults('dockerlite_container'), root=root, **given)
    return ContainerManager(params, instrumented_store(root, timer)).run()


def op_managed(args):
    """create+start, unchanged rerun, stop and remove of each container, as the module does them.

    ``phases`` picks some of them (default all). The first call of a phase in a process
    also pays what liblxc and the store do once per process; a module run is one call
    in a fresh process, so the benchmark measures both ways.
    """
    root, names, image, command = args['root'], args['names'], args['image'], args['command']
    warm_up()
    timer = TIMER
    phases = (
        ('create_start', dict(image=image, command=command, state='started'), ['create', 'start']),
        ('rerun', dict(image=image, command=command, state='started'), []),
        ('stop', dict(state='stopped'), ['stop']),
        ('remove', dict(state='absent'), ['remove']),
    )
    out = {}
    for phase, given, expected in phases:
        if args.get('phases') and phase not in args['phases']:
            continue
        per_container, unexpected = [], []
        timer.take()
        for name in names:
            started = now()
            result = run_container_manager(root, timer, name=name, **given)
            per_container.append(ms(now() - started))
            if result['actions'] != expected:
                unexpected.append({'name': name, 'actions': result['actions']})
        steps = {label: round(total / len(names), 3) for label, total in timer.take().items()}
        steps = with_other(steps, sum(per_container) / len(names))
        out[phase] = {'per_container_ms': per_container, 'steps_ms': steps, 'unexpected': unexpected}
    return out


def op_raw_create_start(args):
    """The floor: snapshot + config + start, without the module's locking, metadata, fsyncs or checks.

    The config is the one the module wrote for a container of the same image and
    command (``template``: the files of its directory but its rootfs and metadata),
    with that container's directory and name replaced, so LXC does the same work.
    ``include`` puts an lxc.include line first (LXC's common.conf, for the lxcfs hook).
    """
    import btrfsutil
    import lxc

    lxcpath, image_rootfs, command, template = args['lxcpath'], args['image_rootfs'], args['command'], args['template']
    texts = {}
    for entry in os.listdir(template['copy']):
        with open(os.path.join(template['copy'], entry)) as handle:
            texts[entry] = handle.read()
    os.makedirs(lxcpath, exist_ok=True)
    steps = collections.defaultdict(list)
    for name in args['names']:
        directory = os.path.join(lxcpath, name)
        rootfs = os.path.join(directory, 'rootfs')
        started = now()
        os.mkdir(directory)
        btrfsutil.create_snapshot(image_rootfs, rootfs)
        snapshotted = now()
        for entry, text in texts.items():
            text = text.replace(template['dir'], directory).replace(template['name'], name)
            if entry == 'config' and args.get('include'):
                # common.conf drops capabilities (lxc.cap.drop), which LXC refuses next to our
                # lxc.cap.keep; this figure is about common.conf's hooks, so its list stands.
                text = 'lxc.include = %s\n' % args['include'] + ''.join(
                    line for line in text.splitlines(True) if not line.startswith('lxc.cap.keep'))
            with open(os.path.join(directory, entry), 'w') as handle:
                handle.write(text)
        configured = now()
        container = lxc.Container(name, lxcpath)
        if not container.start(useinit=False, daemonize=True, close_fds=True, cmd=tuple(command)) \
                or not container.wait('RUNNING', 10):
            raise RuntimeError('raw floor: LXC could not start %s in %s' % (name, lxcpath))
        running = now()
        steps['snapshot'].append(ms(snapshotted - started))
        steps['config'].append(ms(configured - snapshotted))
        steps['start'].append(ms(running - configured))
        steps['total'].append(ms(running - started))
    return {'steps_ms': dict(steps)}


def op_raw_stop_remove(args):
    """python3-lxc stop (a kill: the command has no handler for the halt signal), then delete."""
    import btrfsutil
    import lxc

    lxcpath = args['lxcpath']
    steps = collections.defaultdict(list)
    for name in args['names']:
        directory = os.path.join(lxcpath, name)
        container = lxc.Container(name, lxcpath)
        started = now()
        if not container.stop() and container.state != 'STOPPED':
            raise RuntimeError('raw floor: LXC could not stop %s in %s' % (name, lxcpath))
        container.wait('STOPPED', 10)
        stopped = now()
        steps['stop'].append(ms(stopped - started))
        if args.get('remove', True):
            btrfsutil.delete_subvolume(os.path.join(directory, 'rootfs'))
            shutil.rmtree(directory)
            steps['remove'].append(ms(now() - stopped))
    return {'steps_ms': dict(steps)}


def wait_for_cleaner(root):
    """Let btrfs finish deleting removed subvolumes, so the next case starts quiet."""
    import btrfsutil
    from btrfs_quiet import wait_for_cleaner as wait  # a sibling file: this one runs as a script

    wait(lambda: btrfsutil.sync(root), lambda: btrfsutil.deleted_subvolumes(root))


def commit_once(root, image, command, size_mib, synced, chunk, label):
    """One commit case on a fresh container; returns its figures and removes what it made."""
    import btrfsutil
    from ansible_collections.dockerlite.core.plugins.module_utils._managers.commit import CommitManager

    timer = TIMER
    name = 'commit-' + label
    run_container_manager(root, timer, name=name, image=image, command=command, state='started')
    rootfs = os.path.join(root, 'containers', name, 'rootfs')
    started = now()
    with open(os.path.join(rootfs, 'bench-data'), 'wb') as handle:
        for _mib in range(size_mib):
            handle.write(chunk)
    written = now()
    if synced:
        btrfsutil.sync(rootfs)
    ready = now()
    timer.take()
    params = dict(option_defaults('dockerlite_commit'), root=root, container=name, image='bench-commit:' + label)
    result = CommitManager(params, instrumented_store(root, timer)).run()
    committed = now()
    case = {'write_ms': ms(written - started), 'sync_ms': ms(ready - written) if synced else None,
            'commit_ms': ms(committed - ready), 'steps_ms': with_other(timer.take(), ms(committed - ready)),
            'actions': result['actions']}
    run_container_manager(root, timer, name=name, state='absent')
    store = instrumented_store(root, timer)
    with store.session():
        store.remove_image(result['image']['id'])
    wait_for_cleaner(root)
    return case


def op_commit(args):
    """Commit time against data written into a running container, with and without a sync first.

    The data is written from the host into the container's rootfs (the same dirty
    pages a process in the container would leave). "synced" runs btrfsutil.sync (the
    ioctl behind ``btrfs filesystem sync``) before the commit; "unsynced" commits at
    once. Each case runs ``repeat`` times on a fresh container; the median counts.
    """
    root, image, command = args['root'], args['image'], args['command']
    warm_up()
    chunk = os.urandom(MIB)
    cases = []
    for size_mib in args['sizes_mib']:
        for synced in (True, False):
            runs = [commit_once(root, image, command, size_mib, synced, chunk,
                                '%d-%s-%d' % (size_mib, 'synced' if synced else 'unsynced', index))
                    for index in range(args['repeat'])]
            middle = sorted(runs, key=lambda run: run['commit_ms'])[len(runs) // 2]
            cases.append(dict(middle, mib=size_mib, synced=synced, runs_ms=[run['commit_ms'] for run in runs]))
    return {'cases': cases}


def op_import_probe(args):
    """In a fresh process: import ansible.module_utils.basic, then the module, from the payload zip.

    AnsiballZ imports from a zip, where Python can neither read nor write .pyc
    files, so every run compiles what it imports; this measures exactly that.
    """
    sys.path.insert(0, args['zip'])
    started = now()
    importlib.import_module('ansible.module_utils.basic')
    basic = now()
    importlib.import_module(args['module'])
    done = now()
    return {'basic_ms': ms(basic - started), 'module_ms': ms(done - basic)}


OPERATIONS = {
    'managed': op_managed,
    'raw_create_start': op_raw_create_start,
    'raw_stop_remove': op_raw_stop_remove,
    'commit': op_commit,
    'import_probe': op_import_probe,
}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in OPERATIONS:
        sys.exit('usage: host_ops.py {%s} < args.json' % ','.join(sorted(OPERATIONS)))
    result = OPERATIONS[sys.argv[1]](json.load(sys.stdin))
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main()
