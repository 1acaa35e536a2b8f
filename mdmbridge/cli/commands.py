"""adapters and tenants: what is installed and what is configured."""

from __future__ import annotations

import click
from rich.text import Text

import mdmbridge
from mdmbridge.capabilities import Capability
from mdmbridge.cli.exits import EXIT_OK
from mdmbridge.cli.options import tenant_option
from mdmbridge.cli.output import emit, format_option
from mdmbridge.cli.state import State
from mdmbridge.config import select_tenants
from mdmbridge.entities import ENTITIES as REGISTRY
from mdmbridge.local_filters import sides


@click.command("adapters")
@click.option(
    "--filters",
    "filters_only",
    is_flag=True,
    help="only the list filters: per entity and filter, whether the vendor applies it "
    "(server) or mdmbridge does, as the records stream past (local)",
)
@format_option()
@click.pass_obj
def adapters_command(state: State, filters_only: bool, fmt: str) -> int:
    """Installed adapters, what each can do, and who applies each list filter."""
    found = mdmbridge.adapters()
    columns = ["capability", *found]
    rows = [
        {
            "capability": cap.value,
            **{v: ("yes" if cap in info.capabilities else "-") for v, info in found.items()},
        }
        for cap in Capability
    ]
    if fmt == "table" and not filters_only:
        for vendor, info in found.items():
            state.out.print(Text(f"{vendor}: {info.description}"))
    if not filters_only:
        emit(state.out, columns, rows, fmt, title="capabilities")
    if filters_only or fmt == "table":
        emit(
            state.out,
            ["entity", "filter", *found],
            _filter_rows(found),
            fmt,
            title="list filters: server (the vendor) or local (mdmbridge)",
        )
    return EXIT_OK


def _filter_rows(found: dict[str, mdmbridge.AdapterInfo]) -> list[dict[str, str]]:
    """entity, filter, and per vendor: server, local, or - (the vendor cannot list it)."""
    per_vendor = {v: sides(info.adapter_class.list_filters) for v, info in found.items()}
    rows = []
    for entity, filters in sides({}).items():
        read = REGISTRY[entity].read
        for name in filters:
            row = {"entity": entity, "filter": name}
            for vendor, info in found.items():
                row[vendor] = per_vendor[vendor][entity][name] if read in info.capabilities else "-"
            rows.append(row)
    return rows


@click.command("tenants")
@tenant_option()
@format_option()
@click.pass_obj
def tenants_command(state: State, names: tuple[str, ...], fmt: str) -> int:
    """The configured tenants, without their secrets (none is resolved)."""
    described = [t.describe() for t in select_tenants(state.tenants(), names)]
    columns = list(dict.fromkeys(key for row in described for key in row))
    emit(state.out, columns, described, fmt, title="tenants")
    return EXIT_OK
