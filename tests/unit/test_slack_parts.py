# ruff: noqa: RUF001  (Russian texts)
"""The Slack face's pure parts: [slack] settings, the v0 signature and the replay guard,
mrkdwn escaping, the command's words, and the thread observer's filter and texts."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from jobyard import i18n
from jobyard.config import load_config
from jobyard.errors import AuthError, ConfigError, DatabaseError, InvalidInput
from jobyard.observers import load
from jobyard.observers.slack_threads import InThread, ThreadMessage, observer, text
from jobyard.slack import command, mrkdwn
from jobyard.slack.flow import language_of
from jobyard.slack.settings import parse_slack
from jobyard.slack.signature import ReplayGuard, sign, verify
from jobyard.store.accounts import UserRow

SLACK_EXAMPLE_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_EXAMPLE_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
    b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
    b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121"
    b".803a0bc887a14d10d2c447fce8b6703c"
)


def test_signature_matches_slacks_documented_example() -> None:
    # https://api.slack.com/authentication/verifying-requests-from-slack
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert sign(SLACK_EXAMPLE_SECRET, "1531420618", SLACK_EXAMPLE_BODY) == expected
    verify(SLACK_EXAMPLE_SECRET, "1531420618", expected, SLACK_EXAMPLE_BODY, 1531420618 + 299)
    with pytest.raises(AuthError, match="stale"):
        verify(SLACK_EXAMPLE_SECRET, "1531420618", expected, SLACK_EXAMPLE_BODY, 1531420618 + 301)
    with pytest.raises(AuthError, match="bad Slack signature"):
        verify("other", "1531420618", expected, SLACK_EXAMPLE_BODY, 1531420618)
    with pytest.raises(AuthError, match="Unix seconds"):
        verify(SLACK_EXAMPLE_SECRET, "-5", expected, SLACK_EXAMPLE_BODY, 1531420618)
    with pytest.raises(AuthError, match="missing"):
        verify(SLACK_EXAMPLE_SECRET, None, expected, SLACK_EXAMPLE_BODY, 1531420618)


def test_replay_guard_refuses_a_repeat() -> None:
    now, seen, asked = [1000.0], set(), []

    def use_nonce(nonce: str, at: float, keep: float) -> bool:  # the store's, in memory
        asked.append((nonce, at, keep))
        new = nonce not in seen
        seen.add(nonce)
        return new

    guard = ReplayGuard(use_nonce, clock=lambda: now[0])
    guard.check("v0=aa")
    guard.check("v0=bb")
    with pytest.raises(AuthError, match="replayed"):
        guard.check("v0=aa")
    assert asked[0] == ("v0=aa", 1000.0, 600.0)  # remembered for twice Slack's window


def test_settings() -> None:
    env = {"JOBYARD_SLACK_SIGNING_SECRET": "from-env", "JOBYARD_SLACK_BOT_TOKEN": "xoxb-env"}
    s = parse_slack({"signing_secret": "in-file", "users": {"U123ABC": "alice"}}, env)
    assert s is not None and s.signing_secret == "from-env" and s.bot_token == "xoxb-env"
    assert s.api_url == "https://slack.com/api" and dict(s.users) == {"U123ABC": "alice"}
    assert "from-env" not in repr(s) and "xoxb-env" not in repr(s)
    assert parse_slack(None, {}) is None
    bad = {
        r"unknown key\(s\) colour": {"signing_secret": "x", "colour": 1},
        "set signing_secret": {},
        "not a Slack user id": {"signing_secret": "x", "users": {"alice": "alice"}},
        "users.U1AB must be a jobyard user name": {"signing_secret": "x", "users": {"U1AB": ""}},
        "api_url must be": {"signing_secret": "x", "api_url": "ftp://x"},
        "at most 30 seconds": {"signing_secret": "x", "timeout": 99},
        "response_type": {"signing_secret": "x", "response_type": "loud"},
    }
    for message, raw in bad.items():
        with pytest.raises(ConfigError, match=message):
            parse_slack(raw, {})


def test_config_key_and_built_in_observer(tmp_path: Any) -> None:
    path = tmp_path / "jobyard.toml"
    path.write_text('[slack]\nsigning_secret = "s"\nbot_token = "xoxb-1"\n')
    found, _ = load(load_config(str(path)))
    assert [o.name for o in found] == ["slack-threads"]
    assert found[0].token == "xoxb-1" and "xoxb-1" not in repr(found[0])
    path.write_text(
        '[slack]\nsigning_secret = "s"\nbot_token = "t"\n'
        '[[observers]]\nname = "slack-threads"\nchannel = "log"\npath = "x.log"\n'
    )
    with pytest.raises(ConfigError, match="built-in one of \\[slack\\]"):
        load(load_config(str(path)))
    path.write_text('[slack]\nsigning_secret = "s"\n')
    assert load(load_config(str(path)))[0] == []  # no bot token: no thread follow-ups
    assert observer(None) is None


def test_mrkdwn() -> None:
    assert mrkdwn.escape("<!channel> & <@U1|x>") == "&lt;!channel&gt; &amp; &lt;@U1|x&gt;"
    assert mrkdwn.unescape("a &lt;b&gt; &amp;lt;") == "a <b> &lt;"
    assert len(mrkdwn.escape("x" * 1000)) == 500


def test_command_words() -> None:
    assert command.words('deploy web1,web2 msg="two words" n=3') == [
        "deploy", "web1,web2", "msg=two words", "n=3"
    ]  # fmt: skip
    assert command.words("greet msg=\u201chi there\u201d") == ["greet", "msg=hi there"]
    assert command.words("greet msg=&lt;b&gt;") == ["greet", "msg=<b>"]
    with pytest.raises(InvalidInput, match="close the quote"):
        command.words("greet msg='open")
    with pytest.raises(InvalidInput, match="over 4000"):
        command.words("x" * 4001)


def _ctx(name: str, job: int = 7, data: Any = None, **jobfields: Any) -> dict[str, Any]:
    props = {"slack": {"channel": "C1", "thread_ts": "1.2"}}
    return {
        "event": {"id": 1, "name": name, "job": job, "data": data},
        "job": {"id": job, "node": None, "props": props, **jobfields},
        "props": props,
    }


def test_thread_filter_posts_each_quarter_once() -> None:
    when = InThread()
    assert not when({**_ctx("job.started"), "props": {}})  # not made from Slack
    assert when(_ctx("job.started"))
    seen = [
        when(_ctx("job.progress", data={"completed": c, "total": 8}))
        for c in (1, 2, 3, 4, 4, 5, 6, 7, 8)
    ]
    assert seen == [False, True, False, True, False, False, True, False, False]
    assert when(_ctx("job.completed"))
    assert when(_ctx("job.progress", data={"completed": 2, "total": 8}))  # a run again
    assert not when(_ctx("job.progress", data={"completed": 1, "total": 0}))


def test_thread_texts_escape_user_text() -> None:
    assert text(_ctx("job.failed", error="<!here> boom")) == ":x: job 7 failed: &lt;!here&gt; boom"
    assert text(_ctx("job.completed", result={"a": "<b>"})) == (
        ':white_check_mark: job 7 completed: {"a": "&lt;b&gt;"}'
    )
    assert text(_ctx("job.started", attempts=2)) == "job 7 started (attempt 2)"
    summary = {"jobset": 3, "total": 3, "completed": 2, "failed": 1, "jobs": {"7": "failed"}}
    assert text(_ctx("jobset.finished", data=summary)) == (
        ":x: jobset 3 finished: 2 completed, 1 failed (of 3); not completed: job 7"
    )


def test_thread_texts_in_russian_with_plural_forms() -> None:
    with i18n.use("ru"):
        assert text(_ctx("job.started", attempts=3)) == "задание 7 запущено (попытка 3)"
        assert text(_ctx("job.retrying", error="<b>")) == (
            "задание 7: сбой, будет новая попытка: &lt;b&gt;"
        )
        assert text(_ctx("job.cancelled")) == "задание 7 отменено"
        assert text(_ctx("job.completed", result=None)) == ":white_check_mark: задание 7 выполнено"
        assert text(_ctx("job.failed", node="web<1>")) == (
            ":x: задание 7 на web&lt;1&gt; завершилось с ошибкой: ошибка не указана"
        )
        counts = {"jobset": 3, "completed": 21, "failed": 3, "cancelled": 5, "total": 29}
        assert text(_ctx("jobset.finished", data={**counts, "jobs": {"8": "failed"}})) == (
            ":x: набор заданий 3 завершён: 21 задание выполнено, 3 задания с ошибкой, "
            "5 заданий отменено (из 29); не выполнены: задание 8"
        )
        nothing = {"jobset": 4, "total": 0}
        assert text(_ctx("jobset.finished", data=nothing)) == (
            ":white_check_mark: набор заданий 4 завершён: ничего не выполнялось (из 0)"
        )
    assert text(_ctx("job.cancelled")) == "job 7 cancelled"  # English outside the block


def test_a_thread_speaks_its_creators_language() -> None:
    message = ThreadMessage("en")  # [slack] lang
    ctx = _ctx("job.started")
    assert json.loads(message.render(ctx))["text"] == "job 7 started"  # no lang kept: en
    ctx["props"] = {"slack": {**ctx["props"]["slack"], "lang": "ru"}}
    payload = json.loads(message.render(ctx))
    assert payload == {
        "channel": "C1",
        "thread_ts": "1.2",
        "text": "задание 7 запущено",
        "unfurl_links": False,
        "unfurl_media": False,
    }
    assert json.loads(ThreadMessage("ru").render(_ctx("job.started")))["text"] == (
        "задание 7 запущено"
    )
    ctx["props"]["slack"]["lang"] = "xx"  # not shipped (a hand-edited prop): the default
    assert json.loads(message.render(ctx))["text"] == "job 7 started"
    assert i18n.current() == "en"  # rendering left the observer thread's language alone


def test_the_language_of_a_slack_user() -> None:
    rows = {"alice": UserRow(1, "alice", "operator", "h", 0.0, 0.0, "ru")}
    rows["bob"] = UserRow(2, "bob", "operator", "h", 0.0, 0.0, None)

    def user_by_name(name: str) -> UserRow | None:
        if name == "down":
            raise DatabaseError("the database is unavailable")
        return rows.get(name)

    yard: Any = SimpleNamespace(store=SimpleNamespace(user_by_name=user_by_name))
    users = {"U0A": "alice", "U0B": "bob", "U0G": "ghost", "U0D": "down"}
    settings = parse_slack({"signing_secret": "s", "users": users, "lang": "en"}, {})
    assert settings is not None
    assert language_of(yard, settings, "U0A") == "ru"  # her own
    for slack_id in ("U0B", "U0G", "U0D", "U0NOBODY", None, 7):  # else the workspace's
        assert language_of(yard, settings, slack_id) == "en", slack_id
    russian = parse_slack({"signing_secret": "s", "users": users, "lang": "ru"}, {})
    assert russian is not None and language_of(yard, russian, "U0B") == "ru"
