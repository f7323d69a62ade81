"""The Slack face in the reader's language, over real HTTP (a served jobyard app, the fake
slack.com/api of tests/slack_servers.py, a real worker and the observers): ``[slack] lang``
for the workspace, a mapped jobyard user's own language before it, and each thread's
follow-ups in the language of the user who made the job."""

# ruff: noqa: RUF001  (Russian text is what these tests are about)

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.apiserver import serving
from tests.pgfixtures import BACKENDS
from tests.slack_app import Env, first_message, following, slack_yard, submission, type_chosen
from tests.slack_servers import FakeSlack, fake_slack

from jobyard import Yard, accounts
from jobyard.api.accounts import StoreAuth
from jobyard.config import load_config
from jobyard.errors import ConfigError
from jobyard.observers import start
from jobyard.web.app import create_web_app

__all__ = ["fake_slack"]  # fixtures


@pytest.fixture
def served() -> Iterator[Any]:
    """``served(yard, fake)``: an Env on the web app of ``yard`` (both closed at the end)."""
    with ExitStack() as stack:

        def serve(yard: Yard, fake: FakeSlack) -> Env:
            stack.callback(yard.close)
            base = stack.enter_context(serving(create_web_app(yard, StoreAuth(yard))))
            return Env(yard, base, fake)

        yield serve


def _thread(env: Env, job_id: int, count: int) -> list[str]:
    """The first ``count`` follow-ups in the thread of ``job_id`` (waited for)."""
    job = env.yard.get(job_id).refresh()
    ts = job.props["slack"]["thread_ts"]
    return env.fake.wait_thread(ts, lambda t: len(t) >= count, timeout=60)[:count]


def _one_job(env: Env, before: set[int]) -> int:
    (new,) = {j.id for j in env.yard.jobs()} - before
    return new


def _ids(env: Env) -> set[int]:
    return {j.id for j in env.yard.jobs()}


def everything_said(env: Env) -> dict[str, str]:
    """Every message text a Slack user sees in one run through the face: the command's
    answers, the thread's first message and its update, the follow-ups of a completed, a
    failed and a jobset's jobs, and the modal's titles, labels, options and errors."""
    said: dict[str, str] = {}
    said["help"] = env.command("help").json()["text"]
    said["viewer refused"] = env.command("deploy version=1", user="U0VERA").json()["text"]
    said["unmapped"] = env.command("deploy version=1", user="U0STRANGER").json()["text"]
    said["bad value"] = env.command("deploy fail=maybe version=1").json()["text"]

    before = _ids(env)
    said["created"] = env.command("deploy version=v1").json()["text"]
    done = _one_job(env, before)
    said["opening"] = first_message(env.fake).body["text"]
    said["updated"] = env.fake.of("chat.update")[-1].body["text"]
    started, progress, completed = _thread(env, done, 3)
    said |= {"started": started, "progress": progress, "completed": completed}

    before = _ids(env)
    env.command("deploy version=v2 fail=true")
    said["failed"] = _thread(env, _one_job(env, before), 3)[-1]  # started, progress, failed

    before = _ids(env)
    said["jobset created"] = env.command("greet web1,web2 msg=hi").json()["text"]
    said["jobset updated"] = env.fake.of("chat.update")[-1].body["text"]
    first = min(_ids(env) - before)
    texts = _thread(env, first, 5)  # each job started and completed, the jobset finished
    said["started on a node"] = texts[0]
    (said["jobset finished"],) = (t for t in texts if "web" not in t)

    env.fake.errors["chat.postMessage"] = "not_in_channel"
    said["no follow-ups"] = env.command("greet msg=hi").json()["text"]
    env.fake.errors.clear()

    assert env.command("new choose").status_code == 200
    view = env.fake.of("views.open")[-1].body["view"]
    blocks = {b["block_id"]: b for b in view["blocks"]}
    said["modal title"] = view["title"]["text"]
    said["modal submit"] = view["submit"]["text"]
    said["modal close"] = view["close"]["text"]
    said["type label"] = blocks["type"]["label"]["text"]
    said["nodes label"] = blocks["nodes"]["label"]["text"]
    said["nodes placeholder"] = blocks["nodes"]["element"]["placeholder"]["text"]
    assert env.interactive(type_chosen(view, "deploy")).status_code == 200
    fail = next(
        b
        for b in env.fake.of("views.update")[-1].body["view"]["blocks"]
        if b["block_id"] == "param.fail"
    )
    options = fail["element"]["options"]
    assert [o["value"] for o in options] == ["true", "false"]  # the values stay data
    said["bool true"], said["bool false"] = (o["text"]["text"] for o in options)
    bad = env.interactive(
        submission(view, {"type": "choose", "param.level": "low", "param.count": "x"})
    )
    said["bad field"] = bad.json()["errors"]["param.count"]
    missing = env.interactive(submission(view, {"type": "choose"}))
    said["required field"] = missing.json()["errors"]["param.level"]
    good = env.interactive(submission(view, {"type": "choose", "param.level": "high"})).json()
    said["created title"] = good["view"]["title"]["text"]
    said["created close"] = good["view"]["close"]["text"]
    said["created text"] = good["view"]["blocks"][0]["text"]["text"]
    return said


