"""JSON documents people review and keep: plan files (``migrate plan``, ``bulk plan``) and
the reports of their apply runs.

One place decides how they are written, so every document reads alike: UTF-8, indented by
two, keys in the order given. msgspec writes them (a 5,000-user plan in ~5 ms, where
``json.dumps(indent=2)`` took ~100 ms); the text is what ``json.dumps(..., indent=2,
ensure_ascii=False)`` wrote. A plan is saved whole to a temporary file and then renamed, so
a crash or a full disk never leaves half a plan under its name; loading one names what is
wrong with it in one line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from pydantic import BaseModel

from mdmbridge.errors import ConfigError

# Non-str keys (an int-keyed count table) become strings, as json.dumps made them. Datetimes
# need nothing: documents are dumped in pydantic's JSON mode, or hold text already. msgspec,
# not a second JSON library: it is already the one that decodes pages.
_ENCODER = msgspec.json.Encoder()


def dumps(document: Any) -> str:
    """The document as indented JSON text, without a trailing newline (reports)."""
    return msgspec.json.format(_ENCODER.encode(document), indent=2).decode("utf-8")


@dataclass(frozen=True)
class Encoded:
    """A model to be written as its JSON form (pydantic-core encodes it, in Rust, without
    building dicts first), with ``extra`` keys after its own."""

    model: BaseModel
    extra: dict[str, Any] = field(default_factory=dict)

    def json_bytes(self) -> bytes:
        own = self.model.__pydantic_serializer__.to_json(self.model)
        if not self.extra:
            return own
        tail = _ENCODER.encode(self.extra)
        if own == b"{}":
            return tail
        return own[:-1] + b"," + tail[1:]


def dump_bytes(document: Any) -> bytes:
    """The document as a file holds it: indented UTF-8 JSON ending in a newline."""
    encoded = document.json_bytes() if isinstance(document, Encoded) else _ENCODER.encode(document)
    return msgspec.json.format(encoded, indent=2) + b"\n"


def digest(model: BaseModel) -> str:
    """What a ledger is bound to: the plan without its creation time, so the same plan made
    again is the same plan, and an edited plan is another one."""
    text = model.model_dump_json(exclude={"created_at"})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def save_document(path: str | Path, document: Any, *, what: str = "plan") -> None:
    """Written whole to ``.<name>.partial`` beside it, then renamed: never a half file."""
    path = Path(path)
    staging = path.with_name(f".{path.name}.partial")
    try:
        staging.write_bytes(dump_bytes(document))
        staging.replace(path)
    except OSError as exc:
        raise ConfigError(f"cannot write the {what} {path}: {exc.strerror}") from None


def load_document(path: str | Path, *, format: str, description: str) -> dict[str, Any]:
    """The JSON object at ``path`` if its ``format`` is ``format``; ``description`` names
    what it should have been (``an mdmbridge bulk plan``) in the error when it is not."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no plan file at {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable plan: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != format:
        raise ConfigError(f"{path}: not {description}")
    return document


def damaged(path: str | Path, exc: Exception) -> ConfigError:
    """A plan whose JSON reads but whose content does not validate: its first line says why."""
    return ConfigError(f"{path}: the plan is damaged: {str(exc).splitlines()[0]}")
