"""Bad configuration stops start-up with a message naming the variable; /healthz reports the DB."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JIEDAO_", "DATABASE_URL", "REDIS_URL", "MQTT_URL"))
    }
    base.update(env)
    code = "import jiedao.config.settings"
    return subprocess.run([sys.executable, "-c", code], env=base, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({}, "JIEDAO_SECRET_KEY is not set"),
        ({"JIEDAO_SECRET_KEY": "short"}, "too short"),
        ({"JIEDAO_SECRET_KEY": "x" * 40}, "JIEDAO_FIELD_KEY is not set"),
        ({"JIEDAO_SECRET_KEY": "x" * 40, "JIEDAO_FIELD_KEY": "not base64!"}, "not valid base64"),
        ({"JIEDAO_SECRET_KEY": "x" * 40, "JIEDAO_FIELD_KEY": "YWJj"}, "exactly 32 bytes"),
        ({"JIEDAO_DEBUG": "maybe"}, "JIEDAO_DEBUG='maybe' is not a boolean"),
        ({"JIEDAO_DEBUG": "1", "DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        (
            {"JIEDAO_DEBUG": "1", "JIEDAO_SESSION_AGE": "ten"},
            "JIEDAO_SESSION_AGE='ten' is not a whole number",
        ),
        ({"JIEDAO_DEBUG": "1", "JIEDAO_SESSION_AGE": "5"}, "out of range"),
        ({"JIEDAO_DEBUG": "1", "REDIS_URL": "http://127.0.0.1"}, "REDIS_URL"),
        ({"JIEDAO_DEBUG": "1", "JIEDAO_CONTROL_CARE_TEAM": "doctor,chef"}, "JIEDAO_CONTROL_CARE_TEAM"),
        ({"JIEDAO_DEBUG": "1", "JIEDAO_CONTROL_CARE_TEAM": "doctor,doctor"}, "distinct roles"),
    ],
)
def test_bad_settings_refused_with_clear_message(env: dict[str, str], needle: str, tmp_path: object) -> None:
    env = {"JIEDAO_VAR_DIR": str(tmp_path), **env}
    result = _start(env)
    assert result.returncode != 0
    assert needle in result.stderr, result.stderr[-600:]


def test_good_production_settings_start(tmp_path: object) -> None:
    import base64

    env = {
        "JIEDAO_VAR_DIR": str(tmp_path),
        "JIEDAO_SECRET_KEY": "s" * 50,
        "JIEDAO_FIELD_KEY": base64.b64encode(b"k" * 32).decode(),
    }
    result = _start(env)
    assert result.returncode == 0, result.stderr[-600:]


@pytest.mark.django_db
def test_healthz_reports_database(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["database"] in ("sqlite", "postgresql")


@pytest.mark.django_db
def test_api_requires_auth_with_error_schema(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    assert resp.json()["info"]["title"] == "jiedao API"


@pytest.mark.django_db
def test_out_of_scope_error_page_is_404_not_500(client, cast) -> None:  # type: ignore[no-untyped-def]
    from django.test import RequestFactory

    from jiedao.core.errors import NotFound
    from jiedao.core.middleware import error_response

    req = RequestFactory().get("/api/v1/x")
    resp = error_response(req, NotFound("gone"))
    assert resp.status_code == 404
    assert b'"code": "not_found"' in resp.content or b'"code":"not_found"' in resp.content


@pytest.mark.django_db
def test_unknown_api_url_answers_json_404(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/api/v1/work/items/-1/complete")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"
    page = client.get("/no/such/page/")
    assert page.status_code == 404 and b"<html" in page.content
