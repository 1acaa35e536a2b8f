"""``mdmbridge report``: one self-contained HTML page about the fleet a sync database holds
(issue 12). query.py reads the figures, charts.py draws them as SVG, html.py lays out the
page, save.py writes it whole or not at all."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from mdmbridge.errors import ConfigError
from mdmbridge.report.html import generated_now, render
from mdmbridge.report.query import FleetReport, read_report
from mdmbridge.report.save import open_for_report, save_report


def make_report(db: str) -> str:
    """The page for the database ``db`` (a path or URL), read in full before anything is
    written, so a database error leaves an older report untouched."""
    store = open_for_report(db)
    try:
        report = read_report(store)
    except SQLAlchemyError as exc:
        # A damaged or hand-edited database (a table missing, a column of another type).
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = first[0] if first else type(exc).__name__
        raise ConfigError(
            f"--db {store.shown}: cannot read it as a sync database ({reason})"
        ) from None
    finally:
        store.close()
    return render(report, generated=generated_now())


__all__ = ["FleetReport", "make_report", "open_for_report", "read_report", "render", "save_report"]
