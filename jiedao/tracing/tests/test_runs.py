"""Trace runs: started from a positive case, run once by the worker over the presence store (with the
venue check-ins flushed in first), contacts saved with the register's persons, pushed to screening as
pushed lists whose basis is the run, exactly once; and the pages."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from jiedao.core.errors import Conflict, Forbidden, InvalidInput
from jiedao.core.testing import assert_no_per_row_queries
from jiedao.screening.models import KeyPerson, PushedEntry, PushedList
from jiedao.tracing.actions import runs as actions
from jiedao.tracing.choices import RunStatus
from jiedao.tracing.models import TraceContact, TraceRun
from jiedao.tracing.tests.helpers import Scene, positive_case, presence_scene


@pytest.fixture
def root(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path / "presence"


@pytest.fixture
def scene(cast: Any, root: Path) -> Scene:
    return presence_scene(root, positive_case(cast), cast)


def started(cast: Any, scene: Scene, capture: Any, **kw: Any) -> TraceRun:
    with capture(execute=True):
        run = actions.do_start_trace(actor=cast["command"], case=scene.case, **kw)
    run.refresh_from_db()
    return run


def test_trace_from_a_positive_case(cast: Any, scene: Scene, django_capture_on_commit_callbacks: Any) -> None:
    run = started(cast, scene, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.DONE and run.progress == 100, run.error
    assert run.index_cases[0]["person_key"] == scene.case.person.id_index
    # the onset defaults to the positive test's sampling time
    assert dt.datetime.fromisoformat(run.index_cases[0]["onset"]) == scene.onset
    close = {c.contact_key for c in run.contacts.filter(relation="close_contact")}
    assert close == {p.id_index for p in scene.close} | {scene.stranger_key, scene.visitor_key}
    second = run.contacts.get(relation="secondary_contact")
    assert second.person == scene.secondary[0] and second.via_person == scene.close[0]
    row = run.contacts.get(contact_key=scene.close[0].id_index, relation="close_contact")
    assert row.person == scene.close[0] and row.place == scene.venue and row.minutes == 10.0
    assert run.counts["close_contact"] == 4 and run.counts["secondary_contact"] == 1
    assert run.counts["on_register"] == 3 and run.counts["people"] == 5
    assert run.report["index_without_data"] == []


def test_a_second_delivery_of_the_job_does_nothing(
    cast: Any, scene: Scene, django_capture_on_commit_callbacks: Any
) -> None:
    run = started(cast, scene, django_capture_on_commit_callbacks)
    n = run.contacts.count()
    again = actions.do_run_trace(run.pk)
    assert again.status == RunStatus.DONE and again.contacts.count() == n


def test_a_failed_run_says_why_and_keeps_nothing(
    cast: Any, scene: Scene, monkeypatch: Any, django_capture_on_commit_callbacks: Any
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("presence store unreadable")

    monkeypatch.setattr(actions.engine, "trace", broken)
    run = started(cast, scene, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED and "presence store unreadable" in run.error
    assert run.contacts.count() == 0 and run.finished_at is not None


def test_no_presence_data_is_reported(cast: Any, root: Path, django_capture_on_commit_callbacks: Any) -> None:
    case = positive_case(cast)
    with django_capture_on_commit_callbacks(execute=True):
        run = actions.do_start_trace(actor=cast["command"], case=case)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.contacts.count() == 0
    assert run.report["index_without_data"] == [case.person.id_index]
    assert len(run.report["empty_days"]) == 5  # four days back and the onset's day


def test_start_refusals(cast: Any, scene: Scene) -> None:
    case = scene.case
    with pytest.raises(Forbidden):
        actions.do_start_trace(actor=cast["community_staff_a"], case=case)
    with pytest.raises(InvalidInput) as future:
        actions.do_start_trace(actor=cast["command"], case=case, onset=timezone.now() + dt.timedelta(hours=1))
    assert future.value.field == "onset"
    with pytest.raises(InvalidInput) as purged:
        actions.do_start_trace(actor=cast["command"], case=case, onset=timezone.now() - dt.timedelta(days=60))
    assert purged.value.field == "onset"
    for bad in (0, 15):
        with pytest.raises(InvalidInput) as lookback:
            actions.do_start_trace(actor=cast["command"], case=case, lookback_days=bad)
        assert lookback.value.field == "lookback_days"
    person = case.person
    person.id_index = ""
    person.save(update_fields=["id_index"])
    with pytest.raises(InvalidInput) as no_id:
        actions.do_start_trace(actor=cast["command"], case=case)
    assert no_id.value.field == "case"
    assert TraceRun.objects.count() == 0


def test_push_to_screening_exactly_once(
    cast: Any, scene: Scene, django_capture_on_commit_callbacks: Any
) -> None:
    run = started(cast, scene, django_capture_on_commit_callbacks)
    summary = actions.do_push_trace_contacts(actor=cast["command"], run=run)
    assert summary.unidentified == [scene.stranger_key]
    assert summary.created == 4 and summary.duplicates == 0  # 3 close (2 residents, 1 visitor), 1 secondary
    lists = {p.source: p for p in summary.lists}
    assert set(lists) == {"close_contact", "secondary_contact"}
    close = lists["close_contact"]
    assert close.basis_url == run.get_absolute_url() and str(run.pk) in close.basis_label
    assert close.rows == 3 and lists["secondary_contact"].rows == 1
    # the visitor is known from the venue check-in page: pushed by name and document, matched as new
    visitor = PushedEntry.objects.get(pushed_list=close, name="访客甲")
    assert visitor.id_masked.startswith("1101") and visitor.exposed_at is not None
    for p in scene.close:
        assert KeyPerson.objects.filter(person=p).exists()
    run.refresh_from_db()
    assert run.pushed_at is not None and set(run.pushed_lists.all()) == set(summary.lists)
    # again, after a pushed person's phone changed, and by another command-centre user: nothing doubles
    person = scene.close[0]
    person.phone = "13800138111"
    person.save()
    with pytest.raises(InvalidInput) as nothing_new:
        actions.do_push_trace_contacts(actor=cast["command"], run=run)
    assert "4" in nothing_new.value.message
    with pytest.raises(InvalidInput):
        actions.do_push_trace_contacts(actor=second_commander(cast), run=run)
    assert PushedList.objects.filter(basis_url=run.get_absolute_url()).count() == 2
    assert PushedEntry.objects.filter(pushed_list__basis_url=run.get_absolute_url()).count() == 4


def second_commander(cast: Any) -> Any:
    from jiedao.org.models import RoleAssignment, User

    user = User.objects.create(username="command2", display_name="指挥部二")
    RoleAssignment.objects.create(
        user=user, role="command", level="subdistrict", subdistrict=cast.subdistrict
    )
    return User.objects.get(pk=user.pk)


def test_a_later_contact_is_pushed_alone_by_another_user(
    cast: Any, scene: Scene, django_capture_on_commit_callbacks: Any
) -> None:
    run = started(cast, scene, django_capture_on_commit_callbacks)
    first = run.contacts.filter(person=scene.close[0]).first()
    assert first is not None
    later = TraceContact.objects.filter(run=run).exclude(pk=first.pk)
    held = list(later)
    later.delete()  # as if the run had found only the first contact when first pushed
    assert actions.do_push_trace_contacts(actor=cast["command"], run=run).created == 1
    TraceContact.objects.bulk_create(held)
    again = actions.do_push_trace_contacts(actor=second_commander(cast), run=run)
    assert again.created == 3 and again.duplicates == 1
    assert PushedEntry.objects.filter(pushed_list__basis_url=run.get_absolute_url()).count() == 4


def test_nothing_to_push_is_refused_and_not_marked(
    cast: Any, root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    case = positive_case(cast)
    with django_capture_on_commit_callbacks(execute=True):
        run = actions.do_start_trace(actor=cast["command"], case=case)
    run.refresh_from_db()
    with pytest.raises(InvalidInput):
        actions.do_push_trace_contacts(actor=cast["command"], run=run)
    run.refresh_from_db()
    assert run.pushed_at is None and not run.pushed_lists.exists()


def test_a_second_start_while_one_runs_is_refused(cast: Any, scene: Scene) -> None:
    actions.do_start_trace(actor=cast["command"], case=scene.case)  # queued (on_commit not run)
    with pytest.raises(Conflict):
        actions.do_start_trace(actor=cast["command"], case=scene.case)
    assert TraceRun.objects.count() == 1


def test_stalled_runs_are_failed_and_lost_jobs_queued_again(
    cast: Any, scene: Scene, monkeypatch: Any
) -> None:
    queued: list[int] = []
    monkeypatch.setattr(actions, "_enqueue", queued.append)
    run = actions.do_start_trace(actor=cast["command"], case=scene.case)
    later = timezone.now() + dt.timedelta(minutes=11)
    assert actions.do_reclaim_stale_runs(now=later) == {"failed": 0, "requeued": 1} and queued == [run.pk]
    TraceRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, updated_at=timezone.now())
    assert actions.do_reclaim_stale_runs(now=later)["failed"] == 0  # touched just now
    assert actions.do_reclaim_stale_runs(now=timezone.now() + dt.timedelta(minutes=31))["failed"] == 1
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error
    # the old worker finishing late changes nothing
    assert actions.do_run_trace(run.pk).status == RunStatus.FAILED and run.contacts.count() == 0


def test_push_needs_a_finished_run_and_the_command_centre(cast: Any, scene: Scene) -> None:
    run = actions.do_start_trace(actor=cast["command"], case=scene.case)  # queued: on_commit not run
    with pytest.raises(Conflict):
        actions.do_push_trace_contacts(actor=cast["command"], run=run)
    with pytest.raises(Forbidden):
        actions.do_push_trace_contacts(actor=cast["auditor"], run=run)


# ---- pages -----------------------------------------------------------------------------------------


def test_runs_page_offers_positive_cases(login: Any, scene: Scene) -> None:
    page = login("command").get("/tracing/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/tracing/cases/{scene.case.pk}/start" in html and 'data-testid="no-positive"' not in html
    assert login("community_staff_a").get("/tracing/").status_code == 403


def test_start_form_validates_and_starts(cast: Any, login: Any, scene: Scene) -> None:
    client = login("command")
    url = f"/tracing/cases/{scene.case.pk}/start"
    form = client.get(url)
    local = timezone.localtime(scene.onset).strftime("%Y-%m-%dT%H:%M")
    assert local in form.content.decode()  # prefilled with the positive sample's time
    bad = client.post(url, {"onset": local, "lookback_days": "30", "secondary": "on"})
    assert bad.status_code == 200 and 'data-testid="error-lookback_days"' in bad.content.decode()
    old = (timezone.localtime() - dt.timedelta(days=90)).strftime("%Y-%m-%dT%H:%M")
    purged = client.post(url, {"onset": old, "lookback_days": "4"})
    assert 'data-testid="error-onset"' in purged.content.decode()
    assert TraceRun.objects.count() == 0
    ok = client.post(url, {"onset": local, "lookback_days": "2", "companions": "on"})
    run = TraceRun.objects.get()
    assert ok.status_code == 302 and ok["Location"] == run.get_absolute_url()
    assert run.rules["lookback_days"] == 2 and run.rules["secondary"] is False
    assert run.rules["sources"]["cell"]["kind"] == "companion"


def test_progress_partial_then_refresh(cast: Any, login: Any, scene: Scene) -> None:
    client = login("command")
    run = actions.do_start_trace(actor=cast["command"], case=scene.case)
    page = client.get(f"/tracing/runs/{run.pk}/")
    assert 'data-testid="progress"' in page.content.decode()
    part = client.get(f"/tracing/runs/{run.pk}/?part=progress", HTTP_HX_REQUEST="true")
    assert part.status_code == 200 and "hx-trigger" in part.content.decode()
    actions.do_run_trace(run.pk)
    done = client.get(f"/tracing/runs/{run.pk}/?part=progress", HTTP_HX_REQUEST="true")
    assert done.status_code == 204 and done["HX-Refresh"] == "true"


def test_run_page_contacts_by_place_and_time(
    cast: Any, login: Any, scene: Scene, django_capture_on_commit_callbacks: Any
) -> None:
    run = started(cast, scene, django_capture_on_commit_callbacks)
    client = login("command")
    html = client.get(f"/tracing/runs/{run.pk}/").content.decode()
    assert html.count('data-testid="contact-row"') == 5
    assert scene.venue.name in html and scene.close[0].name in html
    assert scene.close[0].id_number not in html  # masked on the server
    only = client.get(f"/tracing/runs/{run.pk}/?relation=secondary_contact", HTTP_HX_REQUEST="true")
    body = only.content.decode()
    assert body.count('data-testid="contact-row"') == 1 and scene.secondary[0].name in body
    none = client.get(f"/tracing/runs/{run.pk}/?q=nobody-by-that-name", HTTP_HX_REQUEST="true")
    assert 'data-testid="empty"' in none.content.decode()
    # the auditor reads, but cannot push
    audit_html = login("auditor").get(f"/tracing/runs/{run.pk}/").content.decode()
    assert 'data-testid="contact-row"' in audit_html and 'data-testid="push"' not in audit_html


def test_run_page_queries_do_not_grow_with_contacts(
    cast: Any, login: Any, scene: Scene, django_capture_on_commit_callbacks: Any
) -> None:
    run = started(cast, scene, django_capture_on_commit_callbacks)
    client = login("command")
    template = run.contacts.filter(person__isnull=False).first()
    assert template is not None

    def add(n: int) -> None:
        TraceContact.objects.bulk_create(
            TraceContact(
                run=run, index_key=template.index_key, contact_key=f"X{i}", place_key=f"P{i}",
                overlap_start=template.overlap_start, overlap_end=template.overlap_end, minutes=5,
                source="venue_scan", degree=1, relation="close_contact", person=template.person,
                place=template.place,
            )
            for i in range(n)
        )  # fmt: skip

    assert_no_per_row_queries(lambda: client.get(f"/tracing/runs/{run.pk}/"), add)


def test_push_page_confirms_then_pushes(
    cast: Any, login: Any, scene: Scene, django_capture_on_commit_callbacks: Any
) -> None:
    run = started(cast, scene, django_capture_on_commit_callbacks)
    client = login("command")
    confirm = client.get(f"/tracing/runs/{run.pk}/push").content.decode()
    assert 'data-testid="push-total">4<' in confirm and 'data-testid="unidentified"' in confirm
    assert PushedList.objects.filter(basis_url=run.get_absolute_url()).count() == 0
    done = client.post(f"/tracing/runs/{run.pk}/push")
    assert done.status_code == 302
    page = client.get(f"/tracing/runs/{run.pk}/").content.decode()
    assert 'data-testid="pushed-lists"' in page
    plist = PushedList.objects.get(basis_url=run.get_absolute_url(), source="close_contact")
    list_page = client.get(plist.get_absolute_url()).content.decode()
    assert f'href="{run.get_absolute_url()}" data-testid="list-basis"' in list_page


def test_export_is_masked(
    cast: Any, login: Any, scene: Scene, django_capture_on_commit_callbacks: Any
) -> None:
    run = started(cast, scene, django_capture_on_commit_callbacks)
    response = login("auditor").get(f"/tracing/runs/{run.pk}/export?relation=close_contact")
    assert response.status_code == 200
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert len(rows) == 1 + 4
    cells = {str(c) for r in rows for c in r}
    assert scene.close[0].id_masked in cells and scene.close[0].id_number not in cells
    assert scene.stranger_key in cells  # in full, for the city platform to match
    assert "访客甲" in cells  # a visitor, named from the venue check-in


def test_case_page_has_the_trace_card(cast: Any, login: Any, scene: Scene) -> None:
    url = scene.case.get_absolute_url()
    html = login("command").get(url).content.decode()
    assert 'data-testid="trace-card"' in html and f"/tracing/cases/{scene.case.pk}/start" in html
    assert 'data-testid="trace-card"' not in login("community_staff_a").get(url).content.decode()
