"""One enqueue validation for every face (Python API, CLI, HTTP): options → ``JobSpec``.

The options a caller may give are declared once, in :data:`OPTIONS` (name → parser); any
other name is refused with the list of the known ones. A parser turns one given value into
its checked form or raises ``InvalidInput`` naming the option; :class:`SpecBuilder` then
fills in what the job type gives by default (queue, priority, retry, timeout). An option
given as ``None`` counts as not given, except ``timeout=None``, which means "no timeout"
even when the type has one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol

from jobyard import model, runas, semaphores
from jobyard.errors import InvalidInput
from jobyard.handle import JobHandle
from jobyard.i18n import _
from jobyard.lifecycle import JobSpec
from jobyard.limits import INT64_MAX, MAX_WAIT, check_text, encode_json, in_window
from jobyard.model import Repeat, Retry
from jobyard.store import JobFilter

if TYPE_CHECKING:
    from jobyard.config import Config


class TypeDefaults(NamedTuple):  # a tuple: made on every enqueue with options
    """What a job type gives a job when the caller leaves an option out."""

    queue: str = "default"
    priority: int = 0
    retry: Retry = Retry()  # frozen: one shared default is safe
    timeout: float | None = None
    semaphores: tuple[str, ...] = ()  # the type's needs (jobyard.semaphores)


class TypeSource(Protocol):
    """Where the builder learns a type's defaults (a :class:`jobyard.types.TypeRegistry`)."""

    def stamp_of(self, name: str) -> tuple[float, object]:
        """Changes whenever the type's defaults may have changed (a cached spec is then
        stale): when the stored types were last read (re-read once they are older than
        their cache time), and the type object this process registered under the name."""
        ...

    def defaults(self, name: str) -> TypeDefaults:
        """The type's defaults; UnknownJobType / TypeDisabled / InvalidInput if not enqueueable."""
        ...


class Context(NamedTuple):  # a tuple: built on every enqueue with options, it must be cheap
    """What parsers may need besides the value: the time of the request and the limits."""

    now: float
    max_props_bytes: int


Parser = Callable[[Any, Context], Any]

# -- parsers of single values (also used by JobType for its defaults) --------------------


def parse_name(value: Any, what: str) -> str:
    """A queue or site name: 1 to 200 characters that every backend can store."""
    if not isinstance(value, str) or not 0 < len(value) <= 200:
        raise InvalidInput(
            _(
                "invalid {what} {value!r}: give a name of 1 to 200 characters",
                what=what,
                value=value,
            )
        )
    return check_text(value, f"{what} {value!r}")


def parse_timeout(value: Any) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= MAX_WAIT
    ):
        raise InvalidInput(
            _(
                "invalid timeout {value!r}: give a number of seconds > 0 and <= {MAX_WAIT:.0f}",
                value=value,
                MAX_WAIT=MAX_WAIT,
            )
        )
    return float(value)


def parse_int_id(value: Any, what: str = "job id") -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise InvalidInput(
            _("invalid {what} {value!r}: ids are whole numbers", what=what, value=value)
        )
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(
            _("invalid {what} {value!r}: ids are whole numbers", what=what, value=value)
        ) from None
    if number < 1 or number > INT64_MAX:
        raise InvalidInput(
            _(
                "invalid {what} {value!r}: ids are whole numbers from 1 to {INT64_MAX}",
                what=what,
                value=value,
                INT64_MAX=INT64_MAX,
            )
        )
    return number


def parse_depends(value: Any) -> list[int]:
    """Antecedents: one id or handle, or a list/tuple/set of them. A string is one id
    ("12" is job 12, never the jobs 1 and 2)."""
    if value is None:
        return []
    if isinstance(value, int | str | JobHandle):
        value = [value]
    if not isinstance(value, list | tuple | set | frozenset):
        raise InvalidInput(
            _("invalid depends {value!r}: give a job id or a list of job ids", value=value)
        )
    return sorted({d.id if isinstance(d, JobHandle) else parse_int_id(d) for d in value})


