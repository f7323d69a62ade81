"""Observers: notifications of job events by mail, Slack, webhook or log file
(docs/observers.md). They read the event log by cursor (jobyard.feed), each in its own
thread, and record every delivery in the store."""

from __future__ import annotations

from jobyard.observers.config import MailSettings, ObserverConfig, parse_mail, parse_observer
from jobyard.observers.service import Observers, load, start

__all__ = [
    "MailSettings",
    "ObserverConfig",
    "Observers",
    "load",
    "parse_mail",
    "parse_observer",
    "start",
]
