"""The Slack endpoints: ``POST /slack/command`` (the slash command) and ``POST
/slack/interactive`` (the modal's type choice and submission), docs/slack.md.

Neither takes a bearer token: Slack signs each request with the app's signing secret
(jobyard.slack.signature), checked on the raw body before anything else; a bad, stale or
replayed request is a 401, and 404 while ``[slack]`` is not configured. Everything after
the signature is answered with HTTP 200 and a message for the person in Slack (Slack
shows any other status as a bare failure): a refusal is one ephemeral line saying what
to fix, never a 500."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from jobyard import i18n
from jobyard.api import errors as api_errors
from jobyard.api.app import AppState
from jobyard.api.auth import PUBLIC
from jobyard.api.endpoint import Call, Endpoints
from jobyard.api.forms import parse_form
from jobyard.errors import DatabaseError, InvalidInput, NotFound
from jobyard.i18n import _
from jobyard.slack import command, flow, modal
from jobyard.slack.client import SlackError
from jobyard.slack.mrkdwn import escape
from jobyard.slack.settings import SlackSettings, parse_slack
from jobyard.slack.signature import ReplayGuard, verify

ENDPOINTS = Endpoints("slack")
log = logging.getLogger("jobyard.slack")

MAX_BODY = 256 * 1024  # a command is a few hundred bytes; a submitted view a few KiB
REPLY = {
    "type": "object",
    "properties": {"response_type": {"type": "string"}, "text": {"type": "string"}},
}


def settings_of(state: AppState) -> SlackSettings:
    if "slack" not in state.extra:
        state.extra["slack"] = parse_slack(state.yard.config.raw.get("slack"))
        state.extra["slack.replays"] = ReplayGuard(state.yard.store.use_nonce)
    found: SlackSettings | None = state.extra["slack"]
    if found is None:
        raise NotFound(_("Slack is not set up on this server: add [slack] to jobyard.toml"))
    return found


async def _signed(call: Call) -> tuple[SlackSettings, dict[str, str]]:
    """The request's form fields once its signature is checked (ApiError/AuthError)."""
    settings = settings_of(call.state)
    chunks, size = [], 0
    async for chunk in call.request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise api_errors.too_large(_("request body is over {max} bytes", max=MAX_BODY))
        chunks.append(chunk)
    raw = b"".join(chunks)
    headers = call.request.headers
    signature = headers.get("x-slack-signature")
    verify(
        settings.signing_secret,
        headers.get("x-slack-request-timestamp"),
        signature,
        raw,
        time.time(),
    )
    assert signature is not None  # verify() refused a request without one
    await run_in_threadpool(call.state.extra["slack.replays"].check, signature)
    form, _files = parse_form(raw)
    return settings, form


def reply(text: str, response_type: str = "ephemeral") -> dict[str, Any]:
    return {"response_type": response_type, "text": text}


def _guarded(work: Any, settings: SlackSettings, state: AppState, slack_id: Any, *args: Any) -> Any:
    """Run ``work`` in the language of the Slack user ``slack_id`` (their jobyard user's,
    else ``[slack] lang``); a refusal or a failure becomes the ephemeral line Slack shows."""
    with i18n.use(flow.language_of(state.yard, settings, slack_id)):
        try:
            return work(settings, state, *args)
        except InvalidInput as exc:
            return reply(_("Error: {exc}", exc=escape(exc)))
        except SlackError as exc:
            return reply(_("Error: {exc}", exc=escape(exc)))
        except DatabaseError:
            return reply(_("Error: the jobyard database is unavailable; retry in a moment"))
        except Exception:
            log.exception("slack request failed")
            return reply(
                _("Error: jobyard failed on this request (the server log has the details)")
            )


@ENDPOINTS.post("/slack/command", roles=PUBLIC, audit=False, response=REPLY, errors=(401, 404, 413))
async def slack_command(call: Call) -> Any:
    """Slack's slash command (form-encoded, signed): ``TYPE [NODES] name=value``, ``help``,
    ``new [TYPE]`` (or nothing) to open the modal."""
    settings, form = await _signed(call)
    slack_id = form.get("user_id")
    return await run_in_threadpool(_guarded, _command, settings, call.state, slack_id, form)


