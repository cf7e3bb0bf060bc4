"""Laboratory results: a results file (CSV or Excel) or an API batch of (tube, result, time, lab) rows
is checked row by row and recorded once; a positive pooled tube is followed up at once (alerts, its
members under temporary control with the tube as their basis, single-tube re-tests)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiedao.core import audit
from jiedao.core.errors import Forbidden, InvalidInput
from jiedao.core.models import stamp_user
from jiedao.core.sheets import Column, ColumnSet, cell_text, mapped_rows, sha256_of
from jiedao.nat.choices import TubeResult, TubeStatus
from jiedao.nat.models import ResultBatch, Sample, Tube
from jiedao.nat.queries import can_manage_in
from jiedao.org.choices import Role
from jiedao.screening.intake import parse_when
from jiedao.work.actions import do_create_work_items

MAX_ROWS = 50_000
RETEST_WITHIN = dt.timedelta(hours=24)  # the protocol's single-tube re-test on day 1
RESULT_WORDS = {
    "negative": TubeResult.NEGATIVE, "阴性": TubeResult.NEGATIVE, "neg": TubeResult.NEGATIVE, "-": TubeResult.NEGATIVE,
    "positive": TubeResult.POSITIVE, "阳性": TubeResult.POSITIVE, "pos": TubeResult.POSITIVE, "+": TubeResult.POSITIVE,
    "invalid": TubeResult.INVALID, "无效": TubeResult.INVALID, "待复检": TubeResult.INVALID,
}  # fmt: skip
COLUMNS = ColumnSet(
    [
        Column("barcode", "条码", ("barcode", "采样管条码", "管码", "样本编号"), required=True),
        Column("result", "结果", ("result", "检测结果")),
        Column("tested_at", "检测时间", ("tested_at", "结果时间", "time")),
        Column("received_at", "接收时间", ("received_at", "收样时间", "签收时间")),
        Column("reported_at", "报告时间", ("reported_at", "报告日期")),
        Column("lab", "检测机构", ("lab", "实验室", "检测单位")),
    ],
    no_header=gettext_lazy(
        "No header row found: name the columns 条码, 结果 and 检测时间 (barcode, result, tested_at)."
    ),
)


@dataclass
class ResultReport:
    batch: ResultBatch | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    replay: bool = False


def _require_results(actor: Any) -> None:
    if actor is not None and not can_manage_in(actor, None):
        raise Forbidden(_("Only the command centre records laboratory results."))


def rows_from_file(filename: str, data: bytes) -> list[dict[str, Any]]:
    """The file's rows as {row, barcode, result, tested_at, received_at, reported_at, lab}, or
    InvalidInput naming what is wrong with the file (size, format, header)."""

    def result_or_receipt(mapping: Any) -> None:
        if "result" not in mapping.columns and "received_at" not in mapping.columns:
            mapping.errors.append(
                _(
                    "The file needs a column 结果 (result), or 接收时间 (received) for a list of tubes received."
                )
            )

    return mapped_rows(filename, data, COLUMNS, max_rows=MAX_ROWS, check=result_or_receipt)


def _check_row(
    raw: dict[str, Any], lab: str, now: dt.datetime, tubes: dict[str, Tube]
) -> tuple[dict[str, Any], Tube | None]:
    """(answer, tube to record); the answer's status is recorded, duplicate or refused."""
    code = cell_text(raw.get("barcode")).upper()
    answer: dict[str, Any] = {"row": raw.get("row"), "barcode": code}

    def refuse(field_name: str, message: str) -> tuple[dict[str, Any], None]:
        return {**answer, "status": "refused", "field": field_name, "message": message}, None

    tube = tubes.get(code)
    if tube is None:
        return refuse(
            "barcode", _("Unknown tube %(code)s: no such tube was sampled.") % {"code": code or "—"}
        )
    try:
        received_at = parse_when(raw.get("received_at"))
    except InvalidInput as exc:
        return refuse("received_at", exc.message)
    word = cell_text(raw.get("result")).strip().lower()
    if not word and received_at is not None:
        return _check_receipt(answer, tube, received_at, now, refuse)
    result = RESULT_WORDS.get(word)
    if result is None:
        return refuse("result", _("Unknown result “%(value)s”: 阴性, 阳性 or 无效.") % {"value": word[:20]})
    try:
        reported = parse_when(raw.get("reported_at"))
    except InvalidInput as exc:
        return refuse("reported_at", exc.message)
    try:
        # a lab that gives only its report time (报告时间) tested the tube by then
        tested_at = parse_when(raw.get("tested_at")) or reported or now
    except InvalidInput as exc:
        return refuse("tested_at", exc.message)
    reported_at = reported or max(tested_at, now)
    if max(tested_at, reported_at, received_at or tested_at) > now + dt.timedelta(minutes=5):
        return refuse("tested_at", _("The result time is in the future."))
    if tube.status != TubeStatus.CLOSED or tube.closed_at is None:
        return refuse(
            "barcode", _("Tube %(code)s was never sealed: it cannot have been tested.") % {"code": code}
        )
    received_at = received_at or tube.received_at or tested_at
    if tested_at < tube.closed_at or received_at < tube.closed_at:
        return refuse(
            "tested_at",
            _("The result (%(result)s) is earlier than the tube was sealed (%(sealed)s).")
            % {"result": timezone.localtime(min(tested_at, received_at)).strftime("%m-%d %H:%M"),
               "sealed": timezone.localtime(tube.closed_at).strftime("%m-%d %H:%M")},
        )  # fmt: skip
    if tested_at < received_at or reported_at < tested_at:
        return refuse("tested_at", _("The times are out of order: received, then tested, then reported."))
    if tube.result:
        if tube.result == result:
            return {**answer, "status": "duplicate", "result": result}, None
        return refuse(
            "result",
            _(
                "Tube %(code)s was already reported %(before)s: a different result is not taken; the lab must correct it."
            )
            % {"code": code, "before": tube.get_result_display()},
        )
    tube.result, tube.result_at, tube.lab = result, tested_at, (cell_text(raw.get("lab")) or lab)[:100]
    tube.received_at, tube.reported_at = received_at, reported_at
    return {**answer, "status": "recorded", "result": result}, tube


