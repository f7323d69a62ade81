"""The Slack face over real HTTP: a uvicorn-served jobyard app, a local stand-in for
slack.com/api recording every Web API call (tests/slack_servers.py), a real worker and
the observers delivering the thread follow-ups from the event log, on SQLite and
PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from tests.apiserver import serving
from tests.helpers import until
from tests.slack_servers import (
    SECRET,
    TOKEN,
    FakeSlack,
    command_body,
    fake_slack,
    interactive_body,
    signed,
)

from jobyard import Yard, accounts
from jobyard.api.accounts import StoreAuth
from jobyard.config import load_config
from jobyard.errors import ConfigError
from jobyard.observers import Observers, start
from jobyard.web.app import create_web_app

__all__ = ["fake_slack"]  # fixtures


def write_config(folder: Path, api_url: str, bot_token: bool = True) -> Path:
    token = f'bot_token = "{TOKEN}"\n' if bot_token else ""
    path = folder / "jobyard.toml"
    path.write_text(
        "[slack]\n"
        f'signing_secret = "{SECRET}"\n{token}'
        f'api_url = "{api_url}"\n'
        'users = { U0ALICE = "alice", U0VERA = "vera", U0GHOST = "ghost" }\n'
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Env]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'slack.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    config = load_config(str(write_config(tmp_path, fake_slack.url)), db=url)
    yard = Yard(url, config=config)
    yard.migrate()
    define(yard)
    yard.sync_types()
    accounts.add_user(yard.store, "alice", "operator", "alice-password")
    accounts.add_user(yard.store, "vera", "viewer", "vera-password")
    with serving(create_web_app(yard, StoreAuth(yard))) as base:
        yield Env(yard, base, fake_slack)
    yard.close()


@pytest.fixture
def running(env: Env) -> Iterator[Observers]:
    """A worker on the default queue and two nodes, and the observers of the config."""
    w = env.yard.worker(
        queues=["default", "node:web1", "node:web2"], concurrency=2, poll=0.1, handle_signals=False
    ).start()
    observers = start(env.yard, poll=0.1)
    assert observers is not None and [o.observer.name for o in observers.loops] == ["slack-threads"]
    yield observers
    observers.stop()
    w.stop(timeout=10)


def first_message(fake: FakeSlack) -> Any:
    posts = [c for c in fake.of("chat.postMessage") if "thread_ts" not in c.body]
    assert posts, "no thread was started"
    return posts[-1]


# -- signature -----------------------------------------------------------------------------


def test_signature_good_bad_stale_replayed(env: Env) -> None:
    body = command_body("help")
    good = signed(body)
    r = env.command("help", headers=good)
    assert r.status_code == 200 and "/jobyard TYPE" in r.json()["text"]
    again = env.command("help", headers=good)  # the same signed request once more
    assert again.status_code == 401 and "replayed" in again.json()["error"]["message"]
    bad = signed(body, secret="not-the-secret")
    r = env.command("help", headers=bad)
    assert r.status_code == 401 and "bad Slack signature" in r.json()["error"]["message"]
    stale = signed(body, at=time.time() - 6 * 60)
    r = env.command("help", headers=stale)
    assert r.status_code == 401 and "stale" in r.json()["error"]["message"]
    r = env.command("help", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 401
    tampered = command_body("deploy version=9")
    r = httpx.post(env.base + "/slack/command", content=tampered, headers=signed(body))
    assert r.status_code == 401
    assert SECRET not in r.text and TOKEN not in r.text
    assert env.yard.count() == 0 and env.fake.calls == []


def test_body_is_bounded(env: Env) -> None:
    body = command_body("x" * 300_000)
    r = httpx.post(env.base + "/slack/command", content=body, headers=signed(body))
    assert r.status_code == 413


def test_not_configured_is_404(tmp_path: Path) -> None:
    yard = Yard(f"sqlite:///{tmp_path / 'plain.db'}")
    yard.migrate()
    with serving(create_web_app(yard, StoreAuth(yard))) as base:
        body = command_body("help")
        r = httpx.post(base + "/slack/command", content=body, headers=signed(body))
    assert r.status_code == 404 and "[slack]" in r.json()["error"]["message"]
    yard.close()


# -- who may do what -----------------------------------------------------------------------


def test_unknown_user_viewer_and_unmapped_account(env: Env) -> None:
    r = env.command("deploy version=1", user="U0STRANGER")
    assert r.status_code == 200
    assert "ask an admin to map your Slack user" in r.json()["text"]
    r = env.command("deploy version=1", user="U0VERA")
    assert r.status_code == 200 and "viewer may not create jobs" in r.json()["text"]
    r = env.command("deploy version=1", user="U0GHOST")
    assert "'ghost', who is not a jobyard user" in r.json()["text"]
    assert r.json()["response_type"] == "ephemeral"
    assert env.yard.count() == 0 and env.fake.calls == []


def test_bad_input_is_one_ephemeral_line(env: Env) -> None:
    cases = {
        "nosuch version=1": "unknown job type 'nosuch'",
        "deploy": "needs parameter 'version'",
        "deploy version=1 colour=red": "no parameter 'colour'",
        "deploy web1,web1 version=1": "more than once",
        "deploy version='1": "close the quote",
        "deploy fail=maybe version=1": "parameter 'fail': must be true or false",
    }
    for text, expected in cases.items():
        r = env.command(text)
        assert r.status_code == 200, text
        reply = r.json()
        assert reply["response_type"] == "ephemeral" and reply["text"].startswith("Error: ")
        assert expected in reply["text"], (text, reply)
    assert env.yard.count() == 0 and env.fake.calls == []  # nothing posted, nothing written


def test_user_text_stays_data(env: Env) -> None:
    r = env.command('greet msg="<!channel> <script>alert(1)</script> & co"')
    assert r.status_code == 200 and r.json()["text"].startswith("job ")
    first = first_message(env.fake).body["text"]
    assert "<!channel>" not in first and "<script>" not in first
    assert "&lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in first
    (job,) = env.yard.jobs()
    assert job.data == {"msg": "<!channel> <script>alert(1)</script> & co"}  # as typed
    r = env.command("<!channel>")
    assert "<!channel>" not in r.json()["text"] and "&lt;!channel&gt;" in r.json()["text"]
    update = env.fake.of("chat.update")[-1].body["text"]
    assert "<!channel>" not in update and f"job {job.id}" in update


# -- follow-ups in the thread --------------------------------------------------------------


def test_command_job_follow_ups_in_order(env: Env, running: Observers) -> None:
    r = env.command("deploy version=v1")
    assert r.status_code == 200
    (job,) = env.yard.jobs()
    assert r.json() == {
        "response_type": "ephemeral",
        "text": f"job {job.id} created; its progress follows in the thread",
    }
    first = first_message(env.fake)
    assert first.body["channel"] == "C0OPS"
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    ts = "1700000000.000001"
    assert job.props["slack"] == {"channel": "C0OPS", "thread_ts": ts, "user": "U0ALICE"}
    assert job.props["creator"] == "alice"
    texts = env.fake.wait_thread(ts, lambda t: any("completed" in x for x in t))
    assert texts == [
        f"job {job.id} started",
        f"job {job.id}: 50% (2 of 4)",
        f':white_check_mark: job {job.id} completed: "v1"',
    ]
    (update,) = env.fake.of("chat.update")
    assert update.body["ts"] == ts and f"created job {job.id}: deploy" in update.body["text"]


def test_failed_job_says_why(env: Env, running: Observers) -> None:
    r = env.command("deploy version=v2 fail=true")
    assert r.status_code == 200
    (job,) = env.yard.jobs()
    ts = job.props["slack"]["thread_ts"]
    texts = env.fake.wait_thread(ts, lambda t: any(":x:" in x for x in t), timeout=60)
    final = texts[-1]
    assert final.startswith(f":x: job {job.id} failed: ")
    assert "disk &lt;full&gt; &amp; &lt;!channel&gt;" in final and "<!channel>" not in final


def test_jobset_on_two_nodes_gets_its_summary(env: Env, running: Observers) -> None:
    r = env.command("greet web1,web2 msg=hi")
    assert r.status_code == 200
    jobs = env.yard.jobs()
    jobset = jobs[0].jobset
    assert (
        r.json()["text"] == f"jobset {jobset} created (2 jobs); its progress follows in the thread"
    )
    ts = jobs[0].props["slack"]["thread_ts"]
    texts = env.fake.wait_thread(
        ts, lambda t: sum("finished" in x or "completed" in x for x in t) == 3
    )
    # the summary is written in the last job's own outcome transaction (beside its completion)
    assert f":white_check_mark: jobset {jobset} finished: 2 completed (of 2)" in texts[-2:]
    assert sum("started" in t for t in texts) == 2
    assert {t for t in texts if "on web1" in t} and {t for t in texts if "on web2" in t}


def test_restart_of_the_delivery_sends_no_duplicate(env: Env) -> None:
    w = env.yard.worker(queues=["default"], poll=0.1, handle_signals=False)
    first = start(env.yard, poll=0.1)
    assert first is not None
    env.command("greet msg=one")
    env.command("greet msg=two")
    ids = sorted(j.id for j in env.yard.jobs())
    w.start()
    until(lambda: len(env.fake.thread("1700000000.000001")) >= 1)
    first.stop()  # mid-way: some events delivered, the rest not yet
    w.stop(timeout=10)
    w2 = env.yard.worker(queues=["default"], poll=0.1, handle_signals=False).start()
    env.command("greet msg=three")
    second = start(env.yard, poll=0.1)
    assert second is not None
    try:
        ids = sorted(j.id for j in env.yard.jobs())
        until(lambda: all(j.status == "completed" for j in env.yard.jobs()))
        for i, job in enumerate(sorted(env.yard.jobs(), key=lambda j: j.id)):
            ts = job.props["slack"]["thread_ts"]
            texts = env.fake.wait_thread(ts, lambda t: any("completed" in x for x in t))
            assert texts == [
                f"job {job.id} started",
                f':white_check_mark: job {job.id} completed: "{["one", "two", "three"][i]}"',
            ]
        time.sleep(0.5)  # a duplicate would have arrived by now
        posted = [c.body["text"] for c in env.fake.of("chat.postMessage") if "thread_ts" in c.body]
        assert len(posted) == len(set(posted)) == 2 * len(ids)
    finally:
        second.stop()
        w2.stop(timeout=10)


def test_no_bot_token_creates_without_follow_ups(tmp_path: Path, fake_slack: FakeSlack) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    yard = Yard(url, config=load_config(str(write_config(tmp_path, fake_slack.url, False)), db=url))
    yard.migrate()
    define(yard)
    accounts.add_user(yard.store, "alice", "admin", "alice-password")
    with serving(create_web_app(yard, StoreAuth(yard))) as base:
        body = command_body("greet msg=hi")
        r = httpx.post(base + "/slack/command", content=body, headers=signed(body))
    assert r.json()["text"].endswith("created (no follow-ups: no bot_token in [slack])")
    (job,) = yard.jobs()
    assert "slack" not in job.props and fake_slack.calls == []
    yard.close()


def test_slack_refusing_the_post_still_creates(env: Env) -> None:
    env.fake.errors["chat.postMessage"] = "not_in_channel"
    r = env.command("greet msg=hi")
    (job,) = env.yard.jobs()
    assert r.json()["text"] == (
        f"job {job.id} created (no follow-ups: Slack chat.postMessage: not_in_channel)"
    )
    assert "slack" not in job.props


# -- the modal -----------------------------------------------------------------------------


def _submission(view: dict[str, Any], values: dict[str, str], user: str = "U0ALICE") -> Any:
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


def test_modal_flow(env: Env, running: Observers) -> None:
    r = env.command("new choose")
    assert r.status_code == 200 and r.text == ""
    (opened,) = env.fake.of("views.open")
    assert opened.body["trigger_id"].startswith("13345224609.")
    view = opened.body["view"]
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert list(blocks) == ["type", "nodes", "param.level", "param.count"]
    assert blocks["type"]["element"]["initial_option"]["value"] == "choose"
    assert {o["value"] for o in blocks["type"]["element"]["options"]} >= {"choose", "deploy"}
    assert [o["value"] for o in blocks["param.level"]["element"]["options"]] == ["low", "high"]
    assert blocks["param.level"]["optional"] is False and blocks["param.count"]["optional"]
    assert blocks["param.count"]["element"]["initial_value"] == "1"

    # another type chosen: the view is replaced by that type's fields
    change = {
        "type": "block_actions",
        "user": {"id": "U0ALICE"},
        "actions": [
            {"block_id": "type", "action_id": "value", "selected_option": {"value": "deploy"}}
        ],
        "view": {**view, "id": "V0001", "hash": "h0", "state": {"values": {}}},
    }
    assert env.interactive(change).status_code == 200
    (updated,) = env.fake.of("views.update")
    assert updated.body["view_id"] == "V0001" and updated.body["hash"] == "h0"
    assert [b["block_id"] for b in updated.body["view"]["blocks"]] == [
        "type", "nodes", "param.version", "param.fail"
    ]  # fmt: skip

    bad = env.interactive(
        _submission(
            view, {"type": "choose", "level": "low", "param.level": "low", "param.count": "many"}
        )
    )
    assert bad.status_code == 200
    assert bad.json() == {
        "response_action": "errors",
        "errors": {"param.count": "parameter 'count': must be a whole number, got 'many'"},
    }
    nodes = env.interactive(
        _submission(view, {"type": "choose", "nodes": "a,,a", "param.level": "low"})
    )
    assert list(nodes.json()["errors"]) == ["nodes"]
    viewer = env.interactive(_submission(view, {"type": "choose", "param.level": "low"}, "U0VERA"))
    assert "viewer may not create" in viewer.json()["errors"]["type"]
    assert env.yard.count() == 0

    good = env.interactive(
        _submission(view, {"type": "choose", "param.level": "high", "param.count": "3"})
    )
    assert good.status_code == 200
    (job,) = env.yard.jobs()
    assert job.data == {"level": "high", "count": 3}
    assert good.json()["response_action"] == "update"
    assert f"job {job.id} created" in good.json()["view"]["blocks"][0]["text"]["text"]
    assert first_message(env.fake).body["channel"] == "C0OPS"
    ts = job.props["slack"]["thread_ts"]
    texts = env.fake.wait_thread(ts, lambda t: any("completed" in x for x in t))
    assert texts[-1] == f':white_check_mark: job {job.id} completed: "highx3"'


def test_modal_needs_a_mapped_creator(env: Env) -> None:
    r = env.command("", user="U0VERA")
    assert "viewer may not create jobs" in r.json()["text"]
    assert env.fake.of("views.open") == []


def test_answers_follow_slack_lang(tmp_path: Path, fake_slack: FakeSlack) -> None:
    """``[slack] lang = "ru"``: refusals and confirmations to Slack users are Russian (Slack
    sends no language of its own); the job's data stays as given."""
    path = write_config(tmp_path, fake_slack.url, bot_token=False)
    path.write_text(path.read_text() + 'lang = "ru"\n')
    url = f"sqlite:///{tmp_path / 'slack.db'}"
    yard = Yard(url, config=load_config(str(path), db=url))
    yard.migrate()
    define(yard)
    yard.sync_types()
    accounts.add_user(yard.store, "alice", "operator", "alice-password")
    accounts.add_user(yard.store, "vera", "viewer", "vera-password")
    try:
        with serving(create_web_app(yard, StoreAuth(yard))) as base:
            env = Env(yard, base, fake_slack)
            refused = env.command("deploy version=1", user="U0VERA").json()["text"]
            want = "Ошибка: у vera роль viewer: роль viewer не может создавать задания; "  # noqa: RUF001
            assert refused == want + "попросите у администратора роль operator"  # noqa: RUF001
            done = env.command("deploy version=1").json()["text"]
            assert done.startswith("создано задание "), done
        (job,) = yard.jobs()
        assert job.data == {"version": "1"}
    finally:
        yard.close()
    bad = tmp_path / "bad.toml"
    bad.write_text('[slack]\nsigning_secret = "s"\nlang = "de"\n')
    other = Yard(url, config=load_config(str(bad), db=url))
    try:
        with pytest.raises(ConfigError, match=r"\[slack\]: lang must be one of en, ru, got 'de'"):
            start(other)
    finally:
        other.close()
