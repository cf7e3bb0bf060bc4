"""The demo's tracing story (issue 7): presence records in the store and one finished trace of the
positive case with close, secondary and companion contacts, visitors known from the check-in page,
and nothing pushed yet. One build (5,000 residents) serves the module."""

from __future__ import annotations

from typing import Any

import pytest

from jiedao.control.models import CaseTest
from jiedao.demo.tracing import summary_lines
from jiedao.places.models import VenueCheckin
from jiedao.tracing.choices import RunStatus
from jiedao.tracing.models import TraceRun

pytestmark = pytest.mark.django_db


def test_one_finished_trace_of_the_positive_case(demo: dict[str, Any]) -> None:
    run = TraceRun.objects.get()
    positive = CaseTest.objects.get(result="positive")
    assert run.status == RunStatus.DONE and run.case == positive.case
    assert run.pushed_at is None and not run.pushed_lists.exists()
    counts = demo["counts"]
    assert counts["trace_close_contact"] == run.counts["close_contact"] >= 3 * 4 + 3  # planted + visitors
    assert run.counts["secondary_contact"] >= 3 * 2 and run.counts["companion"] >= 3
    # the visitors' check-ins were flushed into the store by the run and found as close contacts
    visitors = set(VenueCheckin.objects.values_list("person_key", flat=True))
    assert len(visitors) == 3 and not VenueCheckin.objects.filter(flushed_at__isnull=True).exists()
    assert visitors <= set(
        run.contacts.filter(relation="close_contact").values_list("contact_key", flat=True)
    )
    assert (
        run.contacts.filter(person__isnull=False).exists()
        and run.contacts.filter(place__isnull=False).exists()
    )
    assert counts["presence_records"] > counts["presence_background"] > 0
    assert "trace" in summary_lines(counts)[0]
