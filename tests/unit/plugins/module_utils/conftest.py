# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Fixtures shared by the module_utils tests."""

from __future__ import annotations

import pytest

from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import DeterministicIds


@pytest.fixture
def ids(monkeypatch):
    """Ids and creation times that repeat from store to store, so two runs compare equal."""
    return DeterministicIds(monkeypatch)
