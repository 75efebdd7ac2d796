"""The Redis the tests that need one use: required in CI, skipped where it is not running."""

from __future__ import annotations

import os

import pytest
import redis

REDIS_URL = os.environ.get("CLINICFLOW_TEST_REDIS", "redis://127.0.0.1:6379/0")


def require_redis(skipping: str | None = None) -> str:
    """REDIS_URL once Redis answers there; otherwise the test fails in CI and is skipped
    elsewhere (`skipping`: what the skip message says is skipped)."""
    probe = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        probe.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI and unreachable at {REDIS_URL}: {exc}")
        also = f"; {skipping} skipped" if skipping else ""
        pytest.skip(f"Redis unreachable at {REDIS_URL} ({exc}){also}")
    finally:
        probe.close()
    return REDIS_URL
