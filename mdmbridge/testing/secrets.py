"""The conformance checks of credentials and secrets: bad credentials are an
``AuthError``, and no secret reaches an error text or a log line."""

from __future__ import annotations

from typing import Any

import pytest

import mdmbridge
from mdmbridge.entities import ENTITIES
from mdmbridge.testing.checks import _error_texts, _get_known, _list_first, assert_clean
from mdmbridge.testing.kit import GETTABLE, LISTS, Kit, captured_logs


class SecretChecks:
    """Credentials refused cleanly; secrets never leak."""

    # credentials and secrets -------------------------------------------------------------

    def test_bad_credentials_are_an_auth_error(self, kit: Kit) -> None:
        client = kit.connect(**kit.profile.bad_credentials)
        name = next(n for n in LISTS if kit.supports(ENTITIES[n].read))
        with pytest.raises(mdmbridge.AuthError) as caught:
            list(getattr(client, name).list())
        assert caught.value.vendor == kit.vendor
        assert_clean(caught.value, kit.secrets())

    def test_no_secret_in_any_error_or_log_line(self, kit: Kit) -> None:
        texts: list[str] = []
        with captured_logs() as lines:
            client = kit.connect()
            ids = kit.known_ids(client)  # credentials fetched (a token), records known
            settings = client.adapter.settings
            texts += [repr(client), repr(client.adapter), repr(settings), str(settings)]
            for name in GETTABLE:
                if kit.supports(ENTITIES[name].read) and name in kit.profile.missing_ids:
                    texts += _error_texts(getattr(client, name).get, kit.missing(name))
            for kind, options in SPOILERS:
                kit.server.faults.clear()
                kit.server.faults.add(kind, times=None, **options)
                fresh = kit.connect(retries=0)  # a new token request meets the fault too
                texts += _error_texts(_list_first, kit, fresh)
                texts += _error_texts(_get_known, kit, fresh, ids)
            kit.server.faults.clear()
            kit.server.faults.add("delay", delay_s=0.6, times=None)
            texts += _error_texts(_get_known, kit, kit.connect(retries=0, read_timeout_s=0.2), ids)
            kit.server.faults.clear()
            texts += _error_texts(_list_first, kit, kit.connect(**kit.profile.bad_credentials))
        secrets = kit.secrets()  # after the run: tokens issued meanwhile count too
        assert secrets, "the settings declare no secret (use SecretStr for credentials)"
        assert lines, "no log line was recorded"
        for text in [*texts, *lines]:
            for secret in secrets:
                assert secret not in text, f"a secret leaked into: {text[:300]}"


# Faults that spoil every answer, each ending in an error whose text must stay clean.
SPOILERS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("html", {"status": 502}),
    ("echo_auth", {}),
    ("status", {"status": 500}),
    ("status", {"status": 401}),
    ("drop", {}),
    ("truncate", {}),
    ("redirect", {"location": "http://127.0.0.2:9/elsewhere"}),
    ("body", {"text": '{"x": 1e400'}),
)
