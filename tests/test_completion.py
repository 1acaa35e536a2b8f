"""Shell completion through the real ``mdmbridge`` entry point, the way a shell drives it:
click's completion variables set (``_MDMBRIDGE_COMPLETE``, ``COMP_WORDS``,
``COMP_CWORD``), a real tenants file, and the offers read from stdout. Also
``mdmbridge completion SHELL`` and the ``py.typed`` marker users' mypy reads."""

from __future__ import annotations

import importlib.resources
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINT = Path(sys.executable).parent / "mdmbridge"  # the installed console script
TENANTS = """\
[tenants.acme-duo]
vendor = "duostation"
labels = ["eu", "schools"]
base_url = "https://mdm.acme.example"
username = "api"
password = "env:ACME_DUO_PASSWORD"

[tenants.acme-ez]
vendor = "ezmdm"
labels = ["eu"]
api_key = "env:ACME_EZ_KEY"

[tenants.globex]
vendor = "ezmdm"
labels = ["us"]
api_key = "keyring:mdmbridge/globex"
"""
NAMES = {"acme-duo", "acme-ez", "globex"}
LABELS = {"@eu", "@schools", "@us"}


@pytest.fixture
def tenants_file(tmp_path: Path) -> Path:
    path = tmp_path / "tenants.toml"
    path.write_text(TENANTS, encoding="utf-8")
    return path


def run(args: list[str], *, config: Path | None, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("_MDMBRIDGE", "COMP_"))}
    env.pop("MDMBRIDGE_CONFIG", None)
    if config is not None:
        env["MDMBRIDGE_CONFIG"] = str(config)
    env.update(extra)
    return subprocess.run(
        [str(ENTRY_POINT), *args], env=env, capture_output=True, text=True, timeout=60
    )


def offers(line: str, *, config: Path | None, shell: str = "bash") -> list[str]:
    """What the shell would offer after ``line`` (a trailing space: a new, empty word)."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    done = run(
        [],
        config=config,
        _MDMBRIDGE_COMPLETE=f"{shell}_complete",
        COMP_WORDS=line,
        COMP_CWORD=str(cword),
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # nothing printed over the user's prompt
    if shell == "zsh":  # type, value, help: three lines per offer
        lines = done.stdout.splitlines()
        return [lines[i + 1] for i in range(0, len(lines), 3)]
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if line]  # "\n": none


def test_tenant_option_offers_names_and_labels(tenants_file: Path) -> None:
    assert offers("mdmbridge check -t ", config=tenants_file) == [
        "acme-duo",
        "acme-ez",
        "globex",
        "@eu",
        "@schools",
        "@us",
    ]
    assert set(offers("mdmbridge export --tenant ", config=tenants_file)) == NAMES | LABELS


def test_tenant_option_completes_what_is_typed(tenants_file: Path) -> None:
    assert offers("mdmbridge find -t acme-", config=tenants_file) == ["acme-duo", "acme-ez"]
    assert offers("mdmbridge check -t @", config=tenants_file) == ["@eu", "@schools", "@us"]
    assert offers("mdmbridge check -t @s", config=tenants_file) == ["@schools"]
    assert offers("mdmbridge check -t nobody", config=tenants_file) == []


def test_tenants_already_given_are_not_offered_again(tenants_file: Path) -> None:
    offered = offers("mdmbridge check -t acme-duo -t @us -t ", config=tenants_file)
    assert offered == ["acme-ez", "globex", "@eu", "@schools"]


def test_the_config_option_typed_before_is_the_file_read(tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text('[tenants.initech]\nvendor = "ezmdm"\nlabels = ["lab"]\napi_key = "env:K"\n')
    line = f"mdmbridge --config {other} check -t "
    assert offers(line, config=None) == ["initech", "@lab"]


def test_a_tenant_argument_offers_the_tenant_names(tenants_file: Path) -> None:
    # TENANT takes one exact name (a label there is "unknown tenant"): names only.
    assert offers("mdmbridge devices list ", config=tenants_file) == sorted(NAMES)
    assert offers("mdmbridge users get acme", config=tenants_file) == ["acme-duo", "acme-ez"]
    assert offers("mdmbridge devices list ", config=tenants_file, shell="zsh") == sorted(NAMES)


def test_every_tenant_option_completes(tenants_file: Path) -> None:
    """bulk's ``-t`` takes labels as every multi-tenant ``-t`` does; migrate's ``--from``
    and ``--to`` and audit's ``-t`` take names."""
    assert set(offers("mdmbridge bulk plan send lock -t ", config=tenants_file)) == NAMES | LABELS
    assert offers("mdmbridge migrate plan --from ", config=tenants_file) == sorted(NAMES)
    assert offers("mdmbridge migrate verify --to acme-", config=tenants_file) == [
        "acme-duo",
        "acme-ez",
    ]
    assert offers("mdmbridge audit -t ", config=tenants_file) == sorted(NAMES)


