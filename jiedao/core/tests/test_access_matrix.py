"""Every URL of the site is in the access matrix, and each behaves as registered for every cast member."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

import jiedao
from jiedao.core.testing import ENDPOINTS, PUBLIC, build_cast


def _load_registrations() -> None:
    for mod in pkgutil.iter_modules(jiedao.__path__):
        try:
            importlib.import_module(f"jiedao.{mod.name}.tests.access")
        except ModuleNotFoundError as exc:
            if exc.name not in (f"jiedao.{mod.name}.tests", f"jiedao.{mod.name}.tests.access"):
                raise


_load_registrations()


def _url_names(patterns: list[Any], namespace: str = "") -> set[str]:
    names: set[str] = set()
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            names |= _url_names(p.url_patterns, ns)
        elif isinstance(p, URLPattern) and p.name:
            names.add(namespace + p.name)
    return names


def test_every_url_is_in_the_access_matrix() -> None:
    registered = {ep.name for ep in ENDPOINTS.values()}
    missing = sorted(
        n for n in _url_names(get_resolver().url_patterns) if n not in registered and n not in PUBLIC
    )
    assert not missing, f"URLs without an access-matrix entry: {missing}"


def _request(client: Client, ep: Any, url: str, cast: Any) -> Any:
    data = ep.data(cast) if ep.data else {}
    if ep.method == "get":
        return client.get(url, data)
    if ep.content_type:
        return getattr(client, ep.method)(url, data=data, content_type=ep.content_type)
    return getattr(client, ep.method)(url, data)


@pytest.mark.django_db
@pytest.mark.parametrize("key", sorted(ENDPOINTS))
def test_access(key: str) -> None:
    ep = ENDPOINTS[key]
    cast = build_cast()
    url = ep.build(cast)
    anon = Client()
    with transaction.atomic():
        resp = _request(anon, ep, url, cast)
        transaction.set_rollback(True)
    if ep.api:
        assert resp.status_code == 401, f"anonymous {ep.method} {url}: {resp.status_code}"
    else:
        assert resp.status_code in (302, 401), f"anonymous {ep.method} {url}: {resp.status_code}"
    for member in cast.keys:
        client = Client()
        client.force_login(cast[member])
        with transaction.atomic():
            resp = _request(client, ep, url, cast)
            transaction.set_rollback(True)
        code = resp.status_code
        if member in ep.allowed:
            assert code in ep.ok, f"{member} should reach {ep.method} {url}, got {code}"
            continue
        assert code in (403, 404), f"{member} must not reach {ep.method} {url}, got {code}"
        twin = (
            member[:-2] + "_a"
            if member.endswith("_b")
            else ("grid_worker_a" if member == "grid_worker_a2" else "")
        )
        if twin in ep.allowed:
            assert code == 404, f"{member} is the same role outside the area: expected 404, got {code}"
