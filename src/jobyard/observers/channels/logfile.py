"""Log file: one line per notification, appended and flushed (each line names its event,
so a repeat after a crash is recognisable)."""

from __future__ import annotations

import os
import threading

from jobyard.observers.channels import ChannelError
from jobyard.observers.render import Notification

_LOCK = threading.Lock()  # two observers may share one file: whole lines only


class LogFileChannel:
    def __init__(self, path: str) -> None:
        self.path = path

    def send(self, n: Notification) -> None:
        line = n.line.replace("\n", " ") + "\n"
        try:
            with _LOCK, open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise ChannelError(f"log file {self.path}: {exc.strerror}") from None