def parse_delay(value: Any, now: float) -> float:
    """A delay in seconds → the time the job may start."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or not in_window(now + float(value))
    ):
        raise InvalidInput(
            _(
                "invalid delay {value!r}: give a finite number of seconds >= 0 that ends before "
                "the year 9999",
                value=value,
            )
        )
    return now + float(value)


def parse_paused(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(_("invalid paused {value!r}: give true or false", value=value))
    return value


def parse_props(props: Any, limit: int) -> dict[str, Any]:
    """Job properties: a mapping with string keys, JSON within ``[limits] max_props_bytes``."""
    if props is None:
        return {}
    if not isinstance(props, dict) or not all(isinstance(k, str) for k in props):
        raise InvalidInput(_("props must be a mapping of name → value (names are strings)"))
    if props:
        encode_json(props, "props", limit, "max_props_bytes")
    checked: dict[str, Any] = props
    if checked.get("run_as") is not None:  # the user its scripts/local shells run as
        checked = {**checked, "run_as": runas.check(checked["run_as"], "props.run_as")}
    return checked


def parse_retries(value: Any) -> int:
    """A number of retries (``-1``: "forever"), checked as ``Retry`` checks it."""
    count = Retry(value).normalized().retries
    assert isinstance(count, int)  # normalized() makes it one
    return count


def encode_data(data: Any, config: Config, what: str = "job data") -> str:
    """Job (or event) data as the JSON text the store keeps, within ``max_data_bytes``."""
    return encode_json(data, what, config.max_data_bytes, "max_data_bytes")


# -- the declared options -----------------------------------------------------------------

OPTIONS: Final[Mapping[str, Parser]] = MappingProxyType(
    {
        "queue": lambda v, c: None if v == "" else parse_name(v, "queue"),  # "": the default
        "priority": lambda v, c: model.parse_priority(v),
        "delay": lambda v, c: parse_delay(v, c.now),
        "after": lambda v, c: model.to_timestamp(v, "after"),
        "depends": lambda v, c: parse_depends(v),
        "retry": lambda v, c: Retry.coerce(v),
        "retries": lambda v, c: parse_retries(v),
        "repeat": lambda v, c: Repeat.coerce(v),
        "paused": lambda v, c: parse_paused(v),
        "props": lambda v, c: parse_props(v, c.max_props_bytes),
        "timeout": lambda v, c: parse_timeout(v),
        "jobset": lambda v, c: parse_int_id(v, "jobset id"),
        "site": lambda v, c: parse_name(v, "site"),
        "semaphores": lambda v, c: semaphores.parse_needs(v),
        "site_cap": lambda v, c: semaphores.parse_count(v, "site_cap"),
        "site_max_jobs": lambda v, c: semaphores.parse_count(v, "site_max_jobs"),
    }
)
RERUN_OPTIONS: Final = frozenset({"repeat"})  # a rerun copies its job: only its repeat may change
_ALL: Final = frozenset(OPTIONS)
_ORDER: Final = {name: i for i, name in enumerate(OPTIONS)}  # the order options are checked in


def check_known(options: Mapping[str, Any], known: AbstractSet[str], what: str) -> None:
    """Refuse option names that are not in ``known``, listing the known ones."""
    unknown = options.keys() - known
    if unknown:
        raise InvalidInput(
            _(
                "unknown {what} option(s) {map}; known: {known}",
                what=what,
                map=", ".join(sorted(map(str, unknown))),
                known=", ".join(sorted(known)),
            )
        )


def parse_options(
    options: Mapping[str, Any],
    ctx: Context,
    known: AbstractSet[str] = _ALL,
    what: str = "enqueue",
) -> dict[str, Any]:
    """The given options (not None), each parsed, in the order of :data:`OPTIONS` (so
    of several wrong ones, the same one is named whatever the order they were given in)."""
    check_known(options, known, what)
    if "retry" in options and "retries" in options:
        raise InvalidInput(_("give retry or retries, not both"))
    if options.get("delay") is not None and options.get("after") is not None:
        raise InvalidInput(_("give delay or after, not both"))
    given = [name for name, value in options.items() if value is not None]
    given.sort(key=_ORDER.__getitem__)
    parsed = {}
    for name in given:
        try:
            parsed[name] = OPTIONS[name](options[name], ctx)
        except InvalidInput as exc:
            exc.field = name  # type: ignore[attr-defined]  # the form/API field at fault
            raise
    return parsed


class SpecBuilder:
    """Builds the ``JobSpec`` of an enqueue from a type's defaults and the given options."""

    def __init__(
        self, types: TypeSource, config: Config, sems: semaphores.Semaphores | None = None
    ) -> None:
        self.types = types
        self.config = config
        self.semaphores = sems  # where the needs' names are checked (None: not checked)
        self._cache: dict[str, tuple[float, object, JobSpec]] = {}

    def _needs(self, type_name: str, d: TypeDefaults, p: Mapping[str, Any]) -> list[str]:
        """The job's semaphores (its type's and its own) and site caps, checked."""
        if ("site_cap" in p or "site_max_jobs" in p) and "site" not in p:
            raise InvalidInput(_("site_cap and site_max_jobs need a site (site=NAME)"))
        sites = semaphores.site_needs(p.get("site_max_jobs"), p.get("site_cap"))
        needs = semaphores.merge(d.semaphores, p.get("semaphores", ()), sites)
        if needs and self.semaphores is not None:
            self.semaphores.check(needs, _("job of type {type!r}", type=type_name))
            if sites:
                self.semaphores.mark_sites()
        return needs

    def build(self, type_name: str, data: Any, options: Mapping[str, Any], now: float) -> JobSpec:
        d = self.types.defaults(type_name)  # first: an unknown type is the clearer error
        p = parse_options(options, Context(now, self.config.max_props_bytes))
        if "retry" in p:
            retry = p["retry"]
        elif "retries" in p:
            # a count alone keeps the type's wait, backoff and until (all checked already)
            retry = replace(d.retry, retries=p["retries"])
        else:
            retry = d.retry
        return JobSpec(
            type=type_name,
            data=data,
            queue=p.get("queue") or d.queue,
            priority=p.get("priority", d.priority),
            retry=retry,
            repeat=p.get("repeat"),
            after=p.get("delay", p.get("after", 0.0)),
            depends=p.get("depends", []),
            paused=p.get("paused", False),
            props=p.get("props", {}),
            timeout=p.get("timeout") if "timeout" in options else d.timeout,
            jobset=p.get("jobset"),
            site=p.get("site"),
            semaphores=self._needs(type_name, d, p),
        )

    def default(self, type_name: str, now: float) -> JobSpec:
        """The spec of an enqueue without options: it depends only on the type, so it is
        cached as long as what it was checked against: the stored types of that read (a
        type disabled, or its defaults changed elsewhere, shows within their cache time)
        and the same type object of this process (one registered again takes over)."""
        stamp, local = self.types.stamp_of(type_name)
        cached = self._cache.get(type_name)
        if cached is not None and cached[0] == stamp and cached[1] is local:
            return cached[2]
        spec = self.build(type_name, None, {}, now)
        self._cache[type_name] = (stamp, local, spec)
        return spec

    def rerun_repeat(self, options: Mapping[str, Any], now: float) -> Repeat | None:
        """The options of a rerun (only ``repeat``), checked like an enqueue's."""
        ctx = Context(now, self.config.max_props_bytes)
        p = parse_options(options, ctx, RERUN_OPTIONS, "rerun")
        repeat: Repeat | None = p.get("repeat")
        return repeat


def job_filter(
    status: Any, type_: Any, queue: Any, jobset: Any, limit: Any, before: Any
) -> JobFilter:
    """A job listing's filter; an unknown status is refused with the list of statuses."""

    def listed(value: Any) -> list[str] | None:
        return [value] if isinstance(value, str) else (list(value) if value else None)

    statuses = listed(status)
    for s in statuses or []:
        if s not in model.STATUSES:
            raise InvalidInput(
                _(
                    "unknown status {s!r}: use one of {STATUSES}",
                    s=s,
                    STATUSES=", ".join(model.STATUSES),
                )
            )
    return JobFilter(
        status=statuses,
        type=listed(type_),
        queue=listed(queue),
        jobset=jobset,
        limit=limit,
        before_id=before,
    )
