"""Excel ledger of staff: the filtered staff list, work phones masked as on the page (core.ledger writes
it)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from jiedao.core.identity import mask_phone
from jiedao.core.ledger import Column, Ledger, write_xlsx


def staff_workbook(users: Any) -> Ledger:
    """Write `users` (with `current_assignments` prefetched) to an xlsx; return bytes and row count."""
    columns = [
        Column(_("Username"), 16), Column(_("Display name"), 16), Column(_("Work phone"), 14, text=True),
        Column(_("Roles"), 48), Column(_("Status"), 16), Column(_("Last sign-in"), 16), Column(_("Joined"), 16),
    ]  # fmt: skip
    active, deactivated = _("Active"), _("Deactivated")

    def row(user: Any) -> list[Any]:
        roles = "; ".join(f"{a.get_role_display()} · {a.unit}" for a in user.current_assignments)
        return [
            user.username, user.display_name, mask_phone(user.work_phone), roles,
            active if user.is_active else deactivated, user.last_login, user.date_joined,
        ]  # fmt: skip

    return write_xlsx(_("Staff"), columns, map(row, users))