# English words of the messages (not of the data: types, params, job errors, emoji codes).
ENGLISH = re.compile(
    r"\b(created?|creating|started|completed|failed|finished|thread|progress|follow-ups|"
    r"parameter|must|required|Error|Job type|Nodes|Cancel|Close|New job|opens|shows)\b"
)


def test_every_text_a_slack_user_sees_is_russian(
    tmp_path: Path, fake_slack: FakeSlack, served: Any
) -> None:
    """The same run in English and with ``[slack] lang = "ru"``: every text differs, the
    Russian ones are the catalogue's, no English message word is left in them, and the
    user's text stays data (escaped) in both."""
    runs: dict[str, dict[str, str]] = {}
    for lang in ("en", "ru"):
        folder = tmp_path / lang
        folder.mkdir()
        url = f"sqlite:///{folder / 'slack.db'}"
        yard = slack_yard(url, folder, fake_slack, lang=None if lang == "en" else lang)
        env = served(yard, fake_slack)
        with following(yard):
            runs[lang] = everything_said(env)
    en, ru = runs["en"], runs["ru"]
    assert en.keys() == ru.keys()
    same = {k: ru[k] for k in en if en[k] == ru[k]}
    assert not same, same  # every translatable text differs from its English run
    leaks = {k: v for k, v in ru.items() if ENGLISH.search(v)}
    assert not leaks, leaks
    # the English run is the English the face always gave
    assert en["created"].endswith(" created; its progress follows in the thread")
    assert en["jobset finished"].endswith(" finished: 2 completed (of 2)")
    # the Russian run, in the catalogue's words
    assert ru["help"].startswith("*/jobyard TYPE [NODE,NODE...] [name=value ...]* создаёт задание")
    assert "*/jobyard help* показывает эту справку." in ru["help"]
    assert ru["viewer refused"] == (
        "Ошибка: у vera роль viewer: роль viewer не может создавать задания; "
        "попросите у администратора роль operator"
    )
    assert ru["bad value"] == "Ошибка: параметр 'fail': нужно true или false, получено 'maybe'"
    assert re.fullmatch(r"создано задание \d+; ход выполнения — в ветке сообщения", ru["created"])
    assert ru["opening"] == "*alice* создаёт deploy version=v1 …"
    assert re.fullmatch(
        r"Задание \d+ создано пользователем \*alice\*: deploy version=v1", ru["updated"]
    )
    assert re.fullmatch(r"задание \d+ запущено", ru["started"])
    assert re.fullmatch(r"задание \d+: 50% \(2 из 4\)", ru["progress"])
    assert re.fullmatch(r':white_check_mark: задание \d+ выполнено: "v1"', ru["completed"])
    assert re.fullmatch(r":x: задание \d+ завершилось с ошибкой: .+", ru["failed"])
    assert "disk &lt;full&gt; &amp; &lt;!channel&gt;" in ru["failed"]  # data, escaped
    assert "<!channel>" not in ru["failed"] and "<!channel>" not in en["failed"]
    assert re.fullmatch(
        r"создан набор заданий \d+ \(2 задания\); ход выполнения — в ветке сообщения",
        ru["jobset created"],
    )
    assert re.fullmatch(
        r"Набор заданий \d+ \(2 задания\) создан пользователем \*alice\*: "
        r"greet на web1, web2 msg=hi",
        ru["jobset updated"],
    )
    assert re.fullmatch(r"задание \d+ на web[12] запущено", ru["started on a node"])
    assert re.fullmatch(
        r":white_check_mark: набор заданий \d+ завершён: 2 задания выполнены \(из 2\)",
        ru["jobset finished"],
    )
    assert re.fullmatch(
        r"создано задание \d+ \(без сообщений в ветке: Slack chat.postMessage: not_in_channel\)",
        ru["no follow-ups"],
    )
    assert (ru["modal title"], ru["modal submit"], ru["modal close"]) == (
        "Новое задание", "Создать", "Отмена"
    )  # fmt: skip
    assert (ru["type label"], ru["nodes label"]) == ("Тип задания", "Узлы")
    assert ru["nodes placeholder"] == "web1,web2 (пусто: одно задание в очереди типа)"
    assert (ru["bool true"], ru["bool false"]) == ("да", "нет")
    assert ru["bad field"] == "параметр 'count': нужно целое число, получено 'x'"
    assert ru["required field"] == "параметр 'level' обязателен"
    assert (ru["created title"], ru["created close"]) == ("Создано", "Закрыть")
    assert ru["created text"].startswith("создано задание ")


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'slack.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_a_users_own_language_wins_over_the_workspaces(
    db_url: str, tmp_path: Path, fake_slack: FakeSlack, served: Any
) -> None:
    """``[slack] lang`` is en; alice reads ru: her answers, her thread's first message and
    its follow-ups are Russian, vera's refusal stays English; the thread keeps alice's
    language after she changes hers (it is in the job's props)."""
    yard = slack_yard(db_url, tmp_path, fake_slack)
    env = served(yard, fake_slack)
    accounts.set_language(yard.store, "alice", "ru")
    helped = env.command("help").json()["text"]  # (the same request twice would be a replay)
    assert helped.startswith("*/jobyard TYPE") and "показывает эту справку" in helped
    refused = env.command("deploy version=1", user="U0VERA").json()["text"]
    assert refused.startswith("Error: vera is a viewer: a viewer may not create jobs")
    assert env.command("help", user="U0STRANGER").json()["text"].endswith(" it posts.")
    created = env.command("deploy version=v1").json()["text"]
    (job,) = yard.jobs()
    assert created == f"создано задание {job.id}; ход выполнения — в ветке сообщения"
    assert job.props["slack"]["lang"] == "ru"
    accounts.set_language(yard.store, "alice", "en")  # later: her thread keeps Russian
    with following(yard):
        texts = _thread(env, job.id, 3)
    assert texts == [
        f"задание {job.id} запущено",
        f"задание {job.id}: 50% (2 из 4)",
        f':white_check_mark: задание {job.id} выполнено: "v1"',
    ]
    again = env.command("deploy version=v2").json()["text"]  # now she reads English
    assert again.endswith(" created; its progress follows in the thread")