def _check_receipt(
    answer: dict[str, Any], tube: Tube, received_at: dt.datetime, now: dt.datetime, refuse: Any
) -> tuple[dict[str, Any], Tube | None]:
    """A row with a receipt time and no result: the lab has the tube (reconciliation's "received")."""
    if received_at > now + dt.timedelta(minutes=5):
        return refuse("received_at", _("The receipt time is in the future."))  # type: ignore[no-any-return]
    if tube.status != TubeStatus.CLOSED or tube.closed_at is None:
        return refuse(  # type: ignore[no-any-return]
            "barcode",
            _("Tube %(code)s was never sealed: it cannot have been received.") % {"code": tube.barcode},
        )
    if received_at < tube.closed_at:
        return refuse("received_at", _("The receipt is earlier than the tube was sealed."))  # type: ignore[no-any-return]
    if tube.received_at is not None:
        return {**answer, "status": "duplicate", "result": ""}, None
    tube.received_at = received_at
    return {**answer, "status": "received", "result": ""}, tube


def do_record_results(
    *, actor: Any, rows: list[dict[str, Any]], lab: str, filename: str = "", data: bytes | None = None,
    client_key: str = "",
) -> ResultReport:  # fmt: skip
    """Record a delivery of results. Each row is recorded, a duplicate (the same result again) or
    refused with its field and reason (unknown tube, unsealed tube, a result earlier than sealing, a
    different result for a tube already reported). The same file or key again answers as the first
    time and writes nothing. Positive tubes are followed up after the commit."""
    _require_results(actor)
    lab = (lab or "").strip()
    if not lab or len(lab) > 100:
        raise InvalidInput(_("Name the laboratory (at most 100 characters)."), field="lab")
    digest = sha256_of(data) if data is not None else ""
    user = stamp_user(actor)
    before = None
    if digest:
        before = ResultBatch.objects.filter(sha256=digest).first()
    elif client_key:
        before = ResultBatch.objects.filter(created_by=user, client_key=client_key).first()
    if before is not None:
        return ResultReport(batch=before, items=before.report, counts=before.counts, replay=True)
    now = timezone.now()
    codes = {cell_text(r.get("barcode")).upper() for r in rows}
    report = ResultReport()
    positives: list[int] = []
    invalid: list[int] = []
    negatives: list[int] = []  # they may close re-sample items (and re-tests, for single tubes)
    try:
        with transaction.atomic():
            tubes = {t.barcode: t for t in Tube.objects.select_for_update().filter(barcode__in=codes)}
            batch = ResultBatch.objects.create(
                lab=lab, filename=filename[:255], sha256=digest, client_key=client_key[:100], rows=len(rows),
                created_by=user, updated_by=user,
            )  # fmt: skip
            counts: dict[str, int] = {
                "recorded": 0,
                "received": 0,
                "duplicate": 0,
                "refused": 0,
                "positive": 0,
            }
            for raw in rows:
                answer, tube = _check_row(raw, lab, now, tubes)
                report.items.append(answer)
                counts[answer["status"]] += 1
                if tube is not None and answer["status"] == "received":
                    tube.save(update_fields=["received_at", "updated_at"])
                elif tube is not None:
                    tube.result_batch = batch
                    tube.save(
                        update_fields=[
                            "result",
                            "result_at",
                            "received_at",
                            "reported_at",
                            "lab",
                            "result_batch",
                            "updated_at",
                        ]
                    )
                    if tube.result == TubeResult.POSITIVE:
                        counts["positive"] += 1
                        positives.append(tube.pk)
                    elif tube.result == TubeResult.INVALID:
                        invalid.append(tube.pk)
                    else:
                        negatives.append(tube.pk)
            batch.counts, batch.report = counts, report.items
            batch.save(update_fields=["counts", "report", "updated_at"])
            audit.record(actor=actor, action="nat.record_results", obj=batch, changes={"lab": lab, **counts})
            for pk in positives:
                transaction.on_commit(_follow_up(pk), robust=True)
            if invalid:
                _resample_items(invalid)
            if negatives:
                _close_retests(negatives)
    except IntegrityError:
        # the same file or key at the same moment from another request, which won
        again = ResultBatch.objects.filter(sha256=digest).first() if digest else None
        if again is None:
            raise
        return ResultReport(batch=again, items=again.report, counts=again.counts, replay=True)
    report.batch, report.counts = batch, counts
    return report


