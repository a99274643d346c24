# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Keep the compiled code of the collection's module_utils on the managed host.

Ansible runs a module from a zip payload that it sends on every task. Python cannot
keep ``.pyc`` files inside it, so every module run compiles the module_utils it
imports again, which cost most of a dockerlite module's import time (90 ms of its
100 ms against 15 ms for ``file`` on the benchmark machine). ``install()``, called by
each module before it imports anything else of this collection, puts a finder first on
``sys.meta_path`` that loads this collection's modules from the payload as usual but
takes their code object from a cache of compiled code:

* the cache is a directory only root can write (``CACHE_DIR``, 0700, owned by the
  running user, checked before every use; anything else and the finder is not
  installed), like the ``__pycache__`` directories of the Python packages root runs;
* an entry is keyed by the SHA-256 of the module's source and by the interpreter's
  cache tag (``cpython-311``), so a new release, a changed file or another Python never
  reads an old entry, and entries are written to a temporary name and renamed;
* anything that goes wrong (no cache directory, a full disk, a corrupt entry) falls back
  to compiling, as Python does; deleting the directory is always safe.

It is a no-op outside a zip payload (unit tests and ``ansible-test`` import the
collection from a directory, where Python's own ``__pycache__`` applies).
"""

from __future__ import annotations

import gc
import hashlib
import importlib.machinery
import marshal
import os
import stat
import sys
import types
import zipimport

CACHE_DIR = '/var/cache/dockerlite/python'
PREFIX = 'ansible_collections.dockerlite.core.'
CODE_TYPE = types.CodeType


def _private_dir(path):
    """True when ``path`` is a real directory owned by us that no one else may write."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077


def _ensure_dir(path):
    """Create ``path`` (and its parent) private to the running user; True when it can be trusted."""
    parent = os.path.dirname(path)
    if _private_dir(path) and _private_dir(parent):
        return True
    for directory in (parent, path):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
        except OSError:
            return False
    return _private_dir(path) and _private_dir(parent)


class CodeCache:
    """Compiled code objects on disk, keyed by source digest and interpreter."""

    def __init__(self, directory, tag=None):
        self.directory = directory
        self.tag = tag or sys.implementation.cache_tag
        self.hits = 0
        self.misses = 0

    def _path(self, source):
        return os.path.join(self.directory, '%s.%s.bin' % (hashlib.sha256(source).hexdigest(), self.tag))

    def code(self, source, filename):
        """The code object of ``source`` (bytes), from the cache or compiled (and then stored)."""
        path = self._path(source)
        try:
            with open(path, 'rb') as handle:
                code = marshal.loads(handle.read())
        except (OSError, EOFError, ValueError, TypeError):
            code = None
        if isinstance(code, CODE_TYPE) and code.co_filename == filename:
            self.hits += 1
            return code
        self.misses += 1
        code = compile(source, filename, 'exec', dont_inherit=True)
        self._store(path, code)
        return code

    def _store(self, path, code):
        temporary = '%s.tmp-%d' % (path, os.getpid())
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(descriptor, 'wb') as handle:
                handle.write(marshal.dumps(code))
            os.rename(temporary, path)
        except OSError:
            try:
                os.unlink(temporary)
            except OSError:
                pass


class _CachedLoader:
    """Load one module of the payload zip, with its code from the cache."""

    def __init__(self, cache, source, name):
        self.cache = cache
        self.source = source
        self.name = name

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        # The code keeps the name inside the payload (not the payload's temporary path, which
        # changes every run): tracebacks show it, and their lines come from get_source.
        exec(self.cache.code(self.source, self.name), module.__dict__)

    def get_source(self, fullname):
        return self.source.decode('utf-8')


class CachedFinder:
    """Find this collection's (non-package) modules in the payload zip, and load them through the cache.

    The modules are read with the payload's own zipimporter, but not imported by it: its
    finder compiles a module only to learn its file name. Packages (the empty
    ``__init__.py`` files) are left to it.
    """

    def __init__(self, payload, cache):
        self.payload = payload
        self.cache = cache

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(PREFIX):
            return None
        name = fullname.replace('.', '/') + '.py'
        origin = os.path.join(self.payload.archive, name)
        try:
            source = self.payload.get_data(origin)
        except OSError:
            return None
        spec = importlib.machinery.ModuleSpec(fullname, _CachedLoader(self.cache, source, name), origin=origin)
        spec.has_location = True
        return spec


def _in_payload():
    return isinstance(globals().get('__loader__'), zipimport.zipimporter)


def freeze():
    """In a module run (from a zip payload), put every object made so far out of the cyclic
    collector's reach (``gc.freeze``): the modules a run imports live until it ends, so no
    collection needs to walk them again, neither one during the run nor the interpreter's
    last one at exit, which walked all of them (20-40 ms of a dockerlite module's exit,
    measured, against a few ms with them frozen). Elsewhere (unit tests) a no-op."""
    if _in_payload():
        gc.freeze()


def install(directory=CACHE_DIR):
    """Put the cached finder first on sys.meta_path when this collection runs from a zip payload.

    Ansible's own modules are imported by then: they are frozen (``freeze``) first.
    """
    if not _in_payload():
        return None
    freeze()
    loader = globals()['__loader__']
    for finder in sys.meta_path:
        if isinstance(finder, CachedFinder):
            return finder
    if not _ensure_dir(directory):
        return None
    finder = CachedFinder(loader, CodeCache(directory))
    sys.meta_path.insert(0, finder)
    return finder
