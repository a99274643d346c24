#!/usr/bin/python
# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations

DOCUMENTATION = r'''
module: dockerlite_exec
short_description: Run a command inside a running dockerlite container
version_added: 0.1.0
description:
  - Runs a program inside a running container through LXC attach, like C(docker exec), and returns its exit code and
    output the way M(ansible.builtin.command) does. A non-zero exit code fails the task.
  - The program runs in the container's namespaces and cgroup, with the container's capability bounding set and
    seccomp profile, as O(user), in O(chdir) (by default the container's user and working directory), with a clean
    environment.
  - The task reports changed whenever the command runs, since the module cannot know what it did; O(creates) and
    O(removes), tested inside the container, make it idempotent.
extends_documentation_fragment:
  - dockerlite.core.store
  - dockerlite.core.store.attributes
attributes:
  check_mode:
    support: partial
    details:
      - The command is not run in check mode. The task predicts only whether it would run (changed, RV(actions)); since
        O(creates) and O(removes) are tested inside the container in check mode too, that prediction is the real
        run's. What the command would do, its C(rc), output and whether it would fail cannot be predicted.
  diff_mode:
    support: N/A
    details: The module cannot know what a command changes, so there is nothing to diff.
  idempotent:
    support: N/A
    details: Whether running the command again changes anything depends on the command; with O(creates) or
      O(removes) the second run is skipped and reports no change.
options:
  container:
    description: Name of the container. It must be running; a stopped, frozen or missing container is an error.
    type: str
    required: true
  argv:
    description:
      - The program and its arguments, passed as they are (no shell, no quoting needed). Mutually exclusive with
        O(command).
    type: list
    elements: str
  command:
    description:
      - The program and its arguments, as a list, or as a string split into arguments like a shell would (quotes and
        backslashes are honoured) and run without a shell, as O(dockerlite.core.dockerlite_container#module:command)
        and M(ansible.builtin.command) do. Mutually exclusive with O(argv).
      - With O(shell=true), a shell command line (a string) run by C(/bin/sh -c) in the container, as
        M(ansible.builtin.shell) does.
      - "Deprecated: while O(shell) is not given, a string is still run by C(/bin/sh -c), with a deprecation warning;
        from dockerlite.core 1.0.0 on it is split and run without a shell. Set O(shell) to choose."
    type: raw
  shell:
    description:
      - V(true) runs O(command), a string, by C(/bin/sh -c) in the container (pipes, redirections, variables and
        globs work); it does not apply to O(argv).
      - V(false) runs O(command) without a shell.
      - When not given, V(false), except that a string O(command) still goes through C(/bin/sh -c) with a
        deprecation warning until dockerlite.core 1.0.0, which makes V(false) the default.
    type: bool
  chdir:
    description:
      - Directory in the container to run the command in, like C(docker exec --workdir) (hence the alias).
      - Default is the container's O(dockerlite.core.dockerlite_container#module:workdir) (its own or its image's),
        else V(/).
    type: str
    aliases: [workdir]
  env:
    description:
      - Environment variables for the command.
      - The command sees only these, the container's own environment
        (O(dockerlite.core.dockerlite_container#module:env)), a C(PATH) of
        V(/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) and a C(HOME) from the user's entry in the
        container's C(/etc/passwd), each overridable here; nothing from the host or from Ansible.
    type: dict
  user:
    description:
      - User to run the command as, V(name), V(uid), V(name:group) or V(uid:gid). Default is the container's
        O(dockerlite.core.dockerlite_container#module:user) (its own or its image's), else root, as with
        C(docker exec).
      - Names are looked up in the container's C(/etc/passwd) and C(/etc/group), read inside the container. A user
        found there gets its primary group and the groups that list it as a member; a numeric uid that is not there
        gets gid = uid unless a group is given.
    type: str
  stdin:
    description: Text fed to the command's standard input; empty input when not given.
    type: str
  stdin_add_newline:
    description: Append a newline to O(stdin), as M(ansible.builtin.command) does.
    type: bool
    default: true
  strip_empty_ends:
    description: Strip trailing newlines from RV(stdout) and RV(stderr), as M(ansible.builtin.command) does.
    type: bool
    default: true
  timeout:
    description:
      - Seconds the command may run, a number greater than 0 (V(2.5) or V(10)); the same option as
        O(dockerlite.core.dockerlite_container#module:timeout) for a one-off run. When it is exceeded, the command
        and every process in its process group are killed and the task fails, with what was output so far. No limit
        when not given.
    type: float
  creates:
    description:
      - A path or glob pattern in the container. If it matches, the command is not run and the task is not changed.
      - A relative path is taken from O(chdir). Checked before O(removes).
    type: str
  removes:
    description:
      - A path or glob pattern in the container. If it matches nothing, the command is not run and the task is not
        changed.
      - A relative path is taken from O(chdir).
    type: str
notes:
  - O(creates) and O(removes) are resolved inside the container, so a symbolic link in the container cannot point
    the test at a path on the host.
  - Processes the command leaves in the background keep running in the container (as with C(docker exec)); the
    module returns when the command itself exits.
seealso:
  - module: dockerlite.core.dockerlite_container
  - module: ansible.builtin.command
author:
  - dockerlite.core maintainers (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Run a program with arguments
  dockerlite.core.dockerlite_exec:
    container: web
    argv: [cat, /etc/os-release]
  register: os_release

- name: Run a command given as a string, split into arguments without a shell
  dockerlite.core.dockerlite_exec:
    container: web
    command: touch "/tmp/a file"
    shell: false

- name: Run a shell command line as an unprivileged user, once
  dockerlite.core.dockerlite_exec:
    container: web
    command: echo "generated at $(date)" > /tmp/stamp
    shell: true
    user: nobody
    creates: /tmp/stamp

- name: Feed input and pass variables
  dockerlite.core.dockerlite_exec:
    container: web
    argv: [/bin/sh, -c, 'read line; echo "$GREETING, $line"']
    stdin: world
    env:
      GREETING: hello

- name: Give up after ten seconds
  dockerlite.core.dockerlite_exec:
    container: web
    argv: [/usr/local/bin/migrate]
    chdir: /srv/app
    timeout: 10
'''

