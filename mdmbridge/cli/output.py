"""Records and rows out: a table for a person, json/jsonl/csv for a machine."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mdmbridge.entities import columns_of
from mdmbridge.export.schema import row_maker
from mdmbridge.models import Record

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
) -> int:
    """Write rows in ``fmt``; returns how many. Streams for jsonl/csv (flat memory)."""
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
        table = Table(title=title or None, show_lines=False)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*[Text(_cell(row.get(c))) for c in columns])  # data, never markup
            count += 1
        console.print(table)
    return count


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
