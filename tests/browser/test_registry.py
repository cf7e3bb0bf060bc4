"""The register in the browser: the household list with HTMX filters, the household file (一户一档),
unmasking an ID with a reason, global search by exact ID, and the spreadsheet import."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from jiedao.core.ledger import Column, write_xlsx
from jiedao.core.models import AuditEntry
from jiedao.registry.models import Household, Person
from jiedao.registry.tests.factories import make_household, mobile, person_name, resident_id

from .helpers import StaysOnPage, assert_shown, htmx

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _register(cast: Any) -> dict[str, Any]:
    return {
        "a1": make_household(
            cast.community_a, cast.grid_a1, members=3, compound="南湖尚景", building="3", flat="301",
            care_tags={0: ["elderly_alone"], 2: ["infant"]},
        ),
        "a1b": make_household(cast.community_a, cast.grid_a1, members=2, compound="南湖尚景", building="3"),
        "a2": make_household(cast.community_a, cast.grid_a2, members=2, compound="滨江花园", building="8"),
        "b1": make_household(cast.community_b, cast.grid_b1, members=1, compound="乙区小区", building="1"),
    }  # fmt: skip


def _head(hh: Household) -> Person:
    return hh.residents.select_related("person").get(relation="head").person


def test_households_filter_file_unmask_and_search(web: Any, cast: Any, signed_in: Any) -> None:
    hh = _register(cast)
    page = signed_in("community_staff_a")
    web.goto("/registry/households/")
    links = page.get_by_test_id("household-link")
    expect(links).to_have_count(3)  # A's three households; B's is out of scope
    expect(page.get_by_test_id("households-table")).not_to_contain_text("乙区小区")

    stay = StaysOnPage(page)
    filters = page.get_by_test_id("filters")
    with page.expect_response(htmx(f"grid={cast.grid_a2.pk}")):
        filters.locator("select[name=grid]").select_option(str(cast.grid_a2.pk))
    expect(links).to_have_count(1)
    expect(links.first).to_contain_text("滨江花园")
    assert f"grid={cast.grid_a2.pk}" in page.url
    with page.expect_response(htmx("care_tag=any")):
        filters.locator("select[name=grid]").select_option("")
        filters.locator("select[name=care_tag]").select_option("any")
    expect(links).to_have_count(1)
    expect(links.first).to_contain_text("南湖尚景")
    stay.check()
    web.screenshot("households")

    # The household file.
    links.first.click()
    expect(page).to_have_url(web.base_url + f"/registry/households/{hh['a1'].pk}/")
    members = page.get_by_test_id("member-row")
    expect(members).to_have_count(3)
    head = _head(hh["a1"])
    head_row = members.filter(has_text=head.name)
    expect(head_row.get_by_test_id("masked-id")).to_have_text(head.id_masked)
    expect(page.locator("body")).not_to_contain_text(head.id_number)  # never the full number by default
    assert_shown(page.get_by_test_id("household-card"))
    assert_shown(page.get_by_test_id("members-card"))
    web.screenshot("household-file")

    # Unmask the head's ID: a reason is required and the full number appears in place.
    stay = StaysOnPage(page)
    with page.expect_response(htmx(f"/registry/persons/{head.pk}/unmask/")):
        head_row.get_by_test_id("unmask-open").click()
    form = head_row.get_by_test_id("unmask-form")
    expect(form).to_be_visible()
    form.get_by_test_id("unmask-submit").click()  # empty reason: the browser refuses, nothing is sent
    expect(head_row.get_by_test_id("revealed")).to_have_count(0)
    form.locator("input[name=reason]").fill("入户核实身份，需核对证件")
    with page.expect_response(htmx(f"/registry/persons/{head.pk}/unmask/", "POST")):
        form.get_by_test_id("unmask-submit").click()
    expect(head_row.get_by_test_id("revealed-id")).to_have_text(head.id_number)
    stay.check()
    assert AuditEntry.objects.filter(reason="入户核实身份，需核对证件").exists()

    # Global search from the navbar by an exact ID number of another household's member.
    other = _head(hh["a2"])
    box = page.locator("header form[role=search] input[name=q]").first
    box.fill(other.id_number)
    box.press("Enter")
    expect(page).to_have_url(web.base_url + f"/registry/search/?q={other.id_number}")
    expect(page.get_by_test_id("search-kind")).to_be_visible()
    persons = page.get_by_test_id("search-persons")
    expect(persons.get_by_test_id("person-link")).to_have_count(1)
    expect(persons).to_contain_text(other.name)
    expect(persons).to_contain_text(other.id_masked)
    expect(persons).not_to_contain_text(other.id_number)
    web.screenshot("search")

    # An exact ID of someone in community B finds nothing.
    outside = _head(hh["b1"])
    web.goto(f"/registry/search/?q={outside.id_number}")
    expect(page.get_by_test_id("empty")).to_be_visible()


HEADERS = ["姓名", "身份证号", "手机号", "小区", "楼栋", "单元", "房号", "与户主关系"]


def _rows(bad: bool) -> list[list[str]]:
    ids = [resident_id(900 + i) for i in range(4)]
    if bad:
        ids[2] = ids[2][:17] + ("0" if ids[2][17] != "0" else "1")  # a wrong check digit on row 4
    flats = [("6", "1", "101"), ("6", "1", "101"), ("6", "2", "202"), ("6", "2", "202")]
    relations = ["户主", "配偶", "户主", "子女"]
    return [
        [person_name(900 + i), ids[i], mobile(900 + i), "翠湖苑", *flats[i], relations[i]] for i in range(4)
    ]


def _xlsx(rows: list[list[str]]) -> bytes:
    # IDs as text, the way the import template asks
    return write_xlsx("居民", [Column(h, text=True) for h in HEADERS], rows).data


def _upload(web: Any, community: Any, name: str, data: bytes) -> None:
    page = web.page
    web.goto("/registry/import/")
    form = page.get_by_test_id("upload-form")
    expect(form.locator("select[name=community]")).to_have_value(str(community.pk))  # the only one offered
    form.locator("input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": data}]
    )  # fmt: skip
    page.get_by_test_id("upload").click()
    expect(page.get_by_test_id("preview")).to_be_visible()


def test_import_shows_row_errors_then_commits_the_fixed_file(web: Any, cast: Any, signed_in: Any) -> None:
    page = signed_in("community_staff_a")
    page.on("dialog", lambda dialog: dialog.accept())  # the "Import all rows now?" confirmation

    bad = _rows(bad=True)
    _upload(web, cast.community_a, "翠湖苑-有错.xlsx", _xlsx(bad))
    preview = page.get_by_test_id("preview")
    expect(preview.locator("tbody tr")).to_have_count(4)
    expect(preview).to_contain_text(bad[2][0])
    page.get_by_test_id("dry-run").click()
    assert_shown(page.get_by_test_id("check-failed"))
    errors = page.get_by_test_id("row-error")
    expect(errors).to_have_count(1)
    cells = errors.first.locator("td")
    expect(cells.nth(0)).to_have_text("4")  # spreadsheet row 4 (the header is row 1)
    expect(cells.nth(1)).to_have_text("身份证号")
    expect(cells.nth(2)).to_contain_text("校验位")
    expect(page.get_by_test_id("commit")).to_have_count(0)  # nothing to commit while a row is wrong
    web.screenshot("import-preview")
    assert not Household.objects.filter(flat__entrance__building__compound__name="翠湖苑").exists()

    _upload(web, cast.community_a, "翠湖苑.xlsx", _xlsx(_rows(bad=False)))
    page.get_by_test_id("dry-run").click()
    expect(page.get_by_test_id("check-ok")).to_be_visible()
    page.get_by_test_id("commit").click()
    expect(page.get_by_test_id("import-done")).to_be_attached()
    web.screenshot("import-done")
    assert_shown(page.get_by_test_id("import-done"))

    web.goto("/registry/households/")
    with page.expect_response(htmx("q=")):
        page.get_by_test_id("filters").locator("input[name=q]").fill("翠湖苑")
    links = page.get_by_test_id("household-link")
    expect(links).to_have_count(2)
    links.first.click()
    expect(page.get_by_test_id("member-row")).to_have_count(2)
