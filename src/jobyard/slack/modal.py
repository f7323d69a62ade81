"""The creation modal (Block Kit): a type select, a nodes field and one field per
parameter of the chosen type's signature (jobyard.params), and reading its submission
back into an :class:`~jobyard.slack.command.Order` with the same rules as the web form
(``params.from_text``: a bad value names its field).

Choosing another type in the select sends a ``block_actions`` request; the endpoint then
replaces the view (views.update) with that type's fields. The channel the command came
from travels in ``private_metadata``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jobyard import views
from jobyard.errors import InvalidInput
from jobyard.i18n import _
from jobyard.params import Param, from_text
from jobyard.slack.command import Order
from jobyard.spec import parse_name

if TYPE_CHECKING:
    from jobyard.yard import Yard

CALLBACK = "jobyard_new"
TYPE_BLOCK = "type"
NODES_BLOCK = "nodes"
PARAM = "param."
MAX_OPTIONS = 100  # Slack's limit for a static select
MAX_LABEL = 75  # ... and for an option's or a label's text


def _plain(text: str, limit: int = MAX_LABEL) -> dict[str, Any]:
    # plain_text is never read as mrkdwn: no escaping needed, only Slack's length limits.
    return {"type": "plain_text", "text": text[:limit] or " "}


def _option(value: str, shown: str | None = None) -> dict[str, Any]:
    return {"text": _plain(value if shown is None else shown), "value": value[:150]}


def _bool_text(value: str) -> str:
    # A bool's option shows yes/no in the reader's language; its value stays true/false.
    return _("true") if value == "true" else _("false")


def enabled_types(yard: Yard) -> list[str]:
    return [r["name"] for r in views.types_table(yard) if r["enabled"] and not r.get("deleted")]


def _param_element(p: Param, value: str | None) -> dict[str, Any]:
    action = {"action_id": "value"}
    if p.kind == "choice" or p.kind == "bool":
        choices = [str(c) for c in p.choices] if p.kind == "choice" else ["true", "false"]
        element: dict[str, Any] = {
            "type": "static_select",
            **action,
            "options": [_choice(p, c) for c in choices[:MAX_OPTIONS]],
        }
        initial = value if value is not None else _default_text(p)
        if initial in choices:
            element["initial_option"] = _choice(p, initial)
        return element
    element = {"type": "plain_text_input", **action}
    initial = value if value is not None else _default_text(p)
    if initial:
        element["initial_value"] = initial[:3000]
    return element


def _choice(p: Param, value: str) -> dict[str, Any]:
    return _option(value, _bool_text(value) if p.kind == "bool" else None)


def _default_text(p: Param) -> str:
    if p.required or p.default is None:
        return ""
    if p.kind == "bool":
        return "true" if p.default else "false"
    if p.kind == "json":
        return json.dumps(p.default, ensure_ascii=False, default=str)
    return str(p.default)


def _param_block(p: Param, value: str | None) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": PARAM + p.name,
        "optional": not p.required,
        "label": _plain(f"{p.name} ({p.kind})"),
        "element": _param_element(p, value),
    }
    if p.help:
        block["hint"] = _plain(p.help, 2000)
    return block


def view(
    yard: Yard,
    channel: str,
    type_name: str | None = None,
    values: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The modal for ``type_name`` (the first enabled type when None), its fields filled
    from ``values`` (block id → text) when given."""
    names = enabled_types(yard)
    if not names:
        raise InvalidInput(_("no job type is enabled yet: nothing to create"))
    if type_name not in names:
        type_name = names[0]
    shown = names[:MAX_OPTIONS] if type_name in names[:MAX_OPTIONS] else [type_name, *names[:99]]
    values = values or {}
    type_select = {
        "type": "static_select",
        "action_id": "value",
        "options": [_option(n) for n in shown],
        "initial_option": _option(type_name),
    }
    nodes_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "placeholder": _plain(_("web1,web2 (empty: one job on the type's queue)")),
    }
    if values.get(NODES_BLOCK):
        nodes_input["initial_value"] = values[NODES_BLOCK][:3000]
    blocks: list[dict[str, Any]] = [
        {
            "type": "input",
            "block_id": TYPE_BLOCK,
            "dispatch_action": True,  # a new choice comes back as block_actions at once
            "label": _plain(_("Job type")),
            "element": type_select,
        },
        {
            "type": "input",
            "block_id": NODES_BLOCK,
            "optional": True,
            "label": _plain(_("Nodes")),
            "element": nodes_input,
        },
    ]
    sig = yard.registry.signature_of(type_name)
    for p in sig.params if sig is not None else ():
        blocks.append(_param_block(p, values.get(PARAM + p.name)))
    return {
        "type": "modal",
        "callback_id": CALLBACK,
        "title": _plain(_("New job"), 24),
        "submit": _plain(_("Create"), 24),
        "close": _plain(_("Cancel"), 24),
        "private_metadata": json.dumps({"channel": channel}),
        "blocks": blocks,
    }


