"""From a checked request to jobs with a thread: who the caller is and may do, the
thread's first message, the create, and the first message brought up to date.

The first message is posted (chat.postMessage, which gives it a ``ts``) *before* the job
is written, so the job's props carry the thread from its first event on; the job is
checked before that, so a refused command posts nothing. Without a bot token, or when
Slack refuses the post, the job is created all the same, without follow-ups."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobyard import accounts, i18n
from jobyard.errors import DatabaseError, InvalidInput, NotFound
from jobyard.i18n import _, n_
from jobyard.slack import command
from jobyard.slack.client import SlackClient, SlackError
from jobyard.slack.mrkdwn import escape

if TYPE_CHECKING:
    from jobyard.slack.settings import SlackSettings
    from jobyard.yard import Yard

log = logging.getLogger("jobyard.slack")
CREATORS = ("operator", "admin")


@dataclass(frozen=True)
class Caller:
    slack_id: str
    name: str
    role: str
    lang: str = i18n.DEFAULT  # the language of the answers to them and of their threads


@dataclass(frozen=True)
class Launched:
    created: command.Created
    thread: dict[str, str] | None
    note: str = ""  # why there is no thread, when there is none

    def text(self) -> str:
        """Plain text (the caller escapes it for mrkdwn)."""
        summary = self.created.summary()
        if self.thread is not None:
            return _("{summary}; its progress follows in the thread", summary=summary)
        if self.note:
            return _("{summary} (no follow-ups: {note})", summary=summary, note=self.note)
        return summary


def language_of(yard: Yard, settings: SlackSettings, slack_id: Any) -> str:
    """The language of the answers to a Slack user: their jobyard user's own (``jobyard
    user lang``, the web UI's switch), else ``[slack] lang`` (also when the store cannot
    say: the refusal that follows is in the workspace's language)."""
    name = settings.users.get(slack_id) if isinstance(slack_id, str) else None
    if name is None:
        return settings.lang
    try:
        user = yard.store.user_by_name(name)
    except DatabaseError:
        return settings.lang
    return (user.lang if user is not None else None) or settings.lang


def caller(yard: Yard, settings: SlackSettings, slack_id: Any) -> Caller:
    """The jobyard user behind a Slack user, allowed to create jobs (InvalidInput says
    what to ask an admin for otherwise; its message is plain text)."""
    shown = str(slack_id)[:40]
    name = settings.users.get(slack_id) if isinstance(slack_id, str) else None
    if name is None:
        raise InvalidInput(
            _(
                "your Slack user {shown} is not mapped to a jobyard user: ask an admin to map "
                "your Slack user ([slack] users in jobyard.toml)",
                shown=shown,
            )
        )
    try:
        user = accounts.get_user(yard.store, name)
    except (NotFound, InvalidInput):
        raise InvalidInput(
            _(
                "your Slack user is mapped to {name!r}, who is not a jobyard user: "
                "ask an admin to add them (jobyard user add {bare} --role operator)",
                name=name,
                bare=name,
            )
        ) from None
    if user.role not in CREATORS:
        raise InvalidInput(
            _(
                "{name} is a {role}: a {role} may not create jobs; "
                "ask an admin for the operator role",
                name=name,
                role=user.role,
            )
        )
    return Caller(slack_id, user.name, user.role, user.lang or settings.lang)


def client_of(settings: SlackSettings) -> SlackClient | None:
    if settings.bot_token is None:
        return None
    return SlackClient(settings.api_url, settings.bot_token, settings.timeout)


def launch(
    yard: Yard, settings: SlackSettings, who: Caller, order: command.Order, channel: str | None
) -> Launched:
    """Check, post the thread's first message, create, and say so in that message. The
    thread's language (``props.slack.lang``) is the caller's, so its follow-ups keep it
    after a restart and whatever ``[slack] lang`` becomes."""
    props: dict[str, Any] = {"creator": who.name}
    command.check(yard, order, {"props": props})
    client = client_of(settings)
    what = escape(command.describe(order))
    name = escape(who.name)
    thread: dict[str, str] | None = None
    note = "" if client is not None else _("no bot_token in [slack]")
    if client is not None and channel:
        try:
            opening = _("*{name}* is creating {what} …", name=name, what=what)
            first = client.call("chat.postMessage", {"channel": channel, "text": opening})
            thread = {"channel": str(first.get("channel") or channel), "ts": str(first["ts"])}
        except (SlackError, KeyError) as exc:
            note = str(exc) if isinstance(exc, SlackError) else _("Slack gave no message ts")
            log.warning("slack: no thread for %s: %s", who.name, note)
    if thread is not None:
        props["slack"] = {
            "channel": thread["channel"],
            "thread_ts": thread["ts"],
            "user": who.slack_id,
            "lang": who.lang,
        }
    try:
        created = command.create(yard, order, {"props": props})
    except Exception as exc:
        if thread is not None and client is not None:
            reason = str(exc) if isinstance(exc, InvalidInput) else _("the server failed")
            _update(
                client,
                thread,
                _(
                    "*{name}* could not create {what}: {reason}",
                    name=name,
                    what=what,
                    reason=escape(reason),
                ),
            )
        raise
    if thread is not None and client is not None:
        _update(client, thread, _created_by(created, name, what))
    return Launched(created, thread, note)


def _created_by(created: command.Created, name: str, what: str) -> str:
    """ "*alice* created job 12: deploy version=1.4" (``name`` and ``what`` escaped)."""
    if created.jobset is None:
        return _("*{name}* created job {id}: {what}", name=name, id=created.jobs[0], what=what)
    return n_(
        "*{name}* created jobset {jobset} ({n} job): {what}",
        "*{name}* created jobset {jobset} ({n} jobs): {what}",
        len(created.jobs),
        name=name,
        jobset=created.jobset,
        what=what,
    )


def _update(client: SlackClient, thread: dict[str, str], text: str) -> None:
    try:
        client.call("chat.update", {"channel": thread["channel"], "ts": thread["ts"], "text": text})
    except SlackError as exc:  # the job stands; the first message keeps its older words
        log.warning("slack: %s", exc)
