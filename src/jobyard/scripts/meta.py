"""Script type metadata: its fields, the script header, and reading/writing the store.

A script type is a row of ``job_types`` with kind ``script``; its ``meta`` JSON holds the
effective settings (``description, group, schedule, on, worker, mutex, timeout,
data_in_argv, run_as, semaphores``), the
bookkeeping (``path, sha, deleted, last_ran, last_status``) and where settings came from:
``header`` (the ``# jobyard: key = value`` lines, read at sync) and ``overrides`` (set with
``jobyard type set``). Effective = defaults, then header, then overrides. The header's
``param`` and ``nodes`` lines (:mod:`jobyard.scripts.params`) give ``signature``,
``min_nodes`` and ``max_nodes``, which only the header sets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jobyard.errors import InvalidInput, UnknownJobType
from jobyard.i18n import _
from jobyard.store.base import StoredType

if TYPE_CHECKING:
    from jobyard.yard import Yard

KIND = "script"
FIELDS = (
    "description",
    "group",
    "schedule",
    "timezone",
    "catchup",
    "on",
    "worker",
    "mutex",
    "timeout",
    "data_in_argv",
    "run_as",
    "semaphores",
)
DEFAULTS: dict[str, Any] = {
    "description": "",
    "group": "",
    "schedule": None,
    "timezone": None,
    "catchup": None,
    "on": [],
    "worker": None,
    "mutex": True,
    "timeout": None,
    "data_in_argv": False,  # argv is readable by every local user: data goes on stdin/env
    "run_as": None,  # USER or USER:GROUP the script runs as (jobyard.runas)
    "semaphores": [],  # what each run holds (jobyard.semaphores): "db, files:write"
    # from the header's param/nodes lines only (a header that drops them drops them)
    "signature": None,
    "min_nodes": None,
    "max_nodes": None,
}
HEADER_LINES = 64  # the header is looked for in the first lines of a script only
HEADER_BYTES = 16_384
_HEADER = re.compile(r"^\s*(?:#|//)\s*jobyard:\s*(.*?)\s*$")
_ASSIGN = re.compile(r"^([A-Za-z_]+)\s*=\s*(.*)$")
_WORDISH = re.compile(r"^[^\s,]+$")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def check_field(name: str, value: Any) -> Any:
    """Validate and normalise one setting; InvalidInput names the setting at fault."""
    if name in ("description", "group"):
        if value is None:
            return ""
        if not isinstance(value, str):
            raise InvalidInput(_("{name} must be text, got {value!r}", name=name, value=value))
        return value.strip()
    if name == "schedule":
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        from jobyard.cron import validate_cron

        try:
            validate_cron(value)
        except InvalidInput as exc:
            raise InvalidInput(_("schedule: {exc}", exc=exc)) from None
        return str(value).strip()
    if name == "timezone":
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        from jobyard.cron import validate_cron

        if not isinstance(value, str):
            raise InvalidInput(_("timezone must be an IANA zone name, got {value!r}", value=value))
        try:
            validate_cron("* * * * *", value.strip())
        except InvalidInput as exc:
            raise InvalidInput(_("timezone: {exc}", exc=exc)) from None
        return value.strip()
    if name == "catchup":
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if value not in ("skip", "latest"):
            raise InvalidInput(_("catchup must be 'skip' or 'latest', got {value!r}", value=value))
        return value
    if name == "on":
        items = value.split(",") if isinstance(value, str) else value
        if items is None:
            return []
        if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
            raise InvalidInput(
                _("on must be event names separated by commas, got {value!r}", value=value)
            )
        events = list(dict.fromkeys(i.strip() for i in items if i.strip()))
        for event in events:
            if "\n" in event:
                raise InvalidInput(_("on: bad event name {event!r}", event=event))
        return events
    if name == "worker":
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or not _WORDISH.match(value.strip()):
            raise InvalidInput(
                _("worker must be a worker name without spaces, got {value!r}", value=value)
            )
        return value.strip()
    if name in ("mutex", "data_in_argv"):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise InvalidInput(_("{name} must be true or false, got {value!r}", name=name, value=value))
    if name == "timeout":
        if value is None:
            return None
        number = value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                raise InvalidInput(
                    _("timeout must be seconds (0 = none), got {value!r}", value=value)
                ) from None
        if isinstance(number, bool) or not isinstance(number, int | float) or not number >= 0:
            raise InvalidInput(
                _("timeout must be seconds >= 0 (0 = none), got {value!r}", value=value)
            )
        return float(number) or None
    if name == "run_as":
        from jobyard import runas

        return runas.check(value)
    if name == "semaphores":
        # names are checked against the defined semaphores at enqueue (the spec builder):
        # a script may be synced before the config that defines them is deployed
        from jobyard.semaphores import parse_needs

        return parse_needs(value)
    raise InvalidInput(
        _("unknown script setting {name!r}; known: {FIELDS}", name=name, FIELDS=", ".join(FIELDS))
    )


def parse_header(text: str) -> tuple[dict[str, Any], list[str]]:
    """Read ``# jobyard: key = value`` (or ``// jobyard: ...``) lines; return (values, warnings).

    A bad line or value is reported as a warning and left out; the script still syncs."""
    from jobyard.scripts.params import MAX_PARAMS, parse_nodes, parse_param, signature_meta

    values: dict[str, Any] = {}
    warnings: list[str] = []
    declared: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines()[:HEADER_LINES], start=1):
        found = _HEADER.match(line)
        if not found:
            continue
        content = found.group(1)
        if content.startswith("param ") or content == "param":
            try:
                param = parse_param(content[len("param") :])
                if param.name in declared:
                    raise InvalidInput(f"param {param.name!r} is declared twice")
                if len(declared) >= MAX_PARAMS:
                    raise InvalidInput(f"at most {MAX_PARAMS} params")
                declared[param.name] = param
            except InvalidInput as exc:
                warnings.append(f"line {number}: {exc}")
            continue
        assign = _ASSIGN.match(content)
        if not assign:
            warnings.append(f"line {number}: expected 'jobyard: key = value'")
            continue
        key, raw = assign.group(1).lower(), assign.group(2).strip()
        if key == "nodes":
            try:
                values["min_nodes"], values["max_nodes"] = parse_nodes(raw)
            except InvalidInput as exc:
                warnings.append(f"line {number}: {exc}")
            continue
        if key not in FIELDS:
            known = ", ".join((*FIELDS, "nodes", "param"))
            warnings.append(f"line {number}: unknown key {key!r}; known: {known}")
            continue
        try:
            values[key] = check_field(key, raw)
        except InvalidInput as exc:
            warnings.append(f"line {number}: {exc}")
            if key == "run_as":
                _keep_run_as(values, raw)
    signature = signature_meta(list(declared.values()))
    if signature is not None:
        values["signature"] = signature
    return values, warnings


def _keep_run_as(values: dict[str, Any], raw: str) -> None:
    """A header's run_as naming a user unknown here is kept (with the warning): dropped,
    the script would run as the worker's default user, likely a more powerful one; kept,
    its jobs fail saying the user is missing. A malformed one is refused outright."""
    from jobyard import runas

    try:
        spec = runas.parse(raw)
    except InvalidInput:
        values["run_as"] = "!invalid"  # never a user: its runs fail rather than run as root
        return
    values["run_as"] = str(spec) if spec is not None else None


def compose(meta: dict[str, Any]) -> dict[str, Any]:
    """Recompute the effective settings of ``meta`` from defaults, header and overrides."""
    header = dict(meta.get("header") or {})
    overrides = dict(meta.get("overrides") or {})
    out = {**meta, **DEFAULTS, **header, **overrides}
    out["header"], out["overrides"] = header, overrides
    out.setdefault("deleted", False)
    out.setdefault("last_ran", None)
    out.setdefault("last_status", None)
    return out


def get_type(yard: Yard, name: str) -> StoredType | None:
    return yard.stored_types(refresh=True).get(name)


def write_type(yard: Yard, name: str, meta: dict[str, Any], enabled: bool = False) -> None:
    """Insert or update a script row; ``enabled`` counts only when the row is new."""
    import time

    yard.store.upsert_types([StoredType(name, KIND, enabled, meta)], time.time())


def update_meta(
    yard: Yard, name: str, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any] | None:
    """Read-modify-write one script type's meta in a transaction; None if it is gone."""
    with yard.store.transaction():
        st = get_type(yard, name)
        if st is None or st.kind != KIND:
            return None
        meta = change(dict(st.meta))
        write_type(yard, name, meta)
    yard.stored_types(refresh=True)
    return meta


