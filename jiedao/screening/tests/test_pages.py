"""The screening pages end to end through the Django client: receive a list (upload, preview, dry run,
commit), the ledger and its export, a key person, verification, hand-back and dispatch."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from jiedao.core.testing import assert_no_per_row_queries
from jiedao.registry.tests.factories import make_household, mobile, resident_id
from jiedao.screening.choices import KeyPersonStatus
from jiedao.screening.models import KeyPerson, PushedEntry, PushedList
from jiedao.screening.tests.helpers import HEADER, receive, xlsx
from jiedao.work.models import WorkItem

pytestmark = pytest.mark.django_db


def resident_of(cast, grid=None):
    hh = make_household(cast.community_a, grid=grid or cast.grid_a1)
    return hh.residents.select_related("person").first().person


def upload(client, rows, **fields):
    body = rows if isinstance(rows, bytes) else xlsx(rows)
    data = {
        "title": "6月1日密接名单", "issuer": "市疫情防控指挥部", "source": "close_contact", "category": "",
        "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "file": SimpleUploadedFile("密接.xlsx", body), **fields,
    }  # fmt: skip
    return client.post(reverse("screening:list_new"), data)


def test_receive_a_list_through_the_pages(login, cast, english):
    client = login("command")
    p = resident_of(cast)
    rows = [HEADER, [1, p.name, p.id_number, "", "上海", "2022-05-30", "", ""],
            [2, "王新来", resident_id(), mobile(), "吉林", "", "外地某处", ""]]  # fmt: skip
    rows = xlsx(rows)  # one file: xlsxwriter stamps each new file with its creation time
    r = upload(client, rows)
    assert r.status_code == 302, r.content.decode()[:2000]
    staged = PushedList.objects.get()
    assert r["Location"] == reverse("screening:list_staged", args=[staged.pk])
    page = client.get(r["Location"])
    text = page.content.decode()
    assert page.status_code == 200 and 'data-testid="dry-run-ok"' in text
    assert p.id_number not in text  # masked in the preview
    assert KeyPerson.objects.count() == 0  # the dry run wrote nothing
    r = client.post(reverse("screening:list_staged", args=[staged.pk]))
    assert r.status_code == 302 and r["Location"] == reverse("screening:list", args=[staged.pk])
    assert PushedEntry.objects.count() == 2 and KeyPerson.objects.count() == 2
    kp = KeyPerson.objects.get(person=p)
    assert kp.status == KeyPersonStatus.TO_VERIFY and kp.grid_id == cast.grid_a1.pk
    page = client.get(reverse("screening:list", args=[staged.pk])).content.decode()
    assert 'data-stat="received">2<' in page and 'data-stat="routed">1<' in page
    # The same file again changes nothing and says so.
    r = upload(client, rows)
    assert r.status_code == 302 and r["Location"] == reverse("screening:list", args=[staged.pk])
    assert PushedList.objects.count() == 1 and PushedEntry.objects.count() == 2
    # The results export.
    r = client.get(reverse("screening:list_results", args=[staged.pk]))
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")


def test_a_bad_list_shows_its_rows_and_cannot_be_committed(login, cast, english):
    client = login("command")
    rows = [
        HEADER,
        [1, "甲", "510116199001011235", "", "", "", "", ""],
        [2, "乙", "", "", "", "", "", "橙码"],
    ]
    r = upload(client, rows)
    page = client.get(r["Location"]).content.decode()
    assert 'data-testid="row-errors"' in page and 'data-testid="commit"' not in page
    assert "Row" in page and "橙码" in page
    staged = PushedList.objects.get()
    client.post(reverse("screening:list_staged", args=[staged.pk]))
    assert PushedEntry.objects.count() == 0 and not PushedList.objects.filter(committed=True).exists()


def test_grid_worker_verifies_on_the_form_and_the_person_is_classified(login, cast, english):
    p = resident_of(cast)
    receive(cast["command"], xlsx([HEADER, [1, p.name, p.id_number, "", "", "", "", ""]]))
    kp = KeyPerson.objects.get()
    item = WorkItem.objects.get(kind="screening.verify")
    client = login("grid_worker_a")
    today = client.get(reverse("work:today")).content.decode()
    assert p.name in today
    form = client.get(reverse("screening:verify", args=[kp.pk]))
    assert form.status_code == 200 and 'data-testid="category-close_contact"' in form.content.decode()
    last = timezone.localdate() - dt.timedelta(days=1)
    frag = client.get(reverse("screening:proposal", args=[kp.pk]), {"last_exposure": last.isoformat()})
    assert "close_contact" in frag.content.decode()
    r = client.post(
        reverse("screening:verify", args=[kp.pk]),
        {
            "outcome": "reached_in_area",
            "attempts": 1,
            "last_exposure": last.isoformat(),
            "category": "close_contact",
        },
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    kp.refresh_from_db()
    item.refresh_from_db()
    assert kp.status == KeyPersonStatus.CLASSIFIED and kp.measure_start == timezone.localdate()
    assert item.status == "done"
    page = client.get(reverse("screening:key_person", args=[kp.pk])).content.decode()
    assert 'data-testid="classified"' in page
    # The person page and the household file show the screening section.
    page = client.get(reverse("registry:person", args=[p.pk])).content.decode()
    assert 'data-testid="screening-section"' in page


def test_hand_back_then_dispatch(login, cast, english):
    p = resident_of(cast)
    receive(cast["command"], xlsx([HEADER, [1, p.name, p.id_number, "", "", "", "", ""]]))
    kp = KeyPerson.objects.get()
    client = login("community_staff_a")
    r = client.post(reverse("screening:hand_back", args=[kp.pk]), {"reason": "已搬走两年"})
    assert r.status_code == 302
    kp.refresh_from_db()
    assert kp.status == KeyPersonStatus.DISPATCH and kp.community_id is None
    # Now out of community A's sight.
    assert client.get(reverse("screening:key_person", args=[kp.pk])).status_code == 404
    command = login("command")
    page = command.get(reverse("screening:dispatch")).content.decode()
    assert "已搬走两年" in page
    r = command.post(
        reverse("screening:route", args=[kp.pk]),
        {"community": cast.community_b.pk, "grid": cast.grid_b1.pk, "next": reverse("screening:dispatch")},
    )
    assert r.status_code == 302
    kp.refresh_from_db()
    assert kp.community_id == cast.community_b.pk and kp.status == KeyPersonStatus.TO_VERIFY
    assert WorkItem.objects.filter(kind="screening.verify", grid=cast.grid_b1, status="open").count() == 1


def test_ledger_filters_export_and_no_query_per_row(login, cast, english):
    rows = [HEADER] + [[i, f"人{i}", resident_id(), "", "", "", "", ""] for i in range(1, 6)]
    receive(cast["command"], xlsx(rows))
    client = login("command")
    page = client.get(reverse("screening:key_persons"), {"status": "dispatch"}).content.decode()
    assert page.count('data-testid="key-person-row"') == 5
    page = client.get(reverse("screening:key_persons"), {"status": "classified"}).content.decode()
    assert 'data-testid="empty"' in page
    r = client.get(reverse("screening:key_persons_export"))
    assert r.status_code == 200

    def add(n):
        receive(cast["command"], xlsx([HEADER] + [[i, f"加{i}", resident_id(), "", "", "", "", ""] for i in range(n)]),
                title=f"加{n}")  # fmt: skip

    assert_no_per_row_queries(lambda: client.get(reverse("screening:key_persons")), add)
    assert_no_per_row_queries(lambda: client.get(reverse("screening:lists")), add)


def test_dashboard_shows_screening_cards_and_the_chart(login, cast, english):
    p = resident_of(cast)
    receive(
        cast["command"],
        xlsx(
            [
                HEADER,
                [1, p.name, p.id_number, "", "", "", "", ""],
                [2, "无址", resident_id(), "", "", "", "", ""],
            ]
        ),
    )
    page = login("command").get(reverse("home")).content.decode()
    assert "Key persons to verify" in page and "Dispatch queue" in page
    assert 'data-testid="key-persons-chart"' in page and "jd-kp-series" in page
    assert page.count("echarts.min.js") == 1
    # A community's staff see their own counts, and no dispatch queue card.
    page = login("community_staff_b").get(reverse("home")).content.decode()
    assert "Key persons to verify" in page and "Dispatch queue" not in page
