"""Slack: an incoming webhook (the payload, ``{"text": ...}`` or the observer's own
template, POSTed as JSON to the webhook URL), or the Web API's chat.postMessage with the
bot token (the built-in ``slack-threads`` observer, jobyard.observers.slack_threads)."""

from __future__ import annotations

import json

from jobyard.observers.channels import ChannelError
from jobyard.observers.channels.posting import post
from jobyard.observers.render import Notification
from jobyard.slack.client import SlackClient, SlackError


class SlackChannel:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, n: Notification) -> None:
        body = json.dumps(n.payload, ensure_ascii=False, default=str).encode()
        post(self.url, body, {"Content-Type": "application/json"}, self.timeout)


class SlackThreadChannel:
    def __init__(self, api_url: str, token: str, timeout: float) -> None:
        self.client = SlackClient(api_url, token, timeout)

    def send(self, n: Notification) -> None:
        try:
            self.client.call("chat.postMessage", n.payload)
        except SlackError as exc:
            raise ChannelError(str(exc)) from None
