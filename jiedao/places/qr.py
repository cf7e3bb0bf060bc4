"""Venue-code QR codes, drawn on the server with segno as SVG (no image files, no client script)."""

from __future__ import annotations

import io
from typing import Any

import segno
from django.conf import settings
from django.urls import reverse

# Error correction M survives a scuffed or partly covered poster and keeps the code small.
QR_ERROR = "m"
QR_BORDER = 4  # the quiet zone the QR standard asks for, in modules


def venue_path(venue_code: str) -> str:
    # /v/<code> at the site root (config/urls.py mounts venue_urls there): printed posters carry it.
    return reverse("venue:landing", args=[venue_code])


def venue_url(request: Any, venue_code: str) -> str:
    """The absolute URL a QR code encodes: under settings.PUBLIC_URL when the settings define one (a
    site behind a proxy, or posters printed from an internal host), else the host of this request."""
    base = getattr(settings, "PUBLIC_URL", "") or ""
    if base:
        return base.rstrip("/") + venue_path(venue_code)
    return request.build_absolute_uri(venue_path(venue_code))


def make_qr(data: str) -> segno.QRCode:
    # micro=False: phones' camera apps do not read Micro QR.
    return segno.make(data, error=QR_ERROR, micro=False)


def qr_svg_inline(data: str, *, title: str = "") -> str:
    """An inline <svg> sized by its viewBox (one unit per module), so CSS decides how big it prints."""
    return make_qr(data).svg_inline(
        scale=1, border=QR_BORDER, omitsize=True, dark="#000", light="#fff", title=title or None
    )


def qr_svg_document(data: str, *, scale: int = 10) -> bytes:
    """A standalone SVG file (XML declaration, namespace) for download and print shops."""
    buf = io.BytesIO()
    make_qr(data).save(
        buf, kind="svg", scale=scale, border=QR_BORDER, dark="#000", light="#fff", xmldecl=True
    )
    return buf.getvalue()
