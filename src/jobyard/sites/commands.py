"""Commands as data: the forms a shell accepts, quoting, and what a run returns.

``"text"`` is one command for ``sh``; a tuple ``("rm", "-rf", path)`` is one argv, each
word quoted; a list is several commands (strings or argv), run as one ``&&`` chain, so
the first failure stops the rest. Values given to a command are data: use ``quote`` or
the argv form, never string concatenation of a parameter.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jobyard.errors import InvalidInput, JobyardError
from jobyard.i18n import _

__all__ = [
    "CAPTURE",
    "Capture",
    "Command",
    "Result",
    "ShellFailed",
    "ShellTimeout",
    "display",
    "env_prefix",
    "quote",
    "render",
]

CAPTURE = 64 * 1024  # bytes of stdout (and of stderr) a result keeps by default
Command = str | tuple[str, ...] | Sequence[str | tuple[str, ...] | list[str]]
LineSink = Callable[[str, str], None]  # (stream name, line)


def quote(value: Any) -> str:
    """``value`` as one shell word, whatever it contains."""
    return shlex.quote(str(value))


def _one(part: Any) -> str:
    if isinstance(part, str):
        if not part.strip():
            raise InvalidInput(_("empty shell command"))
        return part
    if isinstance(part, tuple | list) and part and all(isinstance(w, str) for w in part):
        return " ".join(quote(w) for w in part)
    raise InvalidInput(
        _("a shell command is a string or a list/tuple of words, got {part!r}", part=part)
    )


def render(command: Command) -> str:
    """The ``sh`` text of a command in any of its forms (see the module docstring)."""
    if isinstance(command, str | tuple):
        return _one(command)
    if isinstance(command, list):
        if not command:
            raise InvalidInput(_("empty list of shell commands"))
        return " && ".join(
            f"{{ {_one(part)}\n}}" if len(command) > 1 else _one(part) for part in command
        )
    raise InvalidInput(
        _("a shell command is a string, a tuple or a list, got {command!r}", command=command)
    )


def display(command: Command) -> str:
    """How a command is shown in the log: a list as ``a && b``."""
    if isinstance(command, list):
        return " && ".join(_one(part) for part in command)
    return render(command)


def env_prefix(env: Mapping[str, str]) -> str:
    """``export NAME='value'; `` for each variable (checked names, quoted values)."""
    parts = []
    for name, value in env.items():
        if not name.isidentifier() or not name.isascii():
            raise InvalidInput(_("invalid environment variable name {name!r}", name=name))
        parts.append(f"{name}={quote(value)}; export {name}; ")
    return "".join(parts)


class ShellFailed(JobyardError):
    """A command exited non-zero (``check=True``, the default)."""

    plain = True

    def __init__(self, result: Result) -> None:
        self.result = result
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        detail = f": {' / '.join(tail)}" if tail else ""
        super().__init__(
            f"site {result.site!r}: command exited with status {result.exit_code}: "
            f"{result.command[:200]}{detail}"
        )


class ShellTimeout(JobyardError):
    """A command ran past its timeout (it was killed)."""

    plain = True


@dataclass
class Result:
    """What a command did: ``exit_code``, captured ``stdout`` and ``stderr`` (text)."""

    site: str
    command: str
    exit_code: int
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def __bool__(self) -> bool:
        return self.ok


@dataclass
class Capture:
    """Keeps the first ``limit`` bytes of each stream (0: none) and hands out whole lines."""

    limit: int = CAPTURE
    sink: LineSink | None = None
    kept: dict[str, bytearray] = field(
        default_factory=lambda: {"stdout": bytearray(), "stderr": bytearray()}
    )
    partial: dict[str, bytes] = field(default_factory=lambda: {"stdout": b"", "stderr": b""})
    truncated: bool = False

    def feed(self, stream: str, chunk: bytes) -> None:
        buf = self.kept[stream]
        room = self.limit - len(buf)
        if room > 0:
            buf += chunk[:room]
        if len(chunk) > max(room, 0):
            self.truncated = True
        if self.sink is None:
            return
        data = self.partial[stream] + chunk
        *whole, rest = data.split(b"\n")
        for line in whole:
            self.sink(stream, line.decode("utf-8", "replace").rstrip("\r"))
        if len(rest) > 64 * 1024:  # a line without end: hand it out in pieces
            self.sink(stream, rest.decode("utf-8", "replace"))
            rest = b""
        self.partial[stream] = rest

    def finish(self) -> None:
        for stream, rest in self.partial.items():
            if rest and self.sink is not None:
                self.sink(stream, rest.decode("utf-8", "replace"))
        self.partial = {"stdout": b"", "stderr": b""}

    def result(self, site: str, command: str, exit_code: int) -> Result:
        self.finish()
        return Result(
            site,
            command,
            exit_code,
            self.kept["stdout"].decode("utf-8", "replace"),
            self.kept["stderr"].decode("utf-8", "replace"),
            self.truncated,
        )
