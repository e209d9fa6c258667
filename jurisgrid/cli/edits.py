"""``jurisgrid edits …``: scheduled edits (list, apply due, cancel), the revision log, revert."""

from __future__ import annotations

import typer

from jurisgrid.auth.principal import Principal, Role
from jurisgrid.cli.console import Typer
from jurisgrid.cli.console import engine as _engine
from jurisgrid.cli.console import out as console  # results on stdout; errors: cli/console.py

app = Typer(help="Edits: scheduled edits, the revision log, revert.", no_args_is_help=True)


@app.command("apply-due")
def apply_due_cmd() -> None:
    """Apply every scheduled edit whose effectiveFrom has come (e.g. from cron)."""
    from jurisgrid.config import get_settings
    from jurisgrid.editing.schedule import apply_due

    done = apply_due(_engine(), settings=get_settings().edit)
    for sid, rid, err in done:
        console.print(f"scheduled edit {sid}: " + (f"[red]{err}[/red]" if err else f"revision {rid}"))
    console.print(f"{len(done)} scheduled edit(s) processed")


@app.command("scheduled")
def scheduled_cmd(all_: bool = typer.Option(False, "--all", help="also applied and cancelled ones")) -> None:
    """Edits scheduled for a future effectiveFrom (pending only, unless --all)."""
    from jurisgrid.models.history import scheduled

    with _engine().connect() as conn:
        rows = scheduled(conn, pending_only=not all_)
    if not rows:
        console.print("no scheduled edits" + ("" if all_ else " pending"))
    for r in rows:
        state = (f"applied as revision {r['applied_revision']}" if r["applied_revision"]
                 else f"{r['status']}: {r['error']}" if r["status"] in ("failed", "conflict")
                 else f"cancelled by {r['cancelled_by']}" if r["cancelled_at"] else "pending")
        console.print(f"{r['id']:>6}  {r['effective_from']:%Y-%m-%d %H:%M:%S%z}  {r['operation']:<18} "
                      f"{r['actor']:<16} {state}  {r['reason'] or ''}", markup=False, soft_wrap=True)


@app.command("cancel")
def cancel_cmd(scheduled_id: int, reason: str = typer.Option(None, help="why")) -> None:
    """Cancel a pending scheduled edit (acts as the local admin)."""
    from jurisgrid.editing.schedule import cancel

    cancel(_engine(), scheduled_id, reason=reason,
           principal=Principal(actor="cli", role=Role.ADMIN, station_code=None))
    console.print(f"scheduled edit {scheduled_id} cancelled")


@app.command("log")
def log_cmd(first: int = typer.Option(20, help="how many, newest first")) -> None:
    """The newest revisions."""
    from jurisgrid.models.history import revisions

    with _engine().connect() as conn:
        rows = revisions(conn, first=first)
        if not rows:
            console.print("no revisions yet (the data is as loaded: revision 0)")
        for r in rows:
            console.print(f"{r['id']:>6}  {r['at']:%Y-%m-%d %H:%M:%S}  {r['actor']:<16} {r['kind']:<18} "
                          f"{len(r['summary'].get('grids', []))} grid(s)  {r['reason'] or ''}")


@app.command("revert")
def revert_cmd(revision: int, reason: str = typer.Option(None, help="why")) -> None:
    """Restore the state before REVISION, as a new revision (acts as the local admin)."""
    from jurisgrid.config import get_settings
    from jurisgrid.editing.runner import run_edit

    out = run_edit(_engine(), "revert", {"revision": revision}, reason=reason,
                   principal=Principal(actor="cli", role=Role.ADMIN, station_code=None),
                   settings=get_settings().edit)
    assert out.revision is not None
    console.print(f"reverted {revision} as revision {out.revision.id}")