def set_type(yard: Yard, name: str, changes: dict[str, Any], reset: bool = False) -> dict[str, Any]:
    """Override settings of a script type (``jobyard type set``); returns the new meta.

    ``reset`` first drops every earlier override, so the script header applies again."""
    checked = {key: check_field(key, value) for key, value in changes.items()}
    st = get_type(yard, name)
    if st is None:
        if name in yard.types:
            raise InvalidInput(_python_only(name, "python"))
        raise UnknownJobType(name, yard.known_types(refresh=True))
    if st.kind != KIND:
        raise InvalidInput(_python_only(name, st.kind))

    def apply(meta: dict[str, Any]) -> dict[str, Any]:
        overrides = {} if reset else dict(meta.get("overrides") or {})
        overrides.update(checked)
        return compose({**meta, "overrides": overrides})

    meta = update_meta(yard, name, apply)
    if meta is None:  # removed between the two reads
        raise UnknownJobType(name, yard.known_types(refresh=True))
    return meta


def _python_only(name: str, kind: str) -> str:
    return _(
        "job type {name!r} is a {kind} type: set its options where it is defined "
        "(@yard.job(...)); `jobyard type set` changes script types only",
        name=name,
        kind=kind,
    )


def set_enabled(yard: Yard, name: str, enabled: bool) -> StoredType:
    """Enable or disable any stored type (script or Python); returns the updated row."""
    import time

    st = get_type(yard, name)
    if st is None and name in yard.types:
        yard.sync_types()  # a Python type no worker has recorded yet
        st = get_type(yard, name)
    if st is None:
        raise UnknownJobType(name, yard.known_types(refresh=True))
    yard.store.set_type_enabled(name, enabled, time.time())
    found = get_type(yard, name)
    assert found is not None
    return found
