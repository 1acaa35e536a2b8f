"""Records and rows out: a table for a person, json/jsonl/csv for a machine."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mdmbridge.cli import pager
from mdmbridge.cli.table import clean, ranked, render
from mdmbridge.entities import columns_of
from mdmbridge.export.schema import row_maker
from mdmbridge.models import Record

if TYPE_CHECKING:
    from rich.console import Console

FORMATS = ("table", "json", "jsonl", "csv")


F = TypeVar("F", bound=Callable[..., Any])


def format_option(default: str = "table") -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default=default,
        show_default=True,
        help="table for people; json, jsonl or csv for machines",
    )


def record_rows(
    records: Iterable[Record], *, raw: bool
) -> tuple[list[str], Iterable[dict[str, Any]]]:
    """Rows of core fields (and the vendor payload with ``raw``); columns from the model."""
    records = iter(records)
    first = next(records, None)
    if first is None:
        return [], []
    columns = columns_of(type(first))
    if not raw:
        columns = tuple(c for c in columns if c.name != "raw")
    names = [c.name for c in columns]
    make = row_maker(columns, encode_json=False)  # JSON output nests raw as an object

    def rows() -> Iterable[dict[str, Any]]:
        yield dict(zip(names, make(first), strict=True))
        for record in records:
            yield dict(zip(names, make(record), strict=True))

    return [c.name for c in columns], rows()


def emit(
    console: Console,
    columns: Sequence[str],
    rows: Iterable[dict[str, Any]],
    fmt: str,
    *,
    title: str = "",
    limit: int | None = None,
    chosen: bool = False,
    page: bool = True,
    keep: Sequence[str] = ("id",),
    right: Sequence[str] = (),
) -> int:
    """Write rows in ``fmt``; returns how many. Streams for jsonl/csv (flat memory).

    A table fits the width of the console's stream (:mod:`mdmbridge.cli.table`): columns
    drop by importance unless ``chosen`` (the user named them), ``keep`` columns are never
    cut, ``right`` ones align right; on a terminal a long table goes through the pager
    unless ``page`` is False. ``limit`` stops after that many rows, in every format."""
    if limit is not None:
        rows = itertools.islice(rows, limit)
    count = 0
    if fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False, default=str))
            count += 1
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_flat(row.get(c)) for c in columns])
            count += 1
            if count % 500 == 0:
                click.echo(buffer.getvalue(), nl=False)
                buffer.seek(0)
                buffer.truncate()
        click.echo(buffer.getvalue(), nl=False)
    elif fmt == "json":
        items = list(rows)
        count = len(items)
        click.echo(json.dumps(items, ensure_ascii=False, indent=2, default=str))
    else:
        cells = [[clean(_cell(row.get(c))) for c in columns] for row in rows]
        count = len(cells)
        stream = console.file
        specs = [replace(c, right=c.name in right) for c in ranked(columns, keep=keep)]
        lines = render(
            specs,
            cells,
            width=pager.width(stream),
            title=title,
            shed=not chosen,
            bold=pager.colour(stream),
            plain=not pager.unicode(stream),
        )
        pager.show(lines, stream, page=page)
    return count


def emit_one(console: Console, columns: Sequence[str], row: dict[str, Any], fmt: str) -> None:
    """One record in a machine format: in ``json`` an object (listings are lists)."""
    if fmt == "json":
        click.echo(json.dumps(row, ensure_ascii=False, indent=2, default=str))
    else:
        emit(console, columns, [row], fmt)


def _flat(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
