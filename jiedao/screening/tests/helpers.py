"""Test helpers: pushed-list spreadsheets and a one-call receive."""

from __future__ import annotations

import io
from typing import Any

from jiedao.registry.tests.factories import resident_id
from jiedao.screening import actions

HEADER = ["序号", "姓名", "身份证号", "手机号", "来源地", "抵达时间", "现住址", "风险类别"]


def xlsx(rows: list[list[Any]]) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if v is not None and v != "":
                sheet.write(i, j, v)
    book.close()
    return out.getvalue()


def csv_bytes(rows: list[list[Any]]) -> bytes:
    return "\n".join(",".join(str(v) for v in r) for r in rows).encode("utf-8")


def meta(
    source: str = "close_contact", category: str = "", title: str = "密接名单", **kw: Any
) -> actions.ListMeta:
    return actions.check_list_meta(
        title=title, issuer="市疫情防控指挥部", source=source, category=category, **kw
    )


def receive(
    actor: Any, data: bytes, *, filename: str = "名单.xlsx", dry_run: bool = False, **meta_kw: Any
) -> tuple[Any, actions.ReceiveResult]:
    plist = actions.do_stage_list(actor=actor, meta=meta(**meta_kw), filename=filename, data=data)
    return plist, actions.do_receive_list(actor=actor, plist=plist, data=data, dry_run=dry_run)


def rid(n: int, **kw: Any) -> str:
    """A valid resident ID of another region than the register factories' (510116): never theirs."""
    return resident_id(n, region="110105", **kw)


def phone_no(n: int) -> str:
    """A mobile number outside the factories' 139 range."""
    return f"137{n % 10**8:08d}"
