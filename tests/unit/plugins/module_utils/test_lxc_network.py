# Copyright (c) 2026 dockerlite.core contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0), compatible with the GNU General Public License version 3
# SPDX-License-Identifier: Apache-2.0
"""LxcClient.wait_for_ipv4 over a stand-in for python3-lxc's Container."""

from __future__ import annotations

import pytest

from ansible_collections.dockerlite.core.plugins.module_utils._clients import lxc
from ansible_collections.dockerlite.core.plugins.module_utils._common.errors import DockerliteError


class FakeContainer:
    """Shows ``timeline`` (a list of (state, ips)) one step per look, then stays at the last step."""

    timeline = []
    looks = 0

    def __init__(self, name, lxcpath):
        self.name = name

    def _step(self):
        return FakeContainer.timeline[min(FakeContainer.looks, len(FakeContainer.timeline) - 1)]

    @property
    def state(self):
        return self._step()[0]

    @property
    def init_pid(self):
        return 4242 if self.state == 'RUNNING' else -1

    def get_ips(self, interface=None, family=None, scope=None, timeout=0):
        assert (interface, family) == ('eth0', 'inet')
        ips = self._step()[1]
        FakeContainer.looks += 1
        return tuple(ips)


@pytest.fixture
def client(monkeypatch, tmp_path):
    monkeypatch.setattr(lxc, '_lxc', type('FakeLxcModule', (), {'Container': FakeContainer}))
    monkeypatch.setattr(lxc, 'WAIT_POLL', 0.001)
    FakeContainer.looks = 0
    return lxc.LxcClient(str(tmp_path))


def test_wait_returns_once_the_address_shows(client):
    FakeContainer.timeline = [('RUNNING', []), ('RUNNING', ['10.0.0.9']), ('RUNNING', ['10.0.0.9', '10.0.0.2'])]
    client.wait_for_ipv4('web', '10.0.0.2', 'eth0', 5)
    assert FakeContainer.looks == 3


def test_wait_times_out_naming_what_is_there(client):
    FakeContainer.timeline = [('RUNNING', ['10.0.0.9'])]
    with pytest.raises(DockerliteError) as info:
        client.wait_for_ipv4('web', '10.0.0.2', 'eth0', 0.05)
    assert 'IPv4 address 10.0.0.2 did not appear on eth0 in container web within 0.05 seconds' in info.value.msg
    assert '(addresses there: 10.0.0.9)' in info.value.msg
    assert 'lxc_log' in info.value.details


def test_wait_stops_when_the_container_stops(client):
    FakeContainer.timeline = [('RUNNING', []), ('STOPPED', [])]
    with pytest.raises(DockerliteError) as info:
        client.wait_for_ipv4('web', '10.0.0.2', 'eth0', 30)
    assert 'container web is stopped' in info.value.msg
