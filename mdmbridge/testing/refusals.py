"""The conformance checks of refusals: what the adapter cannot do, or cannot do with
this id, is refused locally, before any request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import mdmbridge
from mdmbridge import Capability as C
from mdmbridge.client import Client
from mdmbridge.entities import ENTITIES
from mdmbridge.testing.checks import _update_name
from mdmbridge.testing.kit import COMMANDS, GETTABLE, PROBES, URL_CHANGING_IDS, Kit


class RefusalChecks:
    """Missing capabilities and impossible ids: refused with no request sent."""

    # refusals ----------------------------------------------------------------------------

    @pytest.mark.parametrize("capability", list(C), ids=lambda c: c.value)
    def test_missing_capability_is_refused_locally(self, kit: Kit, capability: C) -> None:
        if kit.supports(capability):
            pytest.skip(f"{kit.vendor} declares {capability.value}")
        ids = {name: kit.profile.missing_ids.get(name, "1") for name in GETTABLE}
        client = kit.connect()
        kit.reset_counts()
        with pytest.raises(mdmbridge.UnsupportedOperation, match=kit.vendor):
            PROBES[capability](client, ids)
        assert kit.count() == 0, f"{capability.value}: a request was sent before refusing"

    def test_bad_ids_are_refused_locally(self, kit: Kit, mdm: Client) -> None:
        ids = kit.known_ids(mdm)
        kit.reset_counts()
        calls: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = []
        for name in GETTABLE:
            entity = ENTITIES[name]
            if not kit.supports(entity.read):
                continue
            namespace = getattr(mdm, name)
            for bad in (*URL_CHANGING_IDS, *kit.profile.bad_ids.get(name, ())):
                calls.append((f"{name}.get", namespace.get, (bad,)))
                if kit.supports(entity.write) and entity.update:
                    calls.append((f"{name}.update", _update_name, (namespace, bad)))
                if kit.supports(entity.delete):
                    calls.append(
                        (
                            f"{name}.delete",
                            namespace.unlink if entity.target else namespace.delete,
                            (bad,),
                        )
                    )
                if name == "devices":
                    for capability in (C.DEVICES_RENAME, C.DEVICES_ASSIGN_USER, *COMMANDS):
                        if kit.supports(capability):
                            probe = PROBES[capability]
                            calls.append((capability.value, probe, (mdm, {**ids, name: bad})))
                if name == "users" and kit.supports(C.DEVICES_ASSIGN_USER):
                    calls.append(("assign_user", mdm.devices.assign_user, (ids["devices"], bad)))
            for blank in ("", "   "):
                calls.append((f"{name}.get", namespace.get, (blank,)))
        if not calls:
            pytest.skip(f"{kit.vendor} reads nothing by id")
        for what, function, args in calls:
            with pytest.raises(mdmbridge.ValidationError):
                function(*args)
            assert kit.count() == 0, f"{what}{args[-1:]!r}: sent although the id cannot be valid"
