"""Column recognition for spreadsheet imports: the fields, the many headers people give them (Chinese
and English), the words used in the relation, document-type and care-tag columns, and the mapping of a
header row with a message for every missing or misspelt column."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from jiedao.registry.choices import CareTagKind, IdType, Relation


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # the name used in messages when the file has no such column
    aliases: tuple[str, ...]
    required: bool = False


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


def _norm_header(text: object) -> str:
    t = ("" if text is None else str(text)).strip().lower()
    t = re.sub(r"[（(][^）)]*[）)]", "", t)  # "身份证号（必填）" → "身份证号"
    t = re.sub(r"[\s*＊:：_\-]", "", t)
    return t


_ALIASES: dict[str, str] = {_norm_header(a): c.key for c in COLUMNS for a in (c.label, *c.aliases)}
_IGNORED = {_norm_header(h) for h in IGNORED_HEADERS}
BY_KEY = {c.key: c for c in COLUMNS}


@dataclass
class Mapping:
    """Which spreadsheet column holds which field, found in the header row."""

    header_row: int = 0  # 1-based, as the spreadsheet shows it
    columns: dict[str, tuple[int, str]] = field(default_factory=dict)  # key → (index, header as written)
    ignored: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def header(self, key: str) -> str:
        return self.columns[key][1] if key in self.columns else BY_KEY[key].label


def map_columns(rows: list[list[Any]]) -> Mapping:
    """Find the header row (the first of the top ten rows naming at least two known columns) and map it.
    A missing required column or an unrecognised header that looks like a known one is an error that
    names it and suggests the closest known header."""
    mapping = Mapping()
    header_idx = None
    for i, row in enumerate(rows[:10]):
        if sum(1 for cell in row if _norm_header(cell) in _ALIASES) >= 2:
            header_idx = i
            break
    if header_idx is None:
        mapping.errors.append(
            _(
                "No header row: none of the first 10 rows names the columns (such as 姓名, 身份证号, 小区, 楼栋, "
                "房号 or name, ID number, compound, building, flat)."
            )
        )
        return mapping
    mapping.header_row = header_idx + 1
    suggested: set[str] = set()
    known = list(_ALIASES)
    for idx, cell in enumerate(rows[header_idx]):
        written = ("" if cell is None else str(cell)).strip()
        norm = _norm_header(written)
        if not norm:
            continue
        key = _ALIASES.get(norm)
        if key is None:
            if norm in _IGNORED:
                mapping.ignored.append(written)
                continue
            close = difflib.get_close_matches(norm, known, n=1, cutoff=0.6)
            if close and _ALIASES[close[0]] not in mapping.columns:
                target = BY_KEY[_ALIASES[close[0]]]
                best = next(a for a in (target.label, *target.aliases) if _norm_header(a) == close[0])
                mapping.errors.append(
                    _("Unrecognised column “%(written)s”: did you mean “%(best)s”? Correct the header.")
                    % {"written": written, "best": best}
                )
                suggested.add(target.key)
            else:
                mapping.ignored.append(written)
            continue
        if key in mapping.columns:
            mapping.errors.append(
                _("The columns “%(first)s” and “%(second)s” both hold %(label)s (%(key)s): keep only one.")
                % {
                    "first": mapping.columns[key][1],
                    "second": written,
                    "label": BY_KEY[key].label,
                    "key": key,
                }
            )
            continue
        mapping.columns[key] = (idx, written)
    for col in COLUMNS:
        if col.required and col.key not in mapping.columns and col.key not in suggested:
            names = "、".join((col.label, *[a for a in col.aliases if not a.isascii()][1:4]))
            mapping.errors.append(
                _("The required column “%(label)s” (%(key)s) is missing (headers that work: %(names)s).")
                % {"label": col.label, "key": col.key, "names": names}
            )
    return mapping
