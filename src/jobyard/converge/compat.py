"""DoJobber compatibility: ``Job``, ``DummyJob``, ``RunonlyJob`` and ``DoJobber``.

Code written for DoJobber runs unchanged against this module (``import dojobber`` gives
it). Jobs are classes with ``DEPS``, ``TRIES``, ``RETRY_DELAY`` and ``Check``/``Run``
(and optional ``Cleanup``) methods; nodes are keyed by class name. The work itself is
done by :mod:`jobyard.converge.runner`, shared with the native API.

Differences from DoJobber 0.6, all where DoJobber would crash or misbehave: a ``DEPS``
given as a string is a ``TypeError`` (DoJobber iterated its characters); a dependency
named by string resolves to the class of that name anywhere in the graph; a node whose
fractional ``TRIES`` has gone below zero is not tried again; a job class without
``_set_storage`` gets ``storage``/``global_storage`` set directly; ``write_graph``
also accepts a file opened in text mode.
"""

from __future__ import annotations

import logging
import shutil
import sys
from typing import IO, Any, ClassVar

from jobyard.converge import graph as _graph
from jobyard.converge.compat_driver import JobDriver, build_job_graph, describe_job, job_name
from jobyard.converge.model import Graph, build
from jobyard.converge.runner import Engine, Event, Outcome
from jobyard.converge.verbose import VerboseWriter
from jobyard.errors import ConvergeError
from jobyard.i18n import _

__all__ = [
    "DISPLAY",
    "DoJobber",
    "DummyJob",
    "Job",
    "JobDriver",
    "NotConfigured",
    "RunonlyJob",
    "build_job_graph",
]

#: whether ImageMagick's ``display`` is available for :meth:`DoJobber.display_graph`
DISPLAY = shutil.which("display") is not None

_RUNONLY_MESSAGE = "Runonly node check intentionally fails first time."


class NotConfigured(ConvergeError, RuntimeError):
    """A DoJobber method that needs a graph was called before ``configure``."""


class Job:
    """Base class of DoJobber jobs: set ``DEPS`` and write ``Check`` and ``Run``.

    ``storage`` is a dict fresh on every try; ``global_storage`` one dict shared by
    every job of a ``checknrun``. ``_check_phase`` is ``'check'`` or ``'recheck'``.
    """

    DEPS: ClassVar[Any] = ()
    TRIES: ClassVar[float | None] = None
    RETRY_DELAY: ClassVar[float | None] = None

    storage: Any = None
    global_storage: Any = None
    _check_phase: str | None = None
    _check_results: Any = None
    _check_exception: BaseException | None = None
    _run_results: Any = None
    _run_exception: BaseException | None = None
    _recheck_results: Any = None
    _recheck_exception: BaseException | None = None

    def __init__(self) -> None:
        self.storage = None
        self.global_storage = None
        self._check_phase = None
        self._check_results = None
        self._check_exception = None
        self._run_results = None
        self._run_exception = None
        self._recheck_results = None
        self._recheck_exception = None

    def _set_storage(self, storage: Any, global_storage: Any) -> None:
        """Set the per-try and the shared storage (done by the runner)."""
        self.storage = storage
        self.global_storage = global_storage


class RunonlyJob(Job):
    """A job with only a ``Run``: it runs on every try and passes if Run raises nothing.

    The first Check always fails; the recheck re-raises Run's exception or returns its
    result. In no-act mode such a job is therefore always False.
    """

    _run_err: Any = None

    def Check(self, *_args: Any, **_kwargs: Any) -> Any:
        if self._check_phase == "check":
            raise RuntimeError(_RUNONLY_MESSAGE)
        if self._run_exception:
            raise self._run_exception
        return self._run_results


