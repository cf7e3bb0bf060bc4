"""Tracing in a real browser: the command centre starts a trace from a positive case, watches its
progress until the page shows the contacts by place and time, filters them, and pushes them to
screening, where the pushed list names the trace run as its basis."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from jiedao.screening.models import KeyPerson, PushedList
from jiedao.tracing import store
from jiedao.tracing.actions import runs
from jiedao.tracing.models import TraceRun
from jiedao.tracing.tests.helpers import positive_case, presence_scene

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_trace_a_positive_case_and_push_the_contacts(
    web: Any, cast: Any, signed_in: Any, monkeypatch: Any
) -> None:
    scene = presence_scene(store.default_root(), positive_case(cast), cast)
    # hold the job back, as a busy worker would, to watch the progress; the test thread runs it below
    monkeypatch.setattr(runs, "_enqueue", lambda run_id: None)
    page = signed_in("command")

    web.goto("/tracing/")
    row = page.locator("[data-testid=positive-case]", has_text=scene.case.person.name)
    expect(row).to_have_count(1)
    expect(page.locator("[data-testid=empty]")).to_be_visible()  # no run yet
    web.screenshot("tracing-runs-empty")
    row.locator("[data-testid=trace-case]").click()

    form = page.locator("[data-testid=start-form]")
    assert form.locator("input[name=onset]").input_value()  # the positive sample's time
    expect(form.locator("[data-testid=f-companions]")).to_be_checked()
    web.screenshot("tracing-start")
    form.locator("[data-testid=start]").click()

    expect(page.locator("[data-testid=progress]")).to_be_visible()
    web.screenshot("tracing-progress")
    run = TraceRun.objects.get()
    runs.do_run_trace(run.pk)
    # the page polls, sees the run finished and shows the contacts without anyone reloading
    expect(page.locator("[data-testid=contact-row]")).to_have_count(5, timeout=15_000)
    expect(page.locator("[data-testid=count-close]")).to_have_text("4")
    expect(page.locator("[data-testid=count-secondary]")).to_have_text("1")
    expect(page.locator("[data-testid=place-group]", has_text=scene.venue.name)).to_have_count(1)
    expect(page.locator("[data-testid=contact-row]", has_text="访客甲")).to_contain_text(
        "1101"
    )  # by check-in
    expect(page.locator("[data-testid=places-chart] svg")).to_be_visible()
    web.screenshot("tracing-run")

    page.locator("select[name=relation]").select_option("secondary_contact")
    expect(page.locator("[data-testid=contact-row]")).to_have_count(1)
    expect(page.locator("[data-testid=contact-row]")).to_contain_text(scene.secondary[0].name)
    page.locator("select[name=relation]").select_option("")
    expect(page.locator("[data-testid=contact-row]")).to_have_count(5)

    page.locator("[data-testid=push]").click()
    expect(page.locator("[data-testid=push-total]")).to_have_text("4")
    expect(page.locator("[data-testid=unidentified]")).to_be_visible()  # the key known only upstream
    web.screenshot("tracing-push")
    page.locator("[data-testid=confirm-push]").click()
    lists = page.locator("[data-testid=pushed-lists] a")
    expect(lists).to_have_count(2)
    assert KeyPerson.objects.filter(person__in=scene.close).count() == 2
    plist = PushedList.objects.get(source="close_contact", basis_url=run.get_absolute_url())
    page.locator(f"[data-testid=pushed-lists] a[href='{plist.get_absolute_url()}']").click()
    basis = page.locator("[data-testid=list-basis]")
    expect(basis).to_be_visible()
    basis.click()
    expect(page).to_have_url(f"{web.base_url}{run.get_absolute_url()}")

    web.goto("/tracing/")
    expect(page.locator("[data-testid=run-row]")).to_contain_text(scene.case.person.name)
    web.screenshot("tracing-runs")
    web.goto(scene.case.get_absolute_url())
    expect(page.locator("[data-testid=trace-card] [data-testid=trace-run-link]")).to_have_count(1)
    page.locator("[data-testid=trace-card]").scroll_into_view_if_needed()
    web.screenshot("tracing-case-card")
