"""poly.shell's deployment example, ported: prepare locally, then on every app site
update → snapshot → deploy → snapshot, sites in parallel, sharing state in the batch.

    python examples/poly_deploy.py       # local stand-ins for the two app servers

The original chains runs with ``jobs.run('prepare', function() { this.run(['update',
'snapshot', 'deploy', 'snapshot']) })``; here ``yard.batch("prepare").then([...])`` puts
both runs in one jobset, the second starting when the first has finished. ``update``
does two uploads at once (an async action awaiting both); ``deploy`` records its status
in ``ctx.shared`` for the second ``snapshot``, which skips ``myinit`` after a good deploy
and adds ``myrollback`` after a bad one. The admin alert is a report (the original's
email was left to be implemented as well).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from jobyard import Yard

SCRIPT = '#!/bin/sh\necho "{name}" >> "$SITE_ROOT/history"\n'
DEPLOY = '#!/bin/sh\n[ -z "$DEPLOY_FAIL" ] || { echo "deploy broke" >&2; exit 1; }\n' + (
    'echo deploy >> "$SITE_ROOT/history"\n'
)


def build(url: str, stage: Path, apps: dict[str, dict[str, Any]]) -> Yard:
    yard = Yard(url)
    sites = yard.sites
    sites.add("local", scripts=str(stage / "scripts"), www=str(stage / "www"))
    busy, standby = apps
    sites.add(busy, ["app", "primary"], apps[busy])
    sites.add(standby, "app", apps[standby])
    sites.update("app", admin="admin@example.com")

    def in_root(ctx: Any, *commands: str) -> list[Any]:
        return [("cd", ctx.site.root), *commands]

    @yard.action("app")
    def deploy(ctx: Any) -> None:
        result = ctx.shell.run(in_root(ctx, "scripts/mydeployscript.sh"), check=False)
        ctx.shared[ctx.site.name] = {"ok": result.ok}  # don't fail: snapshot checks it
        if not result.ok:
            ctx.report(
                f"alert {ctx.site.admin}: deploy failed on {ctx.site.name}: {result.stderr.strip()}"
            )

    @yard.action("app")
    def snapshot(ctx: Any) -> None:
        status = ctx.shared.get(ctx.site.name) or {}
        scripts = ["scripts/myinit", "scripts/mybackup"]
        if status.get("ok"):
            scripts.pop(0)
        elif status:
            scripts.append("scripts/myrollback")
        ctx.shell.run(in_root(ctx, *scripts))

    @yard.action("app")
    async def update(ctx: Any) -> None:
        local = sites.get("local")
        assert local is not None
        await ctx.shell.arun(("mkdir", "-p", ctx.site.root))
        await asyncio.gather(  # two concurrent transfers; the next action waits for both
            ctx.shell.aupload(local.scripts, ctx.site.root + "/scripts"),
            ctx.shell.aupload(local.www, ctx.site.root + "/www"),
        )

    @yard.action("local")
    def prepare(ctx: Any) -> None:
        scripts, www = Path(ctx.site.scripts), Path(ctx.site.www)
        scripts.mkdir(parents=True, exist_ok=True)
        www.mkdir(parents=True, exist_ok=True)
        for name in ("myinit", "mybackup", "myrollback"):
            (scripts / name).write_text(SCRIPT.format(name=name[2:]))
        (scripts / "mydeployscript.sh").write_text(DEPLOY)
        for path in scripts.iterdir():
            path.chmod(0o755)
        (www / "index.html").write_text("<h1>release</h1>\n")
        ctx.report("prepared scripts and www")

    return yard


def main(url: str | None = None, apps: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp())
    url = url or f"sqlite:///{work / 'deploy.db'}"
    if apps is None:
        apps = {"appsvr-busy": {}, "appsvr-standby": {"env": {"DEPLOY_FAIL": "1"}}}
    for name, config in apps.items():
        root = str(work / name)
        config.setdefault("root", root)
        config["env"] = {**config.get("env", {}), "SITE_ROOT": config["root"]}
    yard = build(url, work / "stage", apps)
    worker = yard.worker(concurrency=8).start()
    try:
        batch = yard.batch("prepare").then(["update", "snapshot", "deploy", "snapshot"])
        batch.wait(timeout=120)
    finally:
        worker.stop()
    history = {}
    for name, config in apps.items():
        path = Path(config["root"]) / "history"
        history[name] = path.read_text().split() if path.exists() else []
    reports = [r for j in batch.jobs() for r in (j.result or {}).get("reports", [])]
    return {
        "batch": batch.id,
        "ok": batch.ok,
        "failed": batch.failed,
        "history": history,
        "reports": reports,
    }


if __name__ == "__main__":
    outcome = main(sys.argv[1] if len(sys.argv) > 1 else None)
    for name, steps in outcome["history"].items():
        print(f"{name}: {' '.join(steps)}")
    for line in outcome["reports"]:
        print(line)
    sys.exit(0 if outcome["ok"] else 1)
