"""Column recognition for spreadsheet imports: the fields, the many headers people give them (Chinese
and English), the words used in the relation, document-type and care-tag columns, and the mapping of a
header row with a message for every missing or misspelt column."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy

from jiedao.core.sheets import Column, ColumnSet, Mapping
from jiedao.registry.choices import CareTagKind, IdType, Relation

COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", ("姓名", "名字", "居民姓名", "人员姓名", "name", "full name"), True),
    Column(
        "id_number",
        "身份证号",
        (
            "身份证号",
            "身份证号码",
            "身份证",
            "证件号码",
            "证件号",
            "公民身份号码",
            "身份证件号码",
            "id number",
            "id no",
            "id",
            "resident id",
            "document number",
        ),
        True,
    ),
    Column("id_type", "证件类型", ("证件类型", "证件种类", "id type", "document type")),
    Column(
        "phone",
        "手机号",
        (
            "手机号",
            "手机号码",
            "联系电话",
            "电话",
            "手机",
            "联系方式",
            "电话号码",
            "phone",
            "mobile",
            "phone number",
            "mobile number",
            "tel",
        ),
    ),
    Column("compound", "小区", ("小区", "小区名称", "院落", "小区院落", "compound", "estate"), True),
    Column(
        "building", "楼栋", ("楼栋", "栋", "楼栋号", "栋号", "楼号", "幢", "幢号", "building", "block"), True
    ),
    Column("entrance", "单元", ("单元", "单元号", "entrance", "unit")),
    Column(
        "flat",
        "房号",
        ("房号", "门牌号", "房间号", "室", "户室号", "房屋号", "flat", "room", "flat number", "door number"),
        True,
    ),
    Column(
        "relation",
        "与户主关系",
        ("与户主关系", "与户主的关系", "关系", "户主关系", "relation", "relationship"),
    ),
    Column("grid", "网格", ("网格", "所属网格", "网格名称", "grid")),
    Column("community", "社区", ("社区", "所属社区", "社区名称", "community")),
    Column(
        "care_tags",
        "关爱标签",
        (
            "特殊人群",
            "关爱标签",
            "关爱对象",
            "人员标签",
            "标签",
            "特殊人群类别",
            "care tags",
            "care tag",
            "tags",
        ),
    ),
    Column("notes", "备注", ("备注", "notes", "note", "remarks")),
)
# Columns people often keep that the register derives or does not need: read past them quietly.
IGNORED_HEADERS = (
    "序号", "编号", "no", "no.", "#", "性别", "出生日期", "出生年月", "年龄", "民族", "户籍地", "籍贯",
    "sex", "gender", "birth date", "age",
)  # fmt: skip

RELATION_WORDS: dict[str, str] = {
    **{w: Relation.HEAD for w in ("户主", "本人", "head", "self")},
    **{w: Relation.SPOUSE for w in ("配偶", "妻", "妻子", "夫", "丈夫", "夫妻", "spouse", "wife", "husband")},
    **{w: Relation.CHILD for w in ("子", "女", "儿子", "女儿", "子女", "长子", "次子", "长女", "次女", "child", "son", "daughter")},
    **{w: Relation.PARENT for w in ("父亲", "母亲", "父母", "父", "母", "parent", "father", "mother")},
    **{w: Relation.GRANDCHILD for w in ("孙子", "孙女", "外孙", "外孙女", "孙子女", "grandchild")},
    **{w: Relation.GRANDPARENT for w in ("祖父", "祖母", "外祖父", "外祖母", "爷爷", "奶奶", "外公", "外婆", "grandparent")},
    **{w: Relation.SIBLING for w in ("兄", "弟", "姐", "妹", "兄弟", "姐妹", "兄弟姐妹", "sibling", "brother", "sister")},
    **{w: Relation.TENANT for w in ("租户", "租客", "承租人", "tenant")},
    **{w: Relation.OTHER for w in ("其他", "其它", "亲属", "other")},
}  # fmt: skip
ID_TYPE_WORDS: dict[str, str] = {
    **{w: IdType.RESIDENT_ID for w in ("身份证", "居民身份证", "二代身份证", "resident id", "resident_id")},
    **{w: IdType.PASSPORT for w in ("护照", "passport")},
    **{w: IdType.HK_MACAO_PERMIT for w in ("港澳通行证", "港澳居民来往内地通行证", "回乡证", "hk_macao")},
    **{w: IdType.TAIWAN_PERMIT for w in ("台胞证", "台湾居民来往大陆通行证", "taiwan")},
    **{w: IdType.FOREIGN_PR for w in ("外国人永久居留身份证", "永居证", "foreign_pr")},
    **{w: IdType.OTHER for w in ("其他", "其它证件", "other")},
}  # fmt: skip
CARE_WORDS: dict[str, str] = {
    **{w: CareTagKind.ELDERLY_ALONE for w in ("独居老人", "空巢老人", "独居", "elderly_alone", "elderly living alone")},
    **{w: CareTagKind.DISABLED for w in ("残疾人", "残疾", "disabled")},
    **{w: CareTagKind.PREGNANT for w in ("孕妇", "孕产妇", "pregnant")},
    **{w: CareTagKind.REGULAR_TREATMENT for w in ("需定期治疗", "定期治疗", "透析", "血透", "regular_treatment", "dialysis")},
    **{w: CareTagKind.INFANT for w in ("婴幼儿", "婴儿", "infant")},
    **{w: CareTagKind.BEDRIDDEN for w in ("卧床", "长期卧床", "失能", "bedridden")},
}  # fmt: skip
TAG_SPLIT = re.compile(r"[、,，;；/|\s]+")


COLUMN_SET = ColumnSet(
    COLUMNS,
    IGNORED_HEADERS,
    no_header=gettext_lazy(
        "No header row: none of the first 10 rows names the columns (such as 姓名, 身份证号, 小区, 楼栋, "
        "房号 or name, ID number, compound, building, flat)."
    ),
)
BY_KEY = COLUMN_SET.by_key


def map_columns(rows: list[list[Any]]) -> Mapping:
    """Find the header row (the first of the top ten rows naming at least two known columns) and map it.
    A missing required column or an unrecognised header that looks like a known one is an error that
    names it and suggests the closest known header."""
    return COLUMN_SET.map(rows)
