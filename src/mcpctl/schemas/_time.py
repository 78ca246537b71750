"""Timestamps as aware UTC datetimes, whatever handed them over."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(moment: datetime) -> datetime:
    """`moment` with a time zone: a naive one is taken as UTC (what the store writes and SQLite hands
    back without its zone); an aware one is returned as it is."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
