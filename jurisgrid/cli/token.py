"""``jurisgrid token create|list|revoke``: API bearer tokens (issue 3)."""

from __future__ import annotations

import typer
from rich.table import Table

from jurisgrid.auth.principal import Role
from jurisgrid.cli.console import Typer, out
from jurisgrid.cli.console import console as err
from jurisgrid.cli.console import engine as _engine

app = Typer(help="API bearer tokens: only a hash is stored; the secret is shown once.",
                  no_args_is_help=True)


@app.command("create")
def create(role: Role = typer.Option(..., help="viewer < editor < planner < admin", case_sensitive=False),
           station: str | None = typer.Option(None, help="scope the token to one station (code)"),
           county: str | None = typer.Option(None, help="scope the token to one county (code): it "
                                             "reads and edits only that county"),
           label: str | None = typer.Option(None, help="who holds it (recorded as the actor)")) -> None:
    """Create a token and print its secret (once: only its hash is stored)."""
    from jurisgrid.auth.tokens import actor_name, issue_token

    with _engine().begin() as conn:
        issued = issue_token(conn, role=role, station_code=station, label=label, county_code=county)
    scope = f", station {station}" if station else f", county {county}" if county else ""
    err.print(f"token {issued.id} ({role.value}{scope}), "
              f"actor {actor_name(issued.id, label)} — the secret below is shown only now:")
    typer.echo(issued.secret)


@app.command("list")
def list_(active: bool = typer.Option(False, "--active", help="only tokens not revoked")) -> None:
    """List tokens (never their secrets)."""
    from jurisgrid.auth.tokens import list_tokens

    with _engine().connect() as conn:
        tokens = list_tokens(conn, include_revoked=not active)
    table = Table("id", "role", "station", "county", "label", "created", "last used", "revoked")
    for t in tokens:
        table.add_row(str(t.id), t.role.value, t.station_code or "—", t.county_code or "—",
                      t.label or "—",
                      f"{t.created_at:%Y-%m-%d %H:%M}",
                      f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "—",
                      f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "—")
    out.print(table)


@app.command("revoke")
def revoke(token_id: int = typer.Argument(..., help="the id shown by `token list`")) -> None:
    """Revoke a token (servers stop accepting it within api.token_cache_ttl_s seconds)."""
    from jurisgrid.auth.tokens import revoke as revoke_token

    with _engine().begin() as conn:
        info = revoke_token(conn, token_id)
    err.print(f"token {info.id} ({info.actor}) revoked at {info.revoked_at:%Y-%m-%d %H:%M:%S %Z}")
