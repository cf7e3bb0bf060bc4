"""Spreadsheet import: mapping, every kind of bad input, all-or-nothing commit, idempotent re-send,
the pages of the flow, and the command line."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from jiedao.core.errors import TooLarge
from jiedao.core.identity import id_check_char
from jiedao.core.models import AuditEntry
from jiedao.core.testing import count_queries
from jiedao.registry import importer
from jiedao.registry.models import CareTag, Compound, Flat, Household, ImportBatch, Person, Resident
from jiedao.registry.tests.factories import make_household, make_person, mobile, person_name, resident_id

pytestmark = pytest.mark.django_db
HEADER = [
    "序号",
    "姓名",
    "公民身份号码",
    "联系电话",
    "小区",
    "楼栋",
    "单元",
    "门牌号",
    "与户主关系",
    "网格",
    "特殊人群",
]


def row(
    n: int,
    *,
    number: str | None = None,
    flat: str = "101",
    relation: str = "户主",
    tags: str = "",
    grid: str = "",
) -> list[Any]:
    return [
        n,
        person_name(),
        number or resident_id(),
        mobile(),
        "南湖尚景",
        "3栋",
        "2单元",
        flat,
        relation,
        grid,
        tags,
    ]


def xlsx(rows: list[list[Any]], title: str | None = None) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    start = 0
    if title:
        sheet.write(0, 0, title)
        start = 1
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if v is not None and v != "":
                sheet.write(start + i, j, v)
    book.close()
    return out.getvalue()


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    return "\n".join(",".join(str(v) for v in r) for r in rows).encode(encoding)


def check(cast: Any, data: bytes, filename: str = "居民.xlsx", actor: Any = None) -> importer.ImportPlan:
    return importer.check_file(
        filename, data, community=cast.community_a, actor=actor or cast["community_staff_a"]
    )


def stage_and_commit(cast: Any, data: bytes, filename: str = "居民.xlsx") -> importer.CommitResult:
    actor = cast["community_staff_a"]
    batch = importer.stage_upload(actor=actor, community=cast.community_a, filename=filename, data=data)
    return importer.commit_batch(actor=actor, batch=batch, data=importer.load_staged(batch))


def id_ending_in_x() -> str:
    n = 1
    while True:
        first17 = f"51011619850505{n:03d}"
        if id_check_char(first17) == "X":
            return first17 + "X"
        n += 1


# ---- happy paths ---------------------------------------------------------------------------------


def test_happy_path_xlsx_groups_rows_into_households(cast):
    rows = [
        HEADER,
        row(1, relation="户主", grid="甲一网格"),
        row(2, relation="配偶", tags="独居老人、卧床", grid="甲一网格"),
        row(3, flat="102", relation="户主", grid="TA2"),
    ]
    result = stage_and_commit(cast, xlsx(rows, title="甲社区居民信息登记表"))
    assert result.ok, result.plan.messages()
    assert result.counts["persons"] == 3 and result.counts["households"] == 2 and result.counts["flats"] == 2
    assert Compound.objects.filter(name="南湖尚景", community=cast.community_a).count() == 1
    flat = Flat.objects.get(number="101")
    assert flat.address == "南湖尚景3栋2单元101号" and flat.grid_id == cast.grid_a1.pk
    hh = Household.objects.get(flat=flat)
    assert hh.head.name == rows[1][1] and Resident.objects.filter(household=hh).count() == 2
    spouse = Person.objects.get(name=rows[2][1])
    assert sorted(spouse.care_tags.values_list("kind", flat=True)) == ["bedridden", "elderly_alone"]
    assert spouse.grid_id == cast.grid_a1.pk and spouse.id_number == rows[2][2]
    assert Household.objects.get(flat__number="102").grid_id == cast.grid_a2.pk
    batch = ImportBatch.objects.get()
    assert batch.committed and batch.rows == 3
    assert AuditEntry.objects.filter(action="registry.import_households", object_id=str(batch.pk)).exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_happy_path_csv_encodings(cast, encoding):
    header = ["姓名", "身份证号", "手机号", "小区", "楼栋", "单元", "房号", "与户主关系"]
    rows = [header, row(1)[1:9], row(2, relation="子女")[1:9]]
    plan = check(cast, csv_bytes(rows, encoding), "居民.csv")
    assert plan.ok, plan.messages()
    assert plan.rows == 2 and len(plan.households) == 1 and plan.persons == 2


def test_english_headers_are_recognised(cast):
    rows = [
        ["Name", "ID number", "Mobile", "Compound", "Building", "Entrance", "Flat", "Relation"],
        row(1)[1:9],
    ]
    rows[1][7] = "head"
    plan = check(cast, csv_bytes(rows), "r.csv")
    assert plan.ok, plan.messages()


def test_adds_residents_to_the_household_already_living_at_the_flat(cast):
    hh = make_household(
        cast.community_a, cast.grid_a1, members=1, compound="南湖尚景", building="3", entrance="2", flat="101"
    )
    result = stage_and_commit(cast, xlsx([HEADER, row(1, relation="子女")]))
    assert result.ok, result.plan.messages()
    assert result.counts["households"] == 0 and result.counts["flats"] == 0
    assert Resident.objects.filter(household=hh).count() == 2


# ---- bad input -----------------------------------------------------------------------------------


def test_wrong_checksum(cast):
    good = resident_id()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    plan = check(cast, xlsx([HEADER, row(1), row(2, number=bad, relation="配偶")]))
    assert not plan.ok
    [err] = plan.errors
    assert (err.row, err.column) == (3, "公民身份号码") and "校验位" in err.message
    assert str(err).startswith("第 3 行 公民身份号码: ")


def test_date_that_does_not_exist(cast):
    first17 = "51011619900230123"
    plan = check(cast, xlsx([HEADER, row(1, number=first17 + id_check_char(first17))]))
    [err] = plan.errors
    assert err.row == 2 and "19900230" in err.message and "不是真实日期" in err.message


def test_excel_scientific_notation_in_a_number_cell_and_as_text(cast):
    numeric = row(1)
    digits = next(n for n in iter(resident_id, None) if n[-1] != "X")  # a number cell holds no X
    numeric[2] = float(digits)  # typed into a General cell: Excel keeps 15 digits
    plan = check(cast, xlsx([HEADER, numeric]))
    [err] = plan.errors
    assert err.column == "公民身份号码" and "科学计数法" in err.message and "E+17" in err.message
    text = row(1)
    text[2] = "5.10116E+17"
    plan = check(cast, csv_bytes([HEADER, text]), "r.csv")
    [err] = plan.errors
    assert "科学计数法" in err.message and "5.10116E+17" in err.message


def test_lost_final_x(cast):
    plan = check(cast, xlsx([HEADER, row(1, number=id_ending_in_x()[:17])]))
    [err] = plan.errors
    assert err.row == 2 and "末位的 X 丢失" in err.message


def test_missing_column_is_named(cast):
    header = [h for h in HEADER if h != "公民身份号码"]
    rows = [header, [v for i, v in enumerate(row(1)) if i != 2]]
    plan = check(cast, xlsx(rows))
    assert not plan.ok and not plan.errors
    assert any("缺少必填列“身份证号”" in e for e in plan.file_errors), plan.file_errors


def test_misspelt_column_suggests_the_closest(cast):
    header = ["姓名", "身分证号", "手机号", "小区", "楼栋", "单元", "房号"]
    plan = check(cast, csv_bytes([header, row(1)[1:8]]), "r.csv")
    assert not plan.ok
    [message] = plan.file_errors
    assert "身分证号" in message and "是不是“身份证号”" in message


def test_two_columns_for_one_field(cast):
    header = ["姓名", "身份证号", "手机号", "联系电话", "小区", "楼栋", "房号"]
    plan = check(
        cast, csv_bytes([header, ["张三", resident_id(), mobile(), mobile(), "苑", "1", "101"]]), "r.csv"
    )
    assert any("手机号" in e and "联系电话" in e for e in plan.file_errors)


def test_duplicate_rows_in_the_file(cast):
    number = resident_id()
    plan = check(cast, xlsx([HEADER, row(1, number=number), row(2, number=number, relation="配偶")]))
    [err] = plan.errors
    assert err.row == 3 and "与第 2 行重复" in err.message


def test_duplicates_against_the_register(cast):
    mine = make_person(cast.community_a, cast.grid_a1, name="在册甲")
    theirs = make_person(cast.community_b, cast.grid_b1, name="在册乙")
    plan = check(
        cast, xlsx([HEADER, row(1, number=mine.id_number), row(2, number=theirs.id_number, relation="配偶")])
    )
    errors = {e.row: e.message for e in plan.errors}
    assert "在册甲" in errors[2]
    assert "已在登记册中" in errors[3] and "在册乙" not in errors[3]  # not visible: not named


def test_other_row_errors_name_row_and_column(cast):
    bad_phone = row(1)
    bad_phone[3] = "1234"
    bad_tag = row(2, relation="配偶", tags="贵宾")
    bad_relation = row(3, relation="邻居")
    bad_grid = row(4, flat="102", grid="不存在网格")
    missing_name = row(5, flat="103")
    missing_name[1] = ""
    two_heads = row(6, flat="101", relation="户主")
    plan = check(cast, xlsx([HEADER, bad_phone, bad_tag, bad_relation, bad_grid, missing_name, two_heads]))
    got = {(e.row, e.column) for e in plan.errors}
    assert got == {(2, "联系电话"), (3, "特殊人群"), (4, "与户主关系"), (5, "网格"), (6, "姓名")}, (
        plan.messages()
    )


def test_two_heads_in_one_household(cast):
    plan = check(cast, xlsx([HEADER, row(1), row(2)]))
    [err] = plan.errors
    assert (err.row, err.column) == (3, "与户主关系") and "第 2 行" in err.message


def test_not_a_spreadsheet(cast):
    for name, data in (
        ("report.pdf", b"%PDF-1.4 binary"),
        ("居民.xlsx", b"this is not a zip"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00"),
    ):
        plan = check(cast, data, name)
        assert not plan.ok and plan.file_errors, name
        assert name in plan.file_errors[0]
    damaged = xlsx([HEADER, row(1)])[:300]
    plan = check(cast, damaged, "damaged.xlsx")
    assert "损坏" in plan.file_errors[0]


def test_no_header_row(cast):
    plan = check(cast, csv_bytes([["a", "b"], ["1", "2"]]), "r.csv")
    assert "找不到表头" in plan.file_errors[0]


def test_oversized_file(cast, settings):
    settings.IMPORT_MAX_BYTES = 1000
    with pytest.raises(TooLarge) as exc:
        check(cast, b"x" * 1001, "big.csv")
    assert exc.value.status == 413 and "1000 B" in exc.value.message


def test_oversized_upload_page_says_so(cast, login, settings):
    settings.IMPORT_MAX_BYTES = 100
    resp = login("community_staff_a").post(
        reverse("registry:import"),
        {"community": cast.community_a.pk, "file": SimpleUploadedFile("big.csv", b"x" * 500)},
    )
    assert resp.status_code == 413 and "文件过大：500 B，上限 100 B" in resp.content.decode()
    assert not ImportBatch.objects.exists()


# ---- all or nothing, idempotency, batching --------------------------------------------------------


def test_an_error_in_the_last_row_writes_nothing(cast):
    rows = [HEADER] + [row(i, flat=str(100 + i)) for i in range(1, 6)]
    rows.append(row(6, flat="106", number="5.10116E+17"))
    before = (
        Person.objects.count(),
        Household.objects.count(),
        Flat.objects.count(),
        AuditEntry.objects.count(),
    )
    result = stage_and_commit(cast, xlsx(rows))
    assert not result.ok and [e.row for e in result.plan.errors] == [7]
    after = (Person.objects.count(), Household.objects.count(), Flat.objects.count())
    assert after == before[:3]
    assert not ImportBatch.objects.filter(committed=True).exists()


def test_resending_the_same_file_changes_nothing(cast):
    data = xlsx([HEADER, row(1), row(2, relation="配偶")])
    first = stage_and_commit(cast, data)
    assert first.ok and first.previous is None
    counts = (Person.objects.count(), Household.objects.count(), Resident.objects.count())
    again = stage_and_commit(cast, data)
    assert again.previous is not None and again.previous.pk == ImportBatch.objects.get(committed=True).pk
    assert (Person.objects.count(), Household.objects.count(), Resident.objects.count()) == counts
    assert ImportBatch.objects.filter(committed=True).count() == 1


def test_commit_does_not_query_per_row(cast):
    def commit(n: int, flat_base: int) -> int:
        rows = [HEADER] + [row(i, flat=str(flat_base + i), tags="残疾人") for i in range(n)]
        data = xlsx(rows)
        holder: dict[str, Any] = {}

        def run() -> None:
            holder["r"] = stage_and_commit(cast, data)

        queries = count_queries(run)
        assert holder["r"].ok, holder["r"].plan.messages()[:3]
        return queries

    small = commit(10, 1000)
    large = commit(200, 5000)
    # Inserts go in batches (SQLite caps the parameters of one statement): far fewer than one per row.
    assert large - small < (200 - 10) / 20, (small, large)


# ---- pages ---------------------------------------------------------------------------------------


def test_upload_preview_dry_run_commit(cast, login):
    client = login("community_staff_a")
    data = xlsx([HEADER, row(1), row(2, relation="配偶", tags="孕妇")])
    resp = client.post(
        reverse("registry:import"),
        {"community": cast.community_a.pk, "file": SimpleUploadedFile("居民.xlsx", data)},
    )
    batch = ImportBatch.objects.get()
    assert resp.status_code == 302 and resp["Location"] == reverse("registry:import_batch", args=[batch.pk])
    preview = client.get(resp["Location"]).content.decode()
    assert "公民身份号码" in preview and "门牌号" in preview and "序号" in preview  # mapped and ignored
    assert "5101**********" in preview and str(row) not in preview
    assert Person.objects.count() == 0
    checked = client.post(reverse("registry:import_check", args=[batch.pk])).content.decode()
    assert 'data-testid="check-ok"' in checked and 'data-testid="commit"' in checked
    assert Person.objects.count() == 0
    done = client.post(reverse("registry:import_commit", args=[batch.pk]))
    assert done.status_code == 302 and Person.objects.count() == 2
    assert CareTag.objects.filter(kind="pregnant").count() == 1
    page = client.get(done["Location"]).content.decode()
    assert 'data-testid="import-done"' in page
    again = client.post(
        reverse("registry:import"),
        {"community": cast.community_a.pk, "file": SimpleUploadedFile("copy.xlsx", data)},
    )
    assert again.status_code == 200 and 'data-testid="already-imported"' in again.content.decode()
    assert ImportBatch.objects.count() == 1 and Person.objects.count() == 2


def test_dry_run_page_lists_errors_by_row_and_column(cast, login):
    client = login("community_staff_a")
    data = xlsx([HEADER, row(1), row(2, number="5.10116E+17", relation="配偶")])
    client.post(
        reverse("registry:import"),
        {"community": cast.community_a.pk, "file": SimpleUploadedFile("r.xlsx", data)},
    )
    batch = ImportBatch.objects.get()
    body = client.post(reverse("registry:import_check", args=[batch.pk])).content.decode()
    assert 'data-testid="row-error"' in body and "科学计数法" in body and 'data-testid="commit"' not in body
    failed = client.post(reverse("registry:import_commit", args=[batch.pk])).content.decode()
    assert 'data-testid="check-failed"' in failed and Person.objects.count() == 0


def test_upload_of_a_non_spreadsheet_is_a_form_error(cast, login):
    resp = login("community_staff_a").post(
        reverse("registry:import"),
        {"community": cast.community_a.pk, "file": SimpleUploadedFile("a.docx", b"PK\x03\x04junk")},
    )
    assert resp.status_code == 200 and "a.docx" in resp.content.decode()
    assert not ImportBatch.objects.exists()


def test_template_download_has_the_headers(cast, login):
    from openpyxl import load_workbook

    resp = login("command").get(reverse("registry:import_template"))
    headers = next(load_workbook(io.BytesIO(resp.content), read_only=True).active.iter_rows(values_only=True))
    plan_rows = importer.map_columns([list(headers)])
    assert not plan_rows.errors and {"name", "id_number", "compound", "building", "flat"} <= set(
        plan_rows.columns
    )


# ---- command line --------------------------------------------------------------------------------


def test_cli_dry_run_then_commit(cast, tmp_path):
    path = tmp_path / "居民.xlsx"
    path.write_bytes(xlsx([HEADER, row(1), row(2, relation="配偶")]))
    out = io.StringIO()
    assert (
        importer.import_file_cli(str(path), community_code=cast.community_a.code, commit=False, out=out) == 0
    )
    assert Person.objects.count() == 0 and "检查通过 — 2 行：2 人，1 户（新建 1）" in out.getvalue()
    assert (
        importer.import_file_cli(str(path), community_code=cast.community_a.code, commit=True, out=out) == 0
    )
    assert Person.objects.count() == 2
    out = io.StringIO()
    assert (
        importer.import_file_cli(str(path), community_code=cast.community_a.code, commit=True, out=out) == 0
    )
    assert "未做任何修改" in out.getvalue() and Person.objects.count() == 2


def test_cli_reports_errors_and_writes_nothing(cast, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([HEADER, row(1, number="5.10116E+17")]))
    out = io.StringIO()
    assert (
        importer.import_file_cli(str(path), community_code=cast.community_a.code, commit=True, out=out) == 1
    )
    assert "第 2 行 公民身份号码" in out.getvalue() and Person.objects.count() == 0
    assert importer.import_file_cli(str(path), community_code="NOPE", out=out) == 2
