"""Shared fixtures: real simulators on loopback, clients connected to them, and a
recorder of every exception text and log line for the secret-leak checks."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

# Hermetic runs: no third-party adapter from the environment sneaks in.
os.environ.setdefault("MDMBRIDGE_DISABLE_PLUGIN_AUTOLOAD", "1")

from mdmbridge_duostation.simulator import start_simulator as start_duo
from mdmbridge_ezmdm.simulator import start_simulator as start_ez

import mdmbridge
from mdmbridge.simulation import SimServer
from tests.support import DUO_PASSWORD, DUO_USER, EZ_KEY, LEAKS

# Fixture modules some test modules load as plugins (pytest_plugins): asserts in them
# are rewritten too, whichever module imports them first.
pytest.register_assert_rewrite("tests.dask_cluster", "tests.sync_fleet")

# Fast retries in tests: the behaviour is the same, the waits are shorter.
FAST = {"retries": 3, "connect_timeout_s": 2.0, "read_timeout_s": 5.0}


@pytest.fixture(scope="session", autouse=True)
def _record_all_logs() -> Iterator[None]:
    """DEBUG logging from every library we use, kept for the leak checks."""
    handler = LEAKS.log_handler()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("urllib3", "requests", "mdmbridge"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.fixture(autouse=True)
def _audit_log_in_tmp(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write the CLI sends is audited: never into the user's real data dir."""
    monkeypatch.setenv("MDMBRIDGE_AUDIT_LOG", str(tmp_path / "audit.jsonl"))


@pytest.fixture
def duo_sim() -> Iterator[Callable[..., SimServer]]:
    """Factory: ``duo_sim(devices=50)`` starts a DuoSTATION simulator, stopped after the test."""
    started: list[SimServer] = []

    def start(**kwargs: Any) -> SimServer:
        kwargs.setdefault("username", DUO_USER)
        kwargs.setdefault("password", DUO_PASSWORD)
        server = start_duo(**kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def ez_sim() -> Iterator[Callable[..., SimServer]]:
    """Factory: ``ez_sim(devices=50)`` starts an ezmdm simulator, stopped after the test."""
    started: list[SimServer] = []

    def start(**kwargs: Any) -> SimServer:
        kwargs.setdefault("api_key", EZ_KEY)
        server = start_ez(**kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def connect_duo(server: SimServer, **overrides: Any) -> mdmbridge.Client:
    settings = {"base_url": server.base_url, "username": DUO_USER, "password": DUO_PASSWORD, **FAST}
    settings.update(overrides)
    tenant = settings.pop("tenant", "duo-test")
    return mdmbridge.connect("duostation", tenant=tenant, **settings)


def connect_ez(server: SimServer, **overrides: Any) -> mdmbridge.Client:
    settings = {"base_url": server.base_url, "api_key": EZ_KEY, **FAST}
    settings.update(overrides)
    tenant = settings.pop("tenant", "ez-test")
    return mdmbridge.connect("ezmdm", tenant=tenant, **settings)
