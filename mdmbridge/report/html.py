"""The fleet report as one self-contained HTML page: a fleet summary, then one section per
tenant, every chart inline SVG (:mod:`mdmbridge.report.charts`).

The page carries no script at all and a Content-Security-Policy that forbids every script
and every fetch: names come from vendors and databases we do not control, so even a value
that escaped escaping could not run or phone home. Navigation is plain anchors.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from mdmbridge.report import charts
from mdmbridge.report.charts import esc
from mdmbridge.report.query import NEVER, STALE_DAYS, FleetReport, TenantReport, TenantRun

VERSIONS_SHOWN = 15  # OS versions charted per tenant; the rest are summed as "other"
RUNS_SHOWN = 60  # runs charted per tenant (the latest ones)

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#212121;
background:#fafafa}
header,main,nav{max-width:1040px;margin:0 auto;padding:0 16px}
header{padding-top:16px}
h1{font-size:24px;margin:8px 0}h2{font-size:19px;margin:0 0 4px;overflow-wrap:anywhere}
h3{font-size:14px;margin:0 0 6px;color:#424242}
nav{margin:8px auto 16px}nav a{margin-right:12px;overflow-wrap:anywhere}
section{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:14px 16px;
margin:0 0 18px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:14px}
figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}
svg.chart{max-width:100%;height:auto;font-size:11px;fill:#424242}
table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #eeeeee;padding:4px 10px;text-align:left}
td.n{text-align:right}
.badge{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-size:12px}
.status-ok{background:#2e7d32}.status-failed{background:#c62828}
.status-skipped{background:#9e9e9e}.status-none{background:#616161}
.note{color:#616161}.error{color:#c62828;overflow-wrap:anywhere}
.empty{padding:40px 16px;text-align:center}
"""


