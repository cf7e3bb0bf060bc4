"""The first rows of an uploaded list as they will be read (document numbers and phones masked)."""

from __future__ import annotations

from dataclasses import dataclass

from jiedao.core.identity import mask_id, mask_phone
from jiedao.core.sheets import Mapping, cell_text, id_cell_text, is_blank, iter_table, sha256_of
from jiedao.screening.columns import COLUMN_SET, COLUMNS

PREVIEW_ROWS = 10
digest = sha256_of

__all__ = ["COLUMNS", "Preview", "digest", "preview"]


@dataclass
class Preview:
    mapping: Mapping
    columns: list[tuple[str, str, str]]  # (key, header in the file, field label)
    rows: list[list[str]]


def preview(filename: str, data: bytes, n: int = PREVIEW_ROWS) -> Preview:
    rows = iter_table(filename, data)
    head = [r for _i, r in zip(range(10), rows, strict=False)]
    mapping = COLUMN_SET.map(head)
    order = [c.key for c in COLUMNS if c.key in mapping.columns]
    shown: list[list[str]] = []
    if mapping.header_row:
        for row in [*head[mapping.header_row :], *(r for _i, r in zip(range(n), rows, strict=False))]:
            if is_blank(row):
                continue
            if len(shown) >= n:
                break
            out = []
            for key in order:
                value = mapping.cell(row, key)
                if key == "id_number":
                    text = id_cell_text(value)
                    text = (
                        mask_id(text)
                        if len(text) >= 15 and text.replace("X", "").isdigit()
                        else text[:4] + "…"
                    )
                elif key == "phone":
                    text = mask_phone(cell_text(value))
                else:
                    text = cell_text(value)
                out.append(text)
            shown.append(out)
    columns = [(k, mapping.columns[k][1], COLUMN_SET.by_key[k].label) for k in order]
    return Preview(mapping=mapping, columns=columns, rows=shown)
