"""The register's pages: lists (filters, HTMX, query counts), the household file, forms and exports."""

from __future__ import annotations

import io
import re

import pytest
from django.urls import reverse

from jiedao.core.models import AuditEntry
from jiedao.core.testing import assert_no_per_row_queries, count_queries
from jiedao.registry import sections
from jiedao.registry.models import CareTag, Household, Person, Resident
from jiedao.registry.tests.factories import make_household, make_person, mobile, resident_id

FULL_ID = re.compile(r"\d{17}[\dX]")

# These tests read the English UI text.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def test_households_list_filters_and_scope(cast, login):
    a1 = make_household(
        cast.community_a, cast.grid_a1, members=2, compound="东苑", care_tags={1: ["bedridden"]}
    )
    a2 = make_household(cast.community_a, cast.grid_a2, members=1, compound="西苑")
    make_household(cast.community_b, cast.grid_b1, members=1, compound="北苑")
    client = login("community_staff_a")
    page = client.get(reverse("registry:households")).content.decode()
    assert a1.address in page and a2.address in page and "北苑" not in page
    tagged = client.get(reverse("registry:households"), {"care_tag": "bedridden"}).content.decode()
    assert a1.address in tagged and a2.address not in tagged
    by_grid = client.get(reverse("registry:households"), {"grid": cast.grid_a2.pk}).content.decode()
    assert a2.address in by_grid and a1.address not in by_grid
    head = Household.objects.get(pk=a1.pk).head
    by_name = client.get(reverse("registry:households"), {"q": head.name}).content.decode()
    assert a1.address in by_name


def test_households_htmx_returns_the_partial(cast, login):
    make_household(cast.community_a, cast.grid_a1, members=1)
    resp = login("grid_worker_a").get(reverse("registry:households"), HTTP_HX_REQUEST="true")
    body = resp.content.decode()
    assert resp.status_code == 200 and "<html" not in body and 'data-testid="households-table"' in body


def test_households_sorting_by_members(cast, login):
    small = make_household(cast.community_a, cast.grid_a1, members=1)
    big = make_household(cast.community_a, cast.grid_a1, members=3)
    body = login("command").get(reverse("registry:households"), {"sort": "-members"}).content.decode()
    assert body.index(big.address) < body.index(small.address)
    body = login("command").get(reverse("registry:households"), {"sort": "members"}).content.decode()
    assert body.index(small.address) < body.index(big.address)


