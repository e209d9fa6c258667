"""Soak: the real server under a long mixed load of reads and edits (issue 16).

    .venv/bin/python -m bench.soak [--seconds 600] [--workers 2] [--readers 4] [--scale 0.02]

Works on a scratch database of its own (bench/scratch.py: a new database on the project-local
cluster with the small demo county, dropped at the end) and starts ``jurisgrid serve`` on it
(bench/responsible.py ``running_server``). Then, for ``--seconds``:

* ``--readers`` client threads cycle through reads: GraphQL ``responsibleFor`` at random points
  of the county, a ``grids`` list page in a random box, the station list with their zones, and
  vector tiles (grids and zones, z10–14, around the county);
* one editor thread (an editor token) reassigns one grid to the neighbouring zone and back, a
  commit every ``--edit-every`` seconds — each a real revision (history, outlines, tile log,
  NOTIFY).

Every answer is checked (HTTP 200, no GraphQL errors, an edit answered ``EditSuccess``); the
bench prints the errors, p50/p99 per kind, and the server's RSS (supervisor + workers, from
/proc) after the warm-up and at the end, with samples in between. Target: no errors, RSS flat
within 10 % (the figure is noisy on a shared machine; read the samples too).
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

import httpx
from rich.console import Console
from sqlalchemy import Engine, text

from bench.responsible import HOST, process_memory_mb, running_server
from bench.scratch import scratch_demo

console = Console()

POINT_Q = ("query($lon: Float!, $lat: Float!) { responsibleFor(lon: $lon, lat: $lat) "
           "{ onBoundary grid { code } zone { code } station { code name } officers { role } } }")
LIST_Q = ("query($b: [Float!]) { grids(first: 20, bbox: $b) { totalCount edges { node { code name "
          "zone { code station { code } } } } } }")
STATIONS_Q = "{ stations(first: 50) { edges { node { code name zones { code grids { code } } } } } }"
EDIT_Q = ("mutation($g: [String!]!, $z: String!, $dry: Boolean!) { reassignGrids(grids: $g, toZone: $z, "
          "reason: \"soak\", dryRun: $dry) { __typename ... on EditSuccess { revision { id } } "
          "... on ValidationError { code message } ... on ConflictError { message } } }")

# a grid with an edge-neighbour in another zone, whose own zone keeps other grids
CANDIDATES_SQL = """
SELECT DISTINCT g.code, z.code AS from_zone, z2.code AS to_zone
FROM grid g JOIN zone z ON z.id = g.zone_id
JOIN grid h ON g.geom && h.geom AND ST_Dimension(ST_Intersection(g.geom, h.geom)) = 1
JOIN zone z2 ON z2.id = h.zone_id AND z2.id <> z.id
WHERE (SELECT count(*) FROM grid x WHERE x.zone_id = g.zone_id) > 1
ORDER BY g.code, z2.code LIMIT 40
"""


@dataclass
class Tally:
    """Latencies and errors per kind of request; shared by the client threads."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if error is not None:
                self.errors[kind] += 1
                self.examples.setdefault(kind, error[:300])


def county_box(engine: Engine) -> tuple[float, float, float, float]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                                "FROM (SELECT ST_Extent(geom) AS e FROM county) q")).one()
    return float(row[0]), float(row[1]), float(row[2]), float(row[3])


