"""Place pages: list (HTMX filter/sort/pages, Excel), detail, create/edit, deactivate, venue-code
poster and QR download, and the public landing page a scanned venue code opens."""

from __future__ import annotations

import json
from typing import Any

from cryptography.exceptions import InvalidTag
from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiedao.core import crypto, throttle
from jiedao.core.decorators import role_required
from jiedao.core.errors import Forbidden, JiedaoError, NotFound
from jiedao.core.forms import attach_error
from jiedao.core.htmx import is_htmx, render_page
from jiedao.core.identity import mask_id, mask_name
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
from jiedao.places.forms import PlaceForm, ReasonForm, VenueCheckinForm
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


# ---- the public venue page: what a phone opens after scanning a venue code ------------------------------

# "Remember me on this phone": the visitor's own name, ID and phone, AES-GCM encrypted with the field key
# and signed (django.core.signing), so nothing readable sits in the browser and nothing forged is trusted.
VISITOR_COOKIE = "jd_visitor"
VISITOR_COOKIE_SALT = "jiedao.places.visitor"
VISITOR_COOKIE_AGE = 365 * 24 * 3600


def _remembered(request: HttpRequest) -> dict[str, str] | None:
    """The visitor this phone remembers, or None (no cookie, expired, forged, or no longer valid)."""
    if VISITOR_COOKIE not in request.COOKIES:
        return None
    try:
        token = request.get_signed_cookie(
            VISITOR_COOKIE, salt=VISITOR_COOKIE_SALT, max_age=VISITOR_COOKIE_AGE
        )
        data = json.loads(crypto.decrypt(str(token)))
        name, number, phone = actions.clean_checkin_identity(data["n"], data["i"], data.get("p", ""))
    except (signing.BadSignature, ValueError, KeyError, TypeError, InvalidTag, JiedaoError):
        return None
    return {
        "name": name, "id_number": number, "phone": phone,
        "name_masked": mask_name(name), "id_masked": mask_id(number),
    }  # fmt: skip


def _remember(response: HttpResponse, name: str, number: str, phone: str) -> None:
    payload = crypto.encrypt(json.dumps({"n": name, "i": number, "p": phone}, ensure_ascii=False))
    response.set_signed_cookie(
        VISITOR_COOKIE, payload, salt=VISITOR_COOKIE_SALT, max_age=VISITOR_COOKIE_AGE,
        httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE,
    )  # fmt: skip


def _forget(response: HttpResponse) -> None:
    response.delete_cookie(VISITOR_COOKIE, samesite="Lax")


def _attach_checkin_errors(form: VenueCheckinForm, exc: JiedaoError) -> None:
    fields = (exc.details or {}).get("fields") if isinstance(exc.details, dict) else None
    if fields:
        for field, message in fields.items():
            form.add_error(field if field in form.fields else None, message)
    else:
        attach_error(form, exc)


CHECKINS_PER_WINDOW = 30
CHECKIN_WINDOW_SECONDS = 10 * 60


@never_cache
@require_http_methods(["GET", "POST"])
def venue_landing(request: HttpRequest, code: str) -> HttpResponse:
    """Public: the venue's name and kind and its check-in form (nobody's personal data but, masked,
    the visitor's own when this phone remembers them). POST records the check-in and shows the
    confirmation a door guard glances at. No address, contact or anything else about the place."""
    try:
        place = public_place(code)
    except NotFound:
        return render(request, "places/venue_missing.html", {"code": code[:20]}, status=404)
    remembered = _remembered(request)
    ctx: dict[str, Any] = {"place": place, "remembered": remembered, "client_key": actions.new_client_key()}
    if request.method == "GET":
        someone_else = request.GET.get("other") == "1" and remembered is not None
        ctx["form"] = VenueCheckinForm(initial={"remember": remembered is None})
        ctx["show_form"] = remembered is None or someone_else
        return _venue_page(request, ctx, remembered, status=200)

    intent = request.POST.get("intent", "")
    if intent == "forget":
        back = redirect("venue:landing", code=place.venue_code)
        _forget(back)
        return back
    client_key = str(request.POST.get("client_key") or "")
    # A public form with no sign-in: one address may check in at most CHECKINS_PER_WINDOW people at a
    # venue per window (a family at the door, a guard checking in a group), not flood the records.
    flood_key = f"venue-checkin:{request.META.get('REMOTE_ADDR', '')}:{place.pk}"
    if throttle.too_many(flood_key, CHECKINS_PER_WINDOW):
        ctx["form"] = VenueCheckinForm(request.POST if intent != "remembered" else None)
        ctx["show_form"] = True
        ctx["notice"] = _(
            "Too many check-ins from this phone in a short time: wait a few minutes, or ask the staff at the door."
        )
        return _venue_page(request, ctx, remembered, status=429)
    throttle.record_failure(flood_key, CHECKIN_WINDOW_SECONDS)
    if intent == "remembered":
        if remembered is None:
            # The cookie expired or was cleared since the page was shown: ask for the details.
            ctx["form"] = VenueCheckinForm(initial={"remember": True})
            ctx["show_form"] = True
            ctx["notice"] = _("This phone no longer remembers you: fill in your details.")
            return _venue_page(request, ctx, None, status=200)
        data = {k: remembered[k] for k in ("name", "id_number", "phone")}
        remember = True
        form = VenueCheckinForm(initial={"remember": False})
    else:
        form = VenueCheckinForm(request.POST)
        form.is_valid()  # only to fill cleaned_data; the action judges the values
        cleaned = getattr(form, "cleaned_data", {})
        data = {k: str(cleaned.get(k) or request.POST.get(k) or "") for k in ("name", "id_number", "phone")}
        remember = bool(cleaned.get("remember"))
    try:
        checkin = actions.do_check_in(
            actor=None, place=place, name=data["name"], id_number=data["id_number"], phone=data["phone"],
            client_key=client_key,
        )  # fmt: skip
    except JiedaoError as exc:
        if exc.status not in (404, 409, 422):
            raise
        if exc.field == "client_key":
            # A stale or reused form: a fresh key, the visitor's input kept, one more tap.
            form.add_error(None, exc.message)
        else:
            _attach_checkin_errors(form, exc)
            if actions.valid_client_key(client_key):
                ctx["client_key"] = client_key  # nothing was recorded: the same submission may go again
        ctx["form"] = form
        ctx["show_form"] = True
        return _venue_page(request, ctx, remembered, status=exc.status)
    response = render(
        request,
        "places/venue_checked_in.html",
        {"place": place, "checkin": checkin, "name_masked": mask_name(checkin.name)},
    )
    if remember:
        _remember(response, data["name"], checkin.id_number, checkin.phone or "")
    return response


def _venue_page(
    request: HttpRequest, ctx: dict[str, Any], remembered: dict[str, str] | None, *, status: int
) -> HttpResponse:
    # Only the masks of the remembered visitor reach the page; the full values stay in the cookie.
    ctx["remembered"] = (
        {"name_masked": remembered["name_masked"], "id_masked": remembered["id_masked"]}
        if remembered
        else None
    )
    return render(request, "places/venue_landing.html", ctx, status=status)
