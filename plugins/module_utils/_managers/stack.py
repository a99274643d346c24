# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""dockerlite_stack: converge a list of containers in one run, each through ContainerManager.

One store session for the whole stack. Every member is validated and planned before
anything is changed; then the plans are carried out in three waves: the stops that come
before a store change, the store changes one container at a time (btrfs snapshots and
fsyncs do not overlap well), and the starts (and freezes) after them. The stop and start
waves run in up to ``parallel`` forked worker processes, since python3-lxc keeps the GIL
while LXC starts or stops a container and most of a start is spent waiting for the
kernel.

Membership lives in the store's stack records (``<root>/stacks/<stack>.json``, read and
written through the store): the members' names with the ids of their containers. A
recorded member is the stack's only while its container still has that id, so ``prune``
never removes a container that was replaced by someone else.
"""

from __future__ import annotations

from ansible_collections.dockerlite.core.plugins.module_utils._managers.container import (
    CONTAINER_OPTIONS, ContainerManager)
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import (
    DockerliteError, MissingLibraryError, ValidationError, as_dockerlite_error)
from ansible_collections.dockerlite.core.plugins.module_utils._common.parallel import (
    call_job, error_dict, run_parallel)
from ansible_collections.dockerlite.core.plugins.module_utils._store.idmap import HostIds, shared_idmap
from ansible_collections.dockerlite.core.plugins.module_utils._managers.base import Manager
from ansible_collections.dockerlite.core.plugins.module_utils._store.network import HostNetwork, container_ipv4
from ansible_collections.dockerlite.core.plugins.module_utils._common.validation import validate_container_name

STACK_STATES = ('present', 'started', 'stopped', 'absent')
# Plans are split around their store changes; the actions on either side touch only LXC.
STORE_ACTIONS = ('create', 'set_disk_limit', 'update_config', 'remove')
RUNTIME_ACTIONS = ('kill_orphan', 'stop', 'start', 'freeze', 'unfreeze')
DEFAULT_PARALLEL = 8
# Defaults of dockerlite_container's options, for members planned without task options
# (unlisted members that are removed).
MEMBER_DEFAULTS = {key: spec.get('default') for key, spec in CONTAINER_OPTIONS.items()}


def member_state(stack_state, own_state):
    """The state a member is converged to, as dockerlite_stack's ``state`` option documents."""
    if stack_state == 'absent' or own_state == 'absent':
        return 'absent'
    if stack_state == 'stopped':
        return 'stopped'
    return own_state or stack_state


def split_plan(actions):
    """(before, store, after): LXC actions before the store changes, the store changes, LXC actions after.

    None when a plan has no such shape (a one-off run); it is then carried out whole, in
    the store wave. A plan without store changes is all ``after``.
    """
    at = [i for i, action in enumerate(actions) if action in STORE_ACTIONS]
    if not at:
        before, middle, after = [], [], list(actions)
    else:
        before, middle, after = actions[:at[0]], actions[at[0]:at[-1] + 1], actions[at[-1] + 1:]
    if all(a in RUNTIME_ACTIONS for a in before + after) and all(a in STORE_ACTIONS for a in middle):
        return list(before), list(middle), list(after)
    return None


def action_text(detail):
    """One entry of the ``actions`` result: ``<action> <container>``, or ``<action> stack <stack>``."""
    if detail['what'] == 'stack':
        return '%s stack %s' % (detail['action'], detail['name'])
    return '%s %s' % (detail['action'], detail['name'])


def stack_view(name, members):
    """The ``stack`` return value."""
    return {'name': name, 'members': list(members)}


def duplicate_names(names):
    """{name: [indexes]} of the names listed more than once."""
    seen = {}
    for index, name in enumerate(names):
        seen.setdefault(name, []).append(index)
    return {name: indexes for name, indexes in seen.items() if len(indexes) > 1}


