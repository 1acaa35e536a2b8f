"""The documented export schema is the one the code writes."""

from __future__ import annotations

from pathlib import Path

from mdmbridge.export.schema import schema_markdown

DOC = Path(__file__).resolve().parent.parent / "docs" / "export-schema.md"


def test_export_schema_doc_is_in_sync() -> None:
    assert DOC.read_text(encoding="utf-8") == schema_markdown(), (
        "docs/export-schema.md is stale: run .venv/bin/python -m mdmbridge.export.schema > docs/export-schema.md"
    )