def test_zsh_shows_each_tenants_vendor_and_labels(tenants_file: Path) -> None:
    done = run(
        [],
        config=tenants_file,
        _MDMBRIDGE_COMPLETE="zsh_complete",
        COMP_WORDS="mdmbridge check -t ",
        COMP_CWORD="3",
    )
    lines = done.stdout.splitlines()
    helps = {lines[i + 1]: lines[i + 2] for i in range(0, len(lines), 3)}
    assert helps["acme-duo"] == "duostation @eu @schools"
    assert helps["globex"] == "ezmdm @us"
    assert helps["@eu"] == "2 tenants: acme-duo, acme-ez"


@pytest.mark.parametrize(
    "content",
    [
        "[tenants.acme\nvendor =",  # not TOML
        '[tenants.acme]\nvendor = "no-such-vendor"\n',  # TOML, but not a tenants file
        '[tenants."bad name!"]\nvendor = "ezmdm"\napi_key = "env:K"\n',
        b"\xff\xfe not utf-8",
    ],
    ids=["not-toml", "unknown-vendor", "bad-name", "not-utf8"],
)
def test_a_broken_tenants_file_completes_nothing_and_prints_nothing(
    tmp_path: Path, content: str | bytes
) -> None:
    path = tmp_path / "tenants.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    assert offers("mdmbridge check -t ", config=path) == []
    assert offers("mdmbridge devices list ", config=path) == []


def test_no_tenants_file_completes_nothing(tmp_path: Path) -> None:
    assert offers("mdmbridge check -t ", config=tmp_path / "missing.toml") == []
    assert offers("mdmbridge check -t ", config=tmp_path) == []  # a directory


def test_commands_still_complete(tenants_file: Path) -> None:
    assert "completion" in offers("mdmbridge co", config=tenants_file)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_shells_script(shell: str) -> None:
    done = run(["completion", shell], config=None)
    assert done.returncode == 0, done.stderr
    assert "_MDMBRIDGE_COMPLETE" in done.stdout
    assert f"{shell}_complete" in done.stdout  # the script asks for this shell's format


def test_an_unknown_shell_is_a_usage_error_naming_the_three() -> None:
    done = run(["completion", "tcsh"], config=None)
    assert done.returncode == 2
    assert done.stdout == ""
    error = done.stderr.strip().splitlines()[-1]
    assert error == "Error: Invalid value for 'SHELL': 'tcsh' is not one of 'bash', 'zsh', 'fish'."
    assert "Traceback" not in done.stderr


def test_the_package_ships_py_typed() -> None:
    marker = importlib.resources.files("mdmbridge").joinpath("py.typed")
    assert marker.is_file()
    # And a wheel carries it: setuptools copies only the data files it is told about.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["mdmbridge"]


def test_the_license_is_an_spdx_expression_with_its_file() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    for name in project["license-files"]:
        assert "Apache License" in (ROOT / name).read_text(encoding="utf-8")