def state_values(payload_view: Mapping[str, Any]) -> dict[str, str]:
    """block id → the text of its field (a select's chosen value) in a submitted view."""
    state = payload_view.get("state")
    values = state.get("values") if isinstance(state, Mapping) else None
    out: dict[str, str] = {}
    if not isinstance(values, Mapping):
        return out
    for block_id, actions in values.items():
        field = actions.get("value") if isinstance(actions, Mapping) else None
        if not isinstance(field, Mapping):
            continue
        chosen = field.get("selected_option")
        text = chosen.get("value") if isinstance(chosen, Mapping) else field.get("value")
        if isinstance(text, str):
            out[str(block_id)] = text
    return out


def channel_of(payload_view: Mapping[str, Any]) -> str | None:
    try:
        meta = json.loads(str(payload_view.get("private_metadata") or "{}"))
    except ValueError:
        return None
    channel = meta.get("channel") if isinstance(meta, dict) else None
    return channel if isinstance(channel, str) and channel else None


def _at(field: str, message: str) -> InvalidInput:
    err = InvalidInput(message)
    err.field = field  # type: ignore[attr-defined]
    return err


def order(yard: Yard, values: Mapping[str, str]) -> Order:
    """The submitted fields → an Order; InvalidInput whose ``field`` is the block at fault."""
    type_text = values.get(TYPE_BLOCK, "").strip()
    if not type_text:
        raise _at(TYPE_BLOCK, _("choose a job type"))
    try:
        type_name = parse_name(type_text, "job type")
    except InvalidInput as exc:
        raise _at(TYPE_BLOCK, str(exc)) from None
    node_text = values.get(NODES_BLOCK, "").strip()
    node_list: list[str] | None = None
    if node_text:
        from jobyard.nodes import parse_nodes

        try:
            node_list = parse_nodes(node_text)
        except InvalidInput as exc:
            raise _at(NODES_BLOCK, str(exc)) from None
    sig = yard.registry.signature_of(type_name)
    data: dict[str, Any] = {}
    for p in sig.params if sig is not None else ():
        text = values.get(PARAM + p.name, "")
        if text == "":
            if p.required:
                raise _at(PARAM + p.name, _("parameter {name!r} is required", name=p.name))
            continue
        data[p.name] = from_text(p, text)  # its error names field param.NAME
    return Order(type_name, node_list, data or None)


def error_field(exc: InvalidInput) -> str:
    """The block a refusal belongs under (a signature check names ``data.NAME``)."""
    field = getattr(exc, "field", None)
    if isinstance(field, str):
        if field.startswith("data."):
            return PARAM + field.removeprefix("data.")
        if field in (TYPE_BLOCK, NODES_BLOCK) or field.startswith(PARAM):
            return field
    return NODES_BLOCK if "node" in str(exc) else TYPE_BLOCK
