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


# ------------------------------------------------------- hookspecs are checked on loading


class _Misspelt:
    """A plugin whose hookimpl name is one letter short of the hook."""

    @mdmbridge.hookimpl
    def register_adapter(self, register):  # type: ignore[no-untyped-def]
        raise AssertionError("never called")


class _WrongArgument:
    @mdmbridge.hookimpl
    def register_adapters(self, registr):  # type: ignore[no-untyped-def]
        raise AssertionError("never called")


def test_misspelt_hookimpl_is_a_config_error_naming_plugin_and_hook() -> None:
    try:
        with pytest.raises(mdmbridge.ConfigError) as caught:
            plugins.register_plugin(_Misspelt(), name="typo")
        message = str(caught.value)
        assert "plugin 'typo'" in message and "_Misspelt" in message
        assert "'register_adapter'" in message and "did you mean 'register_adapters'" in message
        assert "\n" not in message
        # it stays out: the manager passes its own check, and the adapters still load
        assert plugins.plugin_manager().get_plugin("typo") is None
        plugins.plugin_manager().check_pending()
        assert {"duostation", "ezmdm"} <= set(plugins.registered_adapters())
        assert plugins.portable_plugins() == ([], [])
    finally:
        plugins.reset()


def test_hookimpl_with_an_argument_the_hook_lacks_is_a_config_error() -> None:
    try:
        with pytest.raises(mdmbridge.ConfigError, match=r"plugin 'wrong'.*registr") as caught:
            plugins.register_plugin(_WrongArgument(), name="wrong")
        assert "\n" not in str(caught.value)
        assert plugins.plugin_manager().get_plugin("wrong") is None
    finally:
        plugins.reset()


def test_misspelt_hookimpl_of_an_entry_point_fails_every_time(
    outside_package: Path,
) -> None:
    (outside_package / "acme_mdm" / "__init__.py").write_text(
        "import mdmbridge\n\n@mdmbridge.hookimpl\ndef register_adapterz(register):\n    pass\n",
        encoding="utf-8",
    )
    for _ in range(2):  # not only the first time: the broken plugin is not half-loaded
        with pytest.raises(mdmbridge.ConfigError) as caught:
            mdmbridge.adapters()
        assert str(caught.value) == (
            "plugin 'acme' (module acme_mdm, from acme-mdm 1.0) implements 'register_adapterz', "
            "which is not an mdmbridge hook (did you mean 'register_adapters'? the hooks are "
            "register_adapters, register_commands, register_simulator_options)"
        )


def test_entry_point_that_cannot_be_imported_is_named(outside_package: Path) -> None:
    (outside_package / "acme_mdm" / "__init__.py").write_text(
        "import no_such_dependency_xyz\n", encoding="utf-8"
    )
    with pytest.raises(
        mdmbridge.ConfigError,
        match=r"plugin 'acme' \(entry point 'acme_mdm' of acme-mdm 1.0\) could not be loaded: "
        r"ModuleNotFoundError: No module named 'no_such_dependency_xyz'",
    ):
        mdmbridge.adapters()


# ------------------------------------------------------------- the one built-in list


def test_builtins_are_not_listed_again_as_entry_points() -> None:
    import tomllib

    pyproject = tomllib.loads(
        (Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    )
    ours = pyproject["project"].get("entry-points", {}).get(plugins.ENTRY_POINT_GROUP, {})
    assert not set(ours) & set(plugins.BUILTIN_ADAPTERS)
    assert not set(ours.values()) & set(plugins.BUILTIN_ADAPTERS.values())


@pytest.fixture
def scans(outside_package: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the entry-point scans (the outside package 'acme' is installed)."""
    import importlib.metadata

    made: list[str] = []
    real = importlib.metadata.entry_points

    def counting(**kwargs):  # type: ignore[no-untyped-def]
        made.append(kwargs.get("group", ""))
        return real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", counting)
    return made


def test_builtin_vendor_is_found_without_an_entry_point_scan(scans: list[str]) -> None:
    from mdmbridge_duostation.adapter import DuoStationAdapter

    assert plugins.find_adapter("duostation") is DuoStationAdapter
    assert plugins.find_adapter("ezmdm") is not None
    assert scans == []
    assert plugins.find_adapter("acme") is mdmbridge.adapters()["acme"].adapter_class
    assert scans == ["mdmbridge"]  # an unknown name: one scan, then never again
    assert plugins.find_adapter("jamf") is None
    assert {"acme", "duostation", "ezmdm"} <= set(plugins.registered_adapters())
    assert scans == ["mdmbridge"]


def test_run_time_vendor_is_found_without_an_entry_point_scan(scans: list[str]) -> None:
    from tests import plugin_adapters

    plugins.register_plugin(plugin_adapters, name="reliability")
    assert plugins.find_adapter(plugin_adapters.VENDOR) is plugin_adapters.ReliabilityAdapter
    assert scans == []


def test_autoload_switch_means_no_scan_at_all(
    scans: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(plugins.DISABLE_AUTOLOAD_ENV, "1")
    plugins.reset()
    assert plugins.find_adapter("acme") is None
    assert "acme" not in plugins.registered_adapters()
    plugins.plugin_manager()
    assert scans == []
