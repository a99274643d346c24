# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The cache of compiled module_utils code used when a module runs from its zip payload."""

from __future__ import annotations

import os
import stat
import sys
import traceback
import zipfile
import zipimport

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._common import codecache

SAMPLE = 'ansible_collections.dockerlite.core.zz_codecache_sample'
SOURCE = b'''"""A sample module."""
VALUE = 6 * 7


def fail():
    raise ValueError('sample failure')
'''


def payload(tmp_path, source=SOURCE, name='payload.zip'):
    # A new name for each payload: zipimport keeps the directory of an archive it has read.
    path = tmp_path / name
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr(SAMPLE.replace('.', '/') + '.py', source)
    return str(path)


@pytest.fixture
def cache_dir(tmp_path):
    directory = tmp_path / 'cache' / 'python'
    assert codecache._ensure_dir(str(directory))
    return str(directory)


def load(archive, cache_dir):
    """Import the sample through a fresh finder; return (module, cache)."""
    finder = codecache.CachedFinder(zipimport.zipimporter(archive), codecache.CodeCache(cache_dir))
    sys.meta_path.insert(0, finder)
    try:
        sys.modules.pop(SAMPLE, None)
        __import__(SAMPLE)
        return sys.modules.pop(SAMPLE), finder.cache
    finally:
        sys.meta_path.remove(finder)


def entries(cache_dir):
    return sorted(os.listdir(cache_dir))


def test_first_import_compiles_and_stores_then_later_ones_read_the_cache(tmp_path, cache_dir):
    archive = payload(tmp_path)
    module, cache = load(archive, cache_dir)
    assert module.VALUE == 42 and (cache.hits, cache.misses) == (0, 1)
    [entry] = entries(cache_dir)
    assert entry.endswith('.%s.bin' % sys.implementation.cache_tag)
    assert stat.S_IMODE(os.stat(os.path.join(cache_dir, entry)).st_mode) == 0o600
    module, cache = load(archive, cache_dir)
    assert module.VALUE == 42 and (cache.hits, cache.misses) == (1, 0)
    assert module.__file__ == os.path.join(archive, SAMPLE.replace('.', '/') + '.py')


def test_changed_source_gets_its_own_entry(tmp_path, cache_dir):
    load(payload(tmp_path), cache_dir)
    module, cache = load(payload(tmp_path, SOURCE.replace(b'6 * 7', b'6 * 8'), 'changed.zip'), cache_dir)
    assert module.VALUE == 48 and cache.misses == 1
    assert len(entries(cache_dir)) == 2


@pytest.mark.parametrize('content', [b'', b'\x00garbage', b'\xe3' + b'x' * 40])
def test_corrupt_entry_is_compiled_again(tmp_path, cache_dir, content):
    archive = payload(tmp_path)
    load(archive, cache_dir)
    [entry] = entries(cache_dir)
    with open(os.path.join(cache_dir, entry), 'wb') as handle:
        handle.write(content)
    module, cache = load(archive, cache_dir)
    assert module.VALUE == 42 and cache.misses == 1
    module, cache = load(archive, cache_dir)
    assert cache.hits == 1


def test_entry_of_another_file_name_is_not_used(tmp_path, cache_dir):
    archive = payload(tmp_path)
    cache = codecache.CodeCache(cache_dir)
    cache.code(SOURCE, 'elsewhere.py')
    module, cache = load(archive, cache_dir)
    assert cache.misses == 1 and module.VALUE == 42


def test_traceback_shows_the_name_in_the_payload_and_the_line(tmp_path, cache_dir):
    archive = payload(tmp_path)
    load(archive, cache_dir)
    module, _cache = load(archive, cache_dir)
    with pytest.raises(ValueError) as caught:
        module.fail()
    text = ''.join(traceback.format_exception(caught.value))
    assert SAMPLE.replace('.', '/') + '.py' in text
    assert "raise ValueError('sample failure')" in text


def test_only_this_collection_is_found(tmp_path, cache_dir):
    finder = codecache.CachedFinder(zipimport.zipimporter(payload(tmp_path)), codecache.CodeCache(cache_dir))
    assert finder.find_spec('json') is None
    assert finder.find_spec('ansible_collections.other.core.zz_codecache_sample') is None
    assert finder.find_spec(SAMPLE + '_missing') is None


def test_unwritable_cache_still_loads(tmp_path):
    missing = str(tmp_path / 'absent' / 'deeper' / 'python')
    cache = codecache.CodeCache(missing)
    code = cache.code(SOURCE, 'sample.py')
    namespace = {}
    exec(code, namespace)
    assert namespace['VALUE'] == 42 and cache.misses == 1


def test_directory_is_created_private(tmp_path):
    directory = tmp_path / 'var-cache' / 'python'
    assert codecache._ensure_dir(str(directory))
    for path in (directory, directory.parent):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o700


@pytest.mark.parametrize('mode', [0o770, 0o707, 0o755, 0o711])
def test_directory_others_can_reach_or_write_is_refused(tmp_path, mode):
    directory = tmp_path / 'shared'
    directory.mkdir()
    os.chmod(directory, mode)
    assert not codecache._private_dir(str(directory))


def test_symlink_is_refused(tmp_path):
    target = tmp_path / 'target'
    target.mkdir(mode=0o700)
    (tmp_path / 'link').symlink_to(target)
    assert not codecache._private_dir(str(tmp_path / 'link'))


def test_directory_of_another_owner_is_refused(tmp_path, monkeypatch):
    directory = tmp_path / 'other'
    directory.mkdir(mode=0o700)
    monkeypatch.setattr(codecache.os, 'geteuid', lambda: os.stat(directory).st_uid + 1)
    assert not codecache._private_dir(str(directory))


def test_install_is_a_no_op_outside_a_zip_payload(tmp_path):
    before = list(sys.meta_path)
    assert codecache.install(str(tmp_path / 'cache')) is None
    assert sys.meta_path == before and not (tmp_path / 'cache').exists()


def test_directory_under_a_shared_parent_is_refused(tmp_path):
    parent = tmp_path / 'shared-parent'
    (parent / 'python').mkdir(parents=True, mode=0o700)
    os.chmod(parent, 0o777)
    assert not codecache._ensure_dir(str(parent / 'python'))


def test_freeze_only_in_a_payload(monkeypatch):
    frozen = []
    monkeypatch.setattr(codecache.gc, 'freeze', lambda: frozen.append(True))
    codecache.freeze()
    assert frozen == []
    monkeypatch.setattr(codecache, '_in_payload', lambda: True)
    codecache.freeze()
    assert frozen == [True]