class StepsFailed(DockerliteError):
    """A member's actions stopped at a failure; ``done`` lists those that were carried out."""

    def __init__(self, exc, done):
        super().__init__(exc.msg, **exc.details)
        self.done = done


class SharedBridges:
    """The host's bridges, looked up once for all members of a stack."""

    def __init__(self, host_network):
        self.host_network = host_network
        self._bridges = {}

    def bridge(self, name):
        if name not in self._bridges:
            self._bridges[name] = self.host_network.bridge(name)
        return self._bridges[name]


class Member:
    """One container of the stack: its label for messages, its manager and its plan."""

    def __init__(self, label, name, manager, listed=True):
        self.label = label
        self.name = name
        self.manager = manager
        self.listed = listed
        self.done = []
        self.run_result = None
        self.error = None

    def steps(self, actions):
        """A job that carries out ``actions`` one by one, keeping track of those done."""
        def job():
            done = []
            for action in actions:
                try:
                    self.manager.apply([action])
                except MissingLibraryError:
                    raise
                except Exception as exc:  # pylint: disable=broad-except  # reported with the steps done
                    raise StepsFailed(as_dockerlite_error(exc, self.manager.store.root), done) from exc
                done.append(action)
            return done
        return job


class StackManager(Manager):
    """Converges the containers of one stack in one store session."""

    def __init__(self, params, store, check_mode=False, host_network=None):
        super().__init__(params, store, check_mode)
        self.host_network = host_network
        self.reserved = {}
        self.reserved_idmaps = {}
        self.host_ids = HostIds()
        self.members = []
        self.damaged_records = set()

    # -- validation, before the store is read ------------------------------

    def _member_params(self, given):
        params = dict(MEMBER_DEFAULTS)
        params.update(given)
        params.update(root=self.params['root'], state=member_state(self.params['state'], given.get('state')))
        return params

    def validate(self):
        """Check the stack's name and every member's options; return [(label, manager, name, ref, given)]."""
        validate_container_name(self.params['name'], 'stack name')
        if self.params['parallel'] < 1:
            raise ValidationError('parallel must be at least 1, got %d' % self.params['parallel'])
        checked = []
        for index, given in enumerate(self.params['containers'] or []):
            label = 'containers[%d] (%s)' % (index, given.get('name'))
            manager = ContainerManager(self._member_params(given), self.store, self.check_mode)
            try:
                checked.append((label, manager) + manager.validate())
            except ValidationError as exc:
                raise ValidationError('%s: %s' % (label, exc.msg), **exc.details) from exc
        duplicates = duplicate_names([name for _label, _manager, name, _ref, _given in checked])
        if duplicates:
            name, indexes = sorted(duplicates.items())[0]
            raise ValidationError('container name %s is listed more than once in stack %s: containers[%s]'
                                  % (name, self.params['name'], '], containers['.join(str(i) for i in indexes)))
        return checked

    # -- membership --------------------------------------------------------

    def _read_records(self):
        """{stack: {container: id}} of every stack in the store; damaged records are skipped (Store.stack_records)."""
        records, self.damaged_records = self.store.stack_records()
        return records

    def completed(self):
        """The members' actions carried out so far, in the shape of the ``actions`` result."""
        return [action_text(detail) for detail in self._details(
            (member.name, member.done) for member in self.members)]

    @staticmethod
    def _details(members, stack=None, record_action=None):
        """The ``action_details`` result: one {what, name, action} per action of each (name, actions)."""
        details = [{'what': 'container', 'name': name, 'action': action} for name, actions in members
                   for action in actions]
        if record_action:
            details.append({'what': 'stack', 'name': stack, 'action': record_action})
        return details

    def _ids(self, names):
        """{name: id} of the containers of those names that exist."""
        ids = {}
        for name in names:
            container = self.store.get_container(name)
            if container is not None:
                ids[name] = container['id']
        return ids

    def _sync_record(self, stack, recorded, names):
        """Record the members of ``names`` that exist, if that changes the record; return (action, members)."""
        members = self._ids(names)
        if members == recorded and stack not in self.damaged_records:
            return None, members
        if members:
            self.store.write_stack_record(stack, members)
            return 'record', members
        if self.store.remove_stack_record(stack):
            return 'remove', members
        return None, members

    # -- planning ----------------------------------------------------------

    def plan(self, request):
        """Plan every member (the store session must be open); change nothing."""
        checked = request
        stack = self.params['name']
        records = self._read_records()
        recorded = records.get(stack, {})
        listed = [name for _label, _manager, name, _ref, _given in checked]
        current_ids = self._ids(set(recorded) | set(listed))
        owned = sorted(name for name, cid in recorded.items() if current_ids.get(name) == cid)
        self._refuse_others(stack, records, checked, current_ids)

        bridges = SharedBridges(self.host_network or HostNetwork())
        for label, manager, name, ref, given in checked:
            self._plan(Member(label, name, manager), bridges, ref, given)
        removing = self.params['state'] == 'absent' or self.params['prune']
        for name in owned:
            if name in listed:
                continue
            if removing:
                params = dict(MEMBER_DEFAULTS, name=name, state='absent', root=self.params['root'])
                manager = ContainerManager(params, self.store, self.check_mode)
                self._plan(Member('container %s' % name, name, manager, listed=False), bridges, None, None)
            else:
                self.warnings.append('container %s belongs to stack %s but is no longer listed; prune: true '
                                     'removes it' % (name, stack))
        # Members once the plans are carried out: the listed ones that are not to be removed
        # (by state absent, or by cleanup after a one-off run), and the unlisted ones that are kept.
        wanted = {m.name for m in self.members if m.listed and m.manager.tracker.diff()['after']['state'] != 'absent'}
        after_members = sorted(wanted | (set() if removing else set(owned) - set(listed)))
        record_action = self._predict_record(recorded, after_members, current_ids)
        self._stack = {'name': stack, 'recorded': recorded, 'keep': set(owned) | wanted,
                       'after_members': after_members, 'record_action': record_action}
        self.actions = [action_text(detail) for detail in self._details(
            ((member.name, member.manager.actions) for member in self.members), stack, record_action)]

    def apply(self):
        """Carry the members' plans out, then record the members that exist (also after a failure)."""
        stack = self._stack
        self._execute()
        stack['record_action'], members = self._sync_record(stack['name'], stack['recorded'], stack['keep'])
        stack['after_members'] = sorted(members)

    def _refuse_others(self, stack, records, checked, current_ids):
        """A listed container that another stack holds is refused, before anything changes."""
        for label, _manager, name, _ref, _given in checked:
            for other, members in sorted(records.items()):
                if other != stack and name in current_ids and members.get(name) == current_ids[name]:
                    raise ValidationError('%s: container %s belongs to stack %s; remove it from that stack first'
                                          % (label, name, other), stack=other)

    def _plan(self, member, bridges, ref, given):
        manager = member.manager
        manager.host_network = bridges
        # Addresses and isolated id maps planned for earlier members are not in the store yet;
        # root's subordinate ids are read once for all.
        manager.reserved = self.reserved
        manager.reserved_idmaps = self.reserved_idmaps
        manager.host_ids = self.host_ids
        try:
            manager.plan((member.name, ref, given))
        except MissingLibraryError:
            raise
        except DockerliteError as exc:
            raise DockerliteError('%s: %s' % (member.label, exc.msg), **exc.details) from exc
        ipv4 = container_ipv4(manager.tracker.diff()['after'].get('network') or {})
        if ipv4:
            self.reserved[ipv4] = member.name
        idmap = manager.tracker.diff()['after'].get('idmap')
        if idmap and idmap != shared_idmap(self.host_ids.range()[0]):
            self.reserved_idmaps[idmap['uid']] = member.name
        self.members.append(member)

    def _predict_record(self, recorded, after_members, current_ids):
        """The record action a real run would report (new containers get new ids)."""
        if not after_members:
            return 'remove' if recorded else None
        if sorted(recorded) != after_members or any('create' in m.manager.actions for m in self.members):
            return 'record'
        if any(recorded[name] != current_ids.get(name) for name in after_members):
            return 'record'
        return None

    # -- execution ---------------------------------------------------------

    def _execute(self):
        """Carry the plans out in three waves; stop after a wave in which a member failed."""
        waves = ([], [], [])
        for member in self.members:
            parts = split_plan(member.manager.actions)
            if parts is None:
                waves[1].append((member, None))
                continue
            for wave, part in zip(waves, parts):
                if part:
                    wave.append((member, part))
        for number, wave in enumerate(waves):
            if number == 1:
                self._store_wave(self.store, wave, self.params['parallel'])
            else:
                outcomes = run_parallel([member.steps(part) for member, part in wave], self.params['parallel'])
                for (member, _part), (done, error) in zip(wave, outcomes):
                    member.done.extend(done)
                    member.error = error
            if any(member.error for member, _part in wave):
                return

    @staticmethod
    def _store_wave(store, wave, workers):
        """Store changes, one member at a time, in this process, up to the first failure; then the
        one-off runs (whole plans: their containers must be in place to run).

        The store changes are one batch: the new containers' rootfs snapshots are made first, up
        to ``workers`` at once (``Store.prestage``), and their files are made durable by one
        filesystem sync at its end instead of an fsync each (``Store.batch``).
        """
        changes = [(member, part) for member, part in wave if part is not None]
        one_offs = [member for member, part in wave if part is None]
        creates = [(member.name, member.manager.image_to_create()) for member, part in changes if 'create' in part]
        with store.batch():
            if len(creates) > 1 and workers > 1:
                store.prestage(creates, workers)
            for member, part in changes:
                done, member.error = call_job(member.steps(part))
                member.done.extend(done)
                if member.error:
                    return
        for member in one_offs:
            try:
                member.run_result = member.manager.apply()
            except DockerliteError as exc:
                member.error = error_dict(exc)
                return
            member.done.extend(member.manager.actions)

    # -- result ------------------------------------------------------------

    def report(self):
        """The stack's result; ``actions`` and the diff as the tracker has them, member by member."""
        stack = self._stack
        reports = [member.manager.report(member.run_result) for member in self.members]
        for member, entry in zip(self.members, reports):
            if entry.get('failed') and not member.error:
                # A one-off run that failed: the rest of the stack went on, as the container module does.
                member.error = {'msg': entry['msg'], 'details': {}}
        failed = [m for m in self.members if m.error]
        entries, member_actions, before, after = [], [], {}, {}
        for member, entry in zip(self.members, reports):
            for warning in entry.pop('warnings', []):
                self.warnings.append('%s: %s' % (member.label, warning))
            for notice in entry.pop('deprecations', []):
                self.note_deprecation('%s: %s' % (member.label, notice['msg']), notice['version'])
            diff = entry.pop('diff')
            if failed:
                entry.update(actions=list(member.done), changed=bool(member.done))
            if member.error:
                entry.update(member.error['details'], failed=True, msg=member.error['msg'])
                if 'exception' in member.error['details']:
                    self.warnings.append('%s: %s' % (member.label, member.error['details']['exception']))
            if entry['actions'] or diff['before'] != diff['after']:
                before[member.name], after[member.name] = diff['before'], diff['after']
            member_actions.append((member.name, entry['actions']))
            entries.append(dict(entry, name=member.name))
        details = self._details(member_actions, stack['name'], stack['record_action'])
        self.actions = [action_text(detail) for detail in details]
        self.tracker.add('members', sorted(stack['recorded']), stack['after_members'])
        self.tracker.add('containers', before, after)
        result = self.result(action_details=details, stack=stack_view(stack['name'], stack['after_members']),
                             containers=entries)
        if failed:
            result.update(failed=True, msg='; '.join('%s: %s' % (m.label, m.error['msg']) for m in failed))
        return result
