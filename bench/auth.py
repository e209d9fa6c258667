"""What authentication costs on the hot path: ``responsibleFor`` through the GraphQL ASGI app.

    .venv/bin/python -m bench.auth [--requests 3000] [--rounds 7]

Creates a throwaway database with the demo county at scale 0.02 and drives the app in-process
(raw ASGI calls, no network, one request at a time), interleaving in each round:

* limit: the same app with authentication removed (``get_context`` without the resolver) —
  the physical limit of this path measured in the same run;
* anonymous: no ``Authorization`` header, anonymous reads on (the demo default);
* token: a valid bearer token, served from the per-process cache after its first lookup.

Prints per-request medians over rounds and the ratios to the limit (informative: round-to-round
noise on a shared machine is ±5 %), then times the auth step alone (100,000 calls) and states
its share of the limit's request time. Target (PASS/FAIL): the auth step is under 1 % of a
request without a header and with a cached token. The token's one database lookup per TTL is
measured separately.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import orjson

from bench.request_cost import call, scope_for
from bench.scratch import scratch_demo

QUERY = orjson.dumps({"query": "query($lon: Float!, $lat: Float!) { responsibleFor(lon: $lon, lat: $lat)"
                               " { onBoundary grid { code } zone { code } station { code name } } }",
                      "variables": {"lon": 106.973, "lat": 30.8366}})


async def timed(app: Any, headers: list[tuple[bytes, bytes]], n: int) -> float:
    scope = scope_for("POST", "/graphql", headers=((b"content-type", b"application/json"), *headers))
    t0 = time.perf_counter()
    for _ in range(n):
        status, _, body = await call(app, scope, QUERY)
        if status != 200:
            raise RuntimeError(f"request failed: {status} {body[:200]!r}")
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()

    from jurisgrid.app import create_app
    from jurisgrid.auth.principal import ANONYMOUS
    from jurisgrid.auth.tokens import issue_token
    from jurisgrid.config import Settings
    from jurisgrid.gql import router

    with scratch_demo("jurisgrid_bench_auth") as engine:
        with engine.begin() as conn:
            secret = issue_token(conn, role="viewer", label="bench").secret

        class NoAuth(router.GraphQLApp):
            async def get_context(self, request: Any, response: Any) -> Any:
                ctx = router.Context(engine=request.app.state.engine, settings=self.settings)
                ctx.request, ctx.response, ctx.principal = request, response, ANONYMOUS
                return ctx

        real = create_app(engine=engine, settings=Settings())
        orig = router.GraphQLApp
        router.GraphQLApp = NoAuth  # type: ignore[misc]
        import jurisgrid.app as app_mod
        app_mod.GraphQLApp = NoAuth  # type: ignore[misc]
        try:
            limit_app = create_app(engine=engine, settings=Settings())
        finally:
            router.GraphQLApp = orig  # type: ignore[misc]
            app_mod.GraphQLApp = orig  # type: ignore[misc]
        bearer = [(b"authorization", f"Bearer {secret}".encode())]

        async def run() -> dict[str, list[float]]:
            for a, h in ((limit_app, []), (real, []), (real, bearer)):  # warm up
                await timed(a, h, 200)
            out: dict[str, list[float]] = {"limit": [], "anonymous": [], "token": []}
            runs = [("limit", limit_app, []), ("anonymous", real, []), ("token", real, bearer)]
            for i in range(args.rounds):  # rotate the order: no variant always runs first
                for k, a, h in runs[i % 3:] + runs[:i % 3]:
                    out[k].append(await timed(a, h, args.requests))
            return out

        res = asyncio.run(run())
        lim = statistics.median(res["limit"])
        print(f"responsibleFor in-process, {args.rounds} rounds x {args.requests} requests (median):")
        for k in ("limit", "anonymous", "token"):
            m = statistics.median(res[k])
            print(f"  {k:<10} {m * 1e6:8.1f} µs/request   ratio {m / lim:5.3f}")

        from jurisgrid.auth.resolve import resolve_principal
        from jurisgrid.auth.tokens import authenticate
        from jurisgrid.db import read_connection

        async def step(auth: str | None, n: int) -> float:
            api = real.state.settings.api
            t0 = time.perf_counter()
            for _ in range(n):
                await resolve_principal(engine, api, auth)
            return (time.perf_counter() - t0) / n

        for label, auth in (("no header", None), ("cached token", f"Bearer {secret}")):
            s = asyncio.run(step(auth, 100_000))
            share = s / lim
            print(f"  the auth step alone, {label:<12}: {s * 1e6:6.2f} µs = {share:.3%} of a request "
                  f"{'PASS' if share < 0.01 else 'FAIL'} (< 1 %)")
        n = 500
        t0 = time.perf_counter()
        for _ in range(n):
            with read_connection(engine) as conn:
                authenticate(conn, secret)
        print(f"  uncached token lookup (once per token per TTL): "
              f"{(time.perf_counter() - t0) / n * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
