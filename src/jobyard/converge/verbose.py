"""DoJobber's verbose and debug lines, written to standard error as events arrive."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import TextIO

from jobyard.converge.runner import Event

__all__ = ["VerboseWriter", "format_traceback"]


def format_traceback(error: BaseException) -> str:
    """The traceback of ``error``, indented by two spaces after the first line."""
    text = "".join(traceback.format_exception(error)).strip()
    return text.replace("\n", "\n  ")


def _stderr() -> TextIO:
    return sys.stderr


class VerboseWriter:
    """A runner listener printing ``Name.check: pass`` style lines.

    ``verbose`` prints one line per check, run and recheck; ``debug`` (which implies
    ``verbose``) adds tracebacks and cleanup lines. A failing cleanup is always printed.
    """

    def __init__(
        self,
        *,
        verbose: bool = False,
        debug: bool = False,
        stream: Callable[[], TextIO] = _stderr,
    ) -> None:
        self.debug = debug
        self.verbose = verbose or debug
        self.stream = stream

    def write(self, text: str) -> None:
        out = self.stream()
        out.write(text)
        out.flush()

    def _trace(self, event: Event, intro: str = "  Error was:\n  ") -> None:
        if self.debug and event.error is not None:
            self.write(f"{intro}{format_traceback(event.error)}\n")

    def __call__(self, event: Event) -> None:
        name, kind = event.node, event.kind
        if kind == "cleanup-fail":
            self.write(f'{name}.cleanup: fail "{event.error}"\n')
            return
        if kind == "cleanup-start" and self.debug:
            self.write(f"{name}.cleanup running\n")
        elif kind == "cleanup-pass" and self.debug:
            self.write(f"{name}.cleanup: pass\n")
        if not self.verbose:
            return
        if kind == "init-fail":
            self.write(f"{name}.check: fail\n")
            self._trace(event, "  Could not create job, error was ")
        elif kind in ("check-pass", "run-pass", "recheck-pass"):
            self.write(f"{name}.{kind.replace('-', ': ')}\n")
        elif kind == "check-fail":
            self.write(f"{name}.check: fail\n")
            if event.no_act:
                self._trace(event)
        elif kind == "run-fail":
            self.write(f"{name}.run: fail\n")
            self._trace(event)
        elif kind == "recheck-fail":
            self.write(f'{name}.recheck: fail "{event.error}"\n')
            self._trace(event)
