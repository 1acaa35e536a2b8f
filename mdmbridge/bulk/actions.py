"""Device commands by the names people type (``message``, not ``send_message``), shared by
``devices send``, ``bulk plan send`` and the audit log's action names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pydantic

from mdmbridge.capabilities import COMMAND_CAPABILITY, Capability
from mdmbridge.errors import ValidationError
from mdmbridge.models import Command, CommandKind


@dataclass(frozen=True)
class CommandWord:
    word: str  # what the user types and sees
    kind: CommandKind
    metavar: str | None = None  # the one argument it takes (TEXT, APP_ID, IDENTIFIER)
    param: str | None = None  # the Command field the argument fills

    @property
    def capability(self) -> Capability:
        return COMMAND_CAPABILITY[self.kind]

    @property
    def action(self) -> str:
        """The audit log's name for it: ``device.message``."""
        return f"device.{self.word}"

    @property
    def destructive(self) -> bool:
        return self.kind.destructive


COMMANDS: dict[str, CommandWord] = {
    c.word: c
    for c in (
        CommandWord("lock", CommandKind.LOCK),
        CommandWord("wipe", CommandKind.WIPE),
        CommandWord("clear-passcode", CommandKind.CLEAR_PASSCODE),
        CommandWord("refresh", CommandKind.REFRESH),
        CommandWord("message", CommandKind.SEND_MESSAGE, "TEXT", "message"),
        CommandWord("install-app", CommandKind.INSTALL_APP, "APP_ID", "app_id"),
        CommandWord("remove-app", CommandKind.REMOVE_APP, "IDENTIFIER", "identifier"),
    )
}
WORD_OF: dict[CommandKind, str] = {c.kind: c.word for c in COMMANDS.values()}


def command_word(word: str) -> CommandWord:
    try:
        return COMMANDS[word]
    except KeyError:
        raise ValidationError(
            f"unknown command {word!r}: choose from {', '.join(COMMANDS)}"
        ) from None


def command_params(word: str, argument: str | None, *, vpp: bool | None = None) -> dict[str, Any]:
    """The parameters of ``word ARG`` as the plan file and the audit log hold them."""
    spec = command_word(word)
    params: dict[str, Any] = {}
    if spec.param is not None:
        if argument is None or not argument.strip():
            raise ValidationError(f"{word} needs {spec.metavar}")
        params[spec.param] = argument
    elif argument is not None:
        raise ValidationError(f"{word} takes no argument (got {argument!r})")
    if vpp is not None:
        if spec.kind is not CommandKind.INSTALL_APP:
            raise ValidationError("--vpp/--no-vpp belong to install-app")
        params["vpp"] = vpp
    build_command(word, params)  # refused here, not at apply
    return params


def build_command(word: str, params: dict[str, Any]) -> Command:
    spec = command_word(word)
    try:
        return Command(kind=spec.kind, **params)
    except (pydantic.ValidationError, TypeError) as exc:
        reason = (
            exc.errors()[0]["msg"].removeprefix("Value error, ")
            if isinstance(exc, pydantic.ValidationError)
            else str(exc)
        )
        raise ValidationError(f"invalid {word} command: {reason}") from None
