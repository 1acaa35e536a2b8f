"""adapters, tenants, check, export, demo, simulate."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

import mdmbridge
from mdmbridge.capabilities import Capability
from mdmbridge.cli.exits import EXIT_AUTH, EXIT_OK, EXIT_PARTIAL
from mdmbridge.cli.output import emit, format_option
from mdmbridge.cli.state import State
from mdmbridge.config import Tenant, parse_tenant, select_tenants
from mdmbridge.entities import ENTITIES as REGISTRY
from mdmbridge.errors import AuthError, ConfigError, MDMError, UnsupportedOperation
from mdmbridge.export import ENTITIES, FORMATS, ExportReport, export
from mdmbridge.fleet import run_for_each
from mdmbridge.local_filters import sides

_F = TypeVar("_F", bound=Callable[..., Any])


def all_commands() -> list[click.Command]:
    return [
        adapters_command,
        tenants_command,
        check_command,
        export_command,
        demo_command,
        simulate_command,
    ]


def exit_for(errors: Sequence[MDMError], *, succeeded: int) -> int:
    """0 when nothing failed; 3 when nothing succeeded and every failure was refused
    credentials; otherwise 1 (some failed, the rest was done)."""
    if not errors:
        return EXIT_OK
    if not succeeded and all(isinstance(e, AuthError) for e in errors):
        return EXIT_AUTH
    return EXIT_PARTIAL


def tenant_option() -> Callable[[_F], _F]:
    """``-t/--tenant``, repeatable, for every multi-tenant command (config.select_tenants)."""
    return click.option(
        "--tenant",
        "-t",
        "names",
        multiple=True,
        metavar="NAME|@LABEL|GLOB",
        help="only these tenants: a name, @label or glob such as 'acme-*' (repeatable; "
        "default: all)",
    )


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


@click.command("check")
@tenant_option()
@click.option("--workers", type=click.IntRange(1, 256), default=8, show_default=True)
@format_option()
@click.pass_obj
def check_command(state: State, names: tuple[str, ...], workers: int, fmt: str) -> int:
    """Reach every tenant and prove its credentials, in parallel, with timings."""

    def probe(tenant: Tenant) -> str:
        with tenant.connect(read_only=True) as client:
            first = next(iter(client.groups.list()), None)
            return "ok" if first is not None else "ok (no groups)"

    tenants = select_tenants(state.tenants(), names)
    outcomes = {o.tenant: o for o in run_for_each(tenants, probe, workers=workers)}
    rows = []
    for tenant in tenants:
        outcome = outcomes[tenant.name]
        rows.append(
            {
                "tenant": tenant.name,
                "vendor": tenant.vendor,
                "status": outcome.value if outcome.ok else type(outcome.error).__name__,
                "seconds": round(outcome.seconds, 3),
                "detail": "" if outcome.ok else str(outcome.error),
            }
        )
    emit(state.out, ["tenant", "vendor", "status", "seconds", "detail"], rows, fmt, title="check")
    errors = [o.error for o in outcomes.values() if o.error is not None]
    return exit_for(errors, succeeded=len(outcomes) - len(errors))


@click.command("export")
@tenant_option()
@click.option(
    "--entities",
    default=None,
    help=f"comma-separated: {', '.join(ENTITIES)}, or all [default: devices,users,groups]",
)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="EXPR",
    help="export only the records this holds for (repeatable; all must hold), e.g. "
    "'os_version<17.4', 'last_seen<30d'; 'devices.platform=ios' applies to devices only "
    "(see docs/working-across-tenants.md)",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="sqlite", show_default=True)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="a file (sqlite, jsonl, json) or a directory (csv, parquet)",
)
@click.option(
    "--workers", type=click.IntRange(1, 256), default=4, show_default=True, help="tenants at once"
)
@click.option(
    "--processes",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="read tenants in this many worker processes (0: threads); helps large, many-tenant "
    "exports on multi-core machines, costs ~0.3 s start-up each",
)
@click.pass_obj
def export_command(
    state: State,
    names: tuple[str, ...],
    entities: str | None,
    where: tuple[str, ...],
    fmt: str,
    output: Path,
    workers: int,
    processes: int,
) -> int:
    """Every selected tenant's entities into one unified output."""
    tenants = select_tenants(state.tenants(), names)
    try:
        with _progress(state) as progress:
            report = export(
                tenants,
                output=output,
                format=fmt,
                entities=entities,
                workers=workers,
                processes=processes,
                progress=progress,
                where=list(where) or None,
            )
    except (OSError, sqlite3.Error) as exc:
        # The output could not be written (a full disk, a file grown too large): the
        # staging output is gone and the previous output is as it was. Say so, in one line.
        raise ConfigError(
            f"--output {output}: the export could not be written ({_os_reason(exc)}); "
            f"{output} was left as it was"
        ) from None
    _print_report(state, report)
    errors = [t.error for t in report.failed if t.error is not None]
    return exit_for(errors, succeeded=len(report.tenants) - len(errors))


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return " ".join((str(exc) or type(exc).__name__).split())


