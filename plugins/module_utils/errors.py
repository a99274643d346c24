# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Exceptions shared by the dockerlite clients, store and managers.

Clients and the store raise these; only the module runner turns them into
``fail_json`` so that every layer below a module stays importable and testable.
"""

from __future__ import annotations


class DockerliteError(Exception):
    """A failure with a message for the user and extra result keys."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


class ValidationError(DockerliteError):
    """Bad input, detected before anything is touched."""


class CommandError(DockerliteError):
    """An external command failed; carries cmd, rc, stdout and stderr."""

    def __init__(self, msg, cmd, rc, stdout, stderr):
        super().__init__(msg, cmd=list(cmd), rc=rc, stdout=stdout, stderr=stderr)


class MissingLibraryError(DockerliteError):
    """A Python library needed on the managed host is not importable."""

    def __init__(self, library, import_error):
        super().__init__('%s is not importable' % library)
        self.library = library
        self.import_error = import_error
