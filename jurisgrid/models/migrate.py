"""Run Alembic migrations programmatically (no alembic.ini needed on the user's side)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("jurisgrid") / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(bind: Engine | Connection) -> str | None:
    if isinstance(bind, Connection):
        return MigrationContext.configure(bind).get_current_revision()
    with bind.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration shipped with the code (read once: it cannot change at run time)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
