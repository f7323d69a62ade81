"""Actions (poly.shell's jobs for roles) and the context each one runs with.

``@yard.action("app")`` registers a function under a name (the function's, or ``name=``);
registering the same name again adds another function: all of a name's functions run
concurrently on a site, as one job. An action is the job type ``action.NAME``, so it
runs on any worker that imports the module defining it (``app = [...]``).

A job of a batch carries its site (a copy of the inventory's, taken when the batch was
made), so the worker needs no inventory. An action fails when a function raises or calls
``ctx.fail(err)``: with ``break_on_error`` the job fails (and the queue cancels what
depends on it); otherwise the job completes with ``{"ok": false, "error": ...}`` and the
schedule goes on.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobyard import runas
from jobyard.errors import Fatal, InvalidInput
from jobyard.i18n import _
from jobyard.sites.inventory import Site, roles_of

if TYPE_CHECKING:
    from jobyard.context import JobContext
    from jobyard.jobsets import JobsetStorage
    from jobyard.sites.shell import Shell
    from jobyard.types import JobType

__all__ = ["TYPE_PREFIX", "Action", "ActionContext", "ActionFailed", "Actions"]

TYPE_PREFIX = "action."
FAILED_KEY = "jobyard.batch.failed."  # + n: a failure marker in the batch's storage


class ActionFailed(Fatal):
    """An action failed on a site (no retry: re-run the batch to try again)."""


@dataclass
class Action:
    name: str
    roles: list[str]
    funcs: list[Callable[..., Any]] = field(default_factory=list)

    @property
    def type_name(self) -> str:
        return TYPE_PREFIX + self.name


class ActionContext:
    """What an action gets: ``site``, ``shell``, ``shared``, ``report``, ``fail``, ``action``,
    ``batch`` (the batch's jobset id), ``id`` (``BATCH-SCHEDULE-N``), ``options``, ``job``."""

    def __init__(self, job: JobContext, data: Mapping[str, Any]) -> None:
        self.job = job
        self.site = Site.from_dict(data["site"])
        self.action = str(data["action"])
        self.batch = job.job.jobset
        self.schedule = str(data.get("schedule", ""))
        self.id = f"{self.batch}-{self.schedule}-{data.get('n', 0)}"
        self.options: dict[str, Any] = dict(data.get("options") or {})
        from jobyard.sites.shell import Shell  # asyncssh loads when an action runs, not before

        self.shell: Shell = Shell(
            self.site, self.log, int(data.get("capture", 64 * 1024)), _policy(job, self.site)
        )
        self.reports: list[str] = []
        self.errors: list[str] = []

    @property
    def shared(self) -> JobsetStorage:
        """One mapping for the whole batch (every site, every worker, chained runs); each
        write is stored at once. Assign keys (``ctx.shared[k] = v``): a value read and
        changed in place is not written back."""
        return self.job.shared

    def log(self, message: str, level: str = "info") -> None:
        self.job.log(message, level)

    def report(self, message: str) -> None:
        """A message for the batch's summary (and the job log)."""
        self.reports.append(str(message))
        self.job.log(f"{self.site.name}: {message}", "success")

    def fail(self, error: object) -> None:
        """Fail this (action, site) when the action returns; ``fail(None)`` does nothing."""
        if error is None:
            return
        self.errors.append(str(error) or type(error).__name__)
        self.job.log(f"{self.site.name}: {error}", "danger")

    def __repr__(self) -> str:
        return f"<action {self.action} on {self.site.name} ({self.id})>"


def _policy(job: JobContext, site: Site) -> runas.Policy:
    """Who the local shell of this job runs as: the job's run_as, the site's, the type's,
    the worker's ([worker] run_as); see jobyard.runas."""
    jt = job.yard.types.get(job.job.type)
    config = job.yard.config
    value = runas.effective(job.job.props, site.config, getattr(jt, "run_as", None), config.run_as)
    what = f"action {job.job.type.removeprefix(TYPE_PREFIX)!r} on site {site.name!r}"
    return runas.Policy(value, runas.allow_root(config.allow_root), what)


def _describe(exc: BaseException) -> str:
    if getattr(exc, "plain", False):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def _all(funcs: list[Callable[..., Any]], ctx: ActionContext) -> list[BaseException]:
    async def one(func: Callable[..., Any]) -> None:
        if inspect.iscoroutinefunction(func):
            await func(ctx)
        else:
            await asyncio.to_thread(func, ctx)

    found = await asyncio.gather(*(one(f) for f in funcs), return_exceptions=True)
    return [e for e in found if isinstance(e, BaseException)]


def _run(action: Action, job: JobContext, data: Mapping[str, Any]) -> dict[str, Any]:
    ctx = ActionContext(job, data)
    max_fail = data.get("max_fail")
    if isinstance(max_fail, int) and not isinstance(max_fail, bool) and job.job.jobset:
        failures = sum(1 for key in job.shared.snapshot() if key.startswith(FAILED_KEY))
        if failures > max_fail:
            message = f"not run: {failures} failures in the batch passed max_fail {max_fail}"
            return _outcome(ctx, data, [message], started=time.time())
    started = time.time()
    if len(action.funcs) == 1 and not inspect.iscoroutinefunction(action.funcs[0]):
        try:
            action.funcs[0](ctx)
            raised: list[BaseException] = []
        except Exception as error:
            raised = [error]
    else:
        raised = asyncio.run(_all(action.funcs, ctx))
    for found in raised:
        job.log(f"{ctx.site.name}: {_describe(found)}", "danger")
    return _outcome(ctx, data, [*(_describe(e) for e in raised), *ctx.errors], started)


def _outcome(
    ctx: ActionContext, data: Mapping[str, Any], errors: list[str], started: float
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ok": not errors,
        "action": ctx.action,
        "site": ctx.site.name,
        "reports": ctx.reports,
        "seconds": round(time.time() - started, 3),
    }
    if not errors:
        return result
    result["error"] = "; ".join(errors)
    if ctx.batch is not None:
        ctx.shared[FAILED_KEY + str(data.get("n", 0))] = {
            "action": ctx.action,
            "site": ctx.site.name,
            "error": result["error"],
        }
    if data.get("break_on_error"):
        raise ActionFailed(
            f"action {ctx.action!r} failed on site {ctx.site.name!r}: {result['error']}"
        )
    return result


class Actions:
    """A Yard's actions by name (``yard.actions``), each with its job type."""

    def __init__(self, register: Callable[[Callable[..., Any], dict[str, Any]], JobType]) -> None:
        self._register = register
        self.by_name: dict[str, Action] = {}

    def add(
        self,
        func: Callable[..., Any],
        roles: str | list[str] | None = None,
        name: str | None = None,
        **options: Any,
    ) -> Callable[..., Any]:
        if not callable(func):
            raise InvalidInput(_("an action is a function, got {func!r}", func=func))
        found_name = name or getattr(func, "__name__", None)
        if not found_name or not isinstance(found_name, str):
            raise InvalidInput(_("give the action a name: @yard.action(roles, name='...')"))
        found = self.by_name.get(found_name)
        if found is None:
            given = roles_of(roles) or [found_name]  # no roles: the role is the action's name
            found = self.by_name[found_name] = Action(found_name, given)

            def handler(job: JobContext, **data: Any) -> dict[str, Any]:
                return _run(found, job, data)

            handler.__name__ = found.type_name
            self._register(handler, {"name": found.type_name, **options})
        elif roles is not None:
            found.roles = list(dict.fromkeys([*found.roles, *roles_of(roles)]))
        found.funcs.append(func)
        return func

    def get(self, name: str) -> Action:
        found = self.by_name.get(name)
        if found is None:
            known = ", ".join(sorted(self.by_name)) or (
                "none registered (name the module defining them in jobyard.toml app = [...] "
                "or env JOBYARD_APP)"
            )
            raise InvalidInput(
                _("action {name!r} not found; known actions: {known}", name=name, known=known)
            )
        return found

    def adopt(self, other: Actions) -> None:
        """Take the actions of another Yard (an app module's) that this one lacks."""
        for name, action in other.by_name.items():
            self.by_name.setdefault(name, action)
