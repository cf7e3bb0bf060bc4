"""Set-up helpers for control tests (unit, access matrix and browser): they call the actions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from jiedao.control import actions


def end_today(case: Any, days_ago: int = 0) -> Any:
    """Lay the case's plan out again so that its last day is today (or `days_ago` days before)."""
    length = (case.end_date - case.start_date).days
    start = timezone.localdate() - dt.timedelta(days=length + days_ago)
    return actions.do_change_measure(
        actor=None, case=case, category=case.category, basis="测试：方案前移", start=start
    )


def pass_tests(case: Any, today: dt.date | None = None) -> list[Any]:
    """Negative results for every test day of the plan up to `today` (default: the real today)."""
    today = today or timezone.localdate()
    return [
        actions.do_record_test(actor=None, case=case, test_date=d, result="negative", today=today)
        for d in actions.test_days(case)
        if d <= today
    ]
