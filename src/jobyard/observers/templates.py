"""Observer templates: sandboxed Jinja2, compiled when the config loads.

``ImmutableSandboxedEnvironment`` refuses attribute access to Python internals
(``{{ ''.__class__ }}``) and every method that changes a value; ``StrictUndefined`` makes a
misspelt name an error of the delivery instead of an empty string in a mail. Text (a
subject, a plain body, a log line, JSON payloads) is not escaped; an HTML body is."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.environment import Template
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from jobyard.errors import ConfigError, JobyardError
from jobyard.i18n import _


class RenderError(JobyardError):
    """A template or ``when`` expression failed on one event (recorded on its delivery)."""


def _tojson(value: Any) -> str:
    # Jinja's own tojson escapes for HTML; a JSON payload wants plain JSON.
    return json.dumps(value, ensure_ascii=False, default=str)


def _environment(html: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=html,
        keep_trailing_newline=True,
    )
    env.filters["json"] = _tojson
    return env


_TEXT = _environment(html=False)
_HTML = _environment(html=True)


class Compiled:
    """One template of one observer: its source, kept for messages, and the compiled form."""

    def __init__(self, observer: str, field: str, source: str, html: bool = False) -> None:
        self.observer = observer
        self.field = field
        self.source = source
        self.html = html
        try:
            self.template: Template = (_HTML if html else _TEXT).from_string(source)
        except TemplateSyntaxError as exc:
            raise ConfigError(
                _(
                    "observer {observer!r}: {field} template, line {lineno}: {message}; fix the "
                    "template (Jinja2 syntax)",
                    observer=observer,
                    field=field,
                    lineno=exc.lineno,
                    message=exc.message,
                )
            ) from None

    def render(self, context: Mapping[str, Any]) -> str:
        try:
            return self.template.render(context)
        except SecurityError as exc:
            raise RenderError(f"{self.field} template: not allowed: {exc}") from None
        except TemplateError as exc:
            raise RenderError(f"{self.field} template: {exc}") from None
        except Exception as exc:  # a filter on the wrong type: the template's fault
            raise RenderError(f"{self.field} template: {type(exc).__name__}: {exc}") from None


class Condition:
    """A ``when`` expression (``job.type == 'backup' and event.name == 'job.failed'``)."""

    def __init__(self, observer: str, source: str) -> None:
        self.source = source
        try:
            self.expression = _TEXT.compile_expression(source)
        except TemplateSyntaxError as exc:
            raise ConfigError(
                _(
                    "observer {observer!r}: when expression: {message}; give a Jinja2 expression "
                    "such as \"job.status == 'failed'\"",
                    observer=observer,
                    message=exc.message,
                )
            ) from None

    def __call__(self, context: Mapping[str, Any]) -> bool:
        try:
            return bool(self.expression(**context))
        except SecurityError as exc:
            raise RenderError(f"when expression: not allowed: {exc}") from None
        except TemplateError as exc:
            raise RenderError(f"when expression: {exc}") from None
        except Exception as exc:
            raise RenderError(f"when expression: {type(exc).__name__}: {exc}") from None
