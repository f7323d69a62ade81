"""Where notifications go: one small module per channel, each a class with
``send(notification)`` that raises ChannelError when the far end refused or timed out.

The Driver-like shape (jobyard.converge): the delivery loop knows only ``send``; a test or
a Python user may pass any object that has it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from jobyard.errors import JobyardError

if TYPE_CHECKING:
    from jobyard.observers.config import MailSettings, ObserverConfig
    from jobyard.observers.render import Notification


class ChannelError(JobyardError):
    """A send failed (recorded on the delivery and retried; never holds a secret)."""


class Channel(Protocol):
    def send(self, notification: Notification) -> None: ...


def make_channel(observer: ObserverConfig, mail: MailSettings) -> Channel:
    """The channel an observer's config names."""
    if observer.channel == "mail":
        from jobyard.observers.channels.mail import MailChannel

        return MailChannel(mail)
    if observer.channel == "slack" and observer.token is not None:
        from jobyard.observers.channels.slack import SlackThreadChannel

        return SlackThreadChannel(observer.url or "", observer.token, observer.timeout)
    if observer.channel == "slack":
        from jobyard.observers.channels.slack import SlackChannel

        return SlackChannel(observer.url or "", observer.timeout)
    if observer.channel == "webhook":
        from jobyard.observers.channels.webhook import WebhookChannel

        return WebhookChannel(observer.url or "", observer.secret, observer.timeout)
    from jobyard.observers.channels.logfile import LogFileChannel

    return LogFileChannel(observer.path or "")
