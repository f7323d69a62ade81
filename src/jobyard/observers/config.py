"""``[[observers]]`` and ``[mail]`` of jobyard.toml, checked and compiled at load.

Every mistake is one ConfigError line naming the observer and the key (a template's with
its line); unknown keys are refused with the known ones."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jobyard.errors import ConfigError
from jobyard.i18n import _
from jobyard.observers.templates import Compiled, Condition

CHANNELS = ("mail", "slack", "webhook", "log")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

DEFAULT_SUBJECT = "[jobyard] {{ job.type }} #{{ job.id }}: {{ event.name }}"
DEFAULT_BODY = (
    "{{ event.name }}: job {{ job.id }} ({{ job.type }}) on {{ job.queue }} is {{ job.status }}"
    "\n{% if job.error %}error: {{ job.error }}\n{% endif %}"
)
DEFAULT_SLACK = "{{ event.name }}: job {{ job.id }} ({{ job.type }}) is {{ job.status }}"
DEFAULT_LINE = "{{ event.time }} {{ event.name }} job={{ job.id }} type={{ job.type }}"

COMMON = {"name", "channel", "events", "types", "nodes", "queues", "when", "private"}
COMMON |= {"retries", "backoff", "max_backoff", "timeout", "resend_unknown", "start"}
PER_CHANNEL = {
    "mail": {"to", "subject", "body", "html", "attach_log"},
    "slack": {"url", "text", "payload"},
    "webhook": {"url", "secret", "secret_env", "payload"},
    "log": {"path", "line"},
}
MAIL_KEYS = {"host", "port", "from", "user", "password", "password_env", "starttls", "ssl"}
MAIL_KEYS |= {"ca_file", "timeout"}


@dataclass(frozen=True)
class MailSettings:
    host: str = "localhost"
    port: int = 25
    sender: str = "jobyard@localhost"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    ssl: bool = False
    ca_file: str | None = None  # trust this CA (a private one) instead of the system's
    timeout: float = 10.0


@dataclass(frozen=True)
class ObserverConfig:
    name: str
    channel: str
    events: tuple[str, ...] = ()  # names or patterns (job.*); empty: all but job.log, job.progress
    types: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()  # nodes are queues too: node:NAME
    when: Condition | None = None
    private: bool = False  # to the job's creator (props.creator) instead of fixed ones
    retries: int = 5
    backoff: float = 2.0
    max_backoff: float = 300.0
    timeout: float = 10.0
    resend_unknown: bool = False
    start: str = "now"  # where a new observer's cursor starts: "now" or "beginning"
    templates: dict[str, Compiled] = field(default_factory=dict)
    to: tuple[str, ...] = ()
    url: str | None = None
    secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)  # slack-threads: the bot token
    path: str | None = None
    attach_log: bool = True


def _strings(name: str, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(
            _("observer {name!r}: {key} must be a list of strings", name=name, key=key)
        )
    return tuple(value)


def _number(name: str, key: str, value: Any, low: float, whole: bool = False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, int if whole else int | float)
    if not ok or value < low:
        kind = "a whole number" if whole else "a number"
        raise ConfigError(
            _(
                "observer {name!r}: {key} must be {kind} >= {low:g}, got {value!r}",
                name=name,
                key=key,
                kind=kind,
                low=low,
                value=value,
            )
        )
    return float(value)


def _flag(name: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(
            _(
                "observer {name!r}: {key} must be true or false, got {value!r}",
                name=name,
                key=key,
                value=value,
            )
        )
    return value


def _text(name: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(
            _("observer {name!r}: {key} must be a non-empty string", name=name, key=key)
        )
    return value


def _url(name: str, value: Any) -> str:
    url = _text(name, "url", value)
    if not re.match(r"^https?://[^\s/]+", url):
        raise ConfigError(_("observer {name!r}: url must be an http:// or https:// URL", name=name))
    return url


def parse_observer(raw: Mapping[str, Any], index: int = 0) -> ObserverConfig:
    """One ``[[observers]]`` table (or the same dict from Python)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(_("observers[{index}] must be a table", index=index))
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            _("observers[{index}]: name must be 1-64 letters, digits, '_', '.' or '-'", index=index)
        )
    channel = raw.get("channel")
    if channel not in CHANNELS:
        raise ConfigError(
            _(
                "observer {name!r}: unknown channel {channel!r}; give one of {CHANNELS}",
                name=name,
                channel=channel,
                CHANNELS=", ".join(CHANNELS),
            )
        )
    known = COMMON | PER_CHANNEL[channel]
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(
            _(
                "observer {name!r}: unknown key(s) {unknown} for channel {channel}; known: {known}",
                name=name,
                unknown=", ".join(sorted(unknown)),
                channel=channel,
                known=", ".join(sorted(known)),
            )
        )
    opts: dict[str, Any] = {"name": name, "channel": channel}
    for key in ("events", "types", "queues"):
        if key in raw:
            opts[key] = _strings(name, key, raw[key])
    if "nodes" in raw:
        nodes = _strings(name, "nodes", raw["nodes"])
        opts["queues"] = (*opts.get("queues", ()), *(f"node:{n}" for n in nodes))
    if "when" in raw:
        opts["when"] = Condition(name, _text(name, "when", raw["when"]))
    for key in ("private", "resend_unknown", "attach_log"):
        if key in raw:
            opts[key] = _flag(name, key, raw[key])
    if "retries" in raw:
        opts["retries"] = int(_number(name, "retries", raw["retries"], 0, whole=True))
    for key in ("backoff", "max_backoff", "timeout"):
        if key in raw:
            opts[key] = _number(name, key, raw[key], 0.01)
    start = raw.get("start", "now")
    if start not in ("now", "beginning"):
        raise ConfigError(_('observer {name!r}: start must be "now" or "beginning"', name=name))
    opts["start"] = start
    opts.update(_channel_options(name, channel, raw, opts.get("private", False)))
    return ObserverConfig(**opts)


