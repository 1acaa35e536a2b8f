"""A table that fits its width, rendered as plain fixed-width text.

Why not rich's ``Table``: it measures and wraps every cell (7-8 s of CPU for 5,000
devices), and at 80 columns it squeezes 13 columns to three characters each, so one
device takes twelve lines. Here each cell is measured once, a row is always one line, and
when the row is too wide the least important columns go first, then the widest cells are
cut with an ellipsis. Without a width (output into a pipe or a file) nothing is cut.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SEPARATOR = " │ "
ELLIPSIS = "…"
# For a stream that cannot encode them (a non-UTF-8 locale): the same widths in ASCII.
PLAIN = {"│": "|", "─": "-", "┼": "+", "…": "~"}
MIN_CELL = 10  # a shrinkable column is cut to no fewer characters than this (or its own)
MIN_CHOSEN = 5  # the same for columns asked for by name: they are never dropped
HEADER_MIN = 4  # a header longer than its column's data is cut to no fewer than this

# What a person looks for first in a listing; a column not named here ranks after these,
# in its own order (the model's field order), and ``raw`` last of all.
KEY_COLUMNS = (
    "tenant",
    "id",
    "name",
    "serial_number",
    "email",
    "platform",
    "os_version",
    "user_id",
    "last_seen",
    "status",
    "field",
    "value",
)

# Terminal escapes, newlines and other control characters in vendor data would break the
# one-line-per-row layout, or worse, drive the terminal: each becomes a visible "?".
_CONTROLS = {c: "?" for c in (*range(0x20), *range(0x7F, 0xA0))}
_CONTROLS.update({ord("\t"): " ", ord("\n"): " ", ord("\r"): " "})


@dataclass(frozen=True)
class Column:
    """One column: ``right`` aligns numbers; ``keep`` is never cut (a count or an id is
    useless shortened); ``rank`` orders dropping (the highest goes first)."""

    name: str
    rank: int = 0
    right: bool = False
    keep: bool = False


def ranked(names: Sequence[str], *, keep: Iterable[str] = ("id",)) -> list[Column]:
    """Columns in display order, ranked by :data:`KEY_COLUMNS`, then by position."""
    kept = set(keep)
    key = {name: i for i, name in enumerate(KEY_COLUMNS)}
    out = []
    for position, name in enumerate(names):
        last = 2 * len(names) + len(key)
        rank = last if name == "raw" else key.get(name, len(key) + position)
        out.append(Column(name, rank=rank, keep=name in kept))
    return out


def clean(text: str) -> str:
    """One line of printable text (see ``_CONTROLS``)."""
    return text if text.isprintable() else text.translate(_CONTROLS)


def render(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    width: int | None,
    title: str = "",
    shed: bool = True,
    bold: bool = False,
    plain: bool = False,
) -> list[str]:
    """The lines of the table: the title, the header, a rule, one line per row.

    ``rows`` hold cleaned text (:func:`clean`). ``shed=False`` keeps every column (the
    user named them) and only cuts cells. ``bold`` styles the header for a terminal;
    ``plain`` draws the lines in ASCII."""
    data = [0] * len(columns)
    for row in rows:
        for i, cell in enumerate(row):
            size = len(cell) if cell.isascii() else _width(cell)
            if size > data[i]:
                data[i] = size
    heads = [_width(c.name) for c in columns]
    shown = list(range(len(columns)))
    widths = {i: max(heads[i], data[i]) for i in shown}
    if width is not None:
        shown, widths = _fit(columns, heads, data, width, shed=shed)
    lines = []
    if title:
        lines.append(_cut(clean(title), width) if width is not None else clean(title))
    header = SEPARATOR.join(_pad(_cut(columns[i].name, widths[i]), widths[i], False) for i in shown)
    lines.append(f"\x1b[1m{header.rstrip()}\x1b[0m" if bold else header.rstrip())
    lines.append("─┼─".join("─" * widths[i] for i in shown))
    plans = [(i, widths[i], columns[i].right, widths[i] < data[i]) for i in shown]
    for row in rows:
        cells = []
        for i, size, right, cut in plans:
            cell = row[i]
            if cut:
                cell = _cut(cell, size)
            cells.append(_pad(cell, size, right))
        lines.append(SEPARATOR.join(cells).rstrip())
    if plain:
        table = str.maketrans(PLAIN)
        return [line.translate(table) for line in lines]
    return lines


def _fit(
    columns: Sequence[Column], heads: list[int], data: list[int], width: int, *, shed: bool
) -> tuple[list[int], dict[int, int]]:
    """Which columns to show and how wide. Drop columns by rank while even their least
    widths do not fit; then cut headers down to their data ("serial_number" over
    11-character serials), and only then cut the widest cells. Never-cut (``keep``)
    columns stay whole, header too: if even they do not fit, the row is wider than asked."""
    floor = MIN_CELL if shed else MIN_CHOSEN
    natural = [max(h, d) for h, d in zip(heads, data, strict=True)]
    tight = [
        n if c.keep else max(d, min(h, HEADER_MIN))
        for c, h, d, n in zip(columns, heads, data, natural, strict=True)
    ]
    least = [t if c.keep else min(t, floor) for c, t in zip(columns, tight, strict=True)]
    shown = list(range(len(columns)))

    def needed(indexes: list[int]) -> int:
        return sum(least[i] for i in indexes) + len(SEPARATOR) * (len(indexes) - 1)

    if shed:
        by_rank = sorted(shown, key=lambda i: (columns[i].rank, i))
        while len(shown) > 1 and needed(shown) > width:
            shown.remove(by_rank.pop())
    room = width - len(SEPARATOR) * (len(shown) - 1)
    if sum(tight[i] for i in shown) <= room:
        return shown, _share(shown, tight, natural, room)
    return shown, _share(shown, least, tight, room)


def _share(shown: list[int], low: list[int], high: list[int], room: int) -> dict[int, int]:
    """Widths between ``low`` and ``high`` summing to at most ``room`` (or ``low`` when
    even that is more): the largest common cap, so the widest are cut first; what is
    left over goes one character at a time to the cut columns, from the left."""
    if sum(high[i] for i in shown) <= room:
        return {i: high[i] for i in shown}
    if sum(low[i] for i in shown) >= room:
        return {i: low[i] for i in shown}
    least, most = 0, max(high[i] for i in shown)
    while least < most:
        cap = (least + most + 1) // 2
        if sum(max(low[i], min(high[i], cap)) for i in shown) <= room:
            least = cap
        else:
            most = cap - 1
    widths = {i: max(low[i], min(high[i], least)) for i in shown}
    spare = room - sum(widths.values())
    for i in shown:
        if spare <= 0:
            break
        if widths[i] < high[i]:
            widths[i] += 1
            spare -= 1
    return widths


def _width(text: str) -> int:
    """Terminal cells: wide (East Asian) characters take two."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def _cut(text: str, size: int | None) -> str:
    if size is None:
        return text
    if text.isascii():
        return text if len(text) <= size else text[: max(size - 1, 0)] + ELLIPSIS
    if _width(text) <= size:
        return text
    from rich.cells import set_cell_size

    return set_cell_size(text, max(size - 1, 0)) + ELLIPSIS


def _pad(text: str, size: int, right: bool) -> str:
    gap = size - (len(text) if text.isascii() else _width(text))
    if gap <= 0:
        return text
    return " " * gap + text if right else text + " " * gap
