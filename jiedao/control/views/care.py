"""Tests, supplies and counselling, the doctor's list and the daily report: pages."""

from typing import Any

from django.http import HttpRequest
from django.urls import URLPattern

urlpatterns: list[URLPattern] = []


def case_context(request: HttpRequest, case: Any) -> dict[str, Any]:
    """What the case page's tests and supplies cards show."""
    return {}
