"""A rich tree of node states, updated live from runner events, and the no-act plan."""

from __future__ import annotations

from typing import Any

from rich.console import Group as RenderGroup
from rich.console import RenderableType
from rich.markup import escape
from rich.text import Text
from rich.tree import Tree

from jobyard.converge.model import Graph
from jobyard.converge.runner import Event
from jobyard.converge.session import Result

__all__ = ["LiveTree", "describe_error", "plan_summary", "run_summary"]

_STEP = {
    "try": "checking",
    "check-fail": "running",
    "run-pass": "rechecking",
    "run-fail": "rechecking",
}


def describe_error(error: BaseException | None, limit: int = 160) -> str:
    """One line: ``Type: message``, shortened to ``limit`` characters."""
    if error is None:
        return ""
    text = f"{type(error).__name__}: {error}".replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LiveTree:
    """A runner listener that keeps each node's state and renders the dependency tree.

    Set :attr:`live` to a ``rich.live.Live`` to have it refreshed on every event.
    """

    def __init__(self, graph: Graph, *, no_act: bool = False) -> None:
        self.graph = graph
        self.no_act = no_act
        self.state: dict[str, str] = {}
        self.tries: dict[str, int] = {}
        self.errors: dict[str, BaseException] = {}
        self.finished = False
        self.live: Any = None

    def __call__(self, event: Event) -> None:
        name, kind = event.node, event.kind
        if kind.startswith("cleanup"):
            if kind == "cleanup-fail" and event.error is not None:
                self.errors[name] = event.error
                self.state[name] = "cleanup-failed"
        elif kind in _STEP:
            self.state[name] = "would-run" if self.no_act and kind == "check-fail" else _STEP[kind]
            self.tries[name] = max(event.attempt, self.tries.get(name, 0))
        elif kind == "check-pass":
            self.state[name] = "passed"
        elif kind == "recheck-pass":
            self.state[name] = "converged"
        elif kind in ("recheck-fail", "init-fail"):
            self.state[name] = "failed"
        if event.error is not None and kind in ("check-fail", "recheck-fail", "init-fail"):
            self.errors[name] = event.error
        if self.live is not None:
            self.live.update(self.render())

    def finish(self) -> None:
        """Mark the run as over: untried nodes become blocked."""
        self.finished = True
        if self.live is not None:
            self.live.update(self.render())

    def label(self, name: str) -> Text:
        state = self.state.get(name, "blocked" if self.finished else "pending")
        spec = self.graph[name]
        tries = self.tries.get(name, 0)
        tried = f" (try {tries}/{spec.tries:g})" if tries > 1 else ""
        err = escape(describe_error(self.errors.get(name)))
        styles = {
            "pending": f"[dim]○ {escape(name)}[/]",
            "checking": f"[yellow]… {escape(name)}[/] [dim]checking{tried}[/]",
            "running": f"[yellow]▶ {escape(name)}[/] [dim]running{tried}[/]",
            "rechecking": f"[yellow]… {escape(name)}[/] [dim]rechecking{tried}[/]",
            "passed": f"[green]✔ {escape(name)}[/]"
            + (" [dim]already converged[/]" if self.no_act else ""),
            "converged": f"[green]✔ {escape(name)}[/] [dim]converged after run{tried}[/]",
            "failed": f"[red]✘ {escape(name)}[/]{tried} [red]{err}[/]",
            "would-run": f"[yellow]↻ {escape(name)}[/] [dim]would run — {err}[/]",
            "blocked": f"[dim]○ {escape(name)} "
            + ("would run after its dependencies" if self.no_act else "blocked")
            + "[/]",
            "cleanup-failed": f"[red]✘ {escape(name)}[/] [red]cleanup failed: {err}[/]",
        }
        return Text.from_markup(styles.get(state, escape(name)))

    def render(self) -> Tree:
        """The tree from the root down to its dependencies; a repeated node is not expanded."""
        root = self.graph.root
        tree = Tree(self.label(root), guide_style="dim")
        shown = {root}
        stack = [(tree, iter(self.graph[root].deps))]
        while stack:
            branch, pending = stack[-1]
            for dep in pending:
                label = self.label(dep)
                if dep in shown:
                    if self.graph[dep].deps:
                        label.append(" ↑ see above", style="dim")
                    branch.add(label)
                    continue
                shown.add(dep)
                stack.append((branch.add(label), iter(self.graph[dep].deps)))
                break
            else:
                stack.pop()
        return tree


def _names(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(names) if names else "none"


def run_summary(result: Result) -> RenderableType:
    """The last lines after a converge run."""
    total = len(result.status)
    lines: list[RenderableType] = []
    if result.success and not result.cleanup_errors:
        ran = sum(1 for o in result.outcomes.values() if o == "converged")
        lines.append(
            Text.from_markup(f"[green bold]converged[/]: {total} nodes true ({ran} after a run)")
        )
    else:
        lines.append(
            Text.from_markup(
                f"[red bold]not converged[/]: {len(result.passed)} true, "
                f"{len(result.failed)} failed, {len(result.blocked)} blocked of {total}"
            )
        )
        for name in result.failed:
            why = escape(describe_error(result.errors.get(name)))
            lines.append(Text.from_markup(f"  [red]✘ {escape(name)}[/]: {why}"))
        if result.blocked:
            lines.append(Text(f"  blocked: {_names(result.blocked)}", style="dim"))
    for name, error in result.cleanup_errors:
        lines.append(
            Text.from_markup(f"  [red]cleanup of {escape(name)} failed[/]: ")
            + Text(describe_error(error))
        )
    return RenderGroup(*lines)


def plan_summary(result: Result) -> RenderableType:
    """What a no-act run found: what is already true and what would run."""
    would = [name for name in result.failed]
    lines: list[RenderableType] = [
        Text.from_markup("[bold]Plan[/] (no-act: only checks ran, nothing was changed)"),
        Text.from_markup(f"  [green]already true[/] ({len(result.passed)}): ")
        + Text(_names(list(result.passed))),
        Text.from_markup(f"  [yellow]would run[/] ({len(would)}): ") + Text(_names(would)),
    ]
    for name in would:
        why = escape(describe_error(result.errors.get(name)))
        lines.append(Text.from_markup(f"    {escape(name)}: [dim]{why}[/]"))
    lines.append(
        Text.from_markup(
            f"  [yellow]would run after their dependencies[/] ({len(result.blocked)}): "
        )
        + Text(_names(list(result.blocked)))
    )
    if result.success:
        lines.append(Text.from_markup("[green bold]nothing to do[/]: every check passes"))
    return RenderGroup(*lines)
