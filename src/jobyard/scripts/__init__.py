"""Script jobs: executables in ``scripts_dir`` run as job types, in any language.

- :func:`sync_scripts` — discovery (``jobyard scripts sync``): new types are disabled.
- :func:`set_type` / :func:`set_enabled` — ``jobyard type set|enable|disable``.
- :func:`load_script_types` — what a worker calls to run enabled script types.
- :func:`init_repo` — a bare git repository that deploys on push.

See docs/scripts.md for the protocol a script speaks (stderr ``>>>`` calls, the socket).
"""

from __future__ import annotations

from jobyard.scripts.deploy import init_repo
from jobyard.scripts.loader import ScriptType, load_script_types
from jobyard.scripts.meta import parse_header, set_enabled, set_type
from jobyard.scripts.runner import ScriptFailed
from jobyard.scripts.sync import SyncReport, scripts_dir, sync_scripts

__all__ = [
    "ScriptFailed",
    "ScriptType",
    "SyncReport",
    "init_repo",
    "load_script_types",
    "parse_header",
    "scripts_dir",
    "set_enabled",
    "set_type",
    "sync_scripts",
]
