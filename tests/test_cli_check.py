"""``mdmbridge check`` for people: status words, retries said out loud, a spinner only at a
terminal. ``main(argv)`` in-process against live simulators with the simulators' own
faults (429s with Retry-After, a stopped server), plus one child process on a
pseudo-terminal for the spinner."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mdmbridge.cli.check import STATUS_WORDS, retry_note, status_word
from mdmbridge.errors import (
    AuthError,
    IncompleteListing,
    MDMError,
    NotFound,
    RateLimited,
    TransportError,
)
from mdmbridge.transport.stats import TransportStats
from tests.support import DUO_PASSWORD, EZ_KEY
from tests.test_cli import (
    Factory,
    assert_no_secrets,
    duo_tenant,
    ez_tenant,
    run,
    write_config,
)

RETRYING = {"retries": 3}


@pytest.fixture(autouse=True)
def _secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_DUO_PASSWORD", DUO_PASSWORD)
    monkeypatch.setenv("TEST_EZ_KEY", EZ_KEY)


def check_json(capsys: pytest.CaptureFixture[str], config: Path) -> tuple[int, dict[str, Any]]:
    code, out, err = run(capsys, "--config", str(config), "check", "--format", "json")
    assert_no_secrets(out, err)
    return code, {row["tenant"]: row for row in json.loads(out)}


def test_a_tenant_that_answers_after_two_429s_says_so(
    capsys: pytest.CaptureFixture[str], duo_sim: Factory, tmp_path: Path
) -> None:
    busy = duo_sim(devices=3)
    busy.faults.add("status", status=429, retry_after="0", times=2)
    config = write_config(tmp_path / "t.toml", {"busy": duo_tenant(busy, **RETRYING)})
    code, rows = check_json(capsys, config)
    assert code == 0
    row = rows["busy"]
    assert row["status"] == "ok, 2 retries after 429"
    assert (row["retries"], row["rate_limited"]) == (2, 2)
    assert (row["server_errors"], row["connection_errors"]) == (0, 0)
    assert row["detail"] == ""


def test_a_healthy_tenant_is_plain_ok_with_zero_counts(
    capsys: pytest.CaptureFixture[str], ez_sim: Factory, tmp_path: Path
) -> None:
    calm = ez_sim(devices=3)
    config = write_config(tmp_path / "t.toml", {"calm": ez_tenant(calm)})
    code, rows = check_json(capsys, config)
    assert code == 0
    assert rows["calm"]["status"] == "ok"
    assert rows["calm"]["retries"] == 0 and rows["calm"]["rate_limited"] == 0


def test_mixed_causes_are_all_named(
    capsys: pytest.CaptureFixture[str], duo_sim: Factory, tmp_path: Path
) -> None:
    flaky = duo_sim(devices=3)
    flaky.faults.add("status", status=429, retry_after="0", times=1)
    flaky.faults.add("status", status=503, retry_after="0", times=1)
    config = write_config(tmp_path / "t.toml", {"flaky": duo_tenant(flaky, **RETRYING)})
    code, rows = check_json(capsys, config)
    assert code == 0
    row = rows["flaky"]
    assert row["status"] == "ok, 2 retries after 429 and 5xx"
    assert (row["retries"], row["rate_limited"], row["server_errors"]) == (2, 1, 1)


def test_a_tenant_rate_limited_to_the_end_reads_rate_limited_with_its_retries(
    capsys: pytest.CaptureFixture[str], duo_sim: Factory, tmp_path: Path
) -> None:
    storm = duo_sim(devices=3)
    storm.faults.add("status", status=429, retry_after="0", times=None)
    config = write_config(tmp_path / "t.toml", {"storm": duo_tenant(storm, **RETRYING)})
    code, rows = check_json(capsys, config)
    assert code == 1
    row = rows["storm"]
    assert row["status"] == "rate limited, 3 retries after 429"
    assert row["rate_limited"] == 3
    assert "storm" in row["detail"] and "429" in row["detail"]


def test_refused_credentials_read_auth_refused_and_exit_3(
    capsys: pytest.CaptureFixture[str],
    duo_sim: Factory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    duo = duo_sim(devices=3)
    monkeypatch.setenv("WRONG_PW", "Wrong-Canary-Pw-5151")
    only_bad = write_config(
        tmp_path / "bad.toml", {"bad-duo": duo_tenant(duo, password="env:WRONG_PW")}
    )
    code, rows = check_json(capsys, only_bad)
    assert code == 3  # nothing succeeded and every failure was refused credentials
    assert rows["bad-duo"]["status"] == "auth refused"
    assert "bad-duo" in rows["bad-duo"]["detail"] and "401" in rows["bad-duo"]["detail"]
    assert "Wrong-Canary-Pw-5151" not in json.dumps(rows)

    mixed = write_config(
        tmp_path / "mixed.toml",
        {"good": duo_tenant(duo), "bad-duo": duo_tenant(duo, password="env:WRONG_PW")},
    )
    code, rows = check_json(capsys, mixed)
    assert code == 1  # one refused, the other fine
    assert rows["good"]["status"] == "ok" and rows["bad-duo"]["status"] == "auth refused"


def test_an_unreachable_port_reads_unreachable(
    capsys: pytest.CaptureFixture[str], duo_sim: Factory, tmp_path: Path
) -> None:
    dead = duo_sim(devices=1)
    dead.stop()
    config = write_config(tmp_path / "t.toml", {"gone": duo_tenant(dead)})
    code, rows = check_json(capsys, config)
    assert code == 1
    assert rows["gone"]["status"] == "unreachable"
    assert "gone" in rows["gone"]["detail"]


def test_the_table_shows_words_and_no_class_names(
    capsys: pytest.CaptureFixture[str], duo_sim: Factory, tmp_path: Path
) -> None:
    busy, dead = duo_sim(devices=3), duo_sim(devices=1)
    busy.faults.add("status", status=429, retry_after="0", times=2)
    dead.stop()
    config = write_config(
        tmp_path / "t.toml",
        {"busy": duo_tenant(busy, **RETRYING), "gone": duo_tenant(dead)},
    )
    code, out, err = run(capsys, "--config", str(config), "check")
    assert code == 1
    assert "ok, 2 retries after 429" in out and "unreachable" in out
    assert "TransportError" not in out and "checking" not in err  # no spinner into a pipe


def test_every_class_of_the_error_tree_has_words() -> None:
    import mdmbridge.errors as errors

    tree = {v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, MDMError)}
    assert tree == set(STATUS_WORDS)
    assert status_word(AuthError("x")) == "auth refused"
    assert status_word(TransportError("x")) == "unreachable"
    assert status_word(RateLimited("x")) == "rate limited"
    assert status_word(IncompleteListing("x")) == "incomplete listing"

    class Stranger(NotFound):
        pass

    assert status_word(Stranger("x")) == "not found"  # the nearest class with words


def test_retry_note_wording() -> None:
    assert retry_note(TransportStats()) == ""
    assert retry_note(TransportStats(retries=1, rate_limited=1)) == ", 1 retry after 429"
    three = TransportStats(retries=3, rate_limited=1, server_errors=1, connection_errors=1)
    assert retry_note(three) == ", 3 retries after 429, 5xx and connection errors"


def _run_on_a_terminal(config: Path, *args: str) -> tuple[int, str, str]:
    """The CLI in a child process whose stderr is a pseudo-terminal; stdout is a pipe."""
    leader, follower = pty.openpty()
    code = "import sys; from mdmbridge.cli import main; sys.exit(main(sys.argv[1:]))"
    child = subprocess.Popen(
        [sys.executable, "-c", code, "--config", str(config), "check", *args],
        stdout=subprocess.PIPE,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "120"},
    )
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert child.stdout is not None
    out = child.stdout.read().decode()
    return child.wait(timeout=60), out, seen.decode(errors="replace")


def test_spinner_on_a_terminal_only_for_the_table(duo_sim: Factory, tmp_path: Path) -> None:
    slow = duo_sim(devices=3)
    slow.faults.latency_s = 0.6  # long enough for the spinner to draw a few frames
    config = write_config(tmp_path / "t.toml", {"slow": duo_tenant(slow)})
    code, out, terminal = _run_on_a_terminal(config)
    assert code == 0, terminal
    assert "checking 1 tenant…" in terminal
    assert "slow" in out and "ok" in out

    code, out, terminal = _run_on_a_terminal(config, "--format", "json")
    assert code == 0, terminal
    assert "checking" not in terminal  # never for a machine format
    assert json.loads(out)[0]["status"] == "ok"
