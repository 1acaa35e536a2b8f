"""What is generated from the registry is what the code has: the documented export schema
and the typed write signatures (``mdmbridge/writes.py``)."""

from __future__ import annotations

from mdmbridge.generate import SCHEMA_DOC, WRITES, schema_markdown, writes_module

HINT = "run .venv/bin/python -m mdmbridge.generate"


def test_export_schema_doc_is_in_sync() -> None:
    assert SCHEMA_DOC.read_text(encoding="utf-8") == schema_markdown(), (
        f"docs/export-schema.md is stale: {HINT}"
    )


def test_write_signatures_are_in_sync() -> None:
    assert WRITES.read_text(encoding="utf-8") == writes_module(), (
        f"mdmbridge/writes.py is stale: {HINT}"
    )
