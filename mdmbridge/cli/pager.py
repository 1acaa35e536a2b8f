"""The terminal a person reads output on: its size, colour, and a pager for long output.

As git and gh do: output longer than the screen, written to a terminal, goes through
``$MDMBRIDGE_PAGER``, else ``$PAGER``, else ``less`` (with ``LESS=FRX`` unless ``LESS`` is
set: quit when it fits, keep colours, leave the text on the screen). An empty pager or
``cat`` turns it off, and so does ``--no-pager``. Output into a pipe or a file is never
paged. The pager is run without a shell: a command and its arguments.
"""

from __future__ import annotations

import contextlib
import os
from typing import IO

PAGER_ENV = "MDMBRIDGE_PAGER"
DEFAULT_PAGER = "less"


def is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def width(stream: IO[str]) -> int | None:
    """Columns to fit: ``$COLUMNS`` when set, else the terminal's; None (no limit) when
    the output goes to a pipe or a file, so a script gets whole rows, one per line."""
    given = _positive(os.environ.get("COLUMNS"))
    if given is not None:
        return given
    if not is_terminal(stream):
        return None
    try:
        return os.get_terminal_size(stream.fileno()).columns or None
    except (OSError, ValueError):
        return None


def height(stream: IO[str]) -> int | None:
    """Lines on the screen: ``$LINES`` when set, else the terminal's (None if unknown)."""
    given = _positive(os.environ.get("LINES"))
    if given is not None:
        return given
    try:
        return os.get_terminal_size(stream.fileno()).lines or None
    except (OSError, ValueError):
        return None


def colour(stream: IO[str]) -> bool:
    """Styles only for a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def unicode(stream: IO[str]) -> bool:
    """Whether box-drawing characters can be written (else tables are drawn in ASCII)."""
    encoding = str(getattr(stream, "encoding", None) or "utf-8").lower().replace("-", "")
    return encoding.startswith("utf")


def pager_command() -> list[str] | None:
    """The pager to run, or None when paging is turned off."""
    for name in (PAGER_ENV, "PAGER"):
        if name in os.environ:
            value = os.environ[name].strip()
            break
    else:
        value = DEFAULT_PAGER
    import shlex  # only when paging: not loaded by every command

    try:
        argv = shlex.split(value)
    except ValueError:  # unbalanced quotes: not a command we can run
        return None
    if not argv or os.path.basename(argv[0]) == "cat":
        return None
    return argv


def show(lines: list[str], stream: IO[str], *, page: bool = True) -> None:
    """Write ``lines``; through the pager when ``stream`` is a terminal and they do not
    fit on its screen. A pager that cannot be started is skipped, not an error."""
    text = "\n".join(lines) + "\n" if lines else ""
    if page and _too_long(lines, stream):
        argv = pager_command()
        if argv is not None and _through(argv, text, stream):
            return
    stream.write(text)
    stream.flush()


def _too_long(lines: list[str], stream: IO[str]) -> bool:
    if not is_terminal(stream):
        return False
    screen = height(stream)
    return screen is not None and len(lines) >= screen


def _through(argv: list[str], text: str, stream: IO[str]) -> bool:
    """Run the pager on ``text``; False when it could not be started."""
    import subprocess

    stream.flush()  # what was written before comes first
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    env.setdefault("LV", "-c")
    try:
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=stream.fileno(), env=env)
    except (OSError, ValueError):
        return False
    assert process.stdin is not None
    encoding = getattr(stream, "encoding", None) or "utf-8"
    with contextlib.suppress(BrokenPipeError):  # the person quit the pager early
        process.stdin.write(text.encode(encoding, errors="replace"))
    with contextlib.suppress(BrokenPipeError):
        process.stdin.close()
    while True:
        try:
            process.wait()
            return True
        except KeyboardInterrupt:  # Ctrl-C is the pager's (less redraws), as under git
            continue


def _positive(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if number > 0 else None
