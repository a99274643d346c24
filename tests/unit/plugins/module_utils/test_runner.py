# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""run_module: what a manager reports becomes module.warn, module.deprecate and exit_json/fail_json."""

from __future__ import annotations

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._common import runner
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._managers.base import NEXT_MAJOR, Manager
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import FakeHost


class Ended(Exception):
    pass


class FakeModule:
    """The part of AnsibleModule that run_module uses."""

    def __init__(self, root):
        self.params = {'root': root}
        self.check_mode = False
        self._diff = False
        self.warnings, self.deprecations = [], []

    def warn(self, msg):
        self.warnings.append(msg)

    def deprecate(self, msg, version=None, date=None, collection_name=None):
        self.deprecations.append((msg, version, collection_name))

    def exit_json(self, **result):
        raise Ended('exit', result)

    def fail_json(self, **result):
        raise Ended('fail', result)


class Deprecating(Manager):
    fail = False

    def run(self):
        self.note_deprecation('old spelling', NEXT_MAJOR)
        self.note_deprecation('old spelling', NEXT_MAJOR)
        if self.fail:
            raise ValidationError('bad value')
        return self.result()


class DeprecatingAndFailing(Deprecating):
    fail = True


@pytest.mark.parametrize('manager_class, ending', [(Deprecating, 'exit'), (DeprecatingAndFailing, 'fail')])
def test_deprecations_are_emitted_once_as_the_collections(tmp_path, monkeypatch, manager_class, ending):
    host = FakeHost(tmp_path / 'store')
    monkeypatch.setattr(runner, 'open_store', lambda root, store_class=None: host.store())
    module = FakeModule(host.root)
    with pytest.raises(Ended) as ended:
        runner.run_module(module, manager_class)
    kind, result = ended.value.args
    assert kind == ending and 'deprecations' not in result
    assert module.deprecations == [('old spelling', '1.0.0', 'dockerlite.core')]
