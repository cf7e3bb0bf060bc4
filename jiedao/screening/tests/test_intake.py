"""Receiving a pushed list: every kind of bad input gets a message naming its row and column and writes
nothing; a re-sent list changes nothing; a dry run predicts the commit; a long list streams in chunks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from jiedao.core.errors import InvalidInput, TooLarge
from jiedao.core.identity import id_check_char
from jiedao.core.models import AuditEntry
from jiedao.registry.models import Person
from jiedao.registry.tests.factories import make_household
from jiedao.screening import actions, matching
from jiedao.screening.intake import parse_when
from jiedao.screening.models import KeyPerson, PushedEntry, PushedList
from jiedao.screening.tests.helpers import HEADER, meta, phone_no, receive, rid, xlsx
from jiedao.work.models import WorkItem

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


_n = iter(range(1, 10**6))


def row(
    name: str | None = None, *, id_number: str | None = None, phone: str | None = None, **kw: Any
) -> list[Any]:
    """One pushed-list row under HEADER: 序号, 姓名, 身份证号, 手机号, 来源地, 抵达时间, 现住址, 风险类别."""
    n = next(_n)
    return [
        n,
        name or f"推送{n}号",
        rid(700_000 + n) if id_number is None else id_number,
        phone_no(70_000_000 + n) if phone is None else phone,
        kw.get("origin", "上海市浦东新区"),
        kw.get("arrived", "2022-07-01 10:00"),
        kw.get("address", "某地某路1号"),
        kw.get("category", "密接"),
    ]


def id_ending_in_x() -> str:
    for n in range(1000):
        first17 = f"51011619850505{n:03d}"
        if id_check_char(first17) == "X":
            return first17 + "X"
    raise AssertionError("no ID ending in X")  # pragma: no cover


def snapshot() -> tuple[int, ...]:
    return (
        Person.objects.count(),
        KeyPerson.objects.count(),
        PushedEntry.objects.count(),
        WorkItem.objects.count(),
        AuditEntry.objects.exclude(action="screening.stage_list").count(),
        PushedList.objects.filter(committed=True).count(),
    )


def refused(cast: Any, rows: list[list[Any]], **kw: Any) -> actions.ReceiveResult:
    """Receive a list that must be refused, and prove it wrote nothing."""
    data = kw.pop("data", None) or xlsx(rows)
    command = cast["command"]
    plist = actions.do_stage_list(
        actor=command, meta=meta(), filename=kw.pop("filename", "名单.xlsx"), data=data
    )
    before = snapshot()
    result = actions.do_receive_list(actor=command, plist=plist, data=data)
    assert not result.ok and result.previous is None
    assert snapshot() == before
    plist.refresh_from_db()
    assert not plist.committed and plist.rows == 0
    return result


def one_error(result: actions.ReceiveResult) -> Any:
    assert not result.report.file_errors, result.report.file_errors
    assert len(result.report.errors) == 1, result.report.messages()
    return result.report.errors[0]


# ---- bad rows: row and column named, nothing written --------------------------------------------


def test_wrong_checksum(cast):
    good = rid(4242)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    err = one_error(refused(cast, [HEADER, row(), row(id_number=bad)]))
    assert (err.row, err.column) == (3, "身份证号")
    assert "check digit" in err.message and good[17] in err.message
    assert str(err).startswith("Row 3, 身份证号: ")


def test_excel_number_cell_is_named_as_mangled(cast):
    mangled = row()
    mangled[2] = 510116199001011234  # xlsxwriter writes an int as an Excel number, as Excel would keep it
    err = one_error(refused(cast, [HEADER, row(), mangled]))
    assert (err.row, err.column) == (3, "身份证号")
    assert "scientific notation" in err.message and "E+17" in err.message


def test_excel_scientific_text_is_named_as_mangled(cast):
    err = one_error(refused(cast, [HEADER, row(id_number="5.10116E+17")]))
    assert (err.row, err.column) == (2, "身份证号")
    assert "5.10116E+17" in err.message and "scientific notation" in err.message


def test_lost_final_x(cast):
    err = one_error(refused(cast, [HEADER, row(id_number=id_ending_in_x()[:17])]))
    assert (err.row, err.column) == (2, "身份证号") and "final X is missing" in err.message


def test_missing_required_column(cast):
    header = [h for h in HEADER if h != "姓名"]
    result = refused(cast, [header, [v for i, v in enumerate(row()) if i != 1]])
    assert not result.report.errors
    assert any("“姓名” (name) is missing" in m for m in result.report.file_errors), result.report.file_errors


def test_misspelt_header_suggests_the_right_one(cast):
    header = ["姓名" if h == "姓名" else ("身份证吗" if h == "身份证号" else h) for h in HEADER]
    result = refused(cast, [header, row()])
    [message] = result.report.file_errors
    assert "“身份证吗”" in message and "did you mean" in message
    suggested = message.split("did you mean “", 1)[1].split("”", 1)[0]
    assert suggested in ("身份证号", "身份证", "身份证号码")


def test_no_header_row(cast):
    result = refused(cast, [row(), row()])
    [message] = result.report.file_errors
    assert message.startswith("No header row")


def test_same_person_twice_in_one_list(cast):
    number = rid(4343)
    err = one_error(
        refused(cast, [HEADER, row("张三", id_number=number), row(), row("张三", id_number=number)])
    )
    assert (err.row, err.column) == (4, "身份证号") and "Duplicates row 2" in err.message


def test_same_person_with_and_without_a_document(cast):
    number, phone = rid(4545), phone_no(4545)
    result = refused(
        cast, [HEADER, row("张三", id_number=number, phone=phone), row("张三", id_number="", phone=phone)]
    )
    err = one_error(result)
    assert (err.row, err.column) == (3, "手机号") and "Duplicates row 2" in err.message


def test_two_documents_on_one_phone_are_two_people(cast):
    phone = phone_no(4646)
    rows = [
        HEADER,
        row("王双", id_number=rid(4646), phone=phone),
        row("王双", id_number=rid(4647), phone=phone),
    ]
    _plist, result = receive(cast["command"], xlsx(rows))
    assert result.ok, result.report.messages()
    assert KeyPerson.objects.count() == 2


def test_one_id_under_two_names(cast):
    number = rid(4444)
    err = one_error(refused(cast, [HEADER, row("张三", id_number=number), row("李四", id_number=number)]))
    assert (err.row, err.column) == (3, "身份证号")
    assert "Row 2" in err.message and "张三" in err.message and "two names" in err.message


def test_unknown_category(cast):
    err = one_error(refused(cast, [HEADER, row(), row(category="橙码")]))
    assert (err.row, err.column) == (3, "风险类别")
    assert "橙码" in err.message and "密切接触者" in err.message  # lists what the protocol knows


def test_row_with_neither_id_nor_phone(cast):
    err = one_error(refused(cast, [HEADER, row(id_number="", phone="")]))
    assert (err.row, err.column) == (2, "身份证号") and "Neither a document number nor a phone" in err.message


def test_unparseable_arrival(cast):
    err = one_error(refused(cast, [HEADER, row(arrived="上周三下午")]))
    assert (err.row, err.column) == (2, "抵达时间") and "上周三下午" in err.message


def test_every_bad_row_is_listed_not_only_the_first(cast):
    result = refused(cast, [HEADER, row(category="橙码"), row(), row(id_number="123"), row(arrived="昨天")])
    assert [(e.row, e.column) for e in result.report.errors] == [
        (2, "风险类别"),
        (4, "身份证号"),
        (5, "抵达时间"),
    ]


def test_a_bad_row_after_written_chunks_rolls_everything_back(cast, monkeypatch):
    """Chunks before the bad row were matched, routed and written; the whole list is rolled back."""
    monkeypatch.setattr(actions, "CHUNK", 2)
    hh = make_household(cast.community_a, cast.grid_a1, members=2, compound="回滚小区")
    residents = list(hh.residents.select_related("person"))
    rows = [HEADER]
    for r in residents:
        rows.append(row(r.person.name, id_number=r.person.id_number))
    rows += [row() for _ in range(5)]
    rows.append(row(id_number="5.10116E+17"))
    err = one_error(refused(cast, rows))
    assert err.row == len(rows)
    assert not KeyPerson.objects.exists() and not WorkItem.objects.filter(kind="screening.verify").exists()


def test_empty_sheet(cast):
    result = refused(cast, [])
    assert result.report.file_errors == ["The sheet has no data rows."] and not result.report.errors


def test_header_without_rows(cast):
    result = refused(cast, [HEADER])
    assert result.report.file_errors == ["The sheet has no data rows."]


def test_not_a_spreadsheet_is_refused_before_anything_is_kept(cast):
    before = (PushedList.objects.count(), AuditEntry.objects.count())
    with pytest.raises(InvalidInput) as exc:
        actions.do_stage_list(
            actor=cast["command"], meta=meta(), filename="名单.xlsx", data=b"%PDF-1.4 not a sheet"
        )
    assert exc.value.field == "file" and "名单.xlsx" in exc.value.message
    with pytest.raises(InvalidInput):
        actions.do_stage_list(actor=cast["command"], meta=meta(), filename="名单.pdf", data=b"%PDF-1.4")
    assert (PushedList.objects.count(), AuditEntry.objects.count()) == before


def test_oversized_file(cast, settings):
    data = xlsx([HEADER, row(), row()])
    settings.IMPORT_MAX_BYTES = len(data) - 1
    before = (PushedList.objects.count(), AuditEntry.objects.count())
    with pytest.raises(TooLarge):
        actions.do_stage_list(actor=cast["command"], meta=meta(), filename="名单.xlsx", data=data)
    assert (PushedList.objects.count(), AuditEntry.objects.count()) == before


def test_only_the_command_centre_receives_lists(cast):
    from jiedao.core.errors import Forbidden

    data = xlsx([HEADER, row()])
    for key in ("community_staff_a", "grid_worker_a", "auditor"):
        with pytest.raises(Forbidden):
            actions.do_stage_list(actor=cast[key], meta=meta(), filename="名单.xlsx", data=data)
    plist = actions.do_stage_list(actor=cast["command"], meta=meta(), filename="名单.xlsx", data=data)
    with pytest.raises(Forbidden):
        actions.do_receive_list(actor=cast["community_staff_a"], plist=plist, data=data)


def test_list_meta_is_checked(cast):
    with pytest.raises(InvalidInput) as exc:
        meta(category="橙码")
    assert exc.value.field == "category"
    with pytest.raises(InvalidInput) as exc:
        meta(source="purple")
    assert exc.value.field == "source"
    with pytest.raises(InvalidInput) as exc:
        meta(title=" ")
    assert exc.value.field == "title"
    with pytest.raises(InvalidInput) as exc:
        meta(received_at=timezone.now() + dt.timedelta(days=1))
    assert exc.value.field == "received_at"
    assert meta(category="密接").category == "close_contact"
    assert meta(source="red_code").category == "red_code"  # the source's category by default


def test_parse_when():
    assert parse_when("") is None and parse_when(None) is None
    assert timezone.localtime(parse_when("2022年7月1日 14:30")).replace(tzinfo=None) == dt.datetime(
        2022, 7, 1, 14, 30
    )
    assert timezone.localtime(parse_when("2022/07/01")).date() == dt.date(2022, 7, 1)
    assert timezone.localtime(parse_when(dt.date(2022, 7, 1))).date() == dt.date(2022, 7, 1)
    with pytest.raises(InvalidInput):
        parse_when("2022-02-30")
    with pytest.raises(InvalidInput):
        parse_when("1999-01-01")  # before any pushed list
    with pytest.raises(InvalidInput):
        parse_when((timezone.localdate() + dt.timedelta(days=5)).isoformat())


# ---- good lists ----------------------------------------------------------------------------------


def test_gbk_csv_is_received(cast):
    rows = [HEADER, row("王芳", category="次密接"), row("李娜", category="时空伴随者")]
    data = "\n".join(",".join(str(v) for v in r) for r in rows).encode("gbk")
    _plist, result = receive(cast["command"], data, filename="名单.csv")
    assert result.ok, result.report.messages()
    names = set(PushedEntry.objects.values_list("name", flat=True))
    assert names == {"王芳", "李娜"}
    assert set(KeyPerson.objects.values_list("category", flat=True)) == {"secondary_contact", "companion"}


def test_default_category_of_the_list_fills_empty_cells(cast):
    rows = [HEADER, row(category=""), row(category="")]
    _plist, result = receive(cast["command"], xlsx(rows), source="red_code")
    assert result.ok, result.report.messages()
    assert set(KeyPerson.objects.values_list("category", flat=True)) == {"red_code"}


def test_title_rows_above_the_header_keep_row_numbers(cast):
    data = xlsx([["2022年7月2日密接人员协查名单"], [], HEADER, row(), row(id_number="123")])
    result = refused(cast, [], data=data)
    [err] = result.report.errors
    assert err.row == 5


# ---- idempotency ---------------------------------------------------------------------------------


def test_the_same_file_again_changes_nothing(cast):
    data = xlsx([HEADER, row(), row(), row()])
    first_list, first = receive(cast["command"], data)
    assert first.ok and first.previous is None and first.report.counts["received"] == 3
    before = snapshot()
    second_list, again = receive(cast["command"], data)
    assert again.ok and again.previous is not None and again.previous.pk == first_list.pk
    assert again.report.counts == first.report.counts
    assert snapshot() == before
    second_list.refresh_from_db()
    assert not second_list.committed


def test_dry_run_writes_nothing_and_predicts_the_commit(cast):
    hh = make_household(cast.community_a, cast.grid_a1, members=2, compound="预演小区")
    residents = [r.person for r in hh.residents.select_related("person")]
    rows = [HEADER, row(residents[0].name, id_number=residents[0].id_number)]
    rows += [
        row(address="预演小区2栋"),
        row(),
        row(residents[1].name, id_number="", phone=residents[1].phone),
    ]
    data = xlsx(rows)
    plist = actions.do_stage_list(actor=cast["command"], meta=meta(), filename="名单.xlsx", data=data)
    before = snapshot()
    dry = actions.do_receive_list(actor=cast["command"], plist=plist, data=data, dry_run=True)
    assert dry.ok, dry.report.messages()
    assert snapshot() == before
    plist.refresh_from_db()
    assert not plist.committed
    commit = actions.do_receive_list(actor=cast["command"], plist=plist, data=data)
    assert commit.ok
    assert commit.report.counts == dry.report.counts
    counts = commit.report.counts
    assert (counts["received"], counts["matched_id"], counts["matched_phone"], counts["new_persons"]) == (
        4,
        1,
        1,
        2,
    )
    assert counts["work_items"] == 3 and counts["routed_none"] == 1
    plist.refresh_from_db()
    assert plist.committed and plist.rows == 4 and plist.counts == counts
    assert PushedEntry.objects.filter(pushed_list=plist).count() == 4


# ---- streaming -----------------------------------------------------------------------------------


def _big_list(n: int, start: int, residents: list[Person]) -> bytes:
    rows: list[list[Any]] = [HEADER]
    for p in residents:  # a few on the register, routed by household, with work items
        rows.append([0, p.name, p.id_number, "", "上海", "2022-07-01", "", "密接"])
    for i in range(n - len(residents)):
        k = start + i
        rows.append([i, f"名单{k}", rid(k), phone_no(k), "上海", "2022-07-01", "某路", "密接"])
    return xlsx(rows)


def _receive_counting(cast: Any, data: bytes) -> tuple[actions.ReceiveResult, int, int]:
    """The result, the number of INSERT statements and the number of other queries."""
    plist = actions.do_stage_list(actor=cast["command"], meta=meta(), filename="名单.xlsx", data=data)
    with CaptureQueriesContext(connection) as ctx:
        result = actions.do_receive_list(actor=cast["command"], plist=plist, data=data)
    inserts = sum(1 for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("INSERT"))
    return result, inserts, len(ctx.captured_queries) - inserts


def test_a_long_list_streams_in_chunks_without_a_query_per_row(cast):
    assert 1000 < 2 * matching.CHUNK < 2500 <= 3 * matching.CHUNK  # 2 chunks, then 3
    homes = [make_household(cast.community_a, cast.grid_a1, members=2) for _ in range(3)]
    people = [r.person for hh in homes for r in hh.residents.select_related("person")]
    small, small_inserts, small_other = _receive_counting(cast, _big_list(1000, 100_000, people[:3]))
    large, large_inserts, large_other = _receive_counting(cast, _big_list(2500, 200_000, people[3:]))
    assert small.ok and large.ok, (small.report.messages()[:3], large.report.messages()[:3])
    assert large.report.counts["received"] == 2500 and large.report.rows == 2500
    assert PushedEntry.objects.count() == 3500 and KeyPerson.objects.count() == 3500
    assert large.report.counts["work_items"] == 3 and large.report.counts["new_persons"] == 2497
    # One more chunk costs a fixed handful of lookups, not one per row ...
    assert large_other - small_other <= 15, (small_other, large_other)
    # ... and inserts go in batches: SQLite caps one statement at 999 parameters (a few dozen rows);
    # PostgreSQL takes a batch of 1000 rows in one.
    assert large_inserts - small_inserts < (2500 - 1000) / 10, (small_inserts, large_inserts)
