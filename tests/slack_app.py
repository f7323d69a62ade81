"""The jobyard side of the Slack tests: a Yard configured with ``[slack]`` (pointing at the
fake slack.com/api of tests/slack_servers.py), its job types and users, and an Env that
sends signed requests to the served app."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import httpx

from jobyard import Yard, accounts
from jobyard.config import load_config
from jobyard.observers import Observers, start
from tests.slack_servers import SECRET, TOKEN, FakeSlack, command_body, interactive_body, signed


def write_config(
    folder: Path, api_url: str, bot_token: bool = True, lang: str | None = None
) -> Path:
    token = f'bot_token = "{TOKEN}"\n' if bot_token else ""
    path = folder / "jobyard.toml"
    path.write_text(
        "[slack]\n"
        f'signing_secret = "{SECRET}"\n{token}'
        f'api_url = "{api_url}"\n'
        'users = { U0ALICE = "alice", U0VERA = "vera", U0GHOST = "ghost" }\n'
        + (f'lang = "{lang}"\n' if lang else "")
    )
    return path


def define(yard: Yard) -> None:
    @yard.job(name="deploy")
    def deploy(job: Any, version: str, fail: bool = False) -> str:
        job.progress(2, 4)
        time.sleep(0.3)
        if fail:
            raise RuntimeError("disk <full> & <!channel>")
        return version

    @yard.job(name="greet")
    def greet(job: Any, msg: str) -> str:
        return msg

    @yard.job(name="choose")
    def choose(job: Any, level: Literal["low", "high"], count: int = 1) -> str:
        return f"{level}x{count}"


def slack_yard(
    url: str, folder: Path, fake: FakeSlack, bot_token: bool = True, lang: str | None = None
) -> Yard:
    """A migrated Yard with the types of :func:`define` and the users alice (operator)
    and vera (viewer); U0GHOST is mapped to a user that does not exist."""
    config = load_config(str(write_config(folder, fake.url, bot_token, lang)), db=url)
    yard = Yard(url, config=config)
    yard.migrate()
    define(yard)
    yard.sync_types()
    accounts.add_user(yard.store, "alice", "operator", "alice-password")
    accounts.add_user(yard.store, "vera", "viewer", "vera-password")
    return yard


class Env:
    def __init__(self, yard: Yard, base: str, fake: FakeSlack) -> None:
        self.yard, self.base, self.fake = yard, base, fake

    def command(self, text: str, user: str = "U0ALICE", **kw: Any) -> httpx.Response:
        body = command_body(text, user)
        headers = kw.pop("headers", None) or signed(body)
        return httpx.post(self.base + "/slack/command", content=body, headers=headers, **kw)

    def interactive(self, payload: dict[str, Any]) -> httpx.Response:
        body = interactive_body(payload)
        return httpx.post(self.base + "/slack/interactive", content=body, headers=signed(body))


def first_message(fake: FakeSlack) -> Any:
    posts = [c for c in fake.of("chat.postMessage") if "thread_ts" not in c.body]
    assert posts, "no thread was started"
    return posts[-1]


def submission(view: dict[str, Any], values: dict[str, str], user: str = "U0ALICE") -> Any:
    """The view_submission Slack sends for ``view`` filled with ``values`` (block id → text)."""
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        bid = block["block_id"]
        element = block["element"]
        if bid not in values:
            continue
        if element["type"] == "static_select":
            state[bid] = {
                "value": {"type": "static_select", "selected_option": {"value": values[bid]}}
            }
        else:
            state[bid] = {"value": {"type": "plain_text_input", "value": values[bid]}}
    submitted = {**view, "id": "V0001", "hash": "h1", "state": {"values": state}}
    return {"type": "view_submission", "user": {"id": user}, "view": submitted}


@contextmanager
def following(yard: Yard) -> Iterator[Observers]:
    """The observers of the config (slack-threads: the follow-ups), then a worker on the
    default queue and two nodes. In this order: a new observer reads from the moment it
    starts, so the worker's first events of jobs made before are not missed."""
    observers = start(yard, poll=0.1)
    assert observers is not None and [o.observer.name for o in observers.loops] == ["slack-threads"]
    w = yard.worker(
        queues=["default", "node:web1", "node:web2"], concurrency=2, poll=0.1, handle_signals=False
    )
    try:
        w.start()
        yield observers
    finally:
        observers.stop()
        w.stop(timeout=10)


def type_chosen(view: dict[str, Any], type_name: str, user: str = "U0ALICE") -> Any:
    """The block_actions Slack sends when ``type_name`` is chosen in the modal ``view``."""
    return {
        "type": "block_actions",
        "user": {"id": user},
        "actions": [
            {"block_id": "type", "action_id": "value", "selected_option": {"value": type_name}}
        ],
        "view": {**view, "id": "V0001", "hash": "h0", "state": {"values": {}}},
    }
