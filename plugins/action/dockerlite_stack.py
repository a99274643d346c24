# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The module's action: Ansible's own, with the garbage collector paused (see plugin_utils/_module_action.py)."""

from __future__ import annotations

from ansible_collections.dockerlite.core.plugins.plugin_utils._module_action import ModuleAction


class ActionModule(ModuleAction):
    pass
