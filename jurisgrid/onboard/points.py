"""Build step: address points and incidents — coordinates, figures, times and categories
(jurisgrid/onboard/build.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from jurisgrid.errors import InvalidInput
from jurisgrid.onboard.derive import TIME_FORMATS, Context, check_unique
from jurisgrid.onboard.plan import (
    Address,
    Incident,
    Plan,
)
from jurisgrid.onboard.readers import Table

# --- points ---------------------------------------------------------------------------------------


@dataclass
class _Points:
    """A table's point coordinates and whether each lies in the county, computed at once."""

    xy: np.ndarray
    is_point: np.ndarray
    inside: np.ndarray
    problem_rows: set[int]


def _points_of(t: Table, outline: BaseGeometry) -> _Points:
    geoms = np.array(t.geoms, dtype=object)
    is_point = np.zeros(len(t), dtype=bool)
    xy = np.full((len(t), 2), np.nan)
    if len(t):
        present = np.array([g is not None for g in t.geoms])
        kinds = np.full(len(t), -1)
        kinds[present] = shapely.get_type_id(geoms[present])
        is_point = (kinds == 0) & present
        is_point[is_point] = ~shapely.is_empty(geoms[is_point])
        xy[is_point, 0] = shapely.get_x(geoms[is_point])
        xy[is_point, 1] = shapely.get_y(geoms[is_point])
    inside = np.zeros(len(t), dtype=bool)
    inside[is_point] = shapely.intersects_xy(outline, xy[is_point, 0], xy[is_point, 1])
    return _Points(xy, is_point, inside, {p.index for p in t.problems})


def _point(ctx: Context, t: Table, i: int, code: str | None, pts: _Points) -> tuple[float, float] | None:
    g = t.geoms[i]
    if g is None:
        if i not in pts.problem_rows:
            ctx.bad(t, i, "no coordinates", "geometry", code)
        return None
    if not pts.is_point[i]:
        ctx.bad(t, i, f"expected a Point, got {g.geom_type}", "geometry", code)
        return None
    x, y = float(pts.xy[i, 0]), float(pts.xy[i, 1])
    if not pts.inside[i]:
        ctx.bad(
            t,
            i,
            f"the point ({x:.6f}, {y:.6f}) lies outside the county (wrong coordinate system, "
            "or lon/lat swapped?)",
            "geometry",
            code,
        )
        return None
    return x, y


def _count(ctx: Context, t: Table, i: int, f: str, code: str | None) -> int | None:
    v = t.value(i, f)
    if v is None or (isinstance(v, str) and not v.strip()):
        return 0
    try:
        x = float(v)
    except (TypeError, ValueError):
        ctx.bad(t, i, f"{f} {v!r} is not a number", f, code)
        return None
    if not x.is_integer() or x < 0:
        ctx.bad(t, i, f"{f} {v!r} must be a whole number ≥ 0", f, code)
        return None
    return int(x)


def build_addresses(ctx: Context, t: Table, plan: Plan, outline: BaseGeometry) -> None:
    pts = _points_of(t, outline)
    if not t.has("code"):
        ctx.derived(f"address codes generated as {t.spec.path.stem}-<row> (no code column)")
    for i in range(len(t)):
        code = t.text(i, "code") or (None if t.has("code") else f"{t.spec.path.stem}-{i + 1}")
        if not check_unique(ctx, t, i, "addresses", code):
            continue
        assert code is not None
        address = t.text(i, "address")
        nums = [_count(ctx, t, i, f, code) for f in ("households", "population", "houses", "units")]
        xy = _point(ctx, t, i, code, pts)
        if address is None:
            ctx.bad(t, i, "address is missing", "address", code)
            continue
        if xy is None or any(n is None for n in nums):
            continue
        h, p, ho, u = (int(n) for n in nums)  # type: ignore[arg-type]
        plan.addresses.append(Address(code, address, h, p, ho, u, xy[0], xy[1]))


def _when(ctx: Context, t: Table, i: int, code: str | None, tz: ZoneInfo) -> datetime | None:
    v = t.value(i, "occurred")
    if isinstance(v, datetime):
        when = v
    else:
        s = t.text(i, "occurred")
        if s is None:
            ctx.bad(t, i, "time is missing", "occurred", code)
            return None
        when_or_none: datetime | None = None
        try:
            when_or_none = datetime.fromisoformat(s.replace("Z", "+00:00").replace("/", "-"))
        except ValueError:
            for fmt in TIME_FORMATS:
                try:
                    when_or_none = datetime.strptime(s.replace("/", "-"), fmt)
                    break
                except ValueError:
                    continue
        if when_or_none is None:
            ctx.bad(t, i, f"time {s!r} is not a date-time (e.g. 2024-05-01 08:30:00)", "occurred", code)
            return None
        when = when_or_none
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)


def build_incidents(ctx: Context, t: Table, plan: Plan, outline: BaseGeometry) -> None:
    pts = _points_of(t, outline)
    m = ctx.manifest
    try:
        tz = ZoneInfo(m.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"manifest: unknown time_zone {m.time_zone!r}") from None
    known = dict(ctx.categories)
    for new_code, new_name in m.new_categories.items():
        known[new_code.upper()] = new_code
        known[new_name] = new_code
        plan.new_categories[new_code] = new_name
    policy = m.unknown_categories
    if policy not in ("add", "refuse") and policy.upper() not in known:
        raise InvalidInput(
            f"manifest: unknown_categories = {policy!r} is not 'add', 'refuse' or a known "
            f"category ({', '.join(sorted(set(known.values())))})"
        )
    unknown: Counter[str] = Counter()
    if not t.has("code"):
        ctx.derived(f"incident codes generated as {t.spec.path.stem}-<row> (no code column)")
    for i in range(len(t)):
        code = t.text(i, "code") or (None if t.has("code") else f"{t.spec.path.stem}-{i + 1}")
        if not check_unique(ctx, t, i, "incidents", code):
            continue
        raw = t.text(i, "category")
        when = _when(ctx, t, i, code, tz)
        xy = _point(ctx, t, i, code, pts)
        if raw is None:
            ctx.bad(t, i, "category is missing", "category", code)
            continue
        cat = m.categories.get(raw)
        cat = known.get(cat.upper(), cat) if cat is not None else known.get(raw.upper()) or known.get(raw)
        if cat is None:
            unknown[raw] += 1
            if policy == "refuse":
                ctx.bad(
                    t,
                    i,
                    f"unknown incident category {raw!r} (map it in the manifest's [incidents] "
                    "categories, or set unknown_categories)",
                    "category",
                    code,
                )
                continue
            cat = raw if policy == "add" else known[policy.upper()]
            if policy == "add":
                plan.new_categories.setdefault(raw, raw)
        if when is None or xy is None:
            continue
        plan.incidents.append(Incident(code or "", cat, when, xy[0], xy[1]))
    for raw, n in sorted(unknown.items(), key=lambda kv: (-kv[1], kv[0])):
        action = {"add": f"added as category {raw}", "refuse": "refused"}.get(policy, f"mapped to {policy}")
        ctx.report.unknown_categories.append(
            {"file": t.spec.label, "category": raw, "count": n, "action": action}
        )