def _command(settings: SlackSettings, state: AppState, form: dict[str, str]) -> Any:
    yard = state.yard
    args = command.words(form.get("text", ""))
    if args and args[0].lower() == "help":
        return reply(_(command.HELP))
    who = flow.caller(yard, settings, form.get("user_id"))
    if not args or args[0].lower() == "new":
        return _open_modal(state, settings, form, args[1] if len(args) > 1 else None)
    order = command.parse(yard, args)
    launched = flow.launch(yard, settings, who, order, form.get("channel_id"))
    return reply(escape(launched.text()), settings.response_type)


def _open_modal(
    state: AppState, settings: SlackSettings, form: dict[str, str], type_name: str | None
) -> Any:
    client = flow.client_of(settings)
    if client is None:
        raise InvalidInput(_("the form needs a bot token: set [slack] bot_token"))
    trigger = form.get("trigger_id")
    if not trigger:
        raise InvalidInput(_("Slack sent no trigger_id: open the form from the slash command"))
    view = modal.view(state.yard, form.get("channel_id", ""), type_name)
    client.call("views.open", {"trigger_id": trigger, "view": view})
    return Response(status_code=200)  # an empty answer: Slack shows the modal, no message


@ENDPOINTS.post(
    "/slack/interactive", roles=PUBLIC, audit=False, response=REPLY, errors=(401, 404, 413)
)
async def slack_interactive(call: Call) -> Any:
    """Slack's interactivity requests (form field ``payload``, signed): the modal's type
    choice (``block_actions``) and its submission (``view_submission``)."""
    settings, form = await _signed(call)
    try:
        payload = json.loads(form.get("payload", ""))
    except ValueError:
        raise api_errors.bad_request(_("the payload field is not JSON")) from None
    if not isinstance(payload, dict):
        raise api_errors.bad_request(_("the payload field must be a JSON object"))
    user = payload.get("user")
    slack_id = user.get("id") if isinstance(user, dict) else None
    return await run_in_threadpool(_guarded, _interactive, settings, call.state, slack_id, payload)


def _interactive(settings: SlackSettings, state: AppState, payload: dict[str, Any]) -> Any:
    view = payload.get("view")
    if not isinstance(view, dict) or view.get("callback_id") != modal.CALLBACK:
        return Response(status_code=200)  # not ours (another surface of the app): ignored
    user = payload.get("user")
    slack_id = user.get("id") if isinstance(user, dict) else None
    if payload.get("type") == "block_actions":
        return _type_chosen(state, settings, payload, view, slack_id)
    if payload.get("type") != "view_submission":
        return Response(status_code=200)
    try:
        who = flow.caller(state.yard, settings, slack_id)
        order = modal.order(state.yard, modal.state_values(view))
        launched = flow.launch(state.yard, settings, who, order, modal.channel_of(view))
    except InvalidInput as exc:
        return {"response_action": "errors", "errors": {modal.error_field(exc): str(exc)[:2000]}}
    done = {
        "type": "modal",
        "title": {"type": "plain_text", "text": _("Created")},
        "close": {"type": "plain_text", "text": _("Close")},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": escape(launched.text())}}
        ],
    }
    return {"response_action": "update", "view": done}


def _type_chosen(
    state: AppState,
    settings: SlackSettings,
    payload: dict[str, Any],
    view: dict[str, Any],
    slack_id: Any,
) -> Any:
    """Another type chosen in the modal: the view again with that type's fields."""
    flow.caller(state.yard, settings, slack_id)
    values = modal.state_values(view)
    actions = payload.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else {}
    if not isinstance(first, dict) or first.get("block_id") != modal.TYPE_BLOCK:
        return Response(status_code=200)
    client = flow.client_of(settings)
    if client is None:
        raise InvalidInput(_("the form needs a bot token: set [slack] bot_token"))
    chosen = first.get("selected_option")
    type_name = chosen.get("value") if isinstance(chosen, dict) else None
    new = modal.view(
        state.yard,
        modal.channel_of(view) or "",
        type_name if isinstance(type_name, str) else None,
        {modal.NODES_BLOCK: values.get(modal.NODES_BLOCK, "")},
    )
    update: dict[str, Any] = {"view_id": view.get("id"), "view": new}
    if isinstance(view.get("hash"), str):
        update["hash"] = view["hash"]  # Slack refuses it if the view changed meanwhile
    client.call("views.update", update)
    return Response(status_code=200)
