"""Adapters are found through pluggy exactly as a third party's would be: an outside
package with one entry-point line, loaded lazily and once, with a switch to turn the
entry-point scan off."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import mdmbridge
from mdmbridge import plugins

ACME_MODULE = '''
"""A third-party adapter, written only against mdmbridge's public API."""
from collections.abc import Iterator

import mdmbridge
from mdmbridge import Adapter, AdapterSettings, Capability, Group


class AcmeSettings(AdapterSettings):
    motto: str


class AcmeAdapter(Adapter):
    vendor = "acme"
    description = "Acme MDM (test plugin)"
    capabilities = frozenset({Capability.GROUPS_READ})

    settings_model = AcmeSettings

    def list_groups(self, filters) -> Iterator[Group]:
        for index, name in enumerate(["Åre", self.settings.motto]):
            yield Group(tenant=self.tenant, vendor=self.vendor, id=str(index), name=name, raw={"n": name})


@mdmbridge.hookimpl
def register_adapters(register):
    register(AcmeAdapter)
'''


@pytest.fixture
def outside_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed distribution 'acme-mdm' (package + dist-info with its entry point)."""
    (tmp_path / "acme_mdm").mkdir()
    (tmp_path / "acme_mdm" / "__init__.py").write_text(
        textwrap.dedent(ACME_MODULE), encoding="utf-8"
    )
    dist = tmp_path / "acme_mdm-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-mdm\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text("[mdmbridge]\nacme = acme_mdm\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV, raising=False)
    plugins.reset()
    yield tmp_path
    plugins.reset()
    sys.modules.pop("acme_mdm", None)


def test_outside_adapter_is_found_and_usable_by_name(outside_package: Path) -> None:
    assert "acme" in mdmbridge.adapters()
    with mdmbridge.connect("acme", tenant="acme-1", motto="Göteborg") as mdm:
        groups = list(mdm.groups.list())
        assert [g.name for g in groups] == ["Åre", "Göteborg"]
        assert {g.vendor for g in groups} == {"acme"} and {g.tenant for g in groups} == {"acme-1"}
        with pytest.raises(mdmbridge.UnsupportedOperation, match="acme does not support"):
            mdm.devices.list()
    with pytest.raises(mdmbridge.ConfigError, match="motto: Field required"):
        mdmbridge.connect("acme", tenant="acme-1")


def test_autoload_switch_hides_outside_adapters(
    outside_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(plugins.DISABLE_AUTOLOAD_ENV, "1")
    plugins.reset()
    found = mdmbridge.adapters()
    assert "acme" not in found
    assert {"duostation", "ezmdm"} <= set(found)  # built-ins still load
    with pytest.raises(mdmbridge.ConfigError, match="unknown vendor 'acme'"):
        mdmbridge.connect("acme", tenant="x", motto="y")


def test_plugins_are_loaded_once(outside_package: Path) -> None:
    first = plugins.registered_adapters()
    assert plugins.registered_adapters() is first
    assert plugins.plugin_manager() is plugins.plugin_manager()


def test_runtime_registration_and_duplicate_vendor_names() -> None:
    from mdmbridge_duostation.adapter import DuoStationAdapter

    class Again:
        @mdmbridge.hookimpl
        def register_adapters(self, register):  # type: ignore[no-untyped-def]
            class Impostor(DuoStationAdapter):
                pass

            register(Impostor)

    class NotAnAdapter:
        @mdmbridge.hookimpl
        def register_adapters(self, register):  # type: ignore[no-untyped-def]
            register(object)

    try:
        plugins.register_plugin(Again(), name="impostor")
        with pytest.raises(
            mdmbridge.ConfigError, match="two adapters registered the vendor name 'duostation'"
        ):
            plugins.registered_adapters()
        plugins.reset()
        plugins.register_plugin(NotAnAdapter(), name="broken")
        with pytest.raises(mdmbridge.ConfigError, match="not an Adapter subclass"):
            plugins.registered_adapters()
    finally:
        plugins.reset()
    assert set(plugins.registered_adapters()) >= {"duostation", "ezmdm"}


def test_import_loads_no_plugin_and_no_adapter() -> None:
    code = (
        "import sys, mdmbridge, mdmbridge.plugins as p;"
        "print(p._manager is None, 'mdmbridge_duostation' in sys.modules, 'mdmbridge_ezmdm' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["True", "False", "False"]


def test_unknown_vendor_lists_installed() -> None:
    with pytest.raises(
        mdmbridge.ConfigError,
        match=r"unknown vendor 'jamf' \(installed adapters: duostation, ezmdm",
    ):
        mdmbridge.connect("jamf", tenant="x")