@contextlib.contextmanager
def _progress(state: State) -> Iterator[Any]:
    """A rich progress bar per tenant and entity on a terminal; nothing otherwise."""
    if not state.interactive:
        yield None
        return
    lock = threading.Lock()
    tasks: dict[tuple[str, str], Any] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} rows"),
        TimeElapsedColumn(),
        console=state.err,
        transient=True,
    ) as bar:

        def update(tenant: str, entity: str, count: int) -> None:
            with lock:
                key = (tenant, entity)
                if key not in tasks:
                    tasks[key] = bar.add_task(f"{tenant} {entity}", total=None)
                bar.update(tasks[key], completed=count)

        yield update


def _print_report(state: State, report: ExportReport) -> None:
    entity_names = list(dict.fromkeys(n for t in report.tenants for n in [*t.counts, *t.skipped]))
    table = Table(title=f"export to {report.output} ({report.format})")
    for column in ["tenant", "vendor", "status", *entity_names, "seconds"]:
        table.add_column(
            column, justify="right" if column in (*entity_names, "seconds") else "left"
        )
    for t in report.tenants:
        status = "ok" if t.ok else "FAILED"
        counts = [
            str(t.counts[n]) if n in t.counts else ("n/a" if n in t.skipped else "")
            for n in entity_names
        ]
        table.add_row(Text(t.tenant), t.vendor, status, *counts, f"{t.seconds:.2f}")
    state.err.print(table)
    for t in report.failed:
        state.err.print(Text(f"FAILED {t.tenant}: {t.error}"), style="red")
    if report.committed:
        totals = ", ".join(f"{n} {c}" for n, c in report.written.items())
        state.err.print(Text(f"wrote {report.output} in {report.seconds:.1f}s: {totals}"))
    else:
        state.err.print(
            Text(f"nothing written: every tenant failed; {report.output} was left as it was")
        )


DEMO_FLEET = (
    ("acme-duo", "duostation", 1500, 11),
    ("nordic-duo", "duostation", 900, 12),
    ("acme-ez", "ezmdm", 1100, 13),
    ("acme-m365", "intune", 800, 14),
)


@click.command("demo")
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("mdmbridge-demo"),
    show_default=True,
    help="folder for the inventory",
)
@click.option(
    "--scale",
    type=click.FloatRange(0.01, 100),
    default=1.0,
    show_default=True,
    help="multiply the demo fleets' sizes",
)
@click.pass_obj
def demo_command(state: State, output: Path, scale: float) -> int:
    """The main job on built-in simulators: no network, no configuration."""
    output.mkdir(parents=True, exist_ok=True)
    found = mdmbridge.adapters()
    sims = []
    try:
        tenants = []
        for name, vendor, devices, seed in DEMO_FLEET:
            sim = found[vendor].adapter_class.start_simulator(
                devices=max(1, int(devices * scale)), seed=seed
            )
            sims.append(sim)
            tenants.append(parse_tenant(name, {"vendor": vendor, **sim.settings}, source="demo"))
            state.err.print(Text(f"started {vendor} simulator for tenant {name} at {sim.base_url}"))
        entities = "devices,users,groups,tags,device_tags"
        sqlite_path = output / "inventory.sqlite"
        with _progress(state) as progress:
            report = export(
                tenants, output=sqlite_path, format="sqlite", entities=entities, progress=progress
            )
            csv_report = export(tenants, output=output / "csv", format="csv", entities=entities)
        _print_report(state, report)
        failures = [t.error for t in (*report.failed, *csv_report.failed) if t.error is not None]
    finally:
        for sim in sims:
            sim.stop()
    if report.committed:
        _demo_summary(state, sqlite_path, output / "csv")
    return exit_for(failures, succeeded=len(DEMO_FLEET) * 2 - len(failures))


