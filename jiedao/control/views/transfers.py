"""Quarantine sites and closed-loop transfers: pages (filled in with the transfer pages)."""

from typing import Any

from django.http import HttpRequest
from django.urls import URLPattern

urlpatterns: list[URLPattern] = []


def case_context(request: HttpRequest, case: Any) -> dict[str, Any]:
    """What the case page's transfer card show."""
    return {}
