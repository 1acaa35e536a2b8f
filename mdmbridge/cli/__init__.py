"""The ``mdmbridge`` command. Thin over the library: parsing, output, exit codes.

Exit codes: 0 all good; 1 some tenants or items failed (the rest still done); 2 usage or
configuration error; 3 authentication failed. ``MDMError`` becomes one line on stderr here
and only here; ``-v`` adds DEBUG logs (secrets redacted) and tracebacks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import sys
import traceback

import click

from mdmbridge.cli.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, exit_code_for
from mdmbridge.errors import MDMError


def main(argv: list[str] | None = None) -> int:
    from mdmbridge.cli.app import make_cli

    cli = make_cli()
    verbose = _verbose(argv if argv is not None else sys.argv[1:])
    try:
        result = cli.main(args=argv, prog_name="mdmbridge", standalone_mode=False)
    except MDMError as error:
        if verbose:
            traceback.print_exc()
        click.echo(f"mdmbridge: error: {error}", err=True)
        return exit_code_for(error)
    except click.exceptions.Abort:
        click.echo("mdmbridge: aborted", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as error:
        error.show()
        return EXIT_USAGE if error.exit_code not in (0, 1) else error.exit_code
    except KeyboardInterrupt:
        click.echo("mdmbridge: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except BrokenPipeError:
        return _output_closed()
    except SystemExit:
        # With standalone_mode off, click exits only when a write hit EPIPE (it pacifies
        # the streams first). The reader of our output left (``| head -1``): that is done.
        if _stdout_gone():
            return _output_closed()
        raise
    except Exception as exc:  # a bug: say so in one line, the traceback only with -v
        if verbose:
            traceback.print_exc()
        click.echo(
            f"mdmbridge: internal error: {type(exc).__name__}: {exc} (run with -v for details)",
            err=True,
        )
        return 1
    try:
        sys.stdout.flush()  # a closed pipe shows here, not as a traceback at exit
    except BrokenPipeError:
        return _output_closed()
    return int(result or 0)


def _stdout_gone() -> bool:
    """Whether the reader of stdout has gone (a pipe whose other end was closed)."""
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
        poller = select.poll()
    except (AttributeError, OSError, ValueError):
        return True  # no poll() here (Windows): trust the EPIPE
    poller.register(fd, select.POLLOUT)
    return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))


def _output_closed() -> int:
    """``mdmbridge ... | head -1``: the reader has what it wanted. Exit 0, quietly: point
    stdout at devnull so the interpreter's last flush does not complain (the Python
    docs' recipe for SIGPIPE, with exit 0 rather than 1 as ``head`` users expect)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ is not None else 1)
        os.close(devnull)
    return EXIT_OK


def _verbose(argv: list[str]) -> bool:
    return any(
        a in ("-v", "--verbose") or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in argv
    )


class _CliHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler -v installs, so running main() again does not stack another."""


def configure_logging(verbosity: int) -> None:
    if verbosity <= 0:
        return
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _CliHandler)]:
        root.removeHandler(old)
    handler = _CliHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)
    logging.getLogger("mdmbridge").setLevel(logging.DEBUG)
    if verbosity > 1:
        logging.getLogger("urllib3").setLevel(logging.DEBUG)
