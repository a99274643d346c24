#!/usr/bin/env python
# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Run the README's commands, as a newcomer would, from a fresh clone, on a throwaway store.

    tests/readme/run_readme.py            (as root; `make readme-test` runs it with the venv)

The commands and playbooks are read from README.md itself (the fenced blocks under the
headings named below), so a README that drifts from the code fails here. What runs:

* Install from a release tarball: ``ansible-galaxy collection build`` in a fresh clone, then
  ``ansible-galaxy collection install`` of the file name the README gives, as written, outside
  the clone (HOME is this run's, so it lands in its ``~/.ansible/collections``); the first
  playbook then runs from there.
* Install from a checkout: ``make collection`` in the clone; every later command runs from
  the clone, where its ``ansible.cfg`` finds the copy.
* The store set up by hand (*Requirements*), the first playbook (twice: the second run must
  report ``changed=0``), the playbook and the ad hoc command of *Modules*, the fleet command
  (verbatim with ``--syntax-check``, since its hosts are examples, and for real against this
  host through an inventory built from the example's group variables and busybox containers),
  and *Provisioning the inside of a container*: the inventory file, its two commands and the
  playbook that reaches a ``debian:python3`` container through the connection plugin.

Never touched: ``/var/lib/dockerlite`` is replaced by a store under this run's temporary
directory in every text taken from the README (and DOCKERLITE_ROOT points there, for the
modules that take the default), the roles' fstab and loopback file are redirected there, and
the prerequisites role installs nothing (no package index is contacted). The run fails if
``/var/lib/dockerlite`` or ``/etc/fstab`` changed. ``make demo`` is not run: it works on
those host paths by design.

The ``debian:python3`` image is imported from the tarball the ``connection_dockerlite``
integration target caches (DLT_TEST_CACHE_DIR, default /var/cache/dockerlite-test), which
``make test`` builds before this runs: debootstrap and apt take a minute or more. With
README_TEST_DEBOOTSTRAP=1 the README's own build playbook (a block of that section that
builds debian:python3 with debootstrap and commits it) runs instead; README_TEST_DEBIAN=skip
leaves the connection plugin playbook out.

Environment: VENV (default .venv of the repository) gives ansible; README_TEST_KEEP=1 keeps the
temporary directory (after the cleanup of mounts, loop devices and containers).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
HOST_STORE = '/var/lib/dockerlite'
HOST_FSTAB = '/etc/fstab'
DEBIAN_CACHE = 'bookworm-minbase-python3-v1.tar'
FENCE = re.compile(r'^(?P<indent> *)```(?P<lang>\w*)\s*$')


class ReadmeError(Exception):
    """A README command failed or the README lacks what this script looks for."""


def readme_blocks(text):
    """[(section heading, language, code)] of every fenced block, in order (indentation removed)."""
    blocks = []
    heading = ''
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith('#'):
            heading = line.lstrip('#').strip()
        match = FENCE.match(line)
        if match and match.group('lang'):
            indent = len(match.group('indent'))
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith('```'):
                body.append(lines[i][indent:])
                i += 1
            blocks.append((heading, match.group('lang'), '\n'.join(body) + '\n'))
        i += 1
    return blocks


def block(blocks, heading, lang, contains):
    """The one block of ``lang`` under a heading starting with ``heading`` whose code contains ``contains``."""
    found = [code for head, kind, code in blocks
             if head.startswith(heading) and kind == lang and contains in code]
    if len(found) != 1:
        raise ReadmeError('README.md: expected one %s block containing %r under "%s", found %d'
                          % (lang, contains, heading, len(found)))
    return found[0]


def commands(code):
    """The shell commands of a block: comments dropped, backslash continuations joined."""
    joined = re.sub(r'\\\n\s*', ' ', code)
    result = []
    for line in joined.splitlines():
        line = line.split(' #', 1)[0].strip() if not line.lstrip().startswith('#') else ''
        if line:
            result.append(line)
    return result


class Run:
    """The run's temporary directory, environment, and what it must clean up."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix='dlt-readme.')
        # Unprivileged containers' root must be able to traverse every directory above the store.
        os.chmod(self.work, 0o711)
        self.store = os.path.join(self.work, 'store')
        self.clone = os.path.join(self.work, 'clone')
        # A directory without an ansible.cfg, as a newcomer's own would be.
        self.outside = os.path.join(self.work, 'elsewhere')
        os.makedirs(self.outside)
        venv = os.environ.get('VENV', os.path.join(REPO, '.venv'))
        self.env = dict(os.environ)
        self.env.update({
            'PATH': '%s:%s' % (os.path.join(venv, 'bin'), os.environ.get('PATH', '/usr/bin:/bin')),
            # A home of its own: no collection installed earlier under ~/.ansible can hide a missing one.
            'HOME': os.path.join(self.work, 'home'),
            'DOCKERLITE_ROOT': self.store,
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_LOCALHOST_WARNING': '0',
        })
        for name in ('ANSIBLE_CONFIG', 'ANSIBLE_COLLECTIONS_PATH', 'ANSIBLE_COLLECTIONS_PATHS', 'DLT_TEST_TMPDIR'):
            self.env.pop(name, None)
        os.makedirs(self.env['HOME'])
        # Role variables that keep the roles off the host's own files (the names of before and
        # after the roles' variables were prefixed, so that either tree is covered).
        self.role_vars = {
            'dockerlite_root': self.store, 'dockerlite_volume_root': self.store,
            'dockerlite_volume_file': self.store + '.img',
            'dockerlite_fstab': os.path.join(self.work, 'fstab'),
            'dockerlite_volume_fstab': os.path.join(self.work, 'fstab'),
            'prerequisites_install': False, 'dockerlite_prerequisites_install': False,
        }
        with open(os.path.join(self.work, 'fstab'), 'w', encoding='utf-8'):
            pass
        self.timings = []

    def localize(self, text):
        """README text with the host's store replaced by this run's."""
        text = text.replace(HOST_STORE, self.store)
        if HOST_FSTAB in text:
            raise ReadmeError('the host fstab is named in %r' % text)
        return text

    def write(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(text)
        return path

    def sh(self, label, argv, cwd=None, expect_rc=0):
        """Run ``argv`` (a list, or a README command line run by /bin/sh); return its output."""
        shown = argv if isinstance(argv, str) else ' '.join(shlex.quote(arg) for arg in argv)
        print('\n--- %s\n$ %s' % (label, shown), flush=True)
        start = time.monotonic()
        proc = subprocess.run(argv, cwd=cwd or self.work, env=self.env, shell=isinstance(argv, str),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, check=False)
        elapsed = time.monotonic() - start
        self.timings.append((label, elapsed))
        print(proc.stdout, end='', flush=True)
        if proc.returncode != expect_rc:
            raise ReadmeError('%s: exit code %d, expected %d: %s' % (label, proc.returncode, expect_rc, shown))
        return proc.stdout

    def extra_vars(self):
        return ['--extra-vars', yaml.safe_dump(self.role_vars, default_flow_style=True).strip()]

    def cleanup(self):
        """Stop the containers of the store, then unmount and detach what is under the work directory."""
        lxcpath = os.path.join(self.store, 'containers')
        if os.path.isdir(lxcpath):
            active = subprocess.run(['lxc-ls', '--lxcpath', lxcpath, '--line', '--active'],
                                    stdout=subprocess.PIPE, text=True, check=False).stdout.split()
            for name in active:
                subprocess.run(['lxc-stop', '--kill', '--lxcpath', lxcpath, '--name', name], check=False)
        mounts = subprocess.run(['findmnt', '--list', '--noheadings', '--output', 'TARGET'],
                                stdout=subprocess.PIPE, text=True, check=False).stdout.splitlines()
        for target in sorted((m for m in mounts if m.startswith(self.work + '/')), reverse=True):
            for attempt in range(5):
                if subprocess.run(['umount', '--', target], check=False).returncode == 0:
                    break
                time.sleep(attempt + 1)
            else:
                print('run_readme: could not unmount %s; keeping %s' % (target, self.work), file=sys.stderr)
                return False
        loops = subprocess.run(['losetup', '--list', '--noheadings', '--output', 'NAME,BACK-FILE'],
                               stdout=subprocess.PIPE, text=True, check=False).stdout.splitlines()
        for line in loops:
            dev, dummy, backing = line.strip().partition(' ')
            if backing.strip().startswith(self.work + '/'):
                subprocess.run(['losetup', '--detach', dev], check=False)
        if os.environ.get('README_TEST_KEEP') != '1':
            subprocess.run(['rm', '-rf', '--one-file-system', '--', self.work], check=False)
        return True


def host_state():
    """What the run must leave alone: the host store's listing and the fstab's bytes."""
    listing = sorted(os.listdir(HOST_STORE)) if os.path.isdir(HOST_STORE) else None
    with open(HOST_FSTAB, 'rb') as handle:
        return listing, os.path.lexists(HOST_STORE), handle.read()


def recap_changed(output):
    """changed= of the localhost line of a PLAY RECAP."""
    found = re.findall(r'^localhost\s*:.*\bchanged=(\d+)', output, re.MULTILINE)
    if not found:
        raise ReadmeError('no PLAY RECAP line for localhost')
    return int(found[-1])


def install_from_tarball(run, blocks, text):
    """*Install*, release tarball: build in the clone, install the file the README names."""
    names = re.findall(r'ansible-galaxy collection install (\S+\.tar\.gz)', text)
    if len(names) != 1:
        raise ReadmeError('README.md: expected one "ansible-galaxy collection install <tarball>", found %r' % names)
    if 'ansible-galaxy collection build' not in text:
        raise ReadmeError('README.md: "ansible-galaxy collection build" is not mentioned')
    run.sh('build a release tarball', ['ansible-galaxy', 'collection', 'build'], cwd=run.clone)
    if not os.path.isfile(os.path.join(run.clone, names[0])):
        raise ReadmeError('README.md names %s, but the build made %s' % (
            names[0], [n for n in os.listdir(run.clone) if n.endswith('.tar.gz')]))
    # Installed as written, from a directory without an ansible.cfg: into ~/.ansible/collections
    # (this run's HOME), where ansible-playbook run from anywhere finds it.
    shutil.copy(os.path.join(run.clone, names[0]), run.outside)
    run.sh('install the tarball', ['ansible-galaxy', 'collection', 'install', names[0]], cwd=run.outside)


def first_playbook(run, blocks):
    """*A first playbook*, with the collection installed from the tarball, twice."""
    playbook = run.write('first.yml', run.localize(block(blocks, 'A first playbook', 'yaml', '- name:')))
    argv = ['ansible-playbook', playbook] + run.extra_vars()
    run.sh('first playbook (from the tarball)', argv, cwd=run.outside)
    second = run.sh('first playbook again', argv, cwd=run.outside)
    if recap_changed(second) != 0:
        raise ReadmeError('the README says a second run of the first playbook reports changed=0; it did not')


def store_by_hand(run, blocks):
    """*Requirements*: the store made by hand, on a path of this run."""
    code = block(blocks, 'Requirements', 'sh', 'mkfs.btrfs')
    manual = os.path.join(run.work, 'manual')
    for line in commands(code.replace(HOST_STORE, manual)):
        run.sh('store by hand', line)
    fstype = run.sh('check the store by hand', ['findmnt', '--noheadings', '--output', 'FSTYPE,OPTIONS', manual])
    if not fstype.startswith('btrfs') or 'noatime' not in fstype:
        raise ReadmeError('the store made by hand is not a btrfs mount with noatime: %s' % fstype)
    run.sh('unmount the store by hand', ['umount', manual])


def modules_section(run, blocks):
    """*Modules*: the playbook, then the ad hoc command, from the checkout."""
    playbook = run.write('modules.yml', run.localize(block(blocks, 'Modules', 'yaml', 'dockerlite_commit')))
    run.sh('modules playbook', ['ansible-playbook', playbook], cwd=run.clone)
    for line in commands(block(blocks, 'Modules', 'sh', 'ansible localhost')):
        out = run.sh('ad hoc command', run.localize(line), cwd=run.clone)
        if '"state": "stopped"' not in out:
            raise ReadmeError('the ad hoc command did not report the container stopped')


def fleet_command(blocks):
    """The fleet command of *Roles and playbooks*, as an argv."""
    lines = commands(block(blocks, 'Roles and playbooks', 'sh', 'fleet.yml'))
    if len(lines) != 1:
        raise ReadmeError('README.md: expected one fleet command, found %r' % lines)
    return shlex.split(lines[0])


def fleet_as_written(run, blocks):
    """The fleet command as written, from the checkout; its hosts are examples, so a syntax check."""
    run.sh('fleet command as written (its hosts are examples: syntax check)',
           fleet_command(blocks) + ['--syntax-check'], cwd=run.clone)


def fleet_here(run, blocks):
    """The fleet command for real, on this host, with the example's group variables and busybox containers."""
    argv = fleet_command(blocks)
    inventory_path = argv[argv.index('-i') + 1]
    with open(os.path.join(run.clone, inventory_path), encoding='utf-8') as handle:
        example = yaml.safe_load(handle)
    group = example['all']['children']['dockerlite']
    host_vars = dict(group.get('vars') or {})
    # The example's hosts are reached over SSH as root; this host is reached locally.
    host_vars.pop('ansible_user', None)
    host_vars['dockerlite_images'] = [i for i in host_vars.get('dockerlite_images', []) if i['source'] == 'busybox']
    containers = []
    for values in group['hosts'].values():
        containers += [c for c in values.get('dockerlite_containers', []) if c['image'] == 'busybox'
                       and not c.get('mounts') and c['name'] not in [d['name'] for d in containers]]
    host_vars.update({'dockerlite_containers': containers, 'ansible_connection': 'local'})
    host_vars.update(run.role_vars)
    inventory = run.write('fleet-inventory.yml', yaml.safe_dump(
        {'all': {'children': {'dockerlite': {'hosts': {'localhost': host_vars}}}}}))
    argv[argv.index('-i') + 1] = inventory
    out = run.sh('fleet command on this host', argv, cwd=run.clone)
    if recap_changed(out) == 0:
        raise ReadmeError('the fleet run changed nothing: it was to start the containers %s'
                          % [c['name'] for c in containers])


def debian_image(run, blocks, heading):
    """The debian:python3 image: built as the README says (README_TEST_DEBOOTSTRAP=1), else from the cache."""
    builds = [code for head, kind, code in blocks
              if head.startswith(heading) and kind == 'yaml' and 'debian:python3' in code and 'debootstrap' in code
              and 'dockerlite_commit' in code]
    if builds and os.environ.get('README_TEST_DEBOOTSTRAP') == '1':
        run.sh('build debian:python3 as the README does', ['ansible-playbook', run.write(
            'debian-build.yml', run.localize(builds[0]))], cwd=run.clone)
        return
    cache = os.path.join(os.environ.get('DLT_TEST_CACHE_DIR') or '/var/cache/dockerlite-test', DEBIAN_CACHE)
    print('\n--- %s: debian:python3 imported from %s (README_TEST_DEBOOTSTRAP=1 builds it as the README says)'
          % ('the README builds debian:python3 with debootstrap, which takes a minute or more' if builds
             else 'the README does not build debian:python3', cache), flush=True)
    if not os.path.isfile(cache):
        raise ReadmeError('no %s: run tests/integration/run.sh connection_dockerlite first (it builds and caches '
                          'the image), or set README_TEST_DEBIAN=skip' % cache)
    importer = run.write('debian-image.yml', yaml.safe_dump([{
        'name': 'The debian:python3 image the README uses (the connection_dockerlite target builds it)',
        'hosts': 'localhost', 'gather_facts': False,
        'vars': {'ansible_python_interpreter': '/usr/bin/python3'},
        'tasks': [{'name': 'Import it', 'dockerlite.core.dockerlite_image': {
            'name': 'debian:python3', 'source': 'archive', 'path': cache, 'root': run.store}}]}], sort_keys=False))
    run.sh('import debian:python3', ['ansible-playbook', importer], cwd=run.clone)


def provisioning(run, blocks):
    """*Provisioning the inside of a container*: inventory plugin commands, then the connection plugin playbook."""
    heading = 'Provisioning the inside'
    inventory = block(blocks, heading, 'yaml', 'plugin: dockerlite.core.dockerlite')
    name = re.search(r'^# (\S+\.dockerlite\.ya?ml)', inventory, re.MULTILINE).group(1)
    run.write(os.path.join('clone', name), run.localize(inventory))
    outputs = [run.sh('inventory plugin', line, cwd=run.clone)
               for line in commands(block(blocks, heading, 'sh', 'ansible-inventory'))]
    if '@state_running' not in outputs[0] or '|  |--hello' not in outputs[0]:
        raise ReadmeError('ansible-inventory --graph does not show the running container hello')
    if not re.search(r'^hello \| CHANGED \| rc=0 >>\nhello$', outputs[1], re.MULTILINE):
        raise ReadmeError('raw through the inventory did not print the container hello\'s hostname')

    if os.environ.get('README_TEST_DEBIAN') == 'skip':
        print('\n--- SKIPPED (README_TEST_DEBIAN=skip): the debian:python3 playbook', flush=True)
        return
    debian_image(run, blocks, heading)
    playbook = run.write('provision.yml', run.localize(block(blocks, heading, 'yaml', 'ansible.builtin.add_host')))
    run.sh('connection plugin playbook', ['ansible-playbook', playbook], cwd=run.clone)
    motd = run.sh('read /etc/motd in the container', [
        'lxc-attach', '--lxcpath', os.path.join(run.store, 'containers'), '--name', 'app', '--', 'cat', '/etc/motd'])
    if motd.strip() != 'hello from app':
        raise ReadmeError('/etc/motd in the container app is %r' % motd)


def main():
    if os.geteuid() != 0:
        sys.exit('run_readme: needs root (loop devices, mounts, LXC)')
    before = host_state()
    run = Run()
    failed = None
    try:
        # A fresh clone of what is committed: the README, and every file it relies on, as a newcomer gets them.
        run.sh('fresh clone', ['git', 'clone', '--quiet', REPO, run.clone])
        with open(os.path.join(run.clone, 'README.md'), encoding='utf-8') as handle:
            text = handle.read()
        blocks = readme_blocks(text)
        install_from_tarball(run, blocks, text)
        run.sh('install from a checkout', ['make', 'collection'], cwd=run.clone)
        # The cheap checks first, so that a README that is wrong there fails in seconds.
        fleet_as_written(run, blocks)
        store_by_hand(run, blocks)
        first_playbook(run, blocks)
        modules_section(run, blocks)
        fleet_here(run, blocks)
        provisioning(run, blocks)
    except (ReadmeError, OSError, KeyError, ValueError, AttributeError, yaml.YAMLError) as exc:
        failed = exc
    finally:
        cleaned = run.cleanup()
    if host_state() != before:
        failed = failed or ReadmeError('%s or %s changed during the run' % (HOST_STORE, HOST_FSTAB))
    print('\nREADME commands:')
    for label, elapsed in run.timings:
        print('  %6.1f s  %s' % (elapsed, label))
    print('  %6.1f s  total' % sum(elapsed for dummy, elapsed in run.timings))
    if failed or not cleaned:
        print('readme-test: FAIL: %s' % (failed or 'cleanup incomplete'), file=sys.stderr)
        return 1
    print('readme-test: PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
