"""Test constants and the leak recorder (no fixtures here: plain helpers tests import)."""

from __future__ import annotations

import contextlib
import logging
import traceback
from collections.abc import Iterator

import pytest

# Distinctive secrets: if one of these shows up in a log line, an exception or a cassette,
# it can only have leaked from our code.
DUO_USER = "api-tester"
DUO_PASSWORD = "Duo-Canary-Pw-7319"
EZ_KEY = "EZCANARY0f9e8d7c6b5a4"
INTUNE_SECRET = "Int8Q~Canary.Secret_4242-xyz"  # an Entra client secret's shape


class LeakRecorder:
    """Collects every log line and every exception text a test run produces."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.exceptions: list[str] = []

    def log_handler(self) -> logging.Handler:
        recorder = self

        class _Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                recorder.lines.append(self.format(record))

        handler = _Handler(level=logging.DEBUG)
        handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        return handler

    @contextlib.contextmanager
    def raises(
        self, error: type[BaseException], match: str | None = None
    ) -> Iterator[pytest.ExceptionInfo[BaseException]]:
        """``pytest.raises`` that also records the error's str, repr and full traceback."""
        with pytest.raises(error, match=match) as info:
            yield info
        exc = info.value
        self.exceptions.append(str(exc))
        self.exceptions.append(repr(exc))
        self.exceptions.append("".join(traceback.format_exception(exc)))


LEAKS = LeakRecorder()
raises = LEAKS.raises
