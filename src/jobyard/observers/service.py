"""Running observers: one thread per observer, started from the config or from Python.

from jobyard.observers import start
running = start(yard, [{"name": "ops", "channel": "log", "path": "events.log",
                        "events": ["job.failed"]}])
...
running.stop()
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jobyard.errors import ConfigError
from jobyard.i18n import _
from jobyard.observers import slack_threads
from jobyard.observers.channels import Channel, make_channel
from jobyard.observers.config import (
    MailSettings,
    ObserverConfig,
    parse_mail,
    parse_observer,
    parse_observers,
)
from jobyard.observers.delivery import ObserverLoop, owner_id
from jobyard.slack.settings import parse_slack

if TYPE_CHECKING:
    from jobyard.config import Config
    from jobyard.yard import Yard


def load(config: Config) -> tuple[list[ObserverConfig], MailSettings]:
    """The observers and mail settings of a loaded config (ConfigError on a mistake)."""
    observers = parse_observers(config.raw.get("observers"))
    threads = slack_threads.observer(parse_slack(config.raw.get("slack")))
    if threads is not None:
        if any(o.name == threads.name for o in observers):
            raise ConfigError(
                _(
                    "observer name {name!r} is the built-in one of [slack]: rename yours",
                    name=threads.name,
                )
            )
        observers.append(threads)
    mail = parse_mail(config.raw.get("mail"))
    return observers, mail


class Observers:
    """Observers delivering in threads of this process until ``stop()``."""

    def __init__(
        self,
        yard: Yard,
        observers: Sequence[ObserverConfig],
        mail: MailSettings | None = None,
        *,
        channels: Mapping[str, Channel] | None = None,
        lease: float = 15.0,
        poll: float = 0.5,
    ) -> None:
        self.owner = owner_id()
        mail = mail or MailSettings()
        channels = channels or {}
        self.loops = [
            ObserverLoop(
                yard,
                o,
                channels.get(o.name) or make_channel(o, mail),
                self.owner,
                lease=lease,
                poll=poll,
            )
            for o in observers
        ]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Observers:
        # The first claim here, not in the thread: a new observer's cursor is "now" when
        # start() returns, so nothing created after it is missed.
        for loop in self.loops:
            loop.claim()
        for loop in self.loops:
            t = threading.Thread(
                target=loop.run,
                args=(self._stop,),
                name=f"observer-{loop.observer.name}",
                daemon=True,
            )
            t.start()
            self._threads.append(t)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the send under way, record it, move each cursor and let go of the lease."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout)

    def __enter__(self) -> Observers:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def start(
    yard: Yard,
    observers: Sequence[ObserverConfig | Mapping[str, Any]] | None = None,
    mail: MailSettings | Mapping[str, Any] | None = None,
    **options: Any,
) -> Observers | None:
    """Start the given observers (dicts as in ``[[observers]]``, or ObserverConfig), or the
    yard config's when none are given; None when there are none."""
    if observers is None:
        found, settings = load(yard.config)
    else:
        found = [o if isinstance(o, ObserverConfig) else parse_observer(o, i)
                 for i, o in enumerate(observers)]  # fmt: skip
        settings = mail if isinstance(mail, MailSettings) else parse_mail(mail)
    if not found:
        return None
    return Observers(yard, found, settings, **options).start()