RETURN = r'''
cmd:
  description: The argument list that was run (or would be); with O(shell=true), V([/bin/sh, -c, <command>]).
  returned: always
  type: list
  elements: str
  sample: [/bin/sh, -c, echo hello]
rc:
  description:
    - Exit code of the command; minus the signal number when a signal killed it (V(-9) after O(timeout)).
  returned: when the command ran (not in check mode, and not skipped by O(creates) or O(removes))
  type: int
  sample: 0
stdout:
  description: Standard output of the command.
  returned: always
  type: str
  sample: hello
stderr:
  description: Standard error of the command.
  returned: always
  type: str
  sample: ''
stdout_lines:
  description: RV(stdout) split into lines.
  returned: always
  type: list
  elements: str
  sample: [hello]
stderr_lines:
  description: RV(stderr) split into lines.
  returned: always
  type: list
  elements: str
  sample: []
delta:
  description: Seconds the command ran.
  returned: when the command ran
  type: float
  sample: 0.012
msg:
  description: Why the command did not run, or why the task failed.
  returned: when the command did not run, or failed
  type: str
  sample: Did not run command since '/tmp/stamp' exists
actions:
  description: V([exec]) when the command ran (or would run in check mode), else V([]).
  returned: always
  type: list
  elements: str
  sample: [exec]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.dockerlite.core.plugins.module_utils._common.codecache import install as install_code_cache

# Before the collection's other imports: they load their compiled code from the host's cache.
install_code_cache()

from ansible_collections.dockerlite.core.plugins.module_utils._managers.exec import ExecManager
from ansible_collections.dockerlite.core.plugins.module_utils._common.runner import argument_spec, run_module


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            container=dict(type='str', required=True),
            argv=dict(type='list', elements='str'),
            command=dict(type='raw'),
            shell=dict(type='bool'),
            chdir=dict(type='str', aliases=['workdir']),
            env=dict(type='dict'),
            user=dict(type='str'),
            stdin=dict(type='str'),
            stdin_add_newline=dict(type='bool', default=True),
            strip_empty_ends=dict(type='bool', default=True),
            timeout=dict(type='float'),
            creates=dict(type='str'),
            removes=dict(type='str'),
        ),
        mutually_exclusive=[('argv', 'command')],
        required_one_of=[('argv', 'command')],
        supports_check_mode=True,
    )
    run_module(module, ExecManager)


if __name__ == '__main__':
    main()
