"""Observer config and templates, checked at load: one ConfigError line naming the
observer, the key and a template's line; the sandbox refuses Python internals."""

from __future__ import annotations

from typing import Any

import pytest

from jobyard.config import load_config
from jobyard.errors import ConfigError
from jobyard.observers import load, parse_mail, parse_observer
from jobyard.observers.config import parse_observers
from jobyard.observers.filters import kinds_to_read, private_recipient, silenced, wants_event
from jobyard.observers.render import context, render
from jobyard.observers.templates import Compiled, RenderError
from jobyard.store.base import JobEvent


def obs(**kw: Any) -> dict[str, Any]:
    return {"name": "ops", "channel": "log", "path": "/tmp/x.log", **kw}


def test_a_template_syntax_error_names_the_observer_field_and_line() -> None:
    with pytest.raises(ConfigError) as err:
        parse_observer(obs(line="first\nsecond {{ job.id }\nthird"))
    assert str(err.value).startswith("observer 'ops': line template, line 2: ")
    with pytest.raises(ConfigError, match=r"observer 'm': subject template, line 1: "):
        parse_observer({"name": "m", "channel": "mail", "to": ["a@b.c"], "subject": "{% if %}"})
    with pytest.raises(ConfigError, match=r"observer 'ops': when expression: "):
        parse_observer(obs(when="job.type =="))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (obs(channel="sms"), "unknown channel 'sms'; give one of mail, slack, webhook, log"),
        (obs(colour="red"), "unknown key(s) colour for channel log; known:"),
        (obs(name="bad name"), "name must be 1-64 letters"),
        (obs(events="job.failed", retries=-1), "retries must be a whole number >= 0"),
        (obs(timeout=True), "timeout must be a number"),
        ({"name": "m", "channel": "mail"}, "a mail observer needs to = [addresses]"),
        ({"name": "s", "channel": "slack", "url": "ftp://x"}, "url must be an http:// or"),
        ({"name": "w", "channel": "webhook"}, "url must be a non-empty string"),
        (obs(private=True), "private = true needs channel mail or slack"),
        (obs(line=3), "line must be a template string"),
        (obs(start="yesterday"), 'start must be "now" or "beginning"'),
    ],
)
def test_bad_observers_are_refused_in_one_line(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_observer(raw)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_names_are_unique_and_mail_settings_are_checked(monkeypatch: Any) -> None:
    with pytest.raises(ConfigError, match="used twice: ops"):
        parse_observers([obs(), obs()])
    with pytest.raises(ConfigError, match=r"\[mail\]: unknown key\(s\) hots"):
        parse_mail({"hots": "x"})
    with pytest.raises(ConfigError, match="port must be a whole number from 1 to 65535"):
        parse_mail({"port": 70000})
    with pytest.raises(ConfigError, match="not both"):
        parse_mail({"starttls": True, "ssl": True})
    with pytest.raises(ConfigError, match="MISSING_PW"):
        parse_mail({"user": "u", "password_env": "MISSING_PW"})
    monkeypatch.setenv("SMTP_PW", "hunter22")
    mail = parse_mail({"user": "u", "password_env": "SMTP_PW", "port": 587, "starttls": True})
    assert mail.password == "hunter22" and "hunter22" not in repr(mail)


def test_the_config_file_holds_observers_and_mail(tmp_path: Any) -> None:
    path = tmp_path / "jobyard.toml"
    path.write_text(
        '[mail]\nhost = "smtp.example.com"\n\n[[observers]]\nname = "ops"\nchannel = "log"\n'
        'path = "x.log"\nnodes = ["db1"]\nqueues = ["q"]\n'
    )
    [o], mail = load(load_config(str(path)))
    assert mail.host == "smtp.example.com"
    assert o.queues == ("q", "node:db1")


def test_the_sandbox_refuses_python_internals() -> None:
    for source in ("{{ ''.__class__ }}", "{{ job.__init__.__globals__ }}", "{{ job.clear() }}"):
        t = Compiled("ops", "body", source)
        with pytest.raises(RenderError, match=r"not allowed: access to attribute .* is unsafe"):
            t.render({"job": {"id": 1}})
    with pytest.raises(RenderError, match="'nope' is undefined"):
        Compiled("ops", "body", "{{ nope }}").render({})


def test_html_bodies_are_escaped_text_is_not() -> None:
    ctx = {"x": "<b>&</b>"}
    assert Compiled("o", "body", "{{ x }}", html=True).render(ctx) == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert Compiled("o", "body", "{{ x }}").render(ctx) == "<b>&</b>"


def event(name: str = "job.failed", type_: str = "backup", queue: str = "default") -> JobEvent:
    return JobEvent(1, 0.0, name, 5, type_, queue, "failed", None)


def test_filters_by_kind_pattern_type_and_node() -> None:
    o = parse_observer(obs(events=["job.failed", "jobset.*"], types=["backup"], nodes=["db1"]))
    assert kinds_to_read(o) is None  # a pattern: the store reads every kind
    assert wants_event(o, event(queue="node:db1"))
    assert wants_event(o, event("jobset.finished", queue="node:db1"))
    assert not wants_event(o, event("job.completed", queue="node:db1"))
    assert not wants_event(o, event(type_="report", queue="node:db1"))
    assert not wants_event(o, event(queue="node:db2"))
    assert kinds_to_read(parse_observer(obs(events=["job.failed"]))) == ["job.failed"]
    assert "job.log" not in (kinds_to_read(parse_observer(obs())) or ["job.log"])


def test_props_silence_and_private_recipients() -> None:
    mail = parse_observer({"name": "m", "channel": "mail", "private": True})
    slack = parse_observer({"name": "s", "channel": "slack", "url": "http://x/", "private": True})
    assert silenced(mail, {"silent": True}) and silenced(slack, {"silent": "yes"})
    assert silenced(mail, {"nomail": 1}) and not silenced(slack, {"nomail": 1})
    assert silenced(slack, {"noslack": True}) and not silenced(mail, {"noslack": True})
    assert not silenced(mail, {"silent": "false"})
    assert private_recipient(mail, {"creator": "ann@example.com"}) == "ann@example.com"
    assert private_recipient(mail, {"creator": "@ann"}) is None
    assert private_recipient(slack, {"creator": "@ann"}) == "@ann"
    assert private_recipient(slack, {"creator": "ann@example.com"}) is None
    assert private_recipient(mail, {}) is None
    assert private_recipient(mail, {"creator": "a@b.c\nBcc: x@y.z"}) is None  # no header tricks


def test_urls_in_messages_keep_only_scheme_and_host() -> None:
    from jobyard.observers.channels.posting import redact

    assert (
        redact("https://hooks.slack.com/services/T0/B0/SECRET?x=1") == "https://hooks.slack.com/..."
    )
    assert redact("http://user:pw@h:8080/p") == "http://h:8080/..."


def test_a_slack_payload_template_must_render_json() -> None:
    o = parse_observer(
        {"name": "s", "channel": "slack", "url": "http://x/", "private": True,
         "payload": '{"text": {{ job.data.note | json }}}'}
    )  # fmt: skip
    ev = {"id": 3, "name": "job.failed", "job": 1, "data": None}
    job = {"id": 1, "data": {"note": 'say "hi"\n'}, "props": {}}
    n = render(o, context(o, ev, job, "@ann"), "@ann")
    assert n.payload == {"text": 'say "hi"\n', "channel": "@ann"}
    bad = parse_observer({"name": "s", "channel": "slack", "url": "http://x/", "payload": "{x"})
    with pytest.raises(RenderError, match="not JSON"):
        render(bad, context(bad, ev, job, None), None)


def test_an_observer_without_events_skips_the_streaming_kinds() -> None:
    from jobyard.store.base import JobEvent

    every = parse_observer({"name": "o", "channel": "log", "path": "x.log"})
    kinds = kinds_to_read(every)
    assert kinds is not None and "job.failed" in kinds and "jobset.finished" in kinds
    assert "job.log" not in kinds and "job.progress" not in kinds

    def event(name: str) -> JobEvent:
        return JobEvent(1, 0.0, name, 1, "t", "default", "running", None)

    assert not wants_event(every, event("job.log"))
    assert wants_event(every, event("job.started"))
    named = parse_observer({"name": "o", "channel": "log", "path": "x.log", "events": ["job.*"]})
    assert wants_event(named, event("job.log"))