def test_a_user_who_reads_english_in_a_russian_workspace(
    db_url: str, tmp_path: Path, fake_slack: FakeSlack, served: Any
) -> None:
    yard = slack_yard(db_url, tmp_path, fake_slack, lang="ru")
    env = served(yard, fake_slack)
    accounts.set_language(yard.store, "alice", "en")
    env.command("greet web1,web2 msg=hi")
    jobs = yard.jobs()
    assert {j.props["slack"]["lang"] for j in jobs} == {"en"}
    refused = env.command("deploy version=1", user="U0VERA").json()["text"]
    assert refused.startswith("Ошибка: у vera роль viewer")
    assert env.command("new", user="U0VERA").json()["text"].startswith("Ошибка: ")
    assert env.command("new choose").status_code == 200
    view = env.fake.of("views.open")[-1].body["view"]
    assert (view["title"]["text"], view["blocks"][0]["label"]["text"]) == ("New job", "Job type")
    with following(yard):
        texts = _thread(env, min(j.id for j in jobs), 5)
    jobset = jobs[0].jobset
    assert f":white_check_mark: jobset {jobset} finished: 2 completed (of 2)" in texts


def test_the_web_ui_switch_carries_over_to_slack(
    tmp_path: Path, fake_slack: FakeSlack, served: Any
) -> None:
    """alice picks Русский in the web UI's header while logged in: Slack answers her in
    Russian from then on (``[slack] lang`` is en)."""
    yard = slack_yard(f"sqlite:///{tmp_path / 'w.db'}", tmp_path, fake_slack)
    env = served(yard, fake_slack)
    assert "shows this" in env.command("help").json()["text"]
    with httpx.Client(base_url=env.base) as browser:
        login = {"username": "alice", "password": "alice-password"}
        assert browser.post("/api/v1/login", json=login).status_code == 200
        assert browser.get("/jobs?lang=ru").status_code == 200
    # ("Help": the same signed request twice would be refused as a replay)
    assert "показывает эту справку" in env.command("Help").json()["text"]


def test_a_bad_slack_lang_is_one_config_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[slack]\nsigning_secret = "s"\nlang = "de"\n')
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    other = Yard(url, config=load_config(str(bad), db=url))
    try:
        with pytest.raises(ConfigError, match=r"\[slack\]: lang must be one of en, ru, got 'de'"):
            start(other)
    finally:
        other.close()