def render(report: FleetReport, *, generated: str) -> str:
    """The whole page. ``generated`` is the time the report was made (UTC ISO text)."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>mdmbridge fleet report</title>",
        f"<style>{_STYLE}</style></head><body>",
        _header(report, generated),
    ]
    if report.latest is None:
        parts.append(_empty(report))
    else:
        parts.append(_nav(report.tenants))
        parts.append("<main>")
        parts.append(_fleet(report))
        parts.extend(_tenant(n, t) for n, t in enumerate(report.tenants))
        parts.append("</main>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _header(report: FleetReport, generated: str) -> str:
    lines = [
        "<header><h1>Fleet report</h1>",
        f"<p>Database <code>{esc(report.source)}</code>; report made {esc(generated)}.</p>",
    ]
    latest = report.latest
    if latest is not None:
        lines.append(
            f"<p>Latest sync run <strong>{latest.id}</strong>, started {esc(latest.started)}, "
            f"outcome <strong>{esc(latest.outcome)}</strong>.</p>"
        )
        days = "/".join(str(d) for d in STALE_DAYS)
        lines.append(
            f'<p class="note">"Not seen for {days} days" counts current devices whose own '
            f"<code>last_seen</code> (the vendor's last check-in) is at least that long before "
            f"the start of the latest run ({esc(latest.started)}), not before today. Removed "
            "devices are not counted anywhere. Device figures are what each tenant's last "
            "successful sync found.</p>"
        )
    lines.append("</header>")
    return "\n".join(lines)


def _empty(report: FleetReport) -> str:
    return (
        '<main><section class="empty" id="empty"><h2>No sync has run in this database yet</h2>'
        f"<p>Run <code>mdmbridge sync --db {esc(report.source)}</code> first; the report "
        "shows what the sync runs recorded.</p></section></main>"
    )


def _nav(tenants: list[TenantReport]) -> str:
    links = ['<a href="#fleet">Fleet summary</a>']
    links += [f'<a href="#tenant-{n}">{esc(t.name)}</a>' for n, t in enumerate(tenants)]
    return f"<nav>{''.join(links)}</nav>"


def _figure(title: str, svg: str) -> str:
    return f"<figure><figcaption>{esc(title)}</figcaption>{svg}</figure>"


def _badge(run: TenantRun | None) -> str:
    status = run.status if run is not None else "none"
    known = status if status in charts.STATUS_COLOURS else "none"
    return f'<span class="badge status-{known}">{esc(status)}</span>'


def _stale_items(stale: dict[str, int]) -> list[tuple[str, int]]:
    return [(f"{d}+ days", stale.get(f"{d} days", 0)) for d in STALE_DAYS] + [
        (NEVER, stale.get(NEVER, 0))
    ]


def _fleet(report: FleetReport) -> str:
    tenants = report.tenants
    if not tenants:
        return (
            '<section id="fleet"><h2>Fleet summary</h2><p>The latest run holds no tenant yet '
            "(it may still be running).</p></section>"
        )
    platforms: Counter[str] = Counter()
    stale: Counter[str] = Counter()
    for t in tenants:
        platforms.update(t.platforms)
        stale.update(t.stale)
    unassigned = sum(t.unassigned for t in tenants)
    rows = "".join(_summary_row(n, t) for n, t in enumerate(tenants))
    figures = [
        _figure(
            "Devices by tenant",
            charts.bars("devices by tenant", [(t.name, t.devices) for t in tenants]),
        )
    ]
    if report.devices:
        figures += [
            _figure(
                "Devices by platform, whole fleet",
                charts.bars("devices by platform", platforms.most_common()),
            ),
            _figure(
                "Devices not seen for, whole fleet",
                charts.bars("not seen for", _stale_items(dict(stale)), colour="#8d6e63"),
            ),
            _figure(
                "Unassigned devices, whole fleet",
                _unassigned_chart(report.devices, unassigned),
            ),
        ]
    status = Counter((t.last.status if t.last else "none") for t in tenants)
    said = ", ".join(f"{count} {word}" for word, count in sorted(status.items()))
    return (
        '<section id="fleet"><h2>Fleet summary</h2>'
        f"<p>{len(tenants)} tenants, {report.devices:,} current devices; last sync status: "
        f"{esc(said)}.</p>"
        "<table><thead><tr><th>tenant</th><th>vendor</th><th>devices</th><th>unassigned</th>"
        f"<th>not seen {STALE_DAYS[1]}+ days</th><th>last sync</th><th>run</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
        f'<div class="charts">{"".join(figures)}</div></section>'
    )


def _summary_row(n: int, t: TenantReport) -> str:
    last = t.last
    return (
        f'<tr><td><a href="#tenant-{n}">{esc(t.name)}</a></td><td>{esc(t.vendor)}</td>'
        f'<td class="n">{t.devices:,}</td><td class="n">{t.unassigned:,}</td>'
        f'<td class="n">{t.stale.get(f"{STALE_DAYS[1]} days", 0):,}</td>'
        f"<td>{_badge(last)}</td><td>{'' if last is None else last.run_id}</td></tr>"
    )


def _unassigned_chart(devices: int, unassigned: int) -> str:
    return charts.share(
        "unassigned devices",
        [("assigned", devices - unassigned, "#3f51b5"), ("unassigned", unassigned, "#ffa000")],
    )


def _versions(t: TenantReport) -> list[tuple[str, int]]:
    ranked = sorted(t.os_versions.items(), key=lambda item: (-item[1], item[0]))
    shown = [(f"{platform} {version}", count) for (platform, version), count in ranked]
    if len(shown) > VERSIONS_SHOWN:
        rest = sum(count for _, count in shown[VERSIONS_SHOWN - 1 :])
        shown = [*shown[: VERSIONS_SHOWN - 1], ("other versions", rest)]
    return shown


def _run_label(run: TenantRun) -> str:
    started = run.started[:16].replace("T", " ")
    return f"run {run.run_id} ({started})"


def _last_status(t: TenantReport) -> str:
    last = t.last
    if last is None:
        return "<p>No run recorded for this tenant.</p>"
    text = f"<p>Last sync: {_badge(last)} in run {last.run_id}, started {esc(last.started)}."
    if last.status != "ok":
        good = next((r for r in reversed(t.runs) if r.status == "ok"), None)
        text += (
            f" Figures below are from run {good.run_id}, its last successful sync."
            if good
            else " It never synced."
        )
    text += "</p>"
    if last.error:
        text += f'<p class="error">{esc(last.error)}</p>'
    return text


def _unseen_table(t: TenantReport) -> str:
    if not t.longest_unseen:
        return ""
    rows = "".join(
        f"<tr><td>{esc(u.name or '')}</td><td>{esc(u.serial_number or '')}</td>"
        f"<td>{esc(u.platform or '')} {esc(u.os_version or '')}</td>"
        f"<td>{esc(u.last_seen)}</td></tr>"
        for u in t.longest_unseen
    )
    return (
        f"<h3>Longest unseen ({len(t.longest_unseen)} devices)</h3>"
        '<table class="unseen"><thead><tr><th>device</th><th>serial number</th><th>OS</th>'
        f"<th>last seen</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _tenant(n: int, t: TenantReport) -> str:
    figures: list[str] = []
    if t.devices:
        figures += [
            _figure(
                "Devices by platform",
                charts.bars("devices by platform", sorted(t.platforms.items())),
            ),
            _figure(
                "Devices by OS version",
                charts.bars("devices by OS version", _versions(t), colour="#00897b"),
            ),
            _figure(
                "Devices not seen for",
                charts.bars("not seen for", _stale_items(t.stale), colour="#8d6e63"),
            ),
            _figure("Unassigned devices", _unassigned_chart(t.devices, t.unassigned)),
        ]
    runs = t.runs[-RUNS_SHOWN:]
    shown = f" (the latest {RUNS_SHOWN})" if len(t.runs) > RUNS_SHOWN else ""
    figures += [
        _figure(
            f"Records changed per run{shown}",
            charts.columns(
                "changes per run", [(f"run {r.run_id}", _run_label(r), r.changes) for r in runs]
            ),
        ),
        _figure(
            f"Sync status per run{shown}",
            charts.strip("sync status per run", [(_run_label(r), r.status) for r in runs]),
        ),
    ]
    devices = (
        f"{t.devices:,} current devices, {t.unassigned:,} unassigned."
        if t.devices
        else "No current devices."
    )
    return (
        f'<section id="tenant-{n}" class="tenant"><h2>{esc(t.name)}</h2>'
        f'<p class="note">vendor {esc(t.vendor)}. {devices}</p>{_last_status(t)}'
        f'<div class="charts">{"".join(figures)}</div>{_unseen_table(t)}</section>'
    )


def generated_now() -> str:
    """The report's own time, for its header (UTC, to the second)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
