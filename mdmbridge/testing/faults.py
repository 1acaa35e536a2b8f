"""The conformance checks under faults: retries where they are safe (reads), never a
write sent twice, and a dry run that sends no write."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

import mdmbridge
from mdmbridge import Capability as C
from mdmbridge.client import Client
from mdmbridge.entities import ENTITIES, writable_entities
from mdmbridge.testing.checks import _absent, _bound, _unchanged, assert_clean
from mdmbridge.testing.kit import COMMANDS, FAST, PROBES, WRITE_METHODS, Kit, sample_values


class FaultChecks:
    """The simulator's faults against the transport's retry rules."""

    # faults ------------------------------------------------------------------------------

    def _a_read(self, kit: Kit, mdm: Client) -> Callable[[], Any]:
        """A read of one existing record: the same requests each time."""
        for name in ("devices", "users", "groups"):
            if kit.supports(ENTITIES[name].read):
                first = next(iter(getattr(mdm, name).list()), None)
                if first is not None:
                    return _bound(getattr(mdm, name).get, first.id)
        pytest.skip(f"{kit.vendor} reads no record by id")

    def _gets_per_read(self, kit: Kit, read: Callable[[], Any]) -> int:
        kit.reset_counts()
        read()
        gets = kit.count("GET")
        kit.reset_counts()
        return gets

    def test_429_then_success_honours_retry_after(self, kit: Kit, mdm: Client) -> None:
        read = self._a_read(kit, mdm)
        gets = self._gets_per_read(kit, read)
        kit.server.faults.add("status", status=429, retry_after=1, methods=["GET"], times=1)
        started = time.monotonic()
        read()
        assert time.monotonic() - started >= 0.9, "Retry-After: 1 was not waited for"
        assert kit.count("GET") == gets + 1

    def test_5xx_on_a_read_is_retried(self, kit: Kit, mdm: Client) -> None:
        read = self._a_read(kit, mdm)
        gets = self._gets_per_read(kit, read)
        kit.server.faults.add("status", status=500, methods=["GET"], times=1)
        kit.server.faults.add("status", status=503, retry_after=0, methods=["GET"], times=1)
        read()
        assert kit.count("GET") == gets + 2

    def test_5xx_storm_on_a_read_ends_in_vendor_server_error(self, kit: Kit, mdm: Client) -> None:
        read = self._a_read(kit, mdm)
        gets = self._gets_per_read(kit, read)
        kit.server.faults.add("status", status=503, retry_after=0, methods=["GET"], times=None)
        with pytest.raises(mdmbridge.VendorServerError) as caught:
            read()
        assert caught.value.status == 503 and caught.value.vendor == kit.vendor
        assert kit.count("GET") == gets + FAST["retries"], "retried as often as `retries` says"
        assert_clean(caught.value, kit.secrets())

    @pytest.mark.parametrize("fault", ["drop", "truncate"])
    def test_a_read_cut_off_is_fetched_again(self, kit: Kit, mdm: Client, fault: str) -> None:
        read = self._a_read(kit, mdm)
        gets = self._gets_per_read(kit, read)
        kit.server.faults.add(fault, methods=["GET"], times=1)
        read()
        assert kit.count("GET") == gets + 1

    def _a_write(self, kit: Kit, mdm: Client) -> tuple[Callable[[], Any], Callable[[], bool]]:
        """A write, and a check that it left no trace."""
        for name in ("groups", "users", "tags"):
            if kit.supports(ENTITIES[name].write):
                namespace, label = getattr(mdm, name), f"Kit write {name}"
                return _bound(namespace.create, name=label), _bound(_absent, namespace, label)
        if kit.supports(C.DEVICES_RENAME):
            device = next(iter(mdm.devices.list()))
            return (
                _bound(mdm.devices.rename, device.id, "Kit write"),
                _bound(_unchanged, mdm, device),
            )
        pytest.skip(f"{kit.vendor} writes nothing")

    @pytest.mark.parametrize(
        ("fault", "error"),
        [
            ("status:503", mdmbridge.VendorServerError),
            ("status:429", mdmbridge.RateLimited),
            ("drop", mdmbridge.TransportError),
        ],
    )
    def test_a_write_is_never_sent_twice(
        self, kit: Kit, mdm: Client, fault: str, error: type[mdmbridge.MDMError]
    ) -> None:
        write, left_no_trace = self._a_write(kit, mdm)
        self._a_read(kit, mdm)()  # credentials fetched (a token), so only the write is sent
        kit.reset_counts()
        kit.server.faults.add_spec(f"{fault}:retry_after=0:methods={','.join(WRITE_METHODS)}")
        with pytest.raises(error) as caught:
            write()
        assert kit.writes() == 1, f"a write answered {fault} was sent {kit.writes()} times"
        assert_clean(caught.value, kit.secrets())
        assert left_no_trace()

    def test_a_command_answered_503_is_sent_once(self, kit: Kit, mdm: Client) -> None:
        declared = [c for c in COMMANDS if kit.supports(c)]
        if not declared:
            pytest.skip(f"{kit.vendor} sends no device command")
        ids = kit.known_ids(mdm)
        before = kit.commands_seen()
        kit.reset_counts()
        kit.server.faults.add("status", status=503, retry_after=0, methods=WRITE_METHODS, times=1)
        with pytest.raises(mdmbridge.VendorServerError):
            PROBES[declared[0]](mdm, ids)
        assert kit.writes() == 1
        assert kit.commands_seen() == before

    def test_read_only_client_sends_no_write(self, kit: Kit) -> None:
        """Every write a dry run could attempt is refused before it is sent. Creates carry
        values the vendor would accept (``sample_values``), so the refusal is the dry
        run's, not a validation's."""
        client = kit.connect(read_only=True)
        ids = kit.known_ids(client)  # reads work (and fetch any token)
        calls: list[tuple[str, Callable[[], Any]]] = []
        for entity in writable_entities():
            if kit.supports(entity.write):
                values = sample_values(kit, client, entity, "create")
                create = getattr(getattr(client, entity.name), entity.verb)
                calls.append((f"{entity.name}.{entity.verb}", _bound(create, **values)))
        others = (C.DEVICES_RENAME, C.DEVICES_ASSIGN_USER, C.GROUPS_DELETE, C.USERS_DELETE)
        for capability in (*others, C.TAGS_DELETE, *COMMANDS):
            if kit.supports(capability):
                calls.append((capability.value, _bound(PROBES[capability], client, ids)))
        if not calls:
            pytest.skip(f"{kit.vendor} writes nothing")
        kit.reset_counts()
        for what, call in calls:
            with pytest.raises(mdmbridge.DryRunViolation):
                call()
            assert kit.writes() == 0, f"{what}: a dry run sent a write"
