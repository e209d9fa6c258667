"""``jurisgrid edit OPERATION FIELD=VALUE …``: any edit operation from the command line.

The same path as a GraphQL mutation: the fields are parsed into the operation's typed command
(editing/commands.py) and run by ``editing.runner.run_edit`` — role check, validation, the
operation, the revision and its checks — acting as the local admin (``--actor`` names who).

    jurisgrid edit --list
    jurisgrid edit reassignGrids grids=511725001001001,511725001001002 toZone=511725PS01Z02 --dry-run
    jurisgrid edit updateZone code=511725PS01Z02 name="东城一组" --reason "renamed"
    jurisgrid edit createCommunity --json @community.json

A value is taken as text for a text field, split on commas for a list of codes, and read as
JSON otherwise (numbers, true/false, GeoJSON); ``--json`` gives all fields as one JSON object
(``@FILE`` reads it from a file). Field names may be camelCase, snake_case or kebab-case.
"""

from __future__ import annotations

import json
import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from jurisgrid.cli.console import out as console
from jurisgrid.errors import InvalidInput


def _is_text(annotation: Any) -> bool:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_text(a) for a in args if a is not type(None))
    return annotation is str


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(annotation) if a is not type(None))
    return typing.get_origin(annotation) is list


def parse_fields(model: Any, pairs: list[str]) -> dict[str, Any]:
    """``FIELD=VALUE`` pairs as the command's arguments (by field name), typed by the model."""
    fields = model.model_fields
    by_key = {k: k for k in fields} | {f.alias: k for k, f in fields.items() if f.alias}
    out: dict[str, Any] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq:
            raise InvalidInput(f"{pair!r}: give fields as FIELD=VALUE")
        name = by_key.get(key.replace("-", "_")) or by_key.get(key)
        if name is None:
            raise InvalidInput(f"unknown field {key!r}; fields: {', '.join(_names(model))}",
                               details=[{"field": key}])
        ann = fields[name].annotation
        if value[:1] in "[{":
            out[name] = _json(key, value)
        elif _is_list(ann):
            out[name] = [v.strip() for v in value.split(",") if v.strip()]
        elif _is_text(ann):
            out[name] = value
        else:
            try:
                out[name] = json.loads(value)
            except json.JSONDecodeError:
                out[name] = value  # the model says what is wrong with it
    return out


def _json(what: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{what}: not JSON ({exc})") from None


def _names(model: Any) -> list[str]:
    return [f.alias or k for k, f in model.model_fields.items()]


def _list_operations() -> None:
    import jurisgrid.editing.execute  # noqa: F401  (importing it registers the operations)
    from jurisgrid.editing.registry import OPS

    for name in sorted(OPS):
        op = OPS[name]
        fields = []
        for k, f in op.command.model_fields.items():
            label = f.alias or k
            fields.append(label if f.is_required() else f"[{label}]")
        console.print(f"{name:<20} {op.role.value:<7} {' '.join(fields)}", markup=False, soft_wrap=True)


def edit_cmd(
    operation: str = typer.Argument(None, help="the operation, e.g. reassignGrids (--list: all)"),
    fields: list[str] = typer.Argument(None, help="FIELD=VALUE, …"),
    args_json: str = typer.Option(None, "--json", help="all fields as a JSON object, or @FILE"),
    reason: str = typer.Option(None, help="why (recorded on the revision)"),
    effective_from: str = typer.Option(None, help="ISO instant with time zone; future: scheduled"),
    expected_revision: int = typer.Option(None, help="the revision you saw (optimistic lock)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="show the impact, write nothing"),
    actor: str = typer.Option("cli", help="who, on the revision (acts as the local admin)"),
    list_: bool = typer.Option(False, "--list", help="list the operations and their fields"),
) -> None:
    """Run one edit operation (the same checks and history as the GraphQL mutations)."""
    from jurisgrid.auth.principal import Principal, Role
    from jurisgrid.cli.console import engine
    from jurisgrid.config import get_settings
    from jurisgrid.editing.registry import get
    from jurisgrid.editing.runner import run_edit

    if list_ or not operation:
        _list_operations()
        return
    spec = get(operation)
    args: dict[str, Any] = {}
    if args_json:
        text = Path(args_json[1:]).read_text(encoding="utf-8") if args_json.startswith("@") else args_json
        loaded = _json("--json", text)
        if not isinstance(loaded, dict):
            raise InvalidInput("--json: give an object of fields")
        args.update(loaded)
    args.update(parse_fields(spec.command, fields or []))
    when = None
    if effective_from:
        try:
            when = datetime.fromisoformat(effective_from)
        except ValueError:
            raise InvalidInput(f"--effective-from: not an ISO instant: {effective_from!r}") from None
    out = run_edit(engine(), operation, args, reason=reason, effective_from=when,
                   expected_revision=expected_revision, dry_run=dry_run,
                   principal=Principal(actor=actor, role=Role.ADMIN, station_code=None),
                   settings=get_settings().edit)
    i = out.impact
    if out.scheduled_id is not None:
        console.print(f"scheduled as edit {out.scheduled_id} (takes effect {when})")
    elif out.revision is None:
        console.print("dry run: nothing written")
    else:
        console.print(f"revision {out.revision.id}")
    console.print(f"grids {len(i.grids)}, zones {', '.join(i.zones) or '—'}, stations "
                  f"{', '.join(i.stations) or '—'}; population {i.population}, "
                  f"address points {i.address_points}, incidents {i.incidents}", markup=False)
    for r in out.repairs:
        console.print(f"repaired: {r}", markup=False)
    for w in i.warnings:
        console.print(f"warning {w['code']}: {w['message']}", markup=False)