def _follow_up(tube_id: int) -> Any:
    def run() -> None:
        do_follow_up_positive_tube(tube_id=tube_id)

    return run


def do_follow_up_positive_tube(*, tube_id: int) -> Tube:
    """A positive pool, once: its members are pushed to screening as members of a positive pooled
    tube (temporary control, the tube as the basis, urgent), and the command centre and each
    member's grid get an urgent work item with the members to re-test by single tube."""
    from jiedao.screening.actions import check_list_meta, do_open_list, do_push_entries
    from jiedao.screening.choices import Source
    from jiedao.work.actions import do_create_work_item
    from jiedao.work.choices import Priority

    with transaction.atomic():
        tube = Tube.objects.select_for_update().select_related("site", "round").get(pk=tube_id)
        if tube.result != TubeResult.POSITIVE or tube.positive_handled_at is not None:
            return tube
        samples = list(tube.samples.select_related("person").order_by("pk"))
        label = _("Positive pooled tube %(code)s") % {"code": tube.barcode}
        meta = check_list_meta(title=label, issuer=tube.lab or _("Laboratory"), source=Source.POSITIVE_POOL)
        plist, _created = do_open_list(
            actor=None, client_key=f"nat-positive-{tube.barcode}", meta=meta, basis_label=label,
            basis_url=f"/nat/tubes/{tube.barcode}/",
        )  # fmt: skip
        entries = [
            {
                "key": f"nat-positive-{tube.barcode}-{s.person_id}", "name": s.person.name,
                "id_type": s.person.id_type, "id_number": s.person.id_number or "", "phone": s.person.phone or "",
                "exposed_at": s.sampled_at,
                "note": _("In positive pooled tube %(code)s, sampled %(when)s at %(site)s: single-tube re-test")
                % {"code": tube.barcode, "when": timezone.localtime(s.sampled_at).strftime("%m-%d %H:%M"),
                   "site": tube.site.name},
            }
            for s in samples
            if s.person.id_number or s.person.phone
        ]  # fmt: skip
        if entries:
            do_push_entries(actor=None, plist=plist, entries=entries)
        due = timezone.now() + dt.timedelta(hours=2)
        names = "、".join(s.person.name for s in samples[:20])
        do_create_work_item(
            actor=None, kind="nat.positive_pool", title=label, due_at=due, community=None, grid=None,
            role=Role.COMMAND, priority=Priority.URGENT, subject=tube,
            detail=_("%(n)s people to re-test by single tube: %(names)s") % {"n": len(samples), "names": names},
            dedupe_key=f"nat.positive:{tube.barcode}",
        )  # fmt: skip
        _retest_items(tube, samples, due=timezone.now() + RETEST_WITHIN, kind="nat.retest")
        tube.positive_handled_at = timezone.now()
        tube.pushed_list = plist
        tube.save(update_fields=["positive_handled_at", "pushed_list", "updated_at"])
        audit.record(
            actor=None,
            action="nat.positive_pool",
            obj=tube,
            changes={"members": len(samples), "pushed": len(entries)},
        )
    return tube