def _demo_summary(state: State, database: Path, csv_dir: Path) -> None:
    query = (
        "SELECT tenant, vendor, platform, COUNT(*) AS devices FROM devices "
        "GROUP BY 1, 2, 3 ORDER BY 1, 3"
    )
    with contextlib.closing(sqlite3.connect(database)) as db:
        rows = [
            dict(zip(("tenant", "vendor", "platform", "devices"), r, strict=True))
            for r in db.execute(query)
        ]
        total = db.execute("SELECT COUNT(*) FROM devices").fetchone()[0]
    emit(
        state.out,
        ["tenant", "vendor", "platform", "devices"],
        rows,
        "table",
        title=f"unified inventory: {total} devices",
    )
    state.out.print(
        Text(
            "Query it:\n"
            f'  sqlite3 {database} "{query}"\n'
            f"  python -c \"import sqlite3; print(sqlite3.connect('{database}').execute("
            "'SELECT vendor, COUNT(*) FROM devices GROUP BY vendor').fetchall())\"\n"
            f"Open {csv_dir}/devices.csv in a spreadsheet (UTF-8, å/ä/ö intact)."
        )
    )


# The ctx.meta key under which SimulateCommand keeps the vendor and its own options.
_VENDOR_OPTIONS = "mdmbridge.simulate.vendor_options"


class SimulateCommand(click.Command):
    """``mdmbridge simulate VENDOR``: the options every simulator has, plus the ones the
    plugins register for VENDOR (the ``register_simulator_options`` hook).

    The vendor is picked out of the arguments before they are parsed, so its options may
    stand before or after it, as the common ones may. ``--help`` without a vendor lists
    every vendor's options."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        vendor = self._vendor_in(ctx, args)
        if vendor is not None:
            found = mdmbridge.adapters()
            if vendor not in found:
                raise ConfigError(f"unknown vendor {vendor!r} (installed: {', '.join(found)})")
            if not _has_simulator(found[vendor].adapter_class):
                raise ConfigError(f"{vendor} has no simulator")
            ctx.meta[_VENDOR_OPTIONS] = (vendor, simulator_options(vendor, self.params))
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            raise ConfigError(_no_such_option(exc, vendor, self.params)) from None

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        _, options = ctx.meta.get(_VENDOR_OPTIONS, (None, []))
        help_option = self.get_help_option(ctx)
        return [*self.params, *options, *([help_option] if help_option is not None else [])]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        help_option = self.get_help_option(ctx)
        own = [*self.params, *([help_option] if help_option is not None else [])]
        _write_options(ctx, formatter, "Options", own)
        if _VENDOR_OPTIONS in ctx.meta:
            vendor, options = ctx.meta[_VENDOR_OPTIONS]
            sections = {vendor: options}
        else:
            sections = {v: simulator_options(v, self.params) for v in _simulating_vendors()}
        for vendor, options in sections.items():
            _write_options(ctx, formatter, f"{vendor} simulator options", options)

    def _vendor_in(self, ctx: click.Context, args: list[str]) -> str | None:
        """The first argument that is neither an option nor an option's value."""
        known = _value_options(self.params) | dict.fromkeys(ctx.help_option_names, False)
        everyone: dict[str, bool] | None = None
        skip = False
        for index, arg in enumerate(args):
            if skip:
                skip = False
            elif arg == "--":
                return args[index + 1] if index + 1 < len(args) else None
            elif arg.startswith("-") and arg != "-":
                if "=" in arg:
                    continue
                if arg not in known and everyone is None:
                    everyone = _value_options(self.params, everyone=True)
                skip = (known if arg in known else everyone or {}).get(arg, False)
            else:
                return arg
        return None


def _has_simulator(adapter: type[mdmbridge.Adapter]) -> bool:
    own = getattr(adapter.start_simulator, "__func__", None)
    return own is not getattr(mdmbridge.Adapter.start_simulator, "__func__", None)


def _simulating_vendors() -> list[str]:
    return [v for v, info in mdmbridge.adapters().items() if _has_simulator(info.adapter_class)]


