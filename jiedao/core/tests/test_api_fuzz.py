"""Schemathesis fuzzes every operation of the OpenAPI document, authenticated with an API key of a
grid worker: whatever it sends, the API answers with a status it means (never a 500), in the one
error shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from jiedao.config.wsgi import application
from jiedao.core.testing import build_cast
from jiedao.org.actions import do_create_api_key


@pytest.fixture
def api_schema(db: Any) -> Iterator[Any]:
    # Calling the WSGI app directly fires request_finished, whose handler would close the test's
    # database connection (PostgreSQL) mid-transaction; Django's own test client unhooks it the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(db: Any) -> str:
    cast = build_cast()
    from jiedao.registry.tests.factories import make_household

    make_household(cast.community_a, cast.grid_a1, members=2)
    make_household(cast.community_b, cast.grid_b1, members=1)
    _, raw = do_create_api_key(actor=None, name="fuzz", user=cast["grid_worker_a"], permissions=["*"])
    return raw


def test_api_never_answers_500(api_schema: Any, api_key: str) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8, [op.label for op in operations]
    seen: dict[str, set[int]] = {}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Any) -> None:
            response = case.call(headers={"X-API-Key": api_key})
            case.validate_response(response, checks=(not_a_server_error,))
            seen.setdefault(case.operation.label, set()).add(response.status_code)
            if response.status_code >= 400:
                assert response.headers.get("content-type", [""])[0].startswith("application/json"), (
                    case.method,
                    case.formatted_path,
                    response.status_code,
                    response.text[:300],
                )
                body = response.json()
                assert set(body) == {"error"}, body
                assert {"code", "message"} <= set(body["error"]), body

        run()
    assert set(seen) == {op.label for op in operations}
