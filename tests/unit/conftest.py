# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Make ``ansible_collections.dockerlite.core`` importable under plain pytest.

ansible-test puts the directory holding ``ansible_collections`` on sys.path itself;
``make units`` runs pytest in the build copy (<build>/ansible_collections/dockerlite/core),
so the same directory is added here when the tests sit in such a tree.
"""

from __future__ import annotations

import os
import sys

_COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_PARTS = _COLLECTION_ROOT.split(os.sep)
if _PARTS[-3:] == ['ansible_collections', 'dockerlite', 'core']:
    _COLLECTIONS_PARENT = os.sep.join(_PARTS[:-3])
    if _COLLECTIONS_PARENT not in sys.path:
        sys.path.insert(0, _COLLECTIONS_PARENT)
