"""What is generated from the registry, and the command that writes it.

    .venv/bin/python -m mdmbridge.generate            # rewrites both files
    .venv/bin/python -m mdmbridge.generate --check    # exit 1 if either is stale

* ``mdmbridge/writes.py``: the ``TypedDict``s of every write, so the client's keyword-only
  calls are checked by a caller's mypy (``groups.create(**values: Unpack[GroupCreateArgs])``)
  and adapters receive typed values (``create_group(values: GroupCreate)``). Python's type
  system cannot derive "the same fields, all optional" from a class, so these are written
  out from the models' :class:`~mdmbridge.fields.Write` fields rather than by hand.
* ``docs/export-schema.md``: every exported column, and what the client can write.

``tests/test_generated.py`` fails when either file and the registry disagree. At run time
nothing depends on the generated module being fresh: validation is built from the registry.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mdmbridge.entities import ENTITIES, Entity, writable_entities
from mdmbridge.export.schema import DEFAULT_ENTITIES
from mdmbridge.fields import WriteField, is_enum

ROOT = Path(__file__).resolve().parent.parent
WRITES = ROOT / "mdmbridge" / "writes.py"
SCHEMA_DOC = ROOT / "docs" / "export-schema.md"


def type_names(entity: Entity) -> dict[str, str]:
    """The generated names: public keywords (``...Args``) and what adapters receive."""
    base, verb = entity.model.__name__, entity.verb.title()
    names = {"create_args": f"{base}{verb}Args", "create": f"{base}{verb}"}
    if entity.update:
        names |= {"update_args": f"{base}UpdateArgs", "update": f"{base}Changes"}
    return names


def _given(field: WriteField) -> str:
    if field.ref is not None:
        return "Id"
    return f"{field.type.__name__} | str" if is_enum(field.type) else str(field.type.__name__)


def _checked(field: WriteField) -> str:
    return "str" if field.ref is not None else str(field.type.__name__)


def _class(name: str, doc: str, keys: list[tuple[str, str]]) -> list[str]:
    lines = ["", "", f"class {name}(TypedDict, total=False):", f'    """{doc}"""', ""]
    return lines + [f"    {key}: {annotation}" for key, annotation in keys]


def writes_module() -> str:
    enums = sorted(
        {w.type.__name__ for e in writable_entities() for w in e.writable if is_enum(w.type)}
    )
    lines = [
        '"""GENERATED from the registry by ``python -m mdmbridge.generate``: do not edit.',
        "",
        "``...Args``: the keywords of the client's write calls, checked by a caller's mypy.",
        "The others: what an adapter's create/update method receives, already validated",
        "(ids as strings, enums as members; on create None is left out, on update only the",
        'fields given are present and None means "clear").',
        "",
        "The annotations are evaluated (no ``from __future__ import annotations``), so that",
        "``Required`` is seen at run time too (``__required_keys__``, pydantic).",
        '"""',
        "",
        "from typing import Required",
        "",
        "from typing_extensions import TypedDict",
        "",
        "from mdmbridge.fields import Id, Unset",
    ]
    if enums:
        lines.append(f"from mdmbridge.models import {', '.join(enums)}")
    for entity in writable_entities():
        names, call = type_names(entity), f"client.{entity.name}"
        create = entity.fields_for("create")
        given = [
            (w.name, f"Required[{_given(w)}]" if w.required else f"{_given(w)} | None")
            for w in create
        ]
        checked = [
            (w.name, f"Required[{_checked(w)}]" if w.required else _checked(w)) for w in create
        ]
        doc = f"Keywords of ``{call}.{entity.verb}()``; None is not sent."
        lines += _class(names["create_args"], doc, given)
        lines += _class(
            names["create"], f"What ``Adapter.{entity.verb}_{entity.singular}`` receives.", checked
        )
        if entity.update:
            update = entity.fields_for("update")
            clear = {w.name: " | None" if w.clearable else "" for w in update}
            lines += _class(
                names["update_args"],
                f"Keywords of ``{call}.update(id, ...)``: not given is not sent, None clears.",
                [(w.name, f"{_given(w)} | Unset{clear[w.name]}") for w in update],
            )
            lines += _class(
                names["update"],
                f"What ``Adapter.update_{entity.singular}`` receives: the fields given.",
                [(w.name, f"{_checked(w)}{clear[w.name]}") for w in update],
            )
    return "\n".join(lines) + "\n"


