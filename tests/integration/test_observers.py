"""Observers against real receivers: mail through aiosmtpd (STARTTLS on a certificate made
here, a login), Slack and webhook payloads to an HTTP server in a thread (the HMAC checked
as a receiver would), a log file; jobs run by a real worker on SQLite."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import until
from tests.observer_servers import (
    SMTP_PASSWORD,
    SMTP_USER,
    HttpReceiver,
    SmtpServer,
    receiver,
    serve_smtp,
    smtp_server,
    start_receiver,
)

from jobyard import Yard
from jobyard.observers import Observers, start
from jobyard.worker.runner import Worker

__all__ = ["receiver", "smtp_server"]  # fixtures


@pytest.fixture
def worker(yard: Yard) -> Iterator[Worker]:
    @yard.job(name="backup")
    def backup(job: Any, fail: bool = False, **data: Any) -> str:
        job.log("copying /var/db")
        job.log("copied 3 files")
        if fail:
            raise RuntimeError("disk full")
        return "done"

    @yard.job(name="report")
    def report(job: Any, **data: Any) -> None:
        job.log("report written")

    w = yard.worker(concurrency=2, poll=0.1, handle_signals=False).start()
    yield w
    w.stop(timeout=10)


def mail_settings(server: SmtpServer) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": server.port,
        "from": "jobyard@example.com",
        "user": SMTP_USER,
        "password": SMTP_PASSWORD,
        "starttls": True,
        "ca_file": str(server.cert),
        "timeout": 5,
    }


def run(yard: Yard, observers: list[dict[str, Any]], **kw: Any) -> Observers:
    found = start(yard, observers, mail=kw.pop("mail", None), poll=0.05, **kw)
    assert found is not None
    return found


def test_mail_over_starttls_with_login_carries_the_log_at_finish(
    yard: Yard, worker: Worker, smtp_server: SmtpServer
) -> None:
    ops = {
        "name": "ops",
        "channel": "mail",
        "events": ["job.failed"],
        "to": ["ops@example.com"],
        "subject": "{{ job.type }} {{ job.status }}",
        "body": "{{ job.log | join('\n') }}\nerror: {{ job.error }}",
    }
    with run(yard, [ops], mail=mail_settings(smtp_server)):
        job = yard.enqueue("backup", {"fail": True})
        [msg] = smtp_server.inbox.wait(1)
    assert msg["Subject"] == "backup failed"
    assert msg["To"] == "ops@example.com" and msg["From"] == "jobyard@example.com"
    body = msg.get_body(("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    assert "copying /var/db\ncopied 3 files" in text
    assert "error: RuntimeError: disk full" in text
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == f"job-{job.id}.log"
    assert "copied 3 files" in attachment.get_content()
    [d] = yard.store.recent_deliveries("ops")
    assert d.status == "sent" and d.attempts == 1 and d.job_id == job.id


def test_html_body_is_escaped_and_the_sandbox_refuses_internals(
    yard: Yard, worker: Worker, smtp_server: SmtpServer
) -> None:
    observers = [
        {
            "name": "html",
            "channel": "mail",
            "events": ["job.completed"],
            "to": ["ops@example.com"],
            "html": True,
            "body": "<p>{{ job.data.note }}</p>",
        },
        {
            "name": "sneaky",
            "channel": "mail",
            "events": ["job.completed"],
            "to": ["ops@example.com"],
            "body": "{{ ''.__class__.__mro__ }}",
        },
    ]
    with run(yard, observers, mail=mail_settings(smtp_server)):
        yard.enqueue("report", {"note": "<script>alert(1)</script>"})
        [msg] = smtp_server.inbox.wait(1)
        until(lambda: [d.status for d in yard.store.recent_deliveries("sneaky")] == ["failed"])
    html = msg.get_body(("html",))
    assert html is not None
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>" in html.get_content()
    [d] = yard.store.recent_deliveries("sneaky")
    assert d.last_error is not None and "not allowed" in d.last_error
    assert "__mro__" in d.last_error or "__class__" in d.last_error
    time.sleep(0.3)
    assert len(smtp_server.inbox.messages) == 1  # the refused template sent nothing


def test_webhook_is_signed_over_timestamp_and_body_and_slack_gets_its_payload(
    yard: Yard, worker: Worker, receiver: HttpReceiver
) -> None:
    slack_rx, slack_server = start_receiver()
    try:
        observers = [
            {
                "name": "hook",
                "channel": "webhook",
                "url": receiver.url,
                "secret": "hook-secret",
                "events": ["job.completed"],
            },
            {
                "name": "chat",
                "channel": "slack",
                "url": slack_rx.url,
                "events": ["job.completed"],
                "text": ":white_check_mark: {{ job.type }} #{{ job.id }} {{ job.result }}",
            },
        ]
        with run(yard, observers):
            job = yard.enqueue("backup")
            [req] = receiver.wait(1)
            [chat] = slack_rx.wait(1)
    finally:
        slack_server.shutdown()
        slack_server.server_close()
    stamp = req.headers["X-Jobyard-Timestamp"]
    assert abs(int(stamp) - time.time()) < 60
    mac = hmac.new(b"hook-secret", stamp.encode() + b"." + req.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(req.headers["X-Jobyard-Signature"], "sha256=" + mac)
    body = json.loads(req.body)
    assert body["observer"] == "hook" and body["event"]["name"] == "job.completed"
    assert body["job"]["id"] == job.id and body["job"]["result"] == "done"
    assert req.headers["X-Jobyard-Delivery"] == f"hook:{body['event']['id']}"
    assert json.loads(chat.body) == {"text": f":white_check_mark: backup #{job.id} done"}


def test_an_observer_of_job_failed_gets_only_those(
    yard: Yard, worker: Worker, tmp_path: Path
) -> None:
    path = tmp_path / "failed.log"
    everything = tmp_path / "all.log"
    observers = [
        {"name": "failed", "channel": "log", "path": str(path), "events": ["job.failed"]},
        {"name": "all", "channel": "log", "path": str(everything), "line": "{{ event.name }}"},
    ]
    with run(yard, observers):
        ok = [yard.enqueue("backup") for _ in range(3)]
        bad = [yard.enqueue("backup", {"fail": True}) for _ in range(2)]
        until(lambda: all(yard.get(j.id).status in ("completed", "failed") for j in ok + bad))
        until(lambda: everything.exists() and everything.read_text().count("job.completed") == 3)
        until(lambda: path.exists() and len(path.read_text().splitlines()) == 2)
    lines = path.read_text().splitlines()
    assert all(" job.failed " in line for line in lines)
    assert sorted(int(line.split("job=")[1].split()[0]) for line in lines) == [j.id for j in bad]
    assert "job.started" in everything.read_text()  # the other observer got every kind


def test_filters_by_type_node_when_and_props(yard: Yard, worker: Worker, tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    line = "{{ observer }} {{ job.id }}"
    observers = [
        {"name": "types", "channel": "log", "path": str(path), "line": line,
         "events": ["job.completed"], "types": ["report"]},
        {"name": "nodes", "channel": "log", "path": str(path), "line": line,
         "events": ["job.completed"], "nodes": ["db1"]},
        {"name": "when", "channel": "log", "path": str(path), "line": line,
         "events": ["job.*"], "when": "event.name == 'job.completed' and job.data.big"},
    ]  # fmt: skip
    node_worker = yard.worker(queues=["node:db1"], poll=0.1, handle_signals=False).start()
    try:
        with run(yard, observers):
            r = yard.enqueue("report")
            b = yard.enqueue("backup", {"big": True})
            n = yard.enqueue("backup", queue="node:db1")
            s = yard.enqueue("report", {"big": True}, props={"silent": True})
            want = {f"types {r.id}", f"nodes {n.id}", f"when {b.id}"}
            until(lambda: path.exists() and set(path.read_text().splitlines()) >= want)
            until(lambda: yard.get(s.id).status == "completed")
            time.sleep(0.5)
    finally:
        node_worker.stop(timeout=10)
    assert sorted(path.read_text().splitlines()) == sorted(want)  # nothing of the silent job


def test_a_failing_channel_is_retried_with_backoff_and_keeps_others_on_time(
    yard: Yard, worker: Worker, receiver: HttpReceiver, tmp_path: Path
) -> None:
    receiver.status, receiver.delay = 503, 1.5  # slow and refusing
    path = tmp_path / "fast.log"
    observers = [
        {"name": "slow", "channel": "webhook", "url": receiver.url, "events": ["job.completed"],
         "timeout": 1, "retries": 2, "backoff": 0.2},
        {"name": "fast", "channel": "log", "path": str(path), "events": ["job.completed"]},
    ]  # fmt: skip
    with run(yard, observers):
        jobs = [yard.enqueue("report") for _ in range(3)]
        t0 = time.monotonic()
        until(lambda: path.exists() and len(path.read_text().splitlines()) == 3)
        fast = time.monotonic() - t0
        until(
            lambda: [d.status for d in yard.store.recent_deliveries("slow")] == ["failed"] * 3,
            timeout=60,
        )
    assert fast < 3.0, f"the log observer waited for the failing webhook ({fast:.1f} s)"
    for d in yard.store.recent_deliveries("slow"):
        assert d.attempts == 3 and d.last_error is not None
        assert "gave up after 3 attempts" in d.last_error
        assert "timed out after 1 s" in d.last_error
    assert {d.job_id for d in yard.store.recent_deliveries("fast")} == {j.id for j in jobs}


def test_private_observer_mails_the_creator_and_honours_nomail(
    yard: Yard, worker: Worker, smtp_server: SmtpServer
) -> None:
    mine = {"name": "mine", "channel": "mail", "private": True, "events": ["job.completed"]}
    with run(yard, [mine], mail=mail_settings(smtp_server)):
        a = yard.enqueue("report", props={"creator": "ann@example.com"})
        yard.enqueue("report", props={"creator": "bob@example.com", "nomail": True})
        yard.enqueue("report", props={"creator": "@carol"})  # a Slack user: not for mail
        yard.enqueue("report")  # nobody to tell
        [msg] = smtp_server.inbox.wait(1)
        time.sleep(1.0)
    assert len(smtp_server.inbox.messages) == 1
    assert msg["To"] == "ann@example.com" and f"#{a.id}" in msg["Subject"]


def test_a_refusing_smtp_server_is_recorded_and_retried(
    yard: Yard, worker: Worker, smtp_server: SmtpServer
) -> None:
    smtp_server.inbox.refuse = True
    ops = {"name": "ops", "channel": "mail", "events": ["job.completed"],
           "to": ["ops@example.com"], "backoff": 0.3}  # fmt: skip
    with run(yard, [ops], mail=mail_settings(smtp_server)):
        yard.enqueue("report")
        until(lambda: [d.status for d in yard.store.recent_deliveries("ops")] == ["retry"])
        [d] = yard.store.recent_deliveries("ops")
        assert d.last_error is not None and "451" in d.last_error
        assert SMTP_PASSWORD not in d.last_error
        smtp_server.inbox.refuse = False
        smtp_server.inbox.wait(1)
        until(lambda: [d.status for d in yard.store.recent_deliveries("ops")] == ["sent"])
    [d] = yard.store.recent_deliveries("ops")
    assert d.attempts >= 2


def test_private_slack_observer_names_the_creator_and_honours_noslack(
    yard: Yard, worker: Worker, receiver: HttpReceiver
) -> None:
    mine = {"name": "dm", "channel": "slack", "url": receiver.url, "private": True,
            "events": ["job.completed"], "text": "{{ job.type }} #{{ job.id }} done"}  # fmt: skip
    with run(yard, [mine]):
        a = yard.enqueue("report", props={"creator": "@carol"})
        yard.enqueue("report", props={"creator": "@dave", "noslack": True})
        yard.enqueue("report", props={"creator": "erin@example.com"})  # a mail address
        [req] = receiver.wait(1)
        time.sleep(1.0)
    assert len(receiver.requests) == 1
    assert json.loads(req.body) == {"text": f"report #{a.id} done", "channel": "@carol"}


# aiosmtpd's warning counts only STARTTLS as TLS; this server speaks TLS from the first byte.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_mail_over_tls_from_the_start_and_a_wrong_password_is_a_recorded_refusal(
    yard: Yard, worker: Worker, tmp_path: Path
) -> None:
    with serve_smtp(tmp_path, implicit_tls=True) as server:
        settings = {**mail_settings(server), "starttls": False, "ssl": True}
        ops = {"name": "ops", "channel": "mail", "events": ["job.completed"],
               "to": ["ops@example.com"], "subject": "{{ job.type }} ok"}  # fmt: skip
        with run(yard, [ops], mail=settings):
            yard.enqueue("report")
            [msg] = server.inbox.wait(1)
        assert msg["Subject"] == "report ok"
        wrong = {**settings, "password": "not-the-password"}
        bad = {**ops, "name": "bad"}
        with run(yard, [bad], mail=wrong):
            yard.enqueue("report")
            until(lambda: [d.status for d in yard.store.recent_deliveries("bad")] == ["retry"])
        [d] = yard.store.recent_deliveries("bad")
        assert d.last_error is not None and "refused the login: 535" in d.last_error
        assert "not-the-password" not in d.last_error
        assert len(server.inbox.messages) == 1


def test_an_observer_of_jobset_finished_hears_it_once_with_the_outcomes(
    yard: Yard, worker: Worker, tmp_path: Path
) -> None:
    path = tmp_path / "sets.log"
    data = "{{ event.data.jobset }} {{ event.data.completed }}/{{ event.data.total }}"
    line = "{{ event.name }} " + data
    observers = [
        {"name": "sets", "channel": "log", "path": str(path), "line": line,
         "events": ["jobset.finished"]},
    ]  # fmt: skip
    with run(yard, observers):
        js = yard.create_jobset("nodes", "backup all")
        # together: a job that joins after the others finished reopens the jobset
        ids = yard.enqueue_many("backup", [None] * 3, jobset=js)
        until(lambda: all(yard.get(i).status == "completed" for i in ids))
        until(lambda: path.exists() and path.read_text().strip() != "")
        time.sleep(1.0)  # a second announcement would have come by now
    assert path.read_text().splitlines() == [f"jobset.finished {js} 3/3"]