def test_list_pages_do_not_query_per_row(cast, login):
    client = login("community_staff_a")
    make_household(cast.community_a, cast.grid_a1, members=2, care_tags={0: ["infant"]})

    def add(n: int) -> None:
        for _ in range(n // 4):
            make_household(cast.community_a, cast.grid_a1, members=2, care_tags={0: ["disabled"]})

    for name in ("registry:households", "registry:persons"):
        assert_no_per_row_queries(
            lambda name=name: client.get(reverse(name), {"per_page": 100}), add, extra=20
        )


def test_api_lists_do_not_query_per_row(cast, login):
    client = login("community_staff_a")
    make_household(cast.community_a, cast.grid_a1, members=2, care_tags={0: ["infant"]})

    def add(n: int) -> None:
        for _ in range(n // 4):
            make_household(cast.community_a, cast.grid_a1, members=2, care_tags={1: ["disabled"]})

    for path in ("/api/v1/registry/households", "/api/v1/registry/persons"):
        assert_no_per_row_queries(lambda path=path: client.get(path, {"per_page": 100}), add, extra=20)


def test_persons_list_filters(cast, login):
    import datetime as dt

    old = make_person(
        cast.community_a,
        cast.grid_a1,
        name="老人甲",
        id_number=resident_id(birth=dt.date(1930, 3, 3), female=False),
    )
    young = make_person(
        cast.community_a,
        cast.grid_a1,
        name="少年乙",
        id_number=resident_id(
            birth=dt.date.today().replace(year=dt.date.today().year - 10, day=1), female=True
        ),
    )
    client = login("community_staff_a")
    body = client.get(reverse("registry:persons"), {"age_band": "80+"}).content.decode()
    assert old.name in body and young.name not in body
    body = client.get(reverse("registry:persons"), {"sex": "F"}).content.decode()
    assert young.name in body and old.name not in body
    body = client.get(
        reverse("registry:persons"), {"q": old.id_number}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert old.name in body and young.name not in body
    assert old.id_masked in body and old.id_number not in body.replace(f"q={old.id_number}", "")


def test_household_file_page(cast, login):
    hh = make_household(cast.community_a, cast.grid_a1, members=3, care_tags={2: ["elderly_alone"]})
    resp = login("doctor_a").get(reverse("registry:household", args=[hh.pk]))
    body = resp.content.decode()
    assert resp.status_code == 200
    members = list(Resident.objects.filter(household=hh).select_related("person"))
    for m in members:
        assert m.person.name in body and m.person.id_masked in body
        assert m.person.id_number not in body and m.person.phone not in body
    assert "registry.history" in body  # the register's own section
    assert not FULL_ID.search(body)
    assert "unmask-open" not in body  # a doctor may not unmask
    staff = login("community_staff_a").get(reverse("registry:household", args=[hh.pk])).content.decode()
    assert "unmask-open" in staff


def test_sections_from_other_apps_appear_in_order(cast, login):
    hh = make_household(cast.community_a, cast.grid_a1, members=1)
    try:
        sections.register_household_section(
            "test.first", "第一节", 1, lambda r, h: f"<p>first {h.file_no}</p>"
        )
        sections.register_household_section(
            "test.ctx",
            "第二节",
            2,
            lambda r, h: {"template": "registry/_status.html", "status": "away", "label": "外出"},
        )
        sections.register_household_section("test.hidden", "隐藏", 3, lambda r, h: None)
        sections.register_household_section(
            "test.roles", "限角色", 4, lambda r, h: "<p>only police</p>", roles={"police"}
        )
        body = login("community_staff_a").get(reverse("registry:household", args=[hh.pk])).content.decode()
        assert f"first {hh.file_no}" in body and "外出" in body
        assert "隐藏" not in body and "only police" not in body
        assert body.index("第一节") < body.index("第二节") < body.index("registry.history")
        police = login("police_a").get(reverse("registry:household", args=[hh.pk])).content.decode()
        assert "only police" in police
    finally:
        for key in ("test.first", "test.ctx", "test.hidden", "test.roles"):
            sections._household.pop(key, None)


def test_unmask_from_the_page(cast, login):
    hh = make_household(cast.community_a, cast.grid_a1, members=1)
    person = Resident.objects.get(household=hh).person
    client = login("grid_worker_a")
    url = reverse("registry:person_unmask", args=[person.pk])
    no_reason = client.post(url, {"reason": ""}, HTTP_HX_REQUEST="true").content.decode()
    assert person.id_number not in no_reason and "field-error" in no_reason
    assert not AuditEntry.objects.filter(action="registry.unmask_person").exists()
    shown = client.post(url, {"reason": "入户核查"}, HTTP_HX_REQUEST="true")
    assert person.id_number in shown.content.decode() and shown["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.get(action="registry.unmask_person")
    assert entry.reason == "入户核查" and entry.actor_label == "grid_worker_a"
    assert login("doctor_a").post(url, {"reason": "看看"}).status_code == 403


def test_exports_are_masked_and_audited(cast, login):
    from openpyxl import load_workbook

    make_household(cast.community_a, cast.grid_a1, members=3, care_tags={0: ["disabled"]})
    make_household(cast.community_b, cast.grid_b1, members=1, compound="乙苑")
    client = login("community_staff_a")
    for name, expected_rows in (("registry:households_export", 1), ("registry:persons_export", 3)):
        resp = client.get(reverse(name))
        assert resp.status_code == 200 and resp["Content-Type"].startswith("application/vnd.openxml")
        book = load_workbook(io.BytesIO(resp.content), read_only=True)
        cells = [str(c) for row in book.active.iter_rows(values_only=True) for c in row if c is not None]
        assert len(list(book.active.iter_rows())) == expected_rows + 1
        assert "乙苑" not in " ".join(cells)
        for text in cells:
            assert not FULL_ID.search(text), text
            assert not re.fullmatch(r"1[3-9]\d{9}", text), text
        assert any("*" in c for c in cells)
    actions = list(
        AuditEntry.objects.filter(action__startswith="registry.export_").values_list("action", flat=True)
    )
    assert sorted(actions) == ["registry.export_households", "registry.export_persons"]


def test_exports_keep_the_filters(cast, login):
    from openpyxl import load_workbook

    make_household(cast.community_a, cast.grid_a1, members=1, compound="甲苑")
    make_household(cast.community_a, cast.grid_a2, members=1, compound="乙苑")
    resp = login("community_staff_a").get(reverse("registry:households_export"), {"grid": cast.grid_a2.pk})
    rows = list(load_workbook(io.BytesIO(resp.content), read_only=True).active.iter_rows(values_only=True))
    assert len(rows) == 2 and "乙苑" in rows[1][1]


def test_add_household_and_resident_through_the_forms(cast, login):
    client = login("grid_worker_a")
    number = resident_id()
    resp = client.post(
        reverse("registry:household_add"),
        {"community": cast.community_a.pk, "grid": cast.grid_a1.pk, "compound": "新苑", "building": "5",
         "entrance": "1", "flat": "602", "status": "living", "head_name": "户主甲", "head_id_number": number,
         "head_phone": mobile()},
    )  # fmt: skip
    hh = Household.objects.get()
    assert resp.status_code == 302 and resp["Location"] == reverse("registry:household", args=[hh.pk])
    assert hh.head.name == "户主甲" and hh.grid_id == cast.grid_a1.pk
    bad = client.post(
        reverse("registry:resident_add", args=[hh.pk]),
        {"name": "成员", "id_type": "resident_id", "id_number": number[:17] + ("1" if number[17] != "1" else "2"), "relation": "child"},
    )  # fmt: skip
    assert bad.status_code == 200 and "check digit is wrong" in bad.content.decode()
    good = client.post(
        reverse("registry:resident_add", args=[hh.pk]),
        {"name": "成员", "id_type": "resident_id", "id_number": resident_id(), "relation": "child", "care_tags": ["infant"]},
    )  # fmt: skip
    assert good.status_code == 302
    member = Person.objects.get(name="成员")
    assert list(member.care_tags.values_list("kind", flat=True)) == ["infant"]
    assert member.grid_id == cast.grid_a1.pk


def test_grid_worker_must_pick_a_grid(cast, login):
    resp = login("grid_worker_a").post(
        reverse("registry:household_add"),
        {"community": cast.community_a.pk, "compound": "新苑", "building": "5", "entrance": "1", "flat": "602", "status": "living"},
    )  # fmt: skip
    assert resp.status_code == 200 and "field-error" in resp.content.decode()
    assert not Household.objects.exists()


def test_duplicate_document_in_the_form_is_a_field_error(cast, login):
    number = resident_id()
    make_person(cast.community_b, cast.grid_b1, name="隐藏的人", id_number=number)
    hh = make_household(cast.community_a, cast.grid_a1, members=0)
    resp = login("community_staff_a").post(
        reverse("registry:resident_add", args=[hh.pk]),
        {"name": "新人", "id_type": "resident_id", "id_number": number, "relation": "child"},
    )
    body = resp.content.decode()
    assert resp.status_code == 200 and "already on the register" in body and "隐藏的人" not in body


def test_move_out_confirms_first(cast, login):
    hh = make_household(cast.community_a, cast.grid_a1, members=2)
    r = Resident.objects.filter(household=hh).order_by("-pk").first()
    client = login("community_staff_a")
    confirm = client.get(reverse("registry:resident_move_out", args=[r.pk]))
    assert confirm.status_code == 200 and 'data-testid="confirm"' in confirm.content.decode()
    r.refresh_from_db()
    assert r.moved_out is None
    assert (
        client.post(reverse("registry:resident_move_out", args=[r.pk]), {"reason": "迁出"}).status_code == 302
    )
    r.refresh_from_db()
    assert r.moved_out is not None


def test_person_edit_and_care_tags(cast, login):
    p = make_person(cast.community_a, cast.grid_a1, phone=mobile(5))
    client = login("community_staff_a")
    resp = client.post(
        reverse("registry:person_edit", args=[p.pk]),
        {
            "name": "新名字",
            "id_type": "resident_id",
            "id_number": "",
            "phone": "",
            "notes": "备注",
            "reason": "更正",
        },
    )
    assert resp.status_code == 302
    p.refresh_from_db()
    assert p.name == "新名字" and p.phone == mobile(5) and p.notes == "备注"  # empty keeps the numbers
    resp = client.post(
        reverse("registry:person_care_tags", args=[p.pk]),
        {"care_tags": ["bedridden", "disabled"]},
        HTTP_HX_REQUEST="true",
    )
    assert resp.status_code == 200 and "<html" not in resp.content.decode()
    assert set(CareTag.objects.filter(person=p).values_list("kind", flat=True)) == {"bedridden", "disabled"}


def test_person_page_shows_residencies_and_history(cast, login):
    hh = make_household(cast.community_a, cast.grid_a1, members=1)
    p = Resident.objects.get(household=hh).person
    body = login("police_a").get(reverse("registry:person", args=[p.pk])).content.decode()
    assert hh.address in body and "registry.history" in body and p.id_masked in body
    assert p.id_number not in body


def test_search_page(cast, login):
    p = make_person(cast.community_a, cast.grid_a1, name="搜索对象")
    client = login("community_staff_a")
    body = client.get(reverse("registry:search"), {"q": p.id_number}).content.decode()
    assert (
        "搜索对象" in body and 'data-testid="search-kind"' in body and p.id_number in body
    )  # echoes the query only
    assert p.id_masked in body
    empty = client.get(reverse("registry:search"), {"q": "不存在的名字"}).content.decode()
    assert 'data-testid="empty"' in empty


def test_dashboard_cards(cast, login):
    make_household(cast.community_a, cast.grid_a1, members=2, care_tags={0: ["bedridden"]})
    make_household(cast.community_b, cast.grid_b1, members=1)
    from jiedao.registry.own_sections import registry_cards

    cards = {c.title: c.value for c in registry_cards(cast["community_staff_a"])}
    assert list(cards.values()) == [1, 2, 1]
    assert [c.value for c in registry_cards(cast["command"])] == [2, 3, 1]
    assert registry_cards(cast["inspector_a"]) == []
    body = login("command").get("/?view=dashboard").content.decode()
    assert reverse("registry:households") in body


def test_list_page_query_count_is_small(cast, login):
    for _ in range(3):
        make_household(cast.community_a, cast.grid_a1, members=2)
    client = login("community_staff_a")
    n = count_queries(lambda: client.get(reverse("registry:households"), HTTP_HX_REQUEST="true"))
    assert n <= 8, n


def test_household_history_follows_scope(cast, login):
    from jiedao.registry.actions import do_add_resident, do_move_out_resident, do_update_person

    hh = make_household(cast.community_a, cast.grid_a1, members=2, care_tags={0: ["bedridden"]})
    leaver = Resident.objects.filter(household=hh).order_by("-pk").first()
    do_move_out_resident(actor=None, resident=leaver, reason="搬到乙社区")
    elsewhere = make_household(cast.community_b, cast.grid_b1, members=0)
    do_add_resident(actor=None, household=elsewhere, person=leaver.person)
    do_update_person(actor=None, person=Person.objects.get(pk=leaver.person_id), notes="在乙社区的新备注")
    body = login("community_staff_a").get(reverse("registry:household", args=[hh.pk])).content.decode()
    assert "搬到乙社区" in body and "Care tags changed" in body and "Resident moved out" in body
    assert "在乙社区的新备注" not in body  # later history of someone now outside the area
    command = login("command").get(reverse("registry:household", args=[hh.pk])).content.decode()
    assert "在乙社区的新备注" in command
