"""Place pages: list filters/sort/HTMX/export, create and edit forms, the venue-code poster and QR,
the public landing page, and the dashboard cards."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import openpyxl
import pytest
import segno
from django.urls import Resolver404, resolve
from django.utils import translation

from jiedao.core.dashboard import cards_for
from jiedao.core.models import AuditEntry
from jiedao.core.testing import assert_no_per_row_queries
from jiedao.places.actions import do_create_place
from jiedao.places.models import Place
from jiedao.places.qr import QR_BORDER, make_qr
from jiedao.places.tests.access import make_place
from jiedao.places.tests.test_actions import BAD_CHECK, GOOD_CC

pytestmark = pytest.mark.django_db


def _many(cast, n: int, community=None, grid=None, kind: str = "clinic", prefix: str = "诊所") -> list[Place]:  # type: ignore[no-untyped-def]
    return [
        do_create_place(
            actor=None,
            kind=kind,
            name=f"{prefix}{i:03d}",
            community=community or cast.community_a,
            grid=grid if grid is not None else cast.grid_a1,
            contact_phone="13800138000",
        )
        for i in range(n)
    ]


def _rows(resp) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.name for p in resp.context["list"].rows]


# ---- list -------------------------------------------------------------------------------------------


def test_list_shows_only_the_users_area(cast, login) -> None:  # type: ignore[no-untyped-def]
    _many(cast, 2, prefix="甲")
    _many(cast, 1, community=cast.community_b, grid=cast.grid_b1, prefix="乙")
    _many(cast, 1, grid=cast.grid_a2, prefix="甲二")
    assert sorted(_rows(login("community_staff_a").get("/places/"))) == ["甲000", "甲001", "甲二000"]
    assert sorted(_rows(login("grid_worker_a").get("/places/"))) == ["甲000", "甲001"]
    assert _rows(login("pharmacy_clerk_b").get("/places/")) == ["乙000"]
    assert len(_rows(login("command").get("/places/"))) == 4


def test_list_filters_by_kind_community_grid_text_and_status(cast, login) -> None:  # type: ignore[no-untyped-def]
    _many(cast, 2, kind="clinic", prefix="诊所")
    pharmacy = make_place(cast)
    gone = make_place(cast, name="已关门药房", active=False)
    _many(cast, 1, community=cast.community_b, grid=cast.grid_b1, prefix="乙诊所")
    c = login("command")
    assert _rows(c.get("/places/", {"kind": "pharmacy"})) == ["甲一大药房"]
    assert _rows(c.get("/places/", {"kind": "pharmacy", "active": "0"})) == ["已关门药房"]
    assert sorted(_rows(c.get("/places/", {"kind": "pharmacy", "active": "all"}))) == [
        "已关门药房",
        "甲一大药房",
    ]
    assert _rows(c.get("/places/", {"community": cast.community_b.pk})) == ["乙诊所000"]
    assert _rows(c.get("/places/", {"grid": cast.grid_b1.pk})) == ["乙诊所000"]
    assert _rows(c.get("/places/", {"q": pharmacy.venue_code.lower()})) == ["甲一大药房"]
    assert _rows(c.get("/places/", {"q": "龙河路"})) == ["甲一大药房"]
    assert gone.venue_code not in c.get("/places/").content.decode()


def test_a_filter_outside_the_scope_shows_an_error_and_no_rows(cast, login) -> None:  # type: ignore[no-untyped-def]
    _many(cast, 1, community=cast.community_b, grid=cast.grid_b1, prefix="乙")
    _many(cast, 1, prefix="甲")
    resp = login("community_staff_a").get("/places/", {"community": cast.community_b.pk})
    assert resp.status_code == 200
    assert _rows(resp) == []
    assert 'data-testid="filter-errors"' in resp.content.decode()


def test_list_sorts_and_paginates(cast, login) -> None:  # type: ignore[no-untyped-def]
    _many(cast, 30)
    c = login("command")
    first = c.get("/places/", {"sort": "-name"})
    assert _rows(first)[:2] == ["诊所029", "诊所028"]
    assert len(_rows(first)) == 25
    second = c.get("/places/", {"sort": "-name", "page": 2})
    assert _rows(second) == ["诊所004", "诊所003", "诊所002", "诊所001", "诊所000"]
    assert _rows(c.get("/places/", {"sort": "nonsense"}))[0] == "诊所000"


def test_htmx_request_gets_only_the_table_partial(cast, login) -> None:  # type: ignore[no-untyped-def]
    _many(cast, 3)
    resp = login("command").get("/places/", {"kind": "clinic"}, HTTP_HX_REQUEST="true")
    body = resp.content.decode()
    assert resp.status_code == 200
    assert "<html" not in body and 'data-testid="place-table"' in body
    assert body.count('data-testid="place-row"') == 3


def test_list_page_does_not_query_per_row(cast, login) -> None:  # type: ignore[no-untyped-def]
    c = login("community_staff_a")
    _many(cast, 2)
    assert_no_per_row_queries(
        lambda: c.get("/places/", {"per_page": 100}),
        lambda n: _many(cast, n, grid=cast.grid_a2, prefix="加"),
    )


def test_export_is_the_filtered_list_with_masked_phones(cast, login) -> None:  # type: ignore[no-untyped-def]
    _many(cast, 3, kind="clinic")
    make_place(cast)
    _many(cast, 2, community=cast.community_b, grid=cast.grid_b1, prefix="乙")
    resp = login("community_staff_a").get("/places/export.xlsx", {"kind": "clinic"})
    assert resp.status_code == 200
    assert resp["Content-Disposition"].startswith("attachment;")
    sheet = openpyxl.load_workbook(io.BytesIO(resp.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 3
    assert {r[1] for r in rows[1:]} == {"诊所000", "诊所001", "诊所002"}
    assert all(r[7] == "138****8000" for r in rows[1:])
    assert "13800138000" not in str(rows)
    entry = AuditEntry.objects.get(action="places.export")
    assert entry.changes["rows"] == 3 and entry.changes["filters"]["kind"] == "clinic"


# ---- create / edit / deactivate ---------------------------------------------------------------------


def _form(cast, **kw):  # type: ignore[no-untyped-def]
    data = {"kind": "pharmacy", "name": "新药房", "address": "华阳大道 9 号", "community": cast.community_a.pk,
            "grid": cast.grid_a1.pk, "contact_name": "李", "contact_phone": "13912345678", "credit_code": ""}  # fmt: skip
    data.update(kw)
    return data


def test_create_page_files_a_place_and_redirects(cast, login) -> None:  # type: ignore[no-untyped-def]
    resp = login("community_staff_a").post("/places/new/", _form(cast, credit_code=GOOD_CC))
    place = Place.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/places/{place.pk}/"
    assert place.credit_code == GOOD_CC and place.contact_phone_masked == "139****5678"


def test_bad_credit_code_is_a_field_error_on_the_form(cast, login) -> None:  # type: ignore[no-untyped-def]
    resp = login("community_staff_a").post("/places/new/", _form(cast, credit_code=BAD_CHECK))
    assert resp.status_code == 200
    assert resp.context["form"].errors["credit_code"]
    assert 'data-testid="error-credit_code"' in resp.content.decode()
    assert not Place.objects.exists()


def test_create_in_another_community_is_refused(cast, login) -> None:  # type: ignore[no-untyped-def]
    # The community select only offers the editor's own: B is not a valid choice.
    resp = login("community_staff_a").post(
        "/places/new/", _form(cast, community=cast.community_b.pk, grid=cast.grid_b1.pk)
    )
    assert resp.status_code == 200 and resp.context["form"].errors
    assert not Place.objects.exists()


def test_edit_page_keeps_the_phone_when_left_empty(cast, login) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    c = login("grid_worker_a")
    page = c.get(f"/places/{place.pk}/edit/").content.decode()
    assert "13800138000" not in page and "138****8000" in page
    resp = c.post(f"/places/{place.pk}/edit/", _form(cast, name="改名药房", contact_phone=""))
    assert resp.status_code == 302
    place.refresh_from_db()
    assert place.name == "改名药房" and place.contact_phone == "13800138000"


def test_deactivation_asks_first_then_needs_a_reason(cast, login) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    c = login("community_staff_a")
    confirm = c.get(f"/places/{place.pk}/deactivate/")
    assert confirm.status_code == 200 and 'data-testid="deactivate-confirm"' in confirm.content.decode()
    place.refresh_from_db()
    assert place.active  # looking at the confirmation changes nothing
    missing = c.post(f"/places/{place.pk}/deactivate/", {"reason": ""})
    assert missing.status_code == 200 and missing.context["form"].errors["reason"]
    done = c.post(f"/places/{place.pk}/deactivate/", {"reason": "搬走了"})
    assert done.status_code == 302
    place.refresh_from_db()
    assert not place.active


def test_reveal_contact_returns_the_number_for_htmx(cast, login) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    c = login("inspector_a")
    detail = c.get(f"/places/{place.pk}/").content.decode()
    assert "13800138000" not in detail and "138****8000" in detail
    empty = c.post(f"/places/{place.pk}/contact/", {"reason": ""}, HTTP_HX_REQUEST="true")
    assert "13800138000" not in empty.content.decode() and "invalid-feedback" in empty.content.decode()
    full = c.post(f"/places/{place.pk}/contact/", {"reason": "约时间"}, HTTP_HX_REQUEST="true")
    assert (
        'data-testid="contact-phone-full"' in full.content.decode() and "13800138000" in full.content.decode()
    )
    assert AuditEntry.objects.filter(action="places.reveal_contact").count() == 1


# ---- venue code: poster, QR, landing ------------------------------------------------------------------


def _svg_root(svg: str | bytes) -> ET.Element:
    return ET.fromstring(svg)


def test_poster_embeds_the_qr_of_the_venue_url(cast, login) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    resp = login("grid_worker_a").get(f"/places/{place.pk}/poster/")
    body = resp.content.decode()
    url = f"http://testserver/v/{place.venue_code}"
    assert resp.context["venue_url"] == url
    assert url in body and place.venue_code in body
    qr = make_qr(url)
    # The page's SVG is exactly segno's drawing of this URL: the code encodes the venue URL.
    assert resp.context["qr"] == qr.svg_inline(
        scale=1, border=QR_BORDER, omitsize=True, dark="#000", light="#fff", title=place.venue_code
    )
    assert resp.context["qr"] in body
    root = _svg_root(resp.context["qr"])
    size = 17 + 4 * qr.version + 2 * QR_BORDER
    assert root.get("viewBox") == f"0 0 {size} {size}"
    # Version 3 holds up to 42 bytes at level M: enough for the URL, small enough to scan from afar.
    assert qr.version == 3 and qr.error in ("M", "Q", "H")
    assert qr.version == segno.make(url, error="m", micro=False).version


def test_qr_download_is_a_standalone_svg_of_the_same_code(cast, login) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    resp = login("command").get(f"/places/{place.pk}/qr.svg")
    assert resp["Content-Type"] == "image/svg+xml"
    assert f"venue-{place.venue_code}.svg" in resp["Content-Disposition"]
    assert resp.content.startswith(b"<?xml")
    root = _svg_root(resp.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    qr = make_qr(f"http://testserver/v/{place.venue_code}")
    size = (17 + 4 * qr.version + 2 * QR_BORDER) * 10
    assert (root.get("width"), root.get("height")) == (str(size), str(size))
    drawn = [p.get("d") for p in root.iter("{http://www.w3.org/2000/svg}path") if p.get("class") == "qrline"]
    expected = [p.get("d") for p in _svg_root(qr.svg_inline(scale=1, border=QR_BORDER)).iter("path")]
    assert drawn and drawn == expected  # the dark modules are exactly those of the venue URL's code


def test_venue_route_is_mounted_at_the_site_root() -> None:
    """The QR codes printed on posters encode /v/<venue_code>: that path must stay where it is."""
    try:
        match = resolve("/v/HYABCDEFGH")
    except Resolver404:
        pytest.fail('config/urls.py must mount path("v/", include("jiedao.places.venue_urls"))')
    assert match.view_name == "venue:landing"


def test_landing_page_is_public_and_shows_only_name_and_kind(cast, client) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast)
    resp = client.get(f"/v/{place.venue_code}")
    body = resp.content.decode()
    assert resp.status_code == 200
    assert place.name in body and str(place.get_kind_display()) in body
    for private in (place.address, place.contact_name, "138****8000", place.community.name, place.grid.name):
        assert private not in body
    assert client.get(f"/v/{place.venue_code.lower()}").status_code == 200


def test_landing_page_404s_for_unknown_or_inactive_codes(cast, client) -> None:  # type: ignore[no-untyped-def]
    place = make_place(cast, active=False)
    assert client.get(f"/v/{place.venue_code}").status_code == 404
    assert client.get("/v/HY00000000").status_code == 404


# ---- dashboard ------------------------------------------------------------------------------------------


def _card_values(user) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {str(c.title): c.value for c in cards_for(user)}


def test_dashboard_counts_places_by_kind_in_scope(cast) -> None:  # type: ignore[no-untyped-def]
    _many(cast, 3, kind="clinic")
    _many(cast, 2, kind="pharmacy", prefix="药房")
    make_place(cast, active=False)
    _many(cast, 1, kind="fever_clinic", community=cast.community_b, grid=cast.grid_b1, prefix="发热")
    with translation.override("en"):
        command = _card_values(cast["command"])
        staff_a = _card_values(cast["community_staff_a"])
        doctor = _card_values(cast["doctor_a"])
    assert (command["Clinics"], command["Pharmacies"], command["Fever clinics"], command["Places"]) == (
        3,
        2,
        1,
        6,
    )
    assert (staff_a["Clinics"], staff_a["Pharmacies"], staff_a["Fever clinics"]) == (3, 2, 0)
    assert "Clinics" not in doctor  # doctors do not see places