def _channel_options(name: str, channel: str, raw: Mapping[str, Any], private: bool) -> Any:
    out: dict[str, Any] = {}
    templates: dict[str, Compiled] = {}
    for key in ("subject", "body", "text", "payload", "line"):
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(
                _("observer {name!r}: {key} must be a template string", name=name, key=key)
            )
    if channel == "mail":
        if "to" in raw:
            out["to"] = _strings(name, "to", raw["to"])
        elif not private:
            raise ConfigError(
                _("observer {name!r}: a mail observer needs to = [addresses]", name=name)
            )
        html = _flag(name, "html", raw.get("html", False))
        templates["subject"] = Compiled(name, "subject", raw.get("subject", DEFAULT_SUBJECT))
        templates["body"] = Compiled(name, "body", raw.get("body", DEFAULT_BODY), html=html)
    elif channel in ("slack", "webhook"):
        out["url"] = _url(name, raw.get("url"))
        if channel == "slack":
            templates["text"] = Compiled(name, "text", raw.get("text", DEFAULT_SLACK))
        if "payload" in raw:
            templates["payload"] = Compiled(name, "payload", _text(name, "payload", raw["payload"]))
        if channel == "webhook":
            out["secret"] = _secret(name, raw)
            # A webhook's receiver can drop a repeat by its delivery id: resend by default.
            out["resend_unknown"] = _flag(name, "resend_unknown", raw.get("resend_unknown", True))
    else:
        out["path"] = _text(name, "path", raw.get("path"))
        templates["line"] = Compiled(name, "line", raw.get("line", DEFAULT_LINE))
        out["resend_unknown"] = _flag(name, "resend_unknown", raw.get("resend_unknown", True))
    if private and channel not in ("mail", "slack"):
        raise ConfigError(
            _("observer {name!r}: private = true needs channel mail or slack", name=name)
        )
    out["templates"] = templates
    return out


def _secret(name: str, raw: Mapping[str, Any]) -> str | None:
    if "secret_env" in raw:
        var = _text(name, "secret_env", raw["secret_env"])
        value = os.environ.get(var)
        if not value:
            raise ConfigError(
                _("observer {name!r}: environment variable {var} is not set", name=name, var=var)
            )
        return value
    if "secret" in raw:
        return _text(name, "secret", raw["secret"])
    return None


def parse_observers(raw: Any) -> list[ObserverConfig]:
    """The ``observers`` array of tables (empty when there is none)."""
    if raw is None:
        return []
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ConfigError(_("observers must be an array of tables: [[observers]]"))
    found = [parse_observer(item, i) for i, item in enumerate(raw)]
    names = [o.name for o in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(
            _("observer name(s) used twice: {twice}; give each its own", twice=", ".join(twice))
        )
    return found


def parse_mail(raw: Any) -> MailSettings:
    """The ``[mail]`` table: SMTP for mail observers."""
    if raw is None:
        return MailSettings()
    if not isinstance(raw, Mapping):
        raise ConfigError(_("[mail] must be a table"))
    unknown = set(raw) - MAIL_KEYS
    if unknown:
        raise ConfigError(
            _(
                "[mail]: unknown key(s) {unknown}; known: {MAIL_KEYS}",
                unknown=", ".join(sorted(unknown)),
                MAIL_KEYS=", ".join(sorted(MAIL_KEYS)),
            )
        )
    opts: dict[str, Any] = {}
    for key, attr in (("host", "host"), ("from", "sender"), ("user", "user")):
        if key in raw:
            if not isinstance(raw[key], str) or not raw[key]:
                raise ConfigError(_("[mail]: {key} must be a non-empty string", key=key))
            opts[attr] = raw[key]
    if "ca_file" in raw:
        if not isinstance(raw["ca_file"], str) or not os.path.isfile(raw["ca_file"]):
            raise ConfigError(
                _("[mail]: ca_file {ca_file!r} is not a readable file", ca_file=raw["ca_file"])
            )
        opts["ca_file"] = raw["ca_file"]
    port = raw.get("port", 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(
            _("[mail]: port must be a whole number from 1 to 65535, got {port!r}", port=port)
        )
    opts["port"] = port
    for key in ("starttls", "ssl"):
        if key in raw:
            if not isinstance(raw[key], bool):
                raise ConfigError(_("[mail]: {key} must be true or false", key=key))
            opts[key] = raw[key]
    if opts.get("starttls") and opts.get("ssl"):
        raise ConfigError(_("[mail]: give starttls = true or ssl = true, not both"))
    timeout = raw.get("timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(_("[mail]: timeout must be a positive number of seconds"))
    opts["timeout"] = float(timeout)
    if "password_env" in raw:
        var = raw["password_env"]
        if not isinstance(var, str) or not os.environ.get(var):
            raise ConfigError(
                _("[mail]: environment variable {var} (password_env) is not set", var=var)
            )
        opts["password"] = os.environ[var]
    elif "password" in raw:
        if not isinstance(raw["password"], str):
            raise ConfigError(_("[mail]: password must be a string"))
        opts["password"] = raw["password"]
    if "password" in opts and "user" not in opts:
        raise ConfigError(_("[mail]: a password needs a user"))
    return MailSettings(**opts)
