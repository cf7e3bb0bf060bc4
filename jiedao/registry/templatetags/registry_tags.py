"""Template helpers for the register's lists: sortable column headers that keep the filters."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_link(context: Any, key: str, label: Any, target: str = "#jd-list") -> str:
    """A column header that sorts by `key`, toggling the direction when it is already the sort."""
    request = context["request"]
    current = context["list"].sort
    desc = current == key  # clicking the ascending column sorts it descending
    params = {k: v for k, v in request.GET.items() if k not in ("page", "sort") and v}
    params["sort"] = f"-{key}" if desc else key
    url = "?" + urlencode(params)
    arrow = "▲" if current == key else ("▼" if current == f"-{key}" else "")
    return format_html(
        '<a class="text-reset" href="{}" hx-get="{}" hx-target="{}" hx-push-url="true" data-sort="{}">{} {}</a>',
        url, url, target, key, label, arrow,
    )  # fmt: skip


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None
