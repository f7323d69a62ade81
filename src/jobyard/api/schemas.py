"""JSON schemas the endpoints declare (request bodies checked by the wrapper for unknown
fields; the OpenAPI document shows them)."""

from __future__ import annotations

from typing import Any

ANY: dict[str, Any] = {}
STR: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer"}
NUM: dict[str, Any] = {"type": "number"}
OBJ: dict[str, Any] = {"type": "object"}
NULLABLE_TIME: dict[str, Any] = {"type": ["string", "null"]}

JOB_OPTIONS: dict[str, Any] = {
    "queue": STR,
    "priority": {"type": ["integer", "string"]},
    "delay": NUM,
    "after": {"type": ["number", "string"]},
    "depends": {"type": ["integer", "array"], "items": INT},
    "retry": {"type": ["integer", "object", "string", "null"]},
    "retries": INT,
    "repeat": {"type": ["integer", "object", "string", "null"]},
    "paused": {"type": "boolean"},
    "props": OBJ,
    "timeout": {"type": ["number", "null"]},
    "jobset": INT,
    "site": STR,
    "semaphores": {"type": "array", "items": STR, "maxItems": 100},
}

NEW_JOB: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type"],
    "properties": {
        "type": STR,
        "data": ANY,
        "nodes": {"type": "array", "items": STR, "maxItems": 1000},
        **JOB_OPTIONS,
    },
}

BULK_JOBS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "items"],
    "properties": {
        "type": STR,
        "items": {"type": "array", "maxItems": 10_000},
        **{k: v for k, v in JOB_OPTIONS.items() if k not in ("depends",)},
    },
}

JOB: dict[str, Any] = {
    "type": "object",
    "required": ["id", "type", "queue", "status", "priority", "progress", "attempts", "created"],
    "properties": {
        "id": INT,
        "type": STR,
        "queue": STR,
        "status": {
            "enum": ["waiting", "paused", "ready", "running", "failed", "cancelled", "completed"]
        },
        "priority": INT,
        "progress": OBJ,
        "attempts": INT,
        "created": STR,
        "semaphores": {"type": "array", "items": STR},
        "waiting": {"type": "string", "description": "what a ready job waits for"},
    },
}

SEMAPHORES: dict[str, Any] = {
    "type": "object",
    "required": ["semaphores"],
    "properties": {
        "semaphores": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "kind", "name", "count", "held", "holders", "waiters"],
                "properties": {
                    "key": STR,
                    "kind": {"enum": ["semaphore", "site", "active"]},
                    "name": STR,
                    "count": INT,
                    "scope": STR,
                    "holder": {"enum": ["job", "jobset"]},
                    "jobset": {"type": ["integer", "null"]},
                    "held": INT,
                    "holders": {"type": "array", "items": OBJ},
                    "waiters": {"type": "array", "items": INT},
                    "call_waiters": {"type": "array", "items": OBJ},
                },
            },
        }
    },
}

JOB_PAGE: dict[str, Any] = {
    "type": "object",
    "required": ["jobs", "next"],
    "properties": {"jobs": {"type": "array", "items": JOB}, "next": {"type": ["string", "null"]}},
}

LOG_PAGE: dict[str, Any] = {
    "type": "object",
    "required": ["entries", "next"],
    "properties": {
        "entries": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["time", "level", "message"],
                "properties": {"time": NULLABLE_TIME, "level": STR, "message": STR},
            },
        },
        "next": {"type": ["string", "null"]},
    },
}

CHANGED: dict[str, Any] = {
    "type": "object",
    "required": ["ids"],
    "properties": {"ids": {"type": "array", "items": INT}},
}

TYPE_PATCH: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "enabled": {"type": "boolean"},
        "schedule": STR,
        "timezone": STR,
        "on": {"type": ["string", "array"], "items": STR},
        "worker": STR,
        "timeout": {"type": ["number", "null"]},
        "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 2147483647},
        "description": STR,
        "group": STR,
        "run_as": {"type": ["string", "object", "null"]},
    },
}

EMIT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["event"],
    "properties": {"event": STR, "data": ANY},
}
