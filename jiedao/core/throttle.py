"""Counting failures in a time window (shared cache: Redis in production), e.g. wrong passwords."""

from __future__ import annotations

from django.core.cache import cache


def too_many(key: str, limit: int) -> bool:
    return int(cache.get(key, 0)) >= limit


def record_failure(key: str, window_seconds: int) -> int:
    """Count one failure; the window starts at the first failure and is not extended by later ones."""
    if cache.add(key, 1, window_seconds):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window_seconds)
        return 1


def reset(key: str) -> None:
    cache.delete(key)
