"""The Slack face (docs/slack.md): a slash command ``/jobyard TYPE nodes k=v`` and a modal
that create jobs, answered at once; follow-ups in the message's thread come from the
observers (jobyard.observers.slack_threads).

The pieces here know nothing of HTTP serving: :mod:`.settings` (``[slack]``),
:mod:`.signature` (Slack's v0 request signature and the replay guard), :mod:`.mrkdwn`
(escaping user text), :mod:`.client` (the Web API), :mod:`.command` (text → jobs, with the
rules of ``jobyard submit``) and :mod:`.modal` (the Block Kit view and its submission).
The endpoints are in jobyard.api.slack."""

from __future__ import annotations

from jobyard.slack.settings import SlackSettings, parse_slack

__all__ = ["SlackSettings", "parse_slack"]
