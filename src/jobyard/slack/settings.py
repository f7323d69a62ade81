"""``[slack]`` of jobyard.toml, checked at load: one ConfigError line per mistake.

```toml
[slack]
signing_secret = "..."        # or env JOBYARD_SLACK_SIGNING_SECRET (preferred)
bot_token = "xoxb-..."        # or env JOBYARD_SLACK_BOT_TOKEN: thread messages need it
api_url = "https://slack.com/api"
users = { U123ABC = "alice" } # Slack user id -> jobyard user (whose role applies)
lang = "ru"                   # the answers' language (default en)
```

The secrets are kept out of ``repr`` and never put in a message."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from jobyard import i18n
from jobyard.errors import ConfigError
from jobyard.i18n import _

SECRET_ENV = "JOBYARD_SLACK_SIGNING_SECRET"
TOKEN_ENV = "JOBYARD_SLACK_BOT_TOKEN"
DEFAULT_API = "https://slack.com/api"
KEYS = frozenset(
    {"signing_secret", "bot_token", "api_url", "users", "timeout", "response_type", "lang"}
)
RESPONSE_TYPES = ("ephemeral", "in_channel")
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")
_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


@dataclass(frozen=True)
class SlackSettings:
    signing_secret: str = field(repr=False)
    bot_token: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API
    users: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Slack waits 3 s for the answer to a command; a Web API call made before answering
    # (the thread's first message, views.open) must end well inside that.
    timeout: float = 2.0
    response_type: str = "ephemeral"
    # The language of the answers to Slack users (one per workspace: Slack sends none).
    lang: str = i18n.DEFAULT


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(_("[slack]: {key} must be a non-empty string", key=key))
    return value.strip()


def _users(raw: Any) -> Mapping[str, str]:
    if not isinstance(raw, Mapping):
        raise ConfigError(
            _('[slack]: users must be a table such as users = {{ U123ABC = "alice" }}')
        )
    out: dict[str, str] = {}
    for slack_id, name in raw.items():
        if not isinstance(slack_id, str) or not _SLACK_ID.match(slack_id):
            raise ConfigError(
                _(
                    "[slack]: users: {slack_id!r} is not a Slack user id "
                    "(like U123ABC: the member id in the user's Slack profile)",
                    slack_id=str(slack_id)[:40],
                )
            )
        if not isinstance(name, str) or not _USER.match(name):
            raise ConfigError(
                _("[slack]: users.{slack_id} must be a jobyard user name", slack_id=slack_id)
            )
        out[slack_id] = name
    return MappingProxyType(out)


def parse_slack(raw: Any, env: Mapping[str, str] | None = None) -> SlackSettings | None:
    """The ``[slack]`` table (None when there is none: the Slack face is off)."""
    if raw is None:
        return None
    env = os.environ if env is None else env
    if not isinstance(raw, Mapping):
        raise ConfigError(_("[slack] must be a table"))
    unknown = set(raw) - KEYS
    if unknown:
        raise ConfigError(
            _(
                "[slack]: unknown key(s) {unknown}; known: {known}",
                unknown=", ".join(sorted(unknown)),
                known=", ".join(sorted(KEYS)),
            )
        )
    secret = env.get(SECRET_ENV) or raw.get("signing_secret")
    if secret is None:
        raise ConfigError(
            _("[slack]: set signing_secret, or env {env} (the app's secret)", env=SECRET_ENV)
        )
    opts: dict[str, Any] = {"signing_secret": _text("signing_secret", secret)}
    token = env.get(TOKEN_ENV) or raw.get("bot_token")
    if token is not None:
        opts["bot_token"] = _text("bot_token", token)
    if "api_url" in raw:
        url = _text("api_url", raw["api_url"]).rstrip("/")
        if not re.match(r"^https?://[^\s/]+", url):
            raise ConfigError(_("[slack]: api_url must be an http:// or https:// URL"))
        opts["api_url"] = url
    opts["users"] = _users(raw.get("users", {}))
    if "timeout" in raw:
        t = raw["timeout"]
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            raise ConfigError(_("[slack]: timeout must be a number of seconds"))
        if not 0 < t <= 30:
            raise ConfigError(_("[slack]: timeout must be more than 0 and at most 30 seconds"))
        opts["timeout"] = float(t)
    if "response_type" in raw:
        if raw["response_type"] not in RESPONSE_TYPES:
            raise ConfigError(_('[slack]: response_type must be "ephemeral" or "in_channel"'))
        opts["response_type"] = raw["response_type"]
    if "lang" in raw:
        lang = i18n.normalize(raw["lang"]) if isinstance(raw["lang"], str) else None
        if lang is None:
            raise ConfigError(
                _(
                    "[slack]: lang must be one of {languages}, got {value!r}",
                    languages=", ".join(i18n.LANGUAGES),
                    value=raw["lang"],
                )
            )
        opts["lang"] = lang
    return SlackSettings(**opts)
