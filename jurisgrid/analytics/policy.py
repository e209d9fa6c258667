"""The sizing policy: its defaults (docs/design.md, Sizing policy defaults — none a national
constant) and its validation.

A policy is a JSON document; :func:`parse_policy` checks it completely and raises one
:class:`~jurisgrid.errors.InvalidInput` listing every problem (``details``), so a bad edit is
refused as a whole and nothing is written.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from jurisgrid.errors import InvalidInput

ZONE_CLASSES = ("一类", "二类", "三类")  # 一类: the most demanding zones
ZONE_KINDS = ("urban", "rural")


@dataclass(frozen=True)
class Band:
    """A class for values in [lower, upper); ``upper`` None = no upper bound."""

    zone_class: str
    lower: float
    upper: float | None

    def contains(self, value: float) -> bool:
        return value >= self.lower and (self.upper is None or value < self.upper)


@dataclass(frozen=True)
class Policy:
    # workload: Σ weight[category] × incidents per year + population_weight × population
    category_weights: dict[str, float]
    default_weight: float  # categories without an entry in category_weights
    population_weight: float
    # zone class: the more demanding of the class by population and the class by incident rate
    rate_categories: tuple[str, ...]  # incidents counted in the rate (‰ of population per year)
    population_bands: tuple[Band, ...]
    incident_rate_bands: tuple[Band, ...]
    # staffing
    population_per_officer: dict[str, float]  # zone kind → residents per community officer
    workload_per_officer: float
    min_officers_per_office: int  # 警务室
    grid_households_min: int
    grid_households_max: int
    window_days: int  # default window for workload and rates
    time_zone: str  # local calendar for month / week series

    def weight(self, category: str) -> float:
        return self.category_weights.get(category, self.default_weight)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["rate_categories"] = list(self.rate_categories)
        for k in ("population_bands", "incident_rate_bands"):
            d[k] = [asdict(b) for b in getattr(self, k)]
        return d


DEFAULT_POLICY_JSON: dict[str, Any] = {
    "category_weights": {
        "CRIMINAL": 3.0,
        "PUBLIC_ORDER": 2.0,
        "DISPUTE": 1.5,
        "TRAFFIC": 1.0,
        "FIRE": 1.5,
        "ASSISTANCE": 0.5,
        "OTHER": 0.5,
    },
    "default_weight": 1.0,
    "population_weight": 0.02,  # 1,000 residents weigh as much as 20 weighted incidents a year
    "rate_categories": ["CRIMINAL", "PUBLIC_ORDER"],
    "population_bands": [
        {"zone_class": "三类", "lower": 0, "upper": 3000},
        {"zone_class": "二类", "lower": 3000, "upper": 8000},
        {"zone_class": "一类", "lower": 8000, "upper": None},
    ],
    "incident_rate_bands": [
        {"zone_class": "三类", "lower": 0, "upper": 5},
        {"zone_class": "二类", "lower": 5, "upper": 12},
        {"zone_class": "一类", "lower": 12, "upper": None},
    ],
    "population_per_officer": {"urban": 3000, "rural": 5000},
    "workload_per_officer": 600,
    "min_officers_per_office": 2,
    "grid_households_min": 150,
    "grid_households_max": 500,
    "window_days": 365,
    "time_zone": "Asia/Shanghai",
}


def _number(errors: list[dict[str, Any]], path: str, v: Any, *, positive: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        errors.append({"field": path, "message": f"must be a number, got {v!r}"})
        return 0.0
    if v < 0 or (positive and v == 0):
        errors.append({"field": path, "message": f"must be {'> 0' if positive else '≥ 0'}, got {v}"})
    return float(v)


def _bands(errors: list[dict[str, Any]], path: str, raw: Any) -> tuple[Band, ...]:
    if not isinstance(raw, list) or not raw:
        errors.append({"field": path, "message": "must be a non-empty list of bands"})
        return ()
    bands: list[Band] = []
    for i, b in enumerate(raw):
        p = f"{path}[{i}]"
        if not isinstance(b, dict) or set(b) - {"zone_class", "lower", "upper"}:
            errors.append({"field": p, "message": "a band is {zone_class, lower, upper}"})
            continue
        cls = b.get("zone_class")
        if cls not in ZONE_CLASSES:
            errors.append(
                {
                    "field": p + ".zone_class",
                    "message": f"unknown zone class {cls!r}; one of {', '.join(ZONE_CLASSES)}",
                }
            )
        lower = _number(errors, p + ".lower", b.get("lower"))
        upper = None if b.get("upper") is None else _number(errors, p + ".upper", b.get("upper"))
        if upper is not None and upper <= lower:
            errors.append({"field": p, "message": f"upper ({upper}) must be above lower ({lower})"})
        bands.append(Band(str(cls), lower, upper))
    bands.sort(key=lambda b: b.lower)
    if bands and bands[0].lower != 0:
        errors.append(
            {"field": path, "message": f"bands must start at 0, the lowest starts at {bands[0].lower}"}
        )
    for a, b in itertools.pairwise(bands):
        a_up = math.inf if a.upper is None else a.upper
        if b.lower < a_up:
            errors.append(
                {
                    "field": path,
                    "message": f"overlapping class bands: {a.zone_class} "
                    f"[{a.lower}, {a.upper}) and {b.zone_class} [{b.lower}, {b.upper})",
                }
            )
        elif b.lower > a_up:
            errors.append({"field": path, "message": f"gap in class bands between {a_up} and {b.lower}"})
    if bands and bands[-1].upper is not None:
        errors.append({"field": path, "message": "the highest band must be open (upper: null)"})
    if len({b.zone_class for b in bands}) != len(bands):
        errors.append({"field": path, "message": "each zone class may have one band only"})
    return tuple(bands)


def parse_policy(raw: Any, *, categories: Iterable[str]) -> Policy:
    """Validate a whole policy document against the known incident ``categories``."""
    known = set(categories)
    errors: list[dict[str, Any]] = []
    if not isinstance(raw, dict):
        raise InvalidInput("a sizing policy is a JSON object")
    unknown_keys = sorted(set(raw) - set(DEFAULT_POLICY_JSON))
    missing = sorted(set(DEFAULT_POLICY_JSON) - set(raw))
    for k in unknown_keys:
        errors.append({"field": k, "message": "unknown policy field"})
    for k in missing:
        errors.append({"field": k, "message": "missing policy field"})
    if errors:
        raise InvalidInput(
            "invalid sizing policy: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            details=errors,
        )
    weights_raw = raw["category_weights"]
    weights: dict[str, float] = {}
    if not isinstance(weights_raw, dict):
        errors.append({"field": "category_weights", "message": "must be an object category → weight"})
    else:
        for cat, w in weights_raw.items():
            if cat not in known:
                errors.append(
                    {
                        "field": f"category_weights.{cat}",
                        "message": f"unknown incident category {cat!r}; known: {', '.join(sorted(known))}",
                    }
                )
            weights[cat] = _number(errors, f"category_weights.{cat}", w)
    rate_cats = raw["rate_categories"]
    if not isinstance(rate_cats, list) or not rate_cats:
        errors.append({"field": "rate_categories", "message": "must be a non-empty list of categories"})
        rate_cats = []
    for cat in rate_cats:
        if cat not in known:
            errors.append(
                {
                    "field": "rate_categories",
                    "message": f"unknown incident category {cat!r}; known: {', '.join(sorted(known))}",
                }
            )
    ppo_raw = raw["population_per_officer"]
    ppo: dict[str, float] = {}
    if not isinstance(ppo_raw, dict) or set(ppo_raw) != set(ZONE_KINDS):
        errors.append({"field": "population_per_officer", "message": "must give urban and rural"})
    else:
        ppo = {
            k: _number(errors, f"population_per_officer.{k}", v, positive=True) for k, v in ppo_raw.items()
        }
    hh_min = _number(errors, "grid_households_min", raw["grid_households_min"])
    hh_max = _number(errors, "grid_households_max", raw["grid_households_max"])
    if hh_max <= hh_min:
        errors.append({"field": "grid_households_max", "message": "must be above grid_households_min"})
    window = _number(errors, "window_days", raw["window_days"], positive=True)
    tz = raw["time_zone"]
    if not isinstance(tz, str) or not tz:
        errors.append({"field": "time_zone", "message": "must be an IANA time zone name"})
    else:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            errors.append({"field": "time_zone", "message": f"unknown time zone {tz!r}"})
    policy = Policy(
        category_weights=weights,
        default_weight=_number(errors, "default_weight", raw["default_weight"]),
        population_weight=_number(errors, "population_weight", raw["population_weight"]),
        rate_categories=tuple(str(c) for c in rate_cats),
        population_bands=_bands(errors, "population_bands", raw["population_bands"]),
        incident_rate_bands=_bands(errors, "incident_rate_bands", raw["incident_rate_bands"]),
        population_per_officer=ppo,
        workload_per_officer=_number(
            errors, "workload_per_officer", raw["workload_per_officer"], positive=True
        ),
        min_officers_per_office=int(
            _number(errors, "min_officers_per_office", raw["min_officers_per_office"])
        ),
        grid_households_min=int(hh_min),
        grid_households_max=int(hh_max),
        window_days=int(window),
        time_zone=str(tz),
    )
    if errors:
        raise InvalidInput(
            "invalid sizing policy: " + "; ".join(f"{e['field']}: {e['message']}" for e in errors),
            details=errors,
        )
    return policy


def merge_policy(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with the top-level fields of ``changes`` replaced (objects merged one level)."""
    out = dict(base)
    for k, v in changes.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out
