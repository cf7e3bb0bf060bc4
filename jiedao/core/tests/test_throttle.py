"""Failure counting on the cache: process memory by default, and the shared Redis cache when
REDIS_URL is set (CI), so that several server processes count together."""

from __future__ import annotations

import os
import uuid

import pytest
from django.test import override_settings

from jiedao.core import throttle


def _exercise() -> None:
    key = f"test-throttle:{uuid.uuid4().hex}"
    assert not throttle.too_many(key, 2)
    assert throttle.record_failure(key, 60) == 1
    assert throttle.record_failure(key, 60) == 2
    assert throttle.too_many(key, 2)
    throttle.reset(key)
    assert not throttle.too_many(key, 2)


def test_counts_in_process_memory() -> None:
    _exercise()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL not set (CI sets it)")
def test_counts_in_redis() -> None:
    redis = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }
    with override_settings(CACHES=redis):
        from django.core.cache import caches

        assert type(caches["default"]).__name__ == "RedisCache"
        _exercise()