_KIND_TYPES = {
    "text": ("TEXT", "string", "string"),
    "integer": ("INTEGER", "int64", "number"),
    "real": ("REAL", "float64", "number"),
    "boolean": ("INTEGER (0/1)", "bool", "true/false"),
    "timestamp": ("TEXT, ISO 8601 UTC", "timestamp[us, UTC]", "string, ISO 8601 UTC (…Z)"),
    "json": ("TEXT (JSON)", "string (JSON)", "object (CSV: JSON text)"),
}


def _write_cell(entity: Entity, name: str) -> str:
    """How the client writes this column: "create (required), update, clear"."""
    found = [w for w in entity.writable if w.name == name]
    if not found or entity.write is None:
        return ""
    field, parts = found[0], []
    if field.on_create:
        parts.append(f"{entity.verb} (required)" if field.required else entity.verb)
    if entity.update and field.on_update:
        parts += ["update", "clear"] if field.clearable else ["update"]
    return ", ".join(parts)


def schema_markdown() -> str:
    """docs/export-schema.md, generated from the registry (a test keeps the file in sync)."""
    lines = [
        "# Export schema",
        "",
        "Generated from the entity registry (`mdmbridge/entities.py`) by",
        "`python -m mdmbridge.generate`; `tests/test_generated.py` fails if this file and the",
        "code disagree.",
        "",
        "Every entity is one table (SQLite), one file (`<entity>.csv`, `<entity>.parquet` in the",
        'output directory), or rows tagged with `"entity"` (JSON Lines; JSON is an object of',
        "arrays keyed by entity). Every row starts with `tenant`, `vendor`, `id` and ends with",
        "`raw`, the vendor's payload verbatim. Empty values are NULL / empty cells. CSV is UTF-8",
        "with a byte-order mark so spreadsheet programs show å, ä, ö correctly.",
        "",
        f"Default entities: {', '.join(DEFAULT_ENTITIES)}. `--entities all` adds the rest;",
        "`locations` costs one request per device.",
        "",
        "The `client` column says what the client (and the CLI) can write where the adapter has",
        "the capability: on `create` (or `upsert`), on `update`, and whether an update can",
        "`clear` the field. Which of these fields a vendor can hold is the adapter's `writable`.",
        "",
    ]
    for spec in ENTITIES.values():
        lines += [
            f"## {spec.name}",
            "",
            f"Needs the adapter capability `{spec.capability.value}`. "
            f"SQLite indexes: UNIQUE (tenant, id)"
            + "".join(f"; (tenant, {', '.join(i)})" for i in spec.indexes)
            + ".",
            "",
        ]
        if spec.filter_fields:
            names = ", ".join(f"`{ff.name}`" for ff in spec.filter_fields)
            lines += [f"List filters: {names}.", ""]
        writes = spec.write is not None and bool(spec.writable)
        lines += [
            "| column | kind | SQLite | Parquet | JSON |" + (" client |" if writes else ""),
            "|---|---|---|---|---|" + ("---|" if writes else ""),
        ]
        for column in spec.columns:
            sql, parquet, json_type = _KIND_TYPES[column.kind]
            row = f"| `{column.name}` | {column.kind} | {sql} | {parquet} | {json_type} |"
            lines.append(row + (f" {_write_cell(spec, column.name)} |" if writes else ""))
        lines.append("")
        for field in spec.write_only:
            lines += [f"Also written, never read back: `{field.name}` ({field.help}).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mdmbridge.generate")
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    stale = []
    for path, text in ((WRITES, writes_module()), (SCHEMA_DOC, schema_markdown())):
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'stale' if args.check else 'rewrote'}: {path.relative_to(ROOT)}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