class DummyJob(Job):
    """A job whose Check and Run always pass: a node that only groups dependencies."""

    def Check(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    def Run(self, *_args: Any, **_kwargs: Any) -> None:
        return None


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a record arrives."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def _logger() -> logging.Logger:
    log = logging.getLogger("DoJobber")
    if not any(isinstance(handler, _StderrHandler) for handler in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("DoJobber %(levelname)-19s: %(message)s"))
        log.addHandler(handler)
    return log


class DoJobber:
    """Builds the graph of a root job and checks and runs it (see the module doc)."""

    def __init__(self, **kwargs: Any) -> None:
        self._log = _logger()
        level = kwargs.get("dojobber_loglevel")
        self._log.setLevel(level if level else logging.CRITICAL)
        self._engine: Engine | None = None
        self._args: tuple[Any, ...] = ()
        self._kwargs: dict[str, Any] = {}
        self._cleanup = True
        self._no_act = False
        self._verbose = False
        self._debug = False
        self._unset: tuple[dict[str, Any], dict[str, Any], dict[str, Any]] = ({}, {}, {})

    # results -----------------------------------------------------------------------
    @property
    def nodestatus(self) -> dict[str, bool | None]:
        """``{name: True | False | None}``; None = not tried or blocked."""
        return self._engine.status if self._engine else self._unset[0]

    @property
    def nodeexceptions(self) -> dict[str, BaseException]:
        """``{name: exception}`` of the latest failure of each node."""
        return self._engine.exceptions if self._engine else self._unset[1]

    @property
    def noderesults(self) -> dict[str, Any]:
        """``{name: value}`` returned by each node's passing Check or recheck."""
        return self._engine.results if self._engine else self._unset[2]

    @property
    def nodeoutcomes(self) -> dict[str, Outcome]:
        """``{name: 'passed' | 'converged' | 'failed'}`` of the last checknrun."""
        return self._engine.outcomes if self._engine else {}

    @property
    def graph(self) -> Graph | None:
        return self._engine.graph if self._engine else None

    def success(self) -> bool:
        """True when the last checknrun left every node True."""
        return bool(self.nodestatus) and all(self.nodestatus.values())

    def partial_success(self) -> bool:
        """True when the last checknrun left at least one node True."""
        return bool(self.nodestatus) and any(self.nodestatus.values())

    def failure(self) -> bool:
        return not self.success()

    # setup -------------------------------------------------------------------------
    def configure(
        self,
        root: Any,
        no_act: bool = False,
        verbose: bool = False,
        debug: bool = False,
        cleanup: bool = True,
        default_tries: float = 3,
        default_retry_delay: float = 1,
    ) -> None:
        """Build the graph under ``root``; raise on cycles or bad DEPS/TRIES/RETRY_DELAY."""
        self._no_act = no_act
        self._debug = debug
        self._verbose = debug or verbose
        self._cleanup = cleanup
        graph = build(
            root, lambda ref: describe_job(ref, default_tries, default_retry_delay, self._log)
        )
        writer = VerboseWriter(verbose=self._verbose, debug=self._debug)
        self._engine = Engine(graph, JobDriver(), no_act=no_act, listeners=[writer, self._note])

    def _note(self, event: Event) -> None:
        if event.kind == "init-fail":
            self._log.error('Could not create Job "%s" - check its __init__', event.node)

    def set_args(self, *args: Any, **kwargs: Any) -> None:
        """Arguments given to every Check and Run."""
        self._args = args
        self._kwargs = kwargs

    def _configured(self) -> Engine:
        if self._engine is None:
            raise NotConfigured(_("call configure(root) first"))
        return self._engine

    # work --------------------------------------------------------------------------
    def checknrun(self, node: Any = None) -> None:
        """Check and run the graph (or the part under ``node``), then clean up."""
        engine = self._configured()
        start = None if not node else job_name(node)
        engine.run(self._args, self._kwargs, start=start)
        if self._cleanup:
            self.cleanup()

    def cleanup(self) -> None:
        """Call Cleanup of every created job object, LIFO; re-raise the first failure."""
        if self._engine is not None:
            self._engine.cleanup(stop_on_error=True)

    # graphs ------------------------------------------------------------------------
    def dot(self) -> str:
        """The graph as DOT text, coloured by the last checknrun."""
        engine = self._configured()
        return _graph.to_dot(engine.graph, engine.outcomes)

    def _dot_output(self, fmt: str = "png") -> bytes:
        return _graph.render(self.dot(), fmt)

    def write_graph(self, filed: IO[Any], fmt: str = "png") -> None:
        """Write the graph rendered by ``dot -T<fmt>`` to an open file."""
        if _graph.find_dot() is None:
            sys.stderr.write(
                "** Graphs will not be supported (no dot executable - install graphviz)\n"
            )
            return
        data = self._dot_output(fmt)
        try:
            filed.write(data)
        except TypeError:
            buffer = getattr(filed, "buffer", None)
            if buffer is None:
                raise
            filed.flush()
            buffer.write(data)

    def display_graph(self) -> None:
        """Show the graph on the X11 display with ImageMagick's ``display``."""
        if not (DISPLAY and _graph.find_dot()):
            return
        _graph.display(self._dot_output())
