"""Sizing reports over the database: zone sizing, compliance with the staffing norms and
balance across zones — each a handful of GROUP BY statements for all zones of a scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from jurisgrid.analytics.balance import Balance, balance
from jurisgrid.analytics.policy import Policy
from jurisgrid.analytics.sizing import ZoneFigures, ZoneSizing, size_zone
from jurisgrid.errors import InvalidInput, NotFound
from jurisgrid.models import aggregates as agg
from jurisgrid.models.plan_source import under
from jurisgrid.models.policy import current_policy
from jurisgrid.models.source import LIVE, Source

SCOPES = ("station", "sector", "county")
MEASURES = ("population", "workload")

_ZONES = """
SELECT z.id, z.code, z.name, z.kind, z.has_office, st.code AS station_code
FROM zone z JOIN station st ON st.id = z.station_id JOIN sector sc ON sc.id = st.sector_id
JOIN county co ON co.id = sc.county_id
WHERE %(code)s::text IS NULL OR {col} = %(code)s
ORDER BY z.code
"""
_SCOPE_COL = {"station": "st.code", "sector": "sc.code", "county": "co.code"}


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime

    @property
    def days(self) -> float:
        return (self.until - self.since) / timedelta(days=1)


def resolve_window(
    conn: Connection, policy: Policy, since: datetime | None, until: datetime | None
) -> Window:
    """The asked window; missing ends default to ``policy.window_days`` days up to and including
    the latest incident stored (so historical data sets size the same on any day)."""
    agg.check_window(since, until)
    if until is None:
        if since is not None:
            until = since + timedelta(days=policy.window_days)
        else:
            _, last = agg.incident_window(conn)
            until = (last + timedelta(microseconds=1)) if last else datetime.now().astimezone()
    if since is None:
        since = until - timedelta(days=policy.window_days)
    return Window(since, until)


def zones_in(conn: Connection, scope: str | None, code: str | None,
             source: Source = LIVE) -> list[dict[str, Any]]:
    """The zones of a scope, live or as a plan has them (``source``)."""
    if scope is not None and scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    col = _SCOPE_COL[scope or "county"]
    rows = [
        dict(r)
        for r in conn.exec_driver_sql(under(_ZONES.format(col=col), source),
                                      {"code": code if scope else None, **source.sql_args()}
                                      ).mappings()
    ]
    if scope and code and not rows and not agg.unit_ids(conn, scope, code=code):
        raise NotFound(f"no {scope} with code {code!r}")
    return rows


@dataclass(frozen=True)
class ZoneReport:
    code: str
    name: str
    station: str
    kind: str
    has_office: bool
    households: int
    population: int
    incidents: int
    community_officers: int
    sizing: ZoneSizing


def zone_reports(
    conn: Connection, zones: list[dict[str, Any]], policy: Policy, window: Window,
    source: Source = LIVE,
) -> list[ZoneReport]:
    ids = [z["id"] for z in zones]
    stats = agg.address_stats(conn, "zone", ids, source=source)
    counts = agg.incident_counts(conn, "zone", ids, since=window.since, until=window.until,
                                 source=source)
    staff = agg.personnel(conn, "zone", ids, source=source)
    out = []
    for z in zones:
        s, c, p = stats[z["id"]], counts[z["id"]], staff[z["id"]]
        f = ZoneFigures(
            z["kind"], z["has_office"], s.population, c.by_category, window.days, p.community_officers
        )
        out.append(
            ZoneReport(
                z["code"],
                z["name"],
                z["station_code"],
                z["kind"],
                z["has_office"],
                s.households,
                s.population,
                c.total,
                p.community_officers,
                size_zone(policy, f),
            )
        )
    return out


def sizing_report(
    conn: Connection,
    *,
    scope: str | None = None,
    code: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    source: Source = LIVE,
) -> tuple[int, Window, list[ZoneReport]]:
    pv = current_policy(conn)
    window = resolve_window(conn, pv.policy, since, until)
    return pv.version, window, zone_reports(conn, zones_in(conn, scope, code, source), pv.policy,
                                            window, source)


def balance_report(
    conn: Connection,
    *,
    scope: str,
    code: str,
    measure: str,
    since: datetime | None = None,
    until: datetime | None = None,
    source: Source = LIVE,
) -> Balance:
    if measure not in MEASURES:
        raise InvalidInput(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    _, _, reports = sizing_report(conn, scope=scope, code=code, since=since, until=until,
                                  source=source)
    if measure == "population":
        return balance({r.code: float(r.population) for r in reports})
    return balance({r.code: r.sizing.workload for r in reports})
