"""The command-line hooks, through the real CLI: ``register_simulator_options`` (the
built-in adapters' simulator options and a third party's), ``register_commands``, and a
misspelt ``@hookimpl``, which is one line and exit 2, never a traceback."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click
import pytest

import mdmbridge
from mdmbridge import plugins
from mdmbridge.cli import main
from mdmbridge.cli import simulate as simulate_module
from mdmbridge.config import CONFIG_ENV
from tests.conftest import connect_duo, connect_ez
from tests.test_cli import _mdmbridge_executable, _read_lines, assert_one_line_error

ACME_MODULE = '''
"""A third-party adapter with a simulator, options for it, and commands of its own."""
import click

import mdmbridge
from mdmbridge import Adapter, AdapterSettings, Capability
from mdmbridge.simulation import RunningSimulator, SimResponse, SimServer, pick_credentials


class AcmeSettings(AdapterSettings):
    base_url: str
    token: str


class AcmeApp:
    def __init__(self, credentials, devices):
        self.credentials = credentials
        self.devices = devices

    def error_response(self, status, message):
        return SimResponse.json({"error": message}, status=status)

    def handle(self, request):
        if request.headers.get("X-Token") != self.credentials["token"]:
            return self.error_response(401, "bad token")
        return SimResponse.json({"region": self.credentials["region"], "devices": self.devices})


class AcmeAdapter(Adapter):
    vendor = "acme"
    description = "Acme MDM (test plugin)"
    capabilities = frozenset({Capability.GROUPS_READ})
    settings_model = AcmeSettings

    @classmethod
    def start_simulator(cls, *, devices=0, seed=1, port=0, credentials=None):
        creds = pick_credentials(cls.vendor, credentials, {"token": "acme-demo", "region": "eu"})
        server = SimServer(AcmeApp(creds, devices), port=port).start()
        return RunningSimulator(server, {"base_url": server.base_url, **creds})


class PlainAdapter(Adapter):
    vendor = "acme-plain"
    description = "no simulator"
    capabilities = frozenset()
    settings_model = AcmeSettings


@mdmbridge.hookimpl
def register_adapters(register):
    register(AcmeAdapter)
    register(PlainAdapter)


@mdmbridge.hookimpl
def register_simulator_options(vendor, register):
    if vendor == AcmeAdapter.vendor:
        register(click.Option(["--token"], help="the token it accepts"))
        register(click.Option(["--region"], type=click.Choice(["eu", "us"]), help="its region"))


@mdmbridge.hookimpl
def register_commands(cli):
    @cli.command(name="acme-hello")
    @click.option("--name", default="world")
    def hello(name):
        """Say hello (a plugin's command)."""
        click.echo(f"hej {name}, from acme")

    @cli.group(name="acme")
    def acme():
        """Acme tools (a plugin's group)."""

    @acme.command(name="refuse")
    def refuse():
        raise mdmbridge.ConfigError("acme: nothing to refuse")

    @acme.command(name="partial")
    def partial():
        return 1
'''

MISSPELT_MODULE = """
import mdmbridge


@mdmbridge.hookimpl
def register_command(cli):
    pass
"""


def install(folder: Path, module: str, source: str, *, dist: str = "acme-mdm") -> Path:
    """An installed distribution: package ``module`` + dist-info with its entry point."""
    (folder / module).mkdir()
    (folder / module / "__init__.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = folder / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[mdmbridge]\nacme = {module}\n", encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    plugins.reset()
    yield
    plugins.reset()
    for name in ("acme_cli", "acme_misspelt"):
        sys.modules.pop(name, None)


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The 'acme' plugin installed, found through its entry point (autoload on)."""
    install(tmp_path, "acme_cli", ACME_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV, raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


class _Stop:
    """Stands in for the ``time`` module in the simulate command: its first sleep (the
    wait for Ctrl-C) runs ``check`` against the simulator, then presses Ctrl-C."""

    def __init__(self, capsys: pytest.CaptureFixture[str], check: Callable[[str], None]):
        self.capsys, self.check, self.banner = capsys, check, ""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def sleep(self, seconds: float) -> None:
        self.banner = self.capsys.readouterr().out
        match = re.search(r"http://127\.0\.0\.1:\d+", self.banner)
        assert match, self.banner
        self.check(match.group(0))
        raise KeyboardInterrupt


def at(base_url: str) -> Any:
    """Stands in for a SimServer where only its base URL is needed."""
    return SimpleNamespace(base_url=base_url)


def simulate(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    check: Callable[[str], None],
    *args: str,
) -> tuple[int, str]:
    """``mdmbridge simulate ARGS`` in this process, ``check(base_url)`` while it serves."""
    stop = _Stop(capsys, check)
    monkeypatch.setattr(simulate_module, "time", stop)
    capsys.readouterr()
    code = main(["simulate", *args])
    assert "Traceback" not in capsys.readouterr().err
    return code, stop.banner


# ------------------------------------------------------ the built-in simulators' options


def help_sections(out: str) -> dict[str, str]:
    """``simulate --help``: "" -> the common part, then vendor -> its options section."""
    parts = re.split(r"^(\S+) simulator options:$", out, flags=re.MULTILINE)
    return {"": parts[0], **dict(zip(parts[1::2], parts[2::2], strict=True))}


def test_simulate_help_lists_each_vendors_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "simulate", "--help")
    assert code == 0
    sections = help_sections(out)
    for flag in ("--port", "--devices", "--seed", "--latency-ms", "--fault"):
        assert flag in sections[""]
    assert "--username" not in sections[""] and "--api-key" not in sections[""]
    assert re.findall(r"--[\w-]+", sections["duostation"]) == ["--username", "--password"]
    assert re.findall(r"--[\w-]+", sections["ezmdm"]) == ["--api-key"]

    code, out, _ = run(capsys, "simulate", "ezmdm", "--help")
    assert code == 0
    assert set(help_sections(out)) == {"", "ezmdm"} and "--api-key" in out
    assert "--username" not in out and "--devices" in out

    code, out, _ = run(capsys, "simulate", "duostation", "-h")
    assert code == 0 and set(help_sections(out)) == {"", "duostation"}
    assert "--username" in out and "--password" in out and "--api-key" not in out


def test_simulate_duostation_takes_its_credentials_before_or_after_the_vendor(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def check(base_url: str) -> None:
        with connect_duo(at(base_url), username="ådmin", password="Pw-ÅÄÖ-1234") as client:
            assert len(list(client.devices.list())) == 4

    code, banner = simulate(
        capsys,
        monkeypatch,
        check,
        "--password",
        "Pw-ÅÄÖ-1234",
        "--devices",
        "4",
        "duostation",
        "--username=ådmin",
        "--latency-ms",
        "1",
    )
    assert code == 0
    assert "duostation simulator with 4 devices" in banner
    assert "username: ådmin" in banner and "password: Pw-ÅÄÖ-1234" in banner


def test_simulate_ezmdm_empty_key_means_the_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    code, banner = simulate(capsys, monkeypatch, seen.append, "ezmdm", "--api-key", "")
    assert code == 0 and seen
    assert "api_key: ez-demo-key" in banner


CANARY = ("--username", "canary-user", "--password", "CANARYpw-duo-42")


def test_simulate_duostation_serves_until_sigint(tmp_path: Path) -> None:
    """The real executable, as tests/test_cli.py runs it for ezmdm."""
    env = dict(os.environ, MDMBRIDGE_DISABLE_PLUGIN_AUTOLOAD="1")
    env.pop(CONFIG_ENV, None)
    process = subprocess.Popen(
        [_mdmbridge_executable(), "simulate", "duostation", "--devices", "3", *CANARY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        banner = "".join(_read_lines(process.stdout, 5, timeout=15))
        match = re.search(r"http://127\.0\.0\.1:\d+", banner)
        assert match, banner
        assert "canary-user" in banner and "CANARYpw-duo-42" in banner

        with connect_duo(
            at(match.group(0)), username="canary-user", password="CANARYpw-duo-42"
        ) as client:
            assert len(list(client.devices.list())) == 3
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0
        assert "Traceback" not in (process.stderr.read() if process.stderr else "")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_simulate_ezmdm_in_process_with_its_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def check(base_url: str) -> None:
        with connect_ez(at(base_url), api_key="EZ-own-key-5678") as client:
            assert len(list(client.devices.list())) == 2

    code, banner = simulate(
        capsys, monkeypatch, check, "ezmdm", "--devices", "2", "--api-key", "EZ-own-key-5678"
    )
    assert code == 0 and "api_key: EZ-own-key-5678" in banner


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["ezmdm", "--password", "x"], "--password (it is a duostation simulator option)"),
        (["duostation", "--api-key", "x"], "the duostation simulator takes --username"),
        (["ezmdm", "--devcies", "3"], "did you mean --devices?"),
        (["--api-key", "k", "jamf"], "unknown vendor 'jamf' (installed: duostation, ezmdm"),
    ],
)
def test_simulate_option_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    code, _, err = run(capsys, "simulate", *args)
    assert code == 2
    assert expected in assert_one_line_error(err)


# --------------------------------------------------------- a third party's simulator


def test_plugin_simulator_options_show_in_help(
    acme: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "simulate", "--help")
    assert code == 0
    assert "acme simulator options:" in out and "--token" in out and "[eu|us]" in out
    assert "acme-plain" not in out  # no simulator, no section
    code, out, _ = run(capsys, "simulate", "acme", "--help")
    assert code == 0 and "--token" in out and "--username" not in out


def test_plugin_simulator_options_reach_its_simulator(
    acme: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def check(base_url: str) -> None:
        request = urllib.request.Request(base_url + "/", headers={"X-Token": "tok-1234"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.loads(answer.read()) == {"region": "us", "devices": 5}
        with pytest.raises(urllib.error.HTTPError, match="401"):
            urllib.request.urlopen(base_url + "/", timeout=5)

    args = ("acme", "--region", "us", "--token", "tok-1234", "--devices", "5")
    code, banner = simulate(capsys, monkeypatch, check, *args)
    assert code == 0
    assert "token: tok-1234" in banner and "region: us" in banner


def test_plugin_simulator_option_bad_choice_is_a_usage_error(
    acme: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "simulate", "acme", "--region", "mars")
    assert code == 2 and "--region" in err and "Traceback" not in err


def test_vendor_without_simulator(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "simulate", "acme-plain")
    assert code == 2
    assert assert_one_line_error(err) == "mdmbridge: error: acme-plain has no simulator"


class _Clashing:
    @mdmbridge.hookimpl
    def register_simulator_options(
        self, vendor: str, register: Callable[[click.Option], None]
    ) -> None:
        if vendor == "duostation":
            register(click.Option(["--seed-file", "--devices"]))


class _NotAnOption:
    @mdmbridge.hookimpl
    def register_simulator_options(self, vendor: str, register: Callable[[Any], None]) -> None:
        register("--colour")


@pytest.mark.parametrize(
    ("plugin", "expected"),
    [
        (_Clashing(), "the duostation simulator option --devices, which mdmbridge simulate"),
        (_NotAnOption(), "registered '--colour' as a duostation simulator option"),
    ],
)
def test_bad_simulator_option_is_one_line(
    capsys: pytest.CaptureFixture[str], plugin: object, expected: str
) -> None:
    plugins.register_plugin(plugin)
    code, _, err = run(capsys, "simulate", "duostation", "--help")
    assert code == 2
    assert expected in assert_one_line_error(err)


# -------------------------------------------------------------------- plugins' commands


def test_plugin_commands_show_in_help_and_run(
    acme: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert re.search(r"acme-hello\s+Say hello \(a plugin's command\)", out), out
    assert re.search(r"acme\s+Acme tools", out) and "export" in out
    assert run(capsys, "acme-hello", "--name", "Åsa") == (0, "hej Åsa, from acme\n", "")
    code, _, err = run(capsys, "acme", "refuse")
    assert code == 2
    assert assert_one_line_error(err) == "mdmbridge: error: acme: nothing to refuse"
    assert run(capsys, "acme", "partial")[0] == 1
    code, _, err = run(capsys, "acme", "--help")
    assert code == 0


class _Counting:
    def __init__(self) -> None:
        self.calls = 0

    @mdmbridge.hookimpl
    def register_commands(self, cli: click.Group) -> None:
        self.calls += 1

        @cli.command(name="counted")
        def counted() -> None:
            click.echo("counted ran")


def test_plugin_commands_are_added_only_when_needed(capsys: pytest.CaptureFixture[str]) -> None:
    plugin = _Counting()
    plugins.register_plugin(plugin)
    assert run(capsys, "adapters", "--format", "json")[0] == 0
    assert run(capsys, "simulate", "ezmdm", "--help")[0] == 0
    assert plugin.calls == 0  # mdmbridge's own commands: no plugin command was asked for
    assert run(capsys, "counted") == (0, "counted ran\n", "")
    assert plugin.calls == 1
    assert "counted" in run(capsys, "--help")[1]
    assert plugin.calls == 2  # once per command tree (main() builds one per call)


class _Hijacker:
    @mdmbridge.hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command(name="export")
        def export() -> None:
            click.echo("exported nothing")


def test_plugin_cannot_replace_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    plugins.register_plugin(_Hijacker())
    code, _, err = run(capsys, "--help")
    assert code == 2
    assert "command 'export', which mdmbridge or another plugin already has" in (
        assert_one_line_error(err)
    )


# ------------------------------------------------------------------ a misspelt hookimpl


class _Misspelt:
    @mdmbridge.hookimpl
    def register_simulator_option(self, vendor: str, register: Any) -> None:
        raise AssertionError("never called")


def test_misspelt_hookimpl_at_run_time_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(mdmbridge.ConfigError, match="did you mean 'register_simulator_options'"):
        plugins.register_plugin(_Misspelt(), name="typo")
    assert run(capsys, "simulate", "ezmdm", "--help")[0] == 0  # and stays out


@pytest.mark.parametrize("args", [["adapters"], ["--help"], ["simulate", "ezmdm", "--help"]])
def test_misspelt_hookimpl_of_an_installed_plugin_exits_2_in_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
) -> None:
    install(tmp_path, "acme_misspelt", MISSPELT_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV, raising=False)
    code, _, err = run(capsys, *args)
    assert code == 2
    assert assert_one_line_error(err) == (
        "mdmbridge: error: plugin 'acme' (module acme_misspelt, from acme-mdm 1.0) implements "
        "'register_command', which is not an mdmbridge hook (did you mean 'register_commands'? "
        "the hooks are register_adapters, register_commands, register_simulator_options)"
    )


def test_misspelt_hookimpl_real_executable(tmp_path: Path) -> None:
    install(tmp_path, "acme_misspelt", MISSPELT_MODULE)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    env.pop(plugins.DISABLE_AUTOLOAD_ENV, None)
    env.pop(CONFIG_ENV, None)
    done = subprocess.run(
        [_mdmbridge_executable(), "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2, done
    line = assert_one_line_error(done.stderr)
    assert "plugin 'acme'" in line and "'register_command'" in line
    assert done.stdout == ""
