"""Live updates: one PostgreSQL LISTEN per process, fanned out to asyncio subscribers."""

from jurisgrid.live.listener import CHANNEL, ChangeListener, JurisdictionChange, listener_for, stop_all

__all__ = ["CHANNEL", "ChangeListener", "JurisdictionChange", "listener_for", "stop_all"]
