# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_exec: run a command in a running container, like ansible.builtin.command."""

from __future__ import annotations

import posixpath
import re

from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError, ValidationError
from ansible_collections.dockerlite.core.plugins.module_utils._managers.base import NEXT_MAJOR, Manager
from ansible_collections.dockerlite.core.plugins.module_utils._common.validation import (
    normalize_command, parse_user, validate_container_name, validate_timeout)

SHELL = ['/bin/sh', '-c']
DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
ENV_NAME_RE = re.compile(r'[^=\x00]+')


IMPLICIT_SHELL_DEPRECATION = (
    'dockerlite_exec ran command through /bin/sh -c because shell is not set. From dockerlite.core %s on, a '
    'command string is split into arguments like a shell would and run without a shell, as command is in '
    'dockerlite_container (and in community.docker.docker_container_exec). Set shell: true to keep the shell, '
    'or shell: false (or argv) to get the new behaviour now' % NEXT_MAJOR)


def exec_argv(argv, command, shell=False):
    """The argv to run and whether it relied on the deprecated implicit shell.

    ``argv`` is taken as it is; ``command`` is a list, or a string split like a shell would
    (no shell), as everywhere in the collection. ``shell=True`` runs the string ``command``
    by ``/bin/sh -c``; ``shell=None`` (not given) still does so for a string, deprecated.
    """
    if argv is not None:
        if shell:
            raise ValidationError('shell: true runs command, a string, by /bin/sh -c; it does not apply to argv %r'
                                  % (argv,))
        return normalize_command(list(argv), 'argv'), False
    if shell or (shell is None and isinstance(command, str)):
        if not isinstance(command, str):
            raise ValidationError('shell: true needs command as one string (a shell command line), got %r'
                                  % (command,))
        if not command.strip():
            raise ValidationError('command %r must be a non-empty string' % (command,))
        if '\x00' in command:
            raise ValidationError('command %r contains a NUL byte' % (command,))
        return SHELL + [command], shell is None
    return normalize_command(command, 'command'), False


def normalize_exec_env(value):
    """Variables for execve: any name without "=" or NUL, any value without NUL."""
    env = {}
    for key, raw in (value or {}).items():
        if not isinstance(key, str) or not ENV_NAME_RE.fullmatch(key):
            raise ValidationError('env name %r is invalid: it must be non-empty, without "=" or NUL' % (key,))
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            raise ValidationError('env value of %s must be a string, got %r; quote it' % (key, raw))
        text = str(raw)
        if '\x00' in text:
            raise ValidationError('env value of %s contains a NUL byte' % key)
        env[key] = text
    return env


