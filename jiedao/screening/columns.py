"""The columns of a pushed list and the many headers city platforms give them."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from jiedao.core.sheets import Column, ColumnSet
from jiedao.registry.import_columns import BY_KEY

# Who the person is: the same headers as the register's own import.
_REGISTER = BY_KEY

COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", (*_REGISTER["name"].aliases, "当事人姓名"), True),
    Column("id_number", "身份证号", _REGISTER["id_number"].aliases),
    _REGISTER["id_type"],
    _REGISTER["phone"],
    Column(
        "origin",
        "来源地",
        (
            "来源地",
            "来自",
            "出发地",
            "旅居地",
            "途经地",
            "风险地区",
            "来源地区",
            "涉疫地区",
            "origin",
            "from",
        ),
    ),
    Column(
        "arrived_at",
        "抵达时间",
        (
            "抵达时间",
            "到达时间",
            "返回时间",
            "抵蓉时间",
            "入境时间",
            "来返时间",
            "抵达日期",
            "arrived",
            "arrived at",
        ),
    ),
    Column(
        "exposed_at",
        "末次暴露时间",
        (
            "末次暴露时间",
            "末次接触时间",
            "最后接触时间",
            "接触时间",
            "暴露时间",
            "last exposure",
            "exposed at",
        ),
    ),
    Column(
        "address",
        "现住址",
        (
            "现住址",
            "现居住地址",
            "居住地址",
            "现居地址",
            "住址",
            "地址",
            "详细地址",
            "现住地址",
            "address",
            "current address",
        ),
    ),
    Column(
        "category",
        "风险类别",
        ("风险类别", "人员类别", "类别", "管控类别", "人员类型", "风险等级", "category", "risk category"),
    ),
    Column("note", "备注", ("备注", "情况说明", "notes", "note", "remarks")),
)
IGNORED_HEADERS = (
    "序号", "编号", "no", "no.", "#", "性别", "年龄", "民族", "户籍地", "籍贯", "推送时间", "推送单位",
    "sex", "gender", "age",
)  # fmt: skip

COLUMN_SET = ColumnSet(
    COLUMNS,
    IGNORED_HEADERS,
    no_header=gettext_lazy(
        "No header row: none of the first 10 rows names the columns (such as 姓名, 身份证号, 手机号, 现住址, "
        "风险类别 or name, ID number, phone, address, category)."
    ),
)
