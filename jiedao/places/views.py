"""Place pages: list (HTMX filter/sort/pages, Excel), detail, create/edit, deactivate, venue-code
poster and QR download, and the public landing page a scanned venue code opens."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiedao.core.decorators import role_required
from jiedao.core.errors import Forbidden, JiedaoError
from jiedao.core.forms import attach_error
from jiedao.core.htmx import is_htmx, render_page
from jiedao.core.ledger import stamped, xlsx_response
from jiedao.core.listing import listing, sort_links, sorted_as_listed
from jiedao.places import actions
from jiedao.places.choices import (
    CONTACT_REVEALERS,
    PLACE_DEACTIVATORS,
    PLACE_EDITORS,
    PLACE_VIEWERS,
)
from jiedao.places.filters import DEFAULT_SORT, SORTABLE, PlaceFilter
from jiedao.places.forms import PlaceForm, ReasonForm
from jiedao.places.qr import qr_svg_document, qr_svg_inline, venue_url
from jiedao.places.queries import (
    access_place,
    can_deactivate,
    can_edit,
    can_reveal_contact,
    editor_scope,
    places_visible_to,
    public_place,
)


@require_GET
@role_required(*PLACE_VIEWERS)
def place_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    filters = PlaceFilter(request.GET, user=user)
    qs = filters.apply(places_visible_to(user))
    lst = listing(request, qs, sortable=SORTABLE, default_sort=DEFAULT_SORT)
    ctx = {
        "list": lst,
        "filters": filters,
        "sorts": sort_links(request, lst.sort, list(SORTABLE)),
        "hx_target": "#place-list",
        "can_create": not editor_scope(user).empty,
    }
    return render_page(request, "places/list.html", "places/_list.html", ctx)


@require_GET
@role_required(*PLACE_VIEWERS)
def place_export(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    filters = PlaceFilter(request.GET, user=user)
    qs = filters.apply(places_visible_to(user))
    qs = sorted_as_listed(request, qs, sortable=SORTABLE, default_sort=DEFAULT_SORT)
    content = actions.do_export_places(actor=user, places=qs, filters=filters.as_params())
    return xlsx_response(stamped("places"), content)


@require_GET
@role_required(*PLACE_VIEWERS)
def place_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    place = access_place(user, pk)
    url = venue_url(request, place.venue_code)
    ctx = {
        "place": place,
        "venue_url": url,
        "qr": qr_svg_inline(url, title=place.venue_code),
        "can_edit": can_edit(user, place),
        "can_deactivate": can_deactivate(user, place),
        "can_reveal": can_reveal_contact(user, place) and bool(place.contact_phone_masked),
    }
    return render(request, "places/detail.html", ctx)


@require_http_methods(["GET", "POST"])
@role_required(*PLACE_EDITORS)
def place_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    form = PlaceForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            place = actions.do_create_place(actor=user, **form.cleaned_data)
        except JiedaoError as exc:
            if exc.status not in (409, 422):
                raise
            attach_error(form, exc)
        else:
            messages.success(
                request, _("Place filed. Its venue code is %(code)s.") % {"code": place.venue_code}
            )
            return redirect("places:detail", pk=place.pk)
    return render(request, "places/form.html", {"form": form, "place": None})


@require_http_methods(["GET", "POST"])
@role_required(*PLACE_EDITORS)
def place_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    place = access_place(user, pk)
    if not can_edit(user, place):
        raise Forbidden(_("Your roles may not edit this place."))
    initial = {
        "kind": place.kind, "name": place.name, "address": place.address, "community": place.community_id,
        "grid": place.grid_id, "contact_name": place.contact_name, "credit_code": place.credit_code,
    }  # fmt: skip
    form = PlaceForm(request.POST or None, user=user, place=place, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = dict(form.cleaned_data)
        if not changes.get("contact_phone"):
            changes.pop("contact_phone", None)  # empty keeps the stored number
        try:
            actions.do_update_place(actor=user, place=place, **changes)
        except JiedaoError as exc:
            if exc.status not in (409, 422):
                raise
            attach_error(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("places:detail", pk=place.pk)
    return render(request, "places/form.html", {"form": form, "place": place})


@require_http_methods(["GET", "POST"])
@role_required(*PLACE_DEACTIVATORS)
def place_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation step with a reason, then the place leaves the active register."""
    user: Any = request.user
    place = access_place(user, pk)
    if not can_deactivate(user, place):
        raise Forbidden(_("Only command and community staff may deactivate places."))
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_deactivate_place(actor=user, place=place, reason=form.cleaned_data["reason"])
        except JiedaoError as exc:
            if exc.status not in (409, 422):
                raise
            attach_error(form, exc)
        else:
            messages.success(request, _("%(name)s is now inactive.") % {"name": place.name})
            return redirect("places:detail", pk=place.pk)
    return render(request, "places/deactivate.html", {"place": place, "form": form})


@require_POST
@role_required(*PLACE_DEACTIVATORS)
def place_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    place = access_place(user, pk)
    try:
        actions.do_reactivate_place(actor=user, place=place, reason=request.POST.get("reason", ""))
    except JiedaoError as exc:
        if exc.status not in (409, 422):
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s is active again.") % {"name": place.name})
    return redirect("places:detail", pk=place.pk)


@require_POST
@role_required(*CONTACT_REVEALERS)
def place_reveal_contact(request: HttpRequest, pk: int) -> HttpResponse:
    """HTMX: swap the masked number for the full one, once a reason is given (audited)."""
    user: Any = request.user
    place = access_place(user, pk)
    ctx: dict[str, Any] = {"place": place, "phone": "", "error": ""}
    try:
        ctx["phone"] = actions.do_reveal_place_contact(
            actor=user, place=place, reason=request.POST.get("reason", "")
        )
    except JiedaoError as exc:
        if exc.status != 422:
            raise
        ctx["error"] = exc.message
    if is_htmx(request):
        return render(request, "places/_contact_phone.html", ctx)
    return render(request, "places/contact_revealed.html", ctx)


@require_GET
@role_required(*PLACE_VIEWERS)
def place_poster(request: HttpRequest, pk: int) -> HttpResponse:
    place = access_place(request.user, pk)
    url = venue_url(request, place.venue_code)
    ctx = {"place": place, "venue_url": url, "qr": qr_svg_inline(url, title=place.venue_code)}
    return render(request, "places/poster.html", ctx)


@require_GET
@role_required(*PLACE_VIEWERS)
def place_qr_svg(request: HttpRequest, pk: int) -> HttpResponse:
    place = access_place(request.user, pk)
    resp = HttpResponse(qr_svg_document(venue_url(request, place.venue_code)), content_type="image/svg+xml")
    resp["Content-Disposition"] = f'attachment; filename="venue-{place.venue_code}.svg"'
    return resp


@require_GET
def venue_landing(request: HttpRequest, code: str) -> HttpResponse:
    """Public: what a phone opens after scanning a venue code. Only the place's name and kind — no
    address, contact or anything personal."""
    place = public_place(code)
    return render(request, "places/venue_landing.html", {"place": place})