def container_path(value, what, base):
    """An absolute, normalised path in the container; a relative one is taken from ``base``."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or '\x00' in value:
        raise ValidationError('%s %r must be a non-empty path' % (what, value))
    return posixpath.normpath(posixpath.join(base, value))


def execution_env(container_env, given_env):
    """A clean environment: a PATH, the container's variables, then the task's (HOME comes from
    the user's passwd entry inside the container unless given). Nothing of the host's."""
    env = {'PATH': DEFAULT_PATH}
    env.update(container_env or {})
    env.update(given_env)
    return env


class ExecManager(Manager):
    """dockerlite_exec: plan whether the command runs (creates/removes), then run it.

    Only the lookup of the container holds the store lock: a long command must not hold
    up the other modules, so run() takes the session for that step alone.
    """

    def validate(self):
        params = self.params
        argv, implicit_shell = exec_argv(params['argv'], params['command'], params['shell'])
        request = {'name': validate_container_name(params['container'], 'container'),
                   'argv': argv, 'env': normalize_exec_env(params['env'])}
        # Relative to the container's workdir when chdir is not given; checked here, resolved in plan().
        request['chdir'] = container_path(params['chdir'], 'chdir', '/')
        for key in ('creates', 'removes'):
            container_path(params[key], key, '/')
        parse_user(params['user'])
        request['user'] = params['user']
        request['timeout'] = validate_timeout(params['timeout'])
        if implicit_shell:
            self.note_deprecation(IMPLICIT_SHELL_DEPRECATION, NEXT_MAJOR)
        return request

    def run(self):
        request = self.validate()
        name = request['name']
        with self.store.session(check_mode=True):
            container = self.store.get_container(name)
            if container is None:
                raise ValidationError('container %s does not exist in %s' % (name, self.store.root))
            state = self.store.container_status(name)[0]
        self.plan(dict(request, container=container, state=state))
        if not self.check_mode:
            self.apply()
        return self.report()

    def plan(self, request):
        """``exec`` unless creates/removes (tested inside the container, in check mode too) say it need not run.

        The user and directory default to the container's (its ``user`` and ``workdir``), as with docker exec.
        """
        name, state = request['name'], request['state']
        spec = request['container']['spec']
        chdir = request['chdir'] or spec.get('workdir') or '/'
        request = dict(request, chdir=chdir, creates=container_path(self.params['creates'], 'creates', chdir),
                       removes=container_path(self.params['removes'], 'removes', chdir))
        request['user'], request['group'] = parse_user(request['user'] if request['user'] is not None
                                                       else spec.get('user'))
        if state != 'running':
            raise DockerliteError('container %s is %s; dockerlite_exec needs it running (dockerlite_container '
                                  'state: started)' % (name, state), state=state)
        self._request = request
        self._outcome = None
        self._skip = self._skip_reason(name, request['creates'], request['removes'])
        if not self._skip:
            self.actions.append('exec')

    def apply_exec(self):
        request, params = self._request, self.params
        stdin = params['stdin']
        if stdin is not None:
            stdin = (stdin + '\n' if params['stdin_add_newline'] else stdin).encode('utf-8', 'surrogateescape')
        self._outcome = self.store.exec_in_container(
            request['name'], request['argv'], execution_env(request['container']['spec'].get('env'), request['env']),
            cwd=request['chdir'], user=request['user'], group=request['group'], stdin=stdin,
            timeout=request['timeout'])

    def report(self):
        argv = self._request['argv']
        if self._skip:
            return self._report(argv, None, msg=self._skip)
        if self._outcome is None:
            return self._report(argv, None, msg='Command would have run if not in check mode')
        return self._report(argv, self._outcome, container=self._request['name'])

    def _skip_reason(self, name, creates, removes):
        """Why the command need not run, from creates/removes tested inside the container."""
        if creates is None and removes is None:
            return None
        created, to_remove = self.store.test_paths_in_container(name, creates, removes)
        verb = 'Would not run' if self.check_mode else 'Did not run'
        if creates is not None and created:
            return "%s command since '%s' exists" % (verb, creates)
        if removes is not None and not to_remove:
            return "%s command since '%s' does not exist" % (verb, removes)
        return None

    def _report(self, argv, outcome, msg=None, container=None):
        """The result; a command that ran is reported like ansible.builtin.command reports it."""
        if outcome is None:
            # No rc: Ansible counts a result with a non-zero rc (None included) as failed.
            result = self.result(cmd=argv, stdout='', stderr='', stdout_lines=[], stderr_lines=[], msg=msg)
            result.pop('diff')
            return result
        strip = self.params['strip_empty_ends']
        stdout, stderr = (_text(data, strip) for data in (outcome.stdout, outcome.stderr))
        result = self.result(cmd=argv, rc=outcome.rc, stdout=stdout, stderr=stderr,
                             stdout_lines=stdout.splitlines(), stderr_lines=stderr.splitlines(),
                             delta=round(outcome.seconds, 3))
        result.pop('diff')
        if outcome.timed_out:
            result.update(failed=True, msg='command %s in container %s did not finish within %s seconds and was '
                                           'killed' % (argv, container, self.params['timeout']))
        elif outcome.rc != 0:
            result.update(failed=True, msg='non-zero return code %d from command %s in container %s'
                                           % (outcome.rc, argv, container))
        return result


def _text(data, strip):
    text = data.decode('utf-8', 'replace')
    return text.rstrip('\r\n') if strip else text
