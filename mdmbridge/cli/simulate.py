"""simulate VENDOR: run a built-in or plugin simulator in the foreground."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import click
from rich.text import Text

import mdmbridge
from mdmbridge.cli.exits import EXIT_OK
from mdmbridge.cli.state import State
from mdmbridge.errors import ConfigError, UnsupportedOperation

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
