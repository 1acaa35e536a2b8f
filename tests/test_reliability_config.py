"""Input reliability: ids are what they look like (no fullwidth or Arabic-Indic digits
silently read as ASCII ones), and a tenants file saved with a UTF-8 byte-order mark loads.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from mdmbridge_duostation import wire as duo_wire
from mdmbridge_ezmdm import wire as ez_wire

from mdmbridge.cli import main
from mdmbridge.config import CONFIG_ENV, load_tenants
from mdmbridge.errors import ConfigError, ValidationError
from mdmbridge.simulation import SimServer
from tests.conftest import connect_duo
from tests.support import DUO_PASSWORD, DUO_USER

Factory = Callable[..., SimServer]

# Each reads as 12 to Python's \d and int(); none is an ASCII id.
LOOKALIKE_TWELVES = [
    "\uff11\uff12",  # fullwidth
    "\u0661\u0662",  # Arabic-Indic
    "\u06f1\u06f2",  # extended Arabic-Indic (Persian)
    "\u0967\u0968",  # Devanagari
    "1\uff12",  # one of each
    "\U0001d7d9\U0001d7da",  # mathematical double-struck
]
GUID = "0b8e3c8e-9d1e-4a50-bb6c-2f1b8a1c5e77"


# ---------------------------------------------------------------------------- ids


@pytest.mark.parametrize("value", LOOKALIKE_TWELVES)
def test_duostation_integer_ids_refuse_non_ascii_digits(value: str) -> None:
    assert int(value) == 12  # what used to be sent
    with pytest.raises(ValidationError, match="ASCII digits"):
        duo_wire.int_id(value, "group id")
    with pytest.raises(ValidationError):
        duo_wire.int_id(value, "group id", allow_zero=True)


def test_duostation_integer_ids_still_take_ascii() -> None:
    assert duo_wire.int_id("12", "group id") == 12
    assert duo_wire.int_id(" 7 ", "group id") == 7
    assert duo_wire.int_id("0", "parent_id", allow_zero=True) == 0
    for bad in ("", "-1", "+1", "1_000", "1e3", "12.0", "0x1f", "1" * 19):
        with pytest.raises(ValidationError):
            duo_wire.int_id(bad, "group id")


def test_duostation_device_guids_are_ascii_hex() -> None:
    for form in (GUID, GUID.upper(), "{" + GUID + "}", GUID.replace("-", ""), f"  {GUID} "):
        assert duo_wire.device_guid(form) == GUID
    fullwidth = GUID.replace("0", "\uff10")
    arabic = GUID.replace("1", "\u0661")
    underscore = GUID.replace("-", "")[:-2] + "_7"  # uuid.UUID reads it as another GUID
    assert str(uuid.UUID(underscore)) != GUID
    for bad in (fullwidth, arabic, underscore, "{" + GUID, GUID + "}", "urn:uuid:" + GUID, "x"):
        with pytest.raises(ValidationError, match="must be a GUID"):
            duo_wire.device_guid(bad)


@pytest.mark.parametrize("value", LOOKALIKE_TWELVES)
def test_ezmdm_ids_refuse_non_ascii_digits(value: str) -> None:
    with pytest.raises(ValidationError):
        ez_wire.check_id(value, "group id")


def test_duostation_app_store_id_is_ascii_digits() -> None:
    app = {
        "name": "Kassa",
        "company": "Ångström AB",
        "package_id": "se.angstrom.kassa",
        "version_text": "1.0",
        "platform": "ios",
        "size": 10,
        "store": "app_store",
        "image_url": "https://example.se/kassa.png",
    }
    assert duo_wire.app_body({**app, "store_id": "123456"})["store_id"] == "123456"
    with pytest.raises(ValidationError, match="numeric App Store id"):
        duo_wire.app_body({**app, "store_id": "\uff11\uff12\uff13"})


@pytest.mark.parametrize("value", LOOKALIKE_TWELVES[:2])
def test_lookalike_ids_are_refused_before_any_request(duo_sim: Factory, value: str) -> None:
    """Through the public API against the simulator: refused locally, nothing sent; the
    ASCII id of the same record still works."""
    server = duo_sim(devices=10, seed=3)
    mdm = connect_duo(server)
    group_id = str(next(iter(server.app.groups)))
    assert mdm.groups.get(group_id).id == group_id
    server.reset_counts()
    calls: list[Callable[[], object]] = [
        lambda: mdm.groups.get(value),
        lambda: mdm.users.get(value),
        lambda: mdm.tags.get(value),
        lambda: mdm.apps.get(value),
        lambda: mdm.groups.update(value, name="Ny"),
        lambda: mdm.groups.create(name="Barn", parent_id=value),
        lambda: list(mdm.users.list(group_id=value)),
        lambda: mdm.devices.assign_user(GUID, value),
        lambda: mdm.devices.get(GUID.replace("0", "\uff10")),
    ]
    for call in calls:
        with pytest.raises(ValidationError):
            call()
    assert server.count() == 0


# ---------------------------------------------------------------------------- tenants file

TENANTS = """
[tenants.acme-duo]
vendor = "duostation"
base_url = "https://mdm.acme.example"
username = "{user}"
password = "{password}"
"""


def test_tenants_file_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "tenants.toml"
    text = TENANTS.format(user=DUO_USER, password=DUO_PASSWORD)
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    tenants = load_tenants(path)
    assert list(tenants) == ["acme-duo"]
    assert tenants["acme-duo"].settings.base_url == "https://mdm.acme.example"


def test_tenants_command_reads_a_file_with_a_byte_order_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    path = tmp_path / "tenants.toml"
    path.write_text("\ufeff" + TENANTS.format(user="api", password="Göteborg-pw"), encoding="utf-8")
    capsys.readouterr()
    code = main(["--config", str(path), "tenants", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [row["tenant"] for row in json.loads(out)] == ["acme-duo"]
    assert "Göteborg-pw" not in out


def test_a_byte_order_mark_elsewhere_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "tenants.toml"
    text = TENANTS.format(user=DUO_USER, password=DUO_PASSWORD)
    path.write_text(text.replace("vendor", "\ufeffvendor", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_tenants(path)
