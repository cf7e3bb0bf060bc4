"""Health check-ins: which scheduled check-in a moment belongs to, the symptoms people tick, what counts
as abnormal, and the personal links."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiedao.core.crypto import blind_index
from jiedao.core.errors import InvalidInput

FEVER = Decimal("37.3")  # the usual threshold of 发热 at a check-in
LOWEST, HIGHEST = Decimal("34.0"), Decimal("42.5")  # outside this, a typo, not a temperature
MISSED_AFTER = dt.timedelta(hours=2)  # a check-in not in two hours after it is due is missed
SYMPTOMS = {
    "fever": gettext_lazy("Feeling feverish"),
    "cough": gettext_lazy("Cough"),
    "sore_throat": gettext_lazy("Sore throat"),
    "fatigue": gettext_lazy("Fatigue"),
    "taste_smell": gettext_lazy("Loss of taste or smell"),
    "breath": gettext_lazy("Short of breath"),
    "diarrhoea": gettext_lazy("Diarrhoea"),
}


def parse_temperature(raw: Any) -> Decimal:
    text = str(raw if raw is not None else "").strip().replace("℃", "").replace("°C", "").replace("°", "")
    try:
        value = Decimal(text).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("“%(value)s” is not a temperature: write it like 36.5.") % {"value": text[:20]},
                           field="temperature")  # fmt: skip
    if not LOWEST <= value <= HIGHEST:
        raise InvalidInput(
            _("%(value)s °C cannot be a body temperature: measure again (34.0–42.5).") % {"value": value},
            field="temperature",
        )
    return value


def clean_symptoms(raw: Any) -> list[str]:
    items = [str(s) for s in (raw or [])]
    unknown = [s for s in items if s not in SYMPTOMS]
    if unknown:
        raise InvalidInput(_("Unknown symptom: %(value)s") % {"value": unknown[0][:30]}, field="symptoms")
    return sorted(set(items))


def is_abnormal(temperature: Decimal, symptoms: list[str]) -> bool:
    return temperature >= FEVER or bool(symptoms)


def slots(case: Any) -> list[dt.datetime]:
    """Every scheduled check-in of the case's plan, in order (aware, local)."""
    tz = timezone.get_current_timezone()
    out: list[dt.datetime] = []
    for phase in case.plan.get("phases", []):
        day = dt.date.fromisoformat(phase["start"])
        end = dt.date.fromisoformat(phase["end"])
        times = [dt.time.fromisoformat(t) for t in phase.get("checkins", [])]
        while day <= end:
            out.extend(dt.datetime.combine(day, t, tzinfo=tz) for t in times)
            day += dt.timedelta(days=1)
    return out


def slot_for(case: Any, at: dt.datetime) -> dt.datetime | None:
    """The check-in `at` answers: the latest scheduled one at or before it (an early reading answers
    the day's first), or None outside the plan."""
    all_slots = slots(case)
    if not all_slots:
        return None
    earlier = [s for s in all_slots if s <= at]
    if earlier:
        if earlier[-1] == all_slots[-1] and at.date() > all_slots[-1].date():
            return None  # after the plan's last day
        return earlier[-1]
    first = all_slots[0]
    return first if at.date() == first.date() else None


def new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(24)
    return token, token_index(token)


def token_index(token: str) -> str:
    return blind_index("checkin-link", token)
