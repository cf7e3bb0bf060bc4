"""Sampling sites: set up by the offices, status and queue set by the site's staff, shown on the public
map with nothing personal."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from jiedao.core.errors import Forbidden, InvalidInput
from jiedao.core.models import AuditEntry
from jiedao.core.testing import assert_no_per_row_queries
from jiedao.nat.actions import do_save_site, do_set_site_status
from jiedao.nat.models import SamplingSite


@pytest.fixture
def site(cast: Any) -> SamplingSite:
    s = do_save_site(
        actor=cast["community_staff_a"], name="甲社区广场采样点", community=cast.community_a, lanes=3,
        hours="07:00-12:00, 14:00-20:00", lat=30.5, lng=104.05,
    )  # fmt: skip
    s.staff.add(cast["sampler_a"])
    return s


def test_site_rules(cast: Any, site: SamplingSite) -> None:
    with pytest.raises(Forbidden):
        do_save_site(actor=cast["community_staff_b"], name="越界采样点", community=cast.community_a)
    with pytest.raises(InvalidInput) as dup:
        do_save_site(actor=None, name="甲社区广场采样点", community=cast.community_b)
    assert dup.value.field == "name"
    with pytest.raises(InvalidInput) as lanes:
        do_save_site(actor=None, name="新采样点", community=cast.community_a, lanes=0)
    assert lanes.value.field == "lanes"
    with pytest.raises(InvalidInput) as grid:
        do_save_site(actor=None, name="新采样点", community=cast.community_a, grid=cast.grid_b1)
    assert grid.value.field == "grid"


def test_staff_set_status_and_queue(cast: Any, site: SamplingSite) -> None:
    do_set_site_status(actor=cast["sampler_a"], site=site, status="paused", queue_length=35)
    site.refresh_from_db()
    assert (site.status, site.queue_length) == ("paused", 35) and site.queue_updated_at is not None
    assert AuditEntry.objects.filter(action="nat.site_status").exists()
    with pytest.raises(Forbidden):
        do_set_site_status(actor=cast["sampler_b"], site=site, queue_length=1)
    with pytest.raises(InvalidInput) as neg:
        do_set_site_status(actor=cast["sampler_a"], site=site, queue_length=-1)
    assert neg.value.field == "queue_length"
    with pytest.raises(InvalidInput):
        do_set_site_status(actor=cast["sampler_a"], site=site, status="exploded")


def test_site_page_on_a_phone(cast: Any, site: SamplingSite, login: Any) -> None:
    client = login("sampler_a")
    assert client.get("/nat/my-sites/")["Location"].endswith(
        f"/nat/my-sites/{site.pk}/"
    )  # one site: straight there
    page = client.get(f"/nat/my-sites/{site.pk}/")
    assert 'data-testid="status-form"' in page.content.decode()
    bad = client.post(f"/nat/my-sites/{site.pk}/", {"status": "open", "queue_length": "-3"})
    assert bad.status_code == 200 and 'data-testid="error-queue_length"' in bad.content.decode()
    ok = client.post(f"/nat/my-sites/{site.pk}/", {"status": "open", "queue_length": "42"})
    assert ok.status_code == 302
    site.refresh_from_db()
    assert site.queue_length == 42


SQUARE = {
    "type": "Polygon",
    "coordinates": [[[104.0, 30.4], [104.2, 30.4], [104.2, 30.6], [104.0, 30.6], [104.0, 30.4]]],
}


def test_public_map_shows_no_personal_data(cast: Any, site: SamplingSite, client: Any) -> None:
    assert 'data-testid="sites-map"' not in client.get("/nat/sites/").content.decode()  # no outlines: a list
    cast.community_a.geometry = SQUARE
    cast.community_a.save(update_fields=["geometry"])
    closed = do_save_site(actor=None, name="已撤点", community=cast.community_b)
    do_set_site_status(actor=None, site=closed, status="closed")
    do_set_site_status(actor=None, site=site, queue_length=17)
    html = client.get("/nat/sites/").content.decode()
    assert site.name in html and "已撤点" not in html and 'data-testid="sites-map"' in html
    assert "sampler_a" not in html  # staff are never shown

    def add(n: int) -> None:
        for i in range(n):
            do_save_site(
                actor=None, name=f"临时采样点{i}", community=cast.community_a, lat=30.5, lng=104.0 + i / 100
            )

    assert_no_per_row_queries(lambda: client.get("/nat/sites/"), add)


def test_sampler_page_and_its_service_worker(cast: Any, site: SamplingSite, login: Any, client: Any) -> None:
    import datetime as dt

    from django.utils import timezone

    from jiedao.nat.actions import do_open_round

    assert 'data-testid="no-round"' in login("sampler_a").get("/nat/sample/").content.decode()  # no round yet
    now = timezone.now()
    do_open_round(actor=None, name="第一轮", starts_at=now, ends_at=now + dt.timedelta(hours=8), sites=[site])
    html = login("sampler_a").get("/nat/sample/").content.decode()
    assert (
        'id="jd-sampler-config"' in html and "甲社区广场采样点" in html and 'data-testid="open-tube"' in html
    )
    assert (
        'data-testid="no-round"' in login("sampler_b").get("/nat/sample/").content.decode()
    )  # not on a site's staff
    client.logout()
    sw = client.get("/nat/sw.js")
    assert sw.status_code == 200 and sw["Content-Type"].startswith("text/javascript")
    assert "/nat/sample/" in sw.content.decode()


def test_offices_add_and_edit_sites_and_the_command_centre_opens_rounds(cast: Any, login: Any) -> None:
    from jiedao.nat.models import TestingRound

    staff = login("community_staff_a")
    bad = staff.post("/nat/sites/new", {"name": "", "community": cast.community_a.pk, "lanes": "2"})
    assert bad.status_code == 200 and not SamplingSite.objects.exists()
    ok = staff.post("/nat/sites/new", {"name": "甲社区小学采样点", "community": cast.community_a.pk, "lanes": "3",
                                       "hours": "07:00-20:00", "lat": "30.5", "lng": "104.05"})  # fmt: skip
    site = SamplingSite.objects.get()
    assert ok.status_code == 302 and (site.lanes, site.lat) == (3, 30.5)
    dup = staff.post(
        "/nat/sites/new", {"name": "甲社区小学采样点", "community": cast.community_a.pk, "lanes": "3"}
    )
    assert 'data-testid="field-error"' in dup.content.decode()  # the action's refusal, at the field
    assert staff.post(f"/nat/my-sites/{site.pk}/edit", {"name": "甲社区小学采样点", "community": cast.community_a.pk,
                                                       "lanes": "5"}).status_code == 302  # fmt: skip
    site.refresh_from_db()
    assert site.lanes == 5
    command = login("command")
    start = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    backwards = command.post(
        "/nat/rounds/new", {"name": "第一轮", "kind": "mass", "starts_at": start, "ends_at": start}
    )
    assert backwards.status_code == 200 and not TestingRound.objects.exists()
    end = (timezone.localtime() + timezone.timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M")
    made = command.post("/nat/rounds/new", {"name": "第一轮", "kind": "mass", "starts_at": start, "ends_at": end,
                                            "communities": [cast.community_a.pk], "sites": [site.pk]})  # fmt: skip
    rnd = TestingRound.objects.get()
    assert made["Location"] == f"/nat/rounds/{rnd.pk}/" and list(rnd.sites.all()) == [site]
