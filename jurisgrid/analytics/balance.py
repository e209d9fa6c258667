"""Balance of a measure (population, workload) across the zones of a station, sector or county."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Balance:
    zones: int
    total: float
    ideal: float  # the mean: what every zone would carry if perfectly balanced
    worst_deviation: float  # max |value − ideal|
    worst_zone: str | None
    worst_relative: float | None  # worst_deviation / ideal
    range_over_ideal: float | None  # (max − min) / ideal
    cv: float | None  # coefficient of variation: population std / mean
    values: dict[str, float]


def balance(values: Mapping[str, float]) -> Balance:
    codes = sorted(values)
    x = np.array([values[c] for c in codes], dtype=float)
    if len(x) == 0:
        return Balance(0, 0.0, 0.0, 0.0, None, None, None, None, {})
    ideal = float(x.mean())
    dev = np.abs(x - ideal)
    i = int(dev.argmax())

    def rel(v: float) -> float | None:
        return v / ideal if ideal > 0 else None

    return Balance(
        zones=len(x),
        total=float(x.sum()),
        ideal=ideal,
        worst_deviation=float(dev[i]),
        worst_zone=codes[i],
        worst_relative=rel(float(dev[i])),
        range_over_ideal=rel(float(x.max() - x.min())),
        cv=rel(float(x.std(ddof=0))),
        values=dict(zip(codes, x.tolist(), strict=True)),
    )
