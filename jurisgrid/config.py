"""Settings: one small pydantic-settings class per concern, all with the env prefix JURISGRID_.

Nothing else in the package reads ``os.environ``; everything asks :func:`get_settings`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_COMMON = SettingsConfigDict(env_prefix="JURISGRID_", env_file=".env", extra="ignore")


class DatabaseSettings(BaseSettings):
    """Where the database is. Without ``database_url`` the CLI manages a local cluster."""

    model_config = _COMMON

    database_url: str | None = None
    home: Path = Field(default=Path(".jurisgrid"), description="project-local state folder")
    db_name: str = "jurisgrid"
    pool_size: int = 16
    statement_timeout_ms: int = 30_000
    # read replicas (issue 17; jurisgrid/replicas.py): streaming standbys of database_url, comma
    # separated. Queries, tiles, OGC and /api reads go to a healthy one; mutations, subscriptions
    # and reads that must see a write (X-Jurisgrid-After-LSN) to the primary
    replica_urls: str = ""
    replica_max_lag_s: float = 5.0        # a replica further behind is taken out of rotation
    replica_check_interval_s: float = 1.0  # how often each process checks its replicas
    replica_version_poll_s: float = 0.2    # a replica's data_version is polled (no LISTEN there)

    @property
    def replicas(self) -> list[str]:
        return [u.strip() for u in self.replica_urls.split(",") if u.strip()]

    @property
    def pgdata(self) -> Path:
        return self.home.resolve() / "pgdata"


class ApiSettings(BaseSettings):
    """Limits and switches of the GraphQL API."""

    model_config = _COMMON

    # reads without a bearer token (env JURISGRID_ANONYMOUS_READS=false in production)
    anonymous_reads: bool = True
    # a verified token is trusted this long per process before it is looked up again, so a
    # revocation made by another process takes effect within this many seconds
    token_cache_ttl_s: float = 5.0
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 20_000
    page_size_default: int = 100
    page_size_max: int = 1_000
    batch_max_points: int = 100_000
    graphiql: bool = True
    # complete plain-attribute subtrees with a compiled plan (gql/execution.py, which relies on
    # graphql-core internals); false = graphql-core's own execution, CI runs tests/gql both ways
    fast_execution: bool = True
    # bounded work per request (issue 16; gql/cost.py, gql/hygiene.py, routes/limits.py)
    max_cost: int = 200_000          # fields x the items of the lists they are under
    cost_list_default: int = 10      # items assumed of a list without `first` (a station's zones)
    max_fields: int = 2_000          # field selections written in a document (validation's work)
    max_query_chars: int = 200_000   # query text, before parsing
    max_name_chars: int = 256        # codes, names, search and other short strings
    max_text_chars: int = 10_000     # free text (reason, address)
    max_list_items: int = 10_000     # items of a list argument (Coordinates: batch_max_points)
    max_body_bytes: int = 8 * 1024 * 1024  # request body; 100,000 points take about 4 MB
    request_timeout_s: float = 30.0  # a query's time budget (mutations: the statement timeout)


def _code_format(kind: str, default: str) -> Any:
    """A code format setting read from JURISGRID_CODE_FORMAT_<KIND> or the older
    JURISGRID_EDIT_<KIND>_CODE_FORMAT (and ``edit_<kind>_code_format=`` in Python)."""
    k = kind.upper()
    return Field(default=default, validation_alias=AliasChoices(
        f"JURISGRID_CODE_FORMAT_{k}", f"JURISGRID_EDIT_{k}_CODE_FORMAT", f"edit_{kind}_code_format"))


class EditSettings(BaseSettings):
    """Limits of the editing API (issue 3; jurisgrid/editing)."""

    model_config = SettingsConfigDict(**_COMMON, populate_by_name=True)

    edit_max_vertices: int = 100_000      # vertex cap of one input geometry
    edit_max_grids: int = 5_000           # grids one edit may touch
    # the server wakes at the next scheduled instant, and looks for newly scheduled edits this often
    edit_apply_due_interval_s: float = 5.0
    # formats of unit codes (jurisgrid/codes.py: editing, import and `jurisgrid load` check
    # them): a regular expression the whole code must match, where {county} {township} {station}
    # {community} stand for the parent's code; empty: not checked. Per deployment: env
    # JURISGRID_CODE_FORMAT_<KIND> (or JURISGRID_EDIT_<KIND>_CODE_FORMAT). Defaults: national 区划
    # codes for counties (6 digits), townships (+3) and communities (+3), the 15-digit grid code,
    # and the demo's station, zone and person codes. The SF seed uses others (SFPS01, SFZ<community>).
    edit_county_code_format: str = _code_format("county", r"\d{6}")
    edit_township_code_format: str = _code_format("township", r"{county}\d{3}")
    edit_sector_code_format: str = _code_format("sector", "")  # 警务片区: bureau-specific
    edit_station_code_format: str = _code_format("station", r"{county}PS\d{2}")
    edit_zone_code_format: str = _code_format("zone", r"{station}Z\d{2}")
    edit_community_code_format: str = _code_format("community", r"{township}\d{3}")
    edit_grid_code_format: str = _code_format("grid", r"{community}\d{3}")
    edit_person_code_format: str = _code_format("person", r"P\d{6}")


class ServerSettings(BaseSettings):
    """How ``jurisgrid serve`` listens."""

    model_config = _COMMON

    host: str = "127.0.0.1"
    port: int = 8000
    # one process holds the GIL: a second worker let GraphQL use both cores of the bench
    # machine (400 -> 630 req/s at 16 clients, bench/responsible.py --workers 2)
    workers: int = Field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    # one log line per request costs a single-point lookup a tenth of its time; a reverse
    # proxy in front usually logs requests anyway (JURISGRID_ACCESS_LOG=true to turn it on)
    access_log: bool = False
    # the supervisor replaces a worker whose event loop misses this many heartbeats in a row
    # (one every worker_heartbeat_s): alive but stuck, it answers no one (jurisgrid/serving.py)
    worker_heartbeat_s: float = 2.0
    worker_missed_heartbeats: int = 5


class WebSettings(BaseSettings):
    """The web map. An optional raster base map under the jurisdictions — e.g. a 天地图 WMTS
    key or a bureau's intranet tiles — as an XYZ URL template (``{z}/{x}/{y}``); off by default,
    so the map works offline on the app's own tiles."""

    model_config = _COMMON

    basemap_url: str | None = None
    basemap_attribution: str = ""
    basemap_tile_size: int = 256


class Settings:
    """The one settings object: a bundle of the per-concern classes."""

    def __init__(self) -> None:
        self.db = DatabaseSettings()
        self.api = ApiSettings()
        self.server = ServerSettings()
        self.edit = EditSettings()
        self.web = WebSettings()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
