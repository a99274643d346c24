# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""The client protocols: exactly what the store calls, implemented alike by the real clients and the fakes.

A fake that drifts from its client (a method renamed, a parameter added to one but not
the other) fails here, not in a playbook.
"""

from __future__ import annotations

import inspect
import re

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._clients import interfaces
from ansible_collections.dockerlite.core.plugins.module_utils._clients.btrfs import BtrfsClient
from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc import LxcClient
from ansible_collections.dockerlite.core.plugins.module_utils._clients.lxc_attach import AttachClient
from ansible_collections.dockerlite.core.plugins.module_utils._clients.skopeo import SkopeoClient
from ansible_collections.dockerlite.core.plugins.module_utils._store import image_store as image_store_module
from ansible_collections.dockerlite.core.plugins.module_utils._store import store as store_module
from ansible_collections.dockerlite.core.tests.unit.plugins.module_utils.fakes import (
    FakeAttach, FakeBtrfs, FakeHost, FakeLxc, FakeRegistry)

# protocol: (the store attribute that holds the client, its implementations)
PROTOCOLS = {
    interfaces.BtrfsInterface: ('_btrfs', (BtrfsClient, FakeBtrfs)),
    interfaces.LxcInterface: ('_lxc', (LxcClient, FakeLxc)),
    interfaces.AttachInterface: ('_attach', (AttachClient, FakeAttach)),
    interfaces.RegistryInterface: ('_registry', (SkopeoClient, FakeRegistry)),
}
IMPLEMENTATIONS = [(protocol, implementation) for protocol, (_attr, classes) in PROTOCOLS.items()
                   for implementation in classes]


def protocol_methods(protocol):
    return sorted(name for name, value in vars(protocol).items()
                  if inspect.isfunction(value) and not name.startswith('_'))


def parameters(cls, name):
    """[(name, kind, default)] of method ``name`` of ``cls`` as a caller sees it (without self)."""
    raw = inspect.getattr_static(cls, name)
    if isinstance(raw, staticmethod):
        params = list(inspect.signature(raw.__func__).parameters.values())
    else:
        assert inspect.isfunction(raw), '%s.%s is not a method' % (cls.__name__, name)
        params = list(inspect.signature(raw).parameters.values())[1:]
    return [(param.name, param.kind, param.default) for param in params]


def store_calls(attribute):
    """The method names the store's source (Store and ImageStore) calls on ``self.<attribute>``."""
    source = inspect.getsource(store_module) + inspect.getsource(image_store_module)
    return sorted(set(re.findall(r'\bself\.%s\.(\w+)\(' % re.escape(attribute), source)))


@pytest.mark.parametrize('protocol', list(PROTOCOLS), ids=lambda protocol: protocol.__name__)
def test_a_protocol_lists_exactly_what_the_store_calls(protocol):
    attribute = PROTOCOLS[protocol][0]
    assert store_calls(attribute), 'the store calls nothing on self.%s: the pattern is stale' % attribute
    assert protocol_methods(protocol) == store_calls(attribute)


@pytest.mark.parametrize('protocol, implementation', IMPLEMENTATIONS,
                         ids=['%s-%s' % (p.__name__, i.__name__) for p, i in IMPLEMENTATIONS])
def test_clients_and_fakes_implement_every_method_alike(protocol, implementation):
    for name in protocol_methods(protocol):
        assert hasattr(implementation, name), '%s has no %s' % (implementation.__name__, name)
        assert parameters(implementation, name) == parameters(protocol, name), \
            '%s.%s%s differs from %s.%s%s' % (
                implementation.__name__, name, inspect.signature(getattr(implementation, name)),
                protocol.__name__, name, inspect.signature(getattr(protocol, name)))


def test_the_comparison_sees_a_drifted_signature():
    """A fake whose method lost a parameter, or names it differently, is told apart."""
    class Drifted:
        def snapshot(self, source, path):
            pass

        def send(self, subvolume, parent=None, no_data=True, seconds=600):
            pass

    for name in ('snapshot', 'send'):
        assert parameters(Drifted, name) != parameters(interfaces.BtrfsInterface, name)


def test_the_fake_host_hands_the_store_its_fakes(tmp_path):
    host = FakeHost(tmp_path / 'store')
    store = host.store()
    # pylint: disable=protected-access  # what the store holds is the point here
    assert (store._btrfs, store._lxc, store._attach) == (host.btrfs, host.lxc, host.attach)
