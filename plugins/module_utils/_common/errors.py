# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""Exceptions shared by the dockerlite clients, store and managers.

Clients and the store raise these; only the module runner turns them into
``fail_json`` so that every layer below a module stays importable and testable.
"""

from __future__ import annotations

import errno
import traceback

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


class DockerliteError(Exception):
    """A failure with a message for the user and extra result keys."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


class ValidationError(DockerliteError):
    """Bad input, detected before anything is touched."""


class StoreDataError(DockerliteError):
    """Something in the store that cannot be trusted; the message names the file and what is wrong."""

    def __init__(self, path, problem):
        super().__init__("%s: %s" % (path, problem), file=path)
        self.path = path
        self.problem = problem


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


def _os_error_text(exc):
    text = exc.strerror or str(exc)
    for name in (exc.filename, exc.filename2):
        if name is not None:
            text += ': %s' % (name,)
    return text


def as_dockerlite_error(exc, root):
    """Any exception as a DockerliteError with a message for the user (and the traceback in ``exception``).

    The one translation every module and worker uses, so that no Python exception
    reaches the user raw: a full filesystem, another OS error, or metadata that the
    store's checks let through but the code could not use.
    """
    if isinstance(exc, DockerliteError):
        return exc
    details = {'exception': ''.join(traceback.format_exception(type(exc), exc, exc.__traceback__))}
    if isinstance(exc, OSError):
        if exc.errno in NO_SPACE:
            msg = 'no space left on the store (%s): %s' % (root, _os_error_text(exc))
        else:
            msg = 'the store at %s could not be changed or read: %s' % (root, _os_error_text(exc))
        details['errno'] = exc.errno
    elif isinstance(exc, (KeyError, TypeError, ValueError, IndexError, AttributeError)):
        msg = ('unexpected data in the store at %s (%s: %s); the store holds something this collection did not '
               'write' % (root, type(exc).__name__, exc))
    else:
        msg = 'internal error while working on the store at %s: %s: %s' % (root, type(exc).__name__, exc)
    return DockerliteError(msg, **details)
