"""Discovery: every executable file in the scripts directory becomes a script job type.

New types are created **disabled**; a type whose file vanished is marked deleted (its row
and settings stay); a file that comes back restores its type, with the enabled state it had.
Dot files and subdirectories are ignored; non-executable files are reported as skipped.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobyard.errors import InvalidInput
from jobyard.i18n import _
from jobyard.scripts.meta import HEADER_BYTES, KIND, compose, parse_header, write_type

if TYPE_CHECKING:
    from jobyard.yard import Yard

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$")
_TRACKED = ("path", "sha", "header", "deleted")


@dataclass
class SyncReport:
    directory: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {file, reason}
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The report as a person reads it (also what a ``git push`` prints)."""
        out = [_("scripts in {directory}:", directory=self.directory)]
        for label, names in (
            ("created (disabled)", self.created),
            ("updated", self.updated),
            ("restored", self.restored),
            ("deleted", self.deleted),
        ):
            if names:
                out.append(f"  {label}: {', '.join(names)}")
        if len(out) == 1:
            out.append(f"  no changes ({len(self.unchanged)} up to date)")
        for skip in self.skipped:
            out.append(f"  skipped: {skip['file']} ({skip['reason']})")
        out.extend(f"  warning: {w}" for w in self.warnings)
        if self.created:
            out.append("  enable a new type with: jobyard type enable NAME")
        return out


def scripts_dir(yard: Yard, directory: str | os.PathLike[str] | None = None) -> Path:
    """The scripts directory: given, or ``scripts_dir`` of the config — relative to the
    config file's folder when there is one, else to the working directory."""
    if directory is not None:
        return Path(os.path.abspath(directory))
    configured = Path(yard.config.scripts_dir).expanduser()
    if configured.is_absolute():
        return configured
    base = os.path.dirname(os.path.abspath(yard.config.path)) if yard.config.path else os.getcwd()
    return Path(os.path.abspath(os.path.join(base, configured)))


def _discover(folder: Path, report: SyncReport) -> dict[str, tuple[Path, bytes]]:
    found: dict[str, tuple[Path, bytes]] = {}
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_file():
            continue  # dot files (.git, .gitignore) and folders are never scripts
        path = Path(entry.path)
        if not os.access(path, os.X_OK):
            report.skipped.append({"file": entry.name, "reason": "not executable"})
            continue
        name = path.stem  # backup.sh → backup
        if not _NAME.match(name):
            reason = f"{name!r} is not a usable type name (letters, digits, _ . @ + -)"
            report.skipped.append({"file": entry.name, "reason": reason})
            continue
        if name in found:
            reason = f"type name {name!r} is taken by {found[name][0].name}"
            report.skipped.append({"file": entry.name, "reason": reason})
            continue
        try:
            content = path.read_bytes()
        except OSError as exc:
            report.skipped.append({"file": entry.name, "reason": f"unreadable: {exc.strerror}"})
            continue
        found[name] = (path, content)
    return found


def _lies_in(path: Any, folder: Path) -> bool:
    """Whether a stored script path is a file directly in ``folder`` (only the top level
    of a folder is synced). A type without a path belongs to no folder."""
    if not isinstance(path, str) or not path:
        return False
    return Path(os.path.abspath(path)).parent == folder


def sync_scripts(yard: Yard, directory: str | os.PathLike[str] | None = None) -> SyncReport:
    """Bring the store's script types in line with the scripts directory."""
    folder = scripts_dir(yard, directory)
    if not folder.is_dir():
        raise InvalidInput(
            _(
                "scripts directory {folder} does not exist (set scripts_dir in jobyard.toml or "
                "give the folder: jobyard scripts sync DIR)",
                folder=folder,
            )
        )
    report = SyncReport(str(folder))
    found = _discover(folder, report)
    with yard.store.transaction():
        stored = yard.stored_types(refresh=True)
        for name, (path, content) in found.items():
            old = stored.get(name)
            if old is not None and old.kind != KIND:
                reason = f"a {old.kind} type named {name!r} exists"
                report.skipped.append({"file": path.name, "reason": reason})
                continue
            header, warnings = parse_header(content[:HEADER_BYTES].decode("utf-8", "replace"))
            report.warnings.extend(f"{path.name}: {w}" for w in warnings)
            previous = dict(old.meta) if old is not None else {}
            meta = compose(
                {
                    **previous,
                    "path": str(path),
                    "sha": hashlib.sha256(content).hexdigest()[:16],
                    "header": header,
                    "deleted": False,
                }
            )
            if old is None:
                report.created.append(name)
            elif previous.get("deleted"):
                report.restored.append(name)
            elif any(previous.get(k) != meta.get(k) for k in _TRACKED) or compose(
                previous
            ) != compose(meta):
                report.updated.append(name)
            else:
                report.unchanged.append(name)
                continue
            write_type(yard, name, meta, enabled=False)
        for name, old in stored.items():
            if old.kind != KIND or name in found or old.meta.get("deleted"):
                continue
            if not _lies_in(old.meta.get("path"), folder):
                continue  # another folder's script: a sync of this one never touches it
            write_type(yard, name, compose({**old.meta, "deleted": True}))
            report.deleted.append(name)
    yard.stored_types(refresh=True)
    return report