def simulator_options(vendor: str, own: Sequence[click.Parameter]) -> list[click.Option]:
    """The options the plugins register for ``vendor``'s simulator, checked against
    ``simulate``'s own options (``own``) and one another."""
    from mdmbridge import plugins

    names = {p.name for p in own} | {"state"}  # the callback's own arguments
    flags = {flag for p in own for flag in (*p.opts, *p.secondary_opts)} | {"-h", "--help"}
    options: list[click.Option] = []

    def register(option: click.Option) -> None:
        if not isinstance(option, click.Option):
            raise ConfigError(
                f"a plugin registered {option!r} as a {vendor} simulator option, "
                "which is not a click.Option"
            )
        taken = [f for f in (*option.opts, *option.secondary_opts) if f in flags]
        if taken or option.name in names:
            what = taken[0] if taken else f"the name {option.name!r}"
            raise ConfigError(
                f"a plugin registered the {vendor} simulator option {what}, "
                "which mdmbridge simulate or another option already has"
            )
        names.add(option.name)
        flags.update((*option.opts, *option.secondary_opts))
        options.append(option)

    plugins.plugin_manager().hook.register_simulator_options(vendor=vendor, register=register)
    return options


def _value_options(own: Sequence[click.Parameter], *, everyone: bool = False) -> dict[str, bool]:
    """Flag -> whether it takes a value: ``simulate``'s own flags, and with ``everyone``
    every vendor's too (to step over a vendor option placed before the vendor)."""
    params = [*own]
    if everyone:
        for vendor in _simulating_vendors():
            params += simulator_options(vendor, own)
    return {
        flag: isinstance(p, click.Option) and not p.is_flag and not p.count
        for p in params
        for flag in (*p.opts, *p.secondary_opts)
    }


def _no_such_option(
    exc: click.NoSuchOption, vendor: str | None, own: Sequence[click.Parameter]
) -> str:
    name = exc.option_name
    line = f"no such option for mdmbridge simulate{' ' + vendor if vendor else ''}: {name}"
    owners = [
        other
        for other in _simulating_vendors()
        if other != vendor
        and any(name in (*o.opts, *o.secondary_opts) for o in simulator_options(other, own))
    ]
    if owners:
        line += f" (it is a {', '.join(owners)} simulator option)"
    elif exc.possibilities:
        line += f" (did you mean {', '.join(exc.possibilities)}?)"
    if vendor is None:
        return line
    mine = [o.opts[0] for o in simulator_options(vendor, own)]
    return line + (
        f"; the {vendor} simulator takes {', '.join(mine)}"
        if mine
        else f"; the {vendor} simulator has no options of its own"
    )


def _write_options(
    ctx: click.Context,
    formatter: click.HelpFormatter,
    title: str,
    params: Sequence[click.Parameter],
) -> None:
    options = [p for p in params if isinstance(p, click.Option)]
    records = [r for r in (p.get_help_record(ctx) for p in options) if r is not None]
    if records:
        with formatter.section(title):
            formatter.write_dl(records)


@click.command("simulate", cls=SimulateCommand)
@click.argument("vendor")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="0 picks a free port")
@click.option("--devices", type=click.IntRange(0, 1_000_000), default=200, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--latency-ms", type=click.FloatRange(0, 60_000), default=0.0, show_default=True)
@click.option(
    "--fault",
    "--faults",
    "faults",
    multiple=True,
    help="e.g. status:429:retry_after=2:times=3 (repeatable)",
)
@click.pass_obj
def simulate_command(
    state: State,
    /,
    vendor: str,
    port: int,
    devices: int,
    seed: int,
    latency_ms: float,
    faults: tuple[str, ...],
    **vendor_options: Any,
) -> int:
    """Run a vendor's simulator until Ctrl-C; prints its base URL and credentials.

    Each vendor's own options (the credentials its simulator accepts) come from its
    adapter: mdmbridge simulate VENDOR --help lists them."""
    adapter = mdmbridge.adapters()[vendor].adapter_class  # SimulateCommand checked the name
    # As before the options came from the plugins: an empty value means the default.
    credentials = {key: value for key, value in vendor_options.items() if value not in (None, "")}
    try:
        sim = adapter.start_simulator(
            devices=devices, seed=seed, port=port, credentials=credentials
        )
    except UnsupportedOperation:
        raise ConfigError(f"{vendor} has no simulator") from None
    except OSError as exc:
        raise ConfigError(f"cannot listen on port {port}: {exc.strerror}") from None
    try:
        sim.server.faults.latency_s = latency_ms / 1000
        for spec in faults:
            try:
                sim.server.faults.add_spec(spec)
            except (ValueError, TypeError) as exc:
                raise click.BadParameter(f"{spec!r}: {exc}", param_hint="--fault") from None
        state.out.print(Text(f"{vendor} simulator with {devices} devices at {sim.base_url}"))
        for key, value in sim.settings.items():
            state.out.print(Text(f"  {key}: {value}"))
        state.out.print("Ctrl-C stops it.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        sim.stop()