def _retest_items(tube: Tube, samples: list[Any], *, due: dt.datetime, kind: str) -> None:
    """One work item per member of the tube for their grid (their community office when they have no
    grid): re-test by single tube (a positive pool) or sample again (an invalid tube)."""
    from jiedao.work.choices import Priority
    from jiedao.work.models import WorkItem

    positive = kind == "nat.retest"
    items = []
    for s in samples:
        person = s.person
        if person.community_id is None:
            continue  # not on the register: the command centre's item lists them
        title = (
            _("Single-tube re-test: %(name)s (pool %(code)s)")
            if positive
            else _("Sample again: %(name)s (invalid tube %(code)s)")
        ) % {"name": person.name, "code": tube.barcode}
        items.append(
            WorkItem(
                kind=kind, title=title, due_at=due, community_id=person.community_id, grid_id=person.grid_id,
                role=Role.GRID_WORKER if person.grid_id else Role.COMMUNITY_STAFF,
                priority=Priority.URGENT if positive else Priority.HIGH,
                subject_type="registry.person", subject_id=str(person.pk), subject_label=person.name[:200],
                subject_url=f"/registry/persons/{person.pk}/",
                detail=_("Sampled %(when)s at %(site)s.")
                % {"when": timezone.localtime(s.sampled_at).strftime("%m-%d %H:%M"), "site": tube.site.name},
                dedupe_key=f"{kind}:{tube.barcode}:{person.pk}",
            )
        )  # fmt: skip
    do_create_work_items(actor=None, items=items)


def _resample_items(tube_ids: list[int]) -> None:
    """Invalid tubes: every member is sampled again (work items for their grids)."""
    due = timezone.now() + RETEST_WITHIN
    for tube in Tube.objects.filter(pk__in=tube_ids).select_related("site"):
        samples = list(tube.samples.select_related("person").order_by("pk"))
        _retest_items(tube, samples, due=due, kind="nat.resample")


def _close_retests(tube_ids: list[int]) -> None:
    """A negative tube closes its members' open re-sample items (an invalid tube's members sampled
    again) made before the sample; a negative single tube also closes the person's re-test item."""
    from jiedao.work.actions import do_complete_work_item
    from jiedao.work.choices import OPEN_STATUSES
    from jiedao.work.models import WorkItem

    samples = list(Sample.objects.filter(tube_id__in=tube_ids).select_related("tube"))
    by_person = {str(s.person_id): s for s in samples}
    items = WorkItem.objects.filter(
        kind__in=("nat.retest", "nat.resample"),
        subject_type="registry.person",
        subject_id__in=list(by_person),
        status__in=OPEN_STATUSES,
    )
    for item in items:
        s = by_person[item.subject_id]
        if item.created_at > s.sampled_at or (item.kind == "nat.retest" and s.tube.capacity != 1):
            continue
        do_complete_work_item(
            actor=None, item=item, outcome=_("Tube %(code)s negative.") % {"code": s.tube.barcode}
        )
