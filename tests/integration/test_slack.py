"""The Slack face over real HTTP: a uvicorn-served jobyard app, a local stand-in for
slack.com/api recording every Web API call (tests/slack_servers.py), a real worker and
the observers delivering the thread follow-ups from the event log, on SQLite and
PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.apiserver import serving
from tests.helpers import until
from tests.slack_app import Env, first_message, following, slack_yard, submission, type_chosen
from tests.slack_servers import SECRET, TOKEN, FakeSlack, command_body, fake_slack, signed

from jobyard import Yard
from jobyard.api.accounts import StoreAuth
from jobyard.observers import Observers, start
from jobyard.web.app import create_web_app

__all__ = ["fake_slack"]  # fixtures


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Env]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'slack.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    yard = slack_yard(url, tmp_path, fake_slack)
    with serving(create_web_app(yard, StoreAuth(yard))) as base:
        yield Env(yard, base, fake_slack)
    yard.close()


@pytest.fixture
def running(env: Env) -> Iterator[Observers]:
    with following(env.yard) as observers:
        yield observers


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
    assert job.props["slack"] == {
        "channel": "C0OPS",
        "thread_ts": ts,
        "user": "U0ALICE",
        "lang": "en",  # the thread's language, kept for its follow-ups
    }
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
    yard = slack_yard(f"sqlite:///{tmp_path / 'n.db'}", tmp_path, fake_slack, bot_token=False)
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
    assert env.interactive(type_chosen(view, "deploy")).status_code == 200
    (updated,) = env.fake.of("views.update")
    assert updated.body["view_id"] == "V0001" and updated.body["hash"] == "h0"
    assert [b["block_id"] for b in updated.body["view"]["blocks"]] == [
        "type", "nodes", "param.version", "param.fail"
    ]  # fmt: skip

    bad = env.interactive(
        submission(
            view, {"type": "choose", "level": "low", "param.level": "low", "param.count": "many"}
        )
    )
    assert bad.status_code == 200
    assert bad.json() == {
        "response_action": "errors",
        "errors": {"param.count": "parameter 'count': must be a whole number, got 'many'"},
    }
    nodes = env.interactive(
        submission(view, {"type": "choose", "nodes": "a,,a", "param.level": "low"})
    )
    assert list(nodes.json()["errors"]) == ["nodes"]
    viewer = env.interactive(submission(view, {"type": "choose", "param.level": "low"}, "U0VERA"))
    assert "viewer may not create" in viewer.json()["errors"]["type"]
    assert env.yard.count() == 0

    good = env.interactive(
        submission(view, {"type": "choose", "param.level": "high", "param.count": "3"})
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