def tiles_over(box: tuple[float, float, float, float]) -> list[str]:
    """Tile paths (grids and zones, z10–14) covering the county's box."""
    import math

    def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
        n = 2 ** z
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        return x, y

    out = []
    for z in range(10, 15):
        x0, y1 = tile_xy(box[0], box[1], z)
        x1, y0 = tile_xy(box[2], box[3], z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                out += [f"/tiles/grids/{z}/{x}/{y}.mvt", f"/tiles/zones/{z}/{x}/{y}.mvt"]
    return out


def graphql_error(res: httpx.Response) -> str | None:
    if res.status_code != 200:
        return f"HTTP {res.status_code}: {res.text[:200]}"
    body = res.json()
    if body.get("errors"):
        return f"GraphQL errors: {body['errors'][0]}"
    return None


def reader(base: str, box: tuple[float, float, float, float], tiles: list[str], tally: Tally,
           stop: threading.Event, seed: int) -> None:
    rnd = random.Random(seed)
    with httpx.Client(base_url=base, timeout=60) as http:
        i = seed
        while not stop.is_set():
            i += 1
            lon, lat = rnd.uniform(box[0], box[2]), rnd.uniform(box[1], box[3])
            kind = ("point", "list", "stations", "tile", "tile")[i % 5]
            t0 = time.perf_counter()
            try:
                if kind == "point":
                    point = {"lon": lon, "lat": lat}
                    res = http.post("/graphql", json={"query": POINT_Q, "variables": point})
                    err = graphql_error(res)
                elif kind == "list":
                    b = [lon, lat, lon + 0.05, lat + 0.05]
                    res = http.post("/graphql", json={"query": LIST_Q, "variables": {"b": b}})
                    err = graphql_error(res)
                elif kind == "stations":
                    err = graphql_error(http.post("/graphql", json={"query": STATIONS_Q}))
                else:
                    res = http.get(rnd.choice(tiles))
                    err = None if res.status_code == 200 else f"HTTP {res.status_code}: {res.text[:200]}"
            except httpx.HTTPError as exc:
                err = f"{type(exc).__name__}: {exc}"
            tally.record(kind, time.perf_counter() - t0, err)


def pick_edit(http: httpx.Client, engine: Engine) -> tuple[str, str, str]:
    """A grid and two zones such that a dry run accepts the move both ways."""
    with engine.connect() as conn:
        rows = conn.execute(text(CANDIDATES_SQL)).all()
    for code, home, other in rows:
        there = http.post("/graphql", json={"query": EDIT_Q,
                                            "variables": {"g": [code], "z": other, "dry": True}})
        if there.json()["data"]["reassignGrids"]["__typename"] == "EditSuccess":
            return code, home, other
    raise SystemExit("no grid can be moved to a neighbouring zone on this database")


def editor(http: httpx.Client, move: tuple[str, str, str], every_s: float, tally: Tally,
           stop: threading.Event) -> None:
    code, home, other = move
    target = other
    while not stop.wait(every_s):
        t0 = time.perf_counter()
        try:
            res = http.post("/graphql", json={"query": EDIT_Q,
                                              "variables": {"g": [code], "z": target, "dry": False}})
            err = graphql_error(res)
            if err is None:
                typename = res.json()["data"]["reassignGrids"]["__typename"]
                err = None if typename == "EditSuccess" else f"{typename}: {res.json()['data']}"
        except httpx.HTTPError as exc:
            err = f"{type(exc).__name__}: {exc}"
        tally.record("edit", time.perf_counter() - t0, err)
        if err is None:
            target = home if target == other else other


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def report(tally: Tally, seconds: float, rss: list[tuple[float, float]]) -> float:
    from rich.table import Table

    table = Table(title=f"soak: {seconds:.0f} s")
    for col in ("kind", "requests", "req/s", "errors", "p50 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="right" if col != "kind" else "left")
    everything: list[float] = []
    for kind in sorted(tally.latencies):
        lat = tally.latencies[kind]
        everything += lat
        table.add_row(kind, str(len(lat)), f"{len(lat) / seconds:.1f}", str(tally.errors[kind]),
                      f"{statistics.median(lat) * 1000:.1f}", f"{percentile(lat, 0.99) * 1000:.1f}",
                      f"{max(lat) * 1000:.0f}")
    table.add_row("all", str(len(everything)), f"{len(everything) / seconds:.1f}",
                  str(sum(tally.errors.values())), f"{statistics.median(everything) * 1000:.1f}",
                  f"{percentile(everything, 0.99) * 1000:.1f}", f"{max(everything) * 1000:.0f}")
    console.print(table)
    for kind, example in tally.examples.items():
        console.print(f"[red]{kind} error, e.g.:[/red] {example}")
    start, end = rss[0][1], rss[-1][1]
    growth = (end - start) / start * 100
    console.print("RSS samples (s, MB): " + ", ".join(f"{t:.0f}:{m:.0f}" for t, m in rss))
    verdict = "PASS" if abs(growth) <= 10 and not tally.errors else "FAIL"
    console.print(f"server RSS after warm-up {start:.0f} MB, at the end {end:.0f} MB "
                  f"({growth:+.1f} %, target within ±10 %); errors {sum(tally.errors.values())} "
                  f"→ [bold]{verdict}[/bold]")
    return growth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=600.0, help="measured time (default 10 min)")
    ap.add_argument("--warmup", type=float, default=20.0, help="seconds before the first RSS figure")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--readers", type=int, default=4, help="reader threads")
    ap.add_argument("--edit-every", type=float, default=0.5, help="seconds between two edits")
    ap.add_argument("--scale", type=float, default=0.02, help="demo county scale of the scratch database")
    ap.add_argument("--sample-every", type=float, default=30.0, help="seconds between RSS samples")
    args = ap.parse_args()

    from jurisgrid.auth.tokens import create_token

    console.print(f"scratch database (demo county, scale {args.scale}) …")
    with scratch_demo("jurisgrid_soak", scale=args.scale) as engine, TemporaryDirectory() as tmp:
        with engine.begin() as conn:
            token = create_token(conn, role="editor", label="bench.soak")
        box = county_box(engine)
        tiles = tiles_over(box)
        url = engine.url.render_as_string(hide_password=False)
        with running_server(url, Path(tmp), {}, workers=args.workers) as server:
            base = f"http://{HOST}:{server.port}"
            tally, stop = Tally(), threading.Event()
            auth = httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"})
            move = pick_edit(auth, engine)
            console.print(f"server pid {server.pid}, {args.workers} workers; editing {move[0]} "
                          f"{move[1]} ⇄ {move[2]}; {args.readers} readers; {len(tiles)} tiles")
            threads = [threading.Thread(target=reader, args=(base, box, tiles, tally, stop, n), daemon=True)
                       for n in range(args.readers)]
            threads.append(threading.Thread(target=editor, args=(auth, move, args.edit_every, tally, stop),
                                            daemon=True))
            for th in threads:
                th.start()
            time.sleep(args.warmup)
            with tally.lock:  # the measured run starts now
                tally.latencies.clear()
                tally.errors.clear()
                tally.examples.clear()
            t0 = time.monotonic()
            rss = [(0.0, process_memory_mb(server.pid)[0])]
            while (elapsed := time.monotonic() - t0) < args.seconds:
                time.sleep(min(args.sample_every, args.seconds - elapsed))
                rss.append((time.monotonic() - t0, process_memory_mb(server.pid)[0]))
                console.print(f"  {rss[-1][0]:5.0f} s  RSS {rss[-1][1]:.0f} MB  "
                              f"requests {sum(len(v) for v in tally.latencies.values())}  "
                              f"errors {sum(tally.errors.values())}")
            stop.set()
            for th in threads:
                th.join(timeout=60)
            seconds = time.monotonic() - t0
            auth.close()
            report(tally, seconds, rss)
            server_log = (Path(tmp) / "server.log").read_text(errors="replace")
            tracebacks = server_log.count("Traceback")
            console.print(f"server log: {len(server_log.splitlines())} lines, {tracebacks} tracebacks")


if __name__ == "__main__":
    main()
