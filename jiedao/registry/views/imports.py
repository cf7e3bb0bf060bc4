"""Import pages: upload → preview → dry run → commit, and a template to fill in."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_http_methods, require_POST

from jiedao.core.decorators import role_required
from jiedao.core.errors import InvalidInput, JiedaoError, TooLarge
from jiedao.core.forms import attach_error
from jiedao.core.ledger import Column, write_xlsx, xlsx_response
from jiedao.core.scoping import scope_q
from jiedao.org.models import Community
from jiedao.registry import importer
from jiedao.registry.forms import ImportUploadForm
from jiedao.registry.models import ImportBatch
from jiedao.registry.queries import IMPORT_ROLES, access_import_batch, role_scope
from jiedao.registry.views.common import unit_or_404


def _recent(user: object) -> list[ImportBatch]:
    scope = role_scope(user, IMPORT_ROLES)
    return list(
        ImportBatch.objects.filter(scope_q(scope))
        .select_related("community", "created_by")
        .order_by("-id")[:20]
    )


@role_required(*IMPORT_ROLES)
@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    user = request.user
    previous = None
    status = 200
    if request.method == "POST":
        unit_or_404(user, request.POST.get("community"), None, IMPORT_ROLES)
        form = ImportUploadForm(request.POST, request.FILES, user=user)
        upload = request.FILES.get("file")
        try:
            importer.check_size(upload.size or 0 if upload is not None else 0)  # before reading a byte
        except TooLarge as exc:
            attach_error(form, exc)
            status = exc.status
        if status == 200 and form.is_valid():
            data = form.cleaned_data["file"].read()
            previous = importer.already_imported(importer.sha256_of(data))
            if previous is None:
                try:
                    batch = importer.stage_upload(
                        actor=user, community=form.cleaned_data["community"],
                        filename=form.cleaned_data["file"].name, data=data,
                    )  # fmt: skip
                except InvalidInput as exc:
                    attach_error(form, exc)
                else:
                    return redirect("registry:import_batch", pk=batch.pk)
    else:
        form = ImportUploadForm(user=user)
        communities = form.fields["community"].queryset  # type: ignore[attr-defined]
        if len(communities) == 1:
            form.initial["community"] = communities[0].pk
    context = {"form": form, "batches": _recent(user), "previous": previous, "columns": importer.COLUMNS}
    return render(request, "registry/import_start.html", context, status=status)


# What a committed import created, in the order and words a clerk reads them.
CREATED_LABELS = (
    ("households", _lazy("Households")),
    ("residents", _lazy("Residents")),
    ("persons", _lazy("New persons")),
    ("care_tags", _lazy("Care tags")),
    ("flats", _lazy("Flats")),
    ("buildings", _lazy("Buildings")),
    ("entrances", _lazy("Entrances")),
    ("compounds", _lazy("Compounds")),
)


def _batch_page(request: HttpRequest, batch: ImportBatch, **extra: object) -> HttpResponse:
    previous = importer.already_imported(batch.sha256)
    context: dict[str, object] = {"batch": batch, "previous": previous if previous != batch else None}
    context["created_rows"] = [
        (label, batch.created[k]) for k, label in CREATED_LABELS if batch.created.get(k)
    ]
    try:
        data = importer.load_staged(batch) if not batch.committed else b""
        context["preview"] = importer.preview(batch.filename, data) if data else None
    except JiedaoError as exc:
        context["file_error"] = exc.message
    context.update(extra)
    return render(request, "registry/import_batch.html", context)


@role_required(*IMPORT_ROLES)
def import_batch(request: HttpRequest, pk: int) -> HttpResponse:
    batch = access_import_batch(request.user, pk)
    return _batch_page(request, batch)


@role_required(*IMPORT_ROLES)
@require_POST
def import_check(request: HttpRequest, pk: int) -> HttpResponse:
    batch = access_import_batch(request.user, pk)
    if batch.committed:
        return redirect("registry:import_batch", pk=batch.pk)
    data = importer.load_staged(batch)
    community = Community.objects.get(pk=batch.community_id or 0)
    plan = importer.check_file(batch.filename, data, community=community, actor=request.user)
    return _batch_page(request, batch, plan=plan, checked=True)


@role_required(*IMPORT_ROLES)
@require_POST
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    batch = access_import_batch(request.user, pk)
    if batch.committed:
        messages.info(request, _("This file was already imported; nothing was changed."))
        return redirect("registry:import_batch", pk=batch.pk)
    data = importer.load_staged(batch)
    result = importer.commit_batch(actor=request.user, batch=batch, data=data)
    if result.previous is not None:
        messages.info(
            request,
            _("This file was already imported on %(when)s; nothing was changed.")
            % {"when": f"{result.previous.updated_at:%Y-%m-%d %H:%M}"},
        )
        return redirect("registry:import_batch", pk=result.previous.pk)
    if not result.ok:
        return _batch_page(request, batch, plan=result.plan, checked=True, commit_failed=True)
    messages.success(
        request,
        _("Imported %(persons)s persons in %(households)s new households.")
        % {"persons": result.counts.get("persons", 0), "households": result.counts.get("households", 0)},
    )
    return redirect("registry:import_batch", pk=batch.pk)


@role_required(*IMPORT_ROLES)
def import_template(request: HttpRequest) -> HttpResponse:
    """An empty workbook with the recognised headers, every column formatted as text (so a typed ID number
    is never turned into 5.10116E+17)."""
    headers = [c.label for c in importer.COLUMNS if c.key not in ("community", "id_type")]
    columns = [Column(h, 20 if h in ("身份证号", "小区") else 12, text=True) for h in headers]
    return xlsx_response("import-template.xlsx", write_xlsx("居民", columns, []).data)
