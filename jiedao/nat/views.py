"""Testing pages: the public map of open sampling sites with their queues (no sign-in, nothing
personal), and the page where a site's staff set its status and queue from a phone."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_http_methods

from jiedao.core.decorators import role_required
from jiedao.core.errors import Forbidden, InvalidInput, NotFound
from jiedao.core.forms import attach_error
from jiedao.core.ledger import stamped, xlsx_response
from jiedao.core.listing import listing
from jiedao.nat.actions import do_export_missing, do_set_site_status
from jiedao.nat.choices import SiteStatus
from jiedao.nat.forms import SiteStatusForm
from jiedao.nat.models import ResultBatch, SamplingSite, TestingRound
from jiedao.nat.queries import (
    REGISTER_ROLES,
    access_round,
    access_site,
    access_tube,
    can_manage_in,
    open_rounds,
    parse_id,
    public_sites,
    sites_for,
)
from jiedao.nat.rounds import MISSING_EVERY, next_missing_send
from jiedao.org.choices import Role
from jiedao.org.geo import feature_collection
from jiedao.org.models import Community


def public_map(request: HttpRequest) -> HttpResponse:
    """Public: where to get tested now, and how long the queue is."""
    sites = list(public_sites().order_by("status", "queue_length", "name"))
    outlines = feature_collection("community", Community.objects.all())
    # without community outlines a map has nothing to place the sites on: the list alone then
    points = [
        {"name": s.name, "value": [s.lng, s.lat, s.queue_length], "status": s.status}
        for s in sites
        if s.lat is not None and s.lng is not None
    ] if outlines["features"] else []  # fmt: skip
    return render(
        request,
        "nat/public_sites.html",
        {
            "sites": sites,
            "open_count": sum(1 for s in sites if s.status == SiteStatus.OPEN),
            "map": {"geojson": outlines, "points": points},
        },
    )


@role_required(*REGISTER_ROLES)
def my_sites(request: HttpRequest) -> HttpResponse:
    sites = list(sites_for(request.user).order_by("name")[:200])
    can_add = request.user.has_role(Role.COMMAND, Role.COMMUNITY_STAFF)  # type: ignore[union-attr]
    if len(sites) == 1 and not can_add:
        return redirect("nat:site", sites[0].pk)
    return render(request, "nat/my_sites.html", {"sites": sites, "can_add": can_add})


@role_required(*REGISTER_ROLES)
@require_http_methods(["GET", "POST"])
def site(request: HttpRequest, pk: int) -> HttpResponse:
    """A site's staff set whether it is open and how many people wait (big buttons for a phone)."""
    the_site = access_site(request.user, pk)
    form = SiteStatusForm(
        request.POST or None, initial={"status": the_site.status, "queue_length": the_site.queue_length}
    )
    if request.method == "POST" and form.is_valid():
        try:
            do_set_site_status(
                actor=request.user,
                site=the_site,
                status=form.cleaned_data["status"],
                queue_length=form.cleaned_data["queue_length"],
            )
        except InvalidInput as exc:
            attach_error(form, exc)
        else:
            messages.success(request, _("Saved: the public map shows it now."))
            return redirect("nat:site", the_site.pk)
    context: dict[str, Any] = {
        "site": the_site,
        "form": form,
        "statuses": SiteStatus.choices,
        "can_edit": can_manage_in(request.user, the_site.community_id),
    }
    return render(request, "nat/site.html", context)


@role_required(*REGISTER_ROLES)
def sampler(request: HttpRequest) -> HttpResponse:
    """The sampler's phone page: open a tube, add people, close it. It keeps working offline: items
    wait on the phone and are sent when the network is back, each applied once by its key."""
    sites = list(sites_for(request.user).order_by("name")[:200])
    rounds = list(open_rounds().prefetch_related("sites")[:20])
    config = {
        "user": request.user.get_username(),
        "sites": [{"id": s.pk, "name": s.name} for s in sites],
        "rounds": [{"id": r.pk, "name": r.name, "sites": [s.pk for s in r.sites.all()]} for r in rounds],
        "api": "/api/v1/nat/registrations",
        "t": {
            "online": _("Online"),
            "offline": _("Offline: kept on this phone"),
            "full": _("The tube is full: seal it and open a new one."),
            "needId": _("Scan or type the resident ID."),
            "needCode": _("Scan or type the tube barcode."),
            "twice": _("Already in this tube."),
            "empty": _("The tube is empty."),
            "opened": _("tube opened"),
            "sealed": _("tube sealed"),
        },
    }
    return render(request, "nat/sampler.html", {"config": config, "sites": sites, "rounds": rounds})


SERVICE_WORKER = """// jiedao sampler: keeps the sampling page and its assets on the phone so that it opens offline.
const CACHE = "jd-nat-v1";
self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.add("/nat/sample/")).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("message", (e) => {
  const urls = (e.data && e.data.cache) || [];
  e.waitUntil(caches.open(CACHE).then((c) => Promise.all(urls.map((u) => c.add(u).catch(() => null))))
    .then(() => e.source && e.source.postMessage({cached: urls.length})));
});
self.addEventListener("fetch", (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === "/nat/sample/" || url.pathname.startsWith("/static/")) {
    // the network first (fresh page, fresh CSRF token), the phone's copy when there is none
    e.respondWith(fetch(req).then((resp) => {
      if (resp.ok) { const copy = resp.clone(); caches.open(CACHE).then((c) => c.put(req, copy)); }
      return resp;
    }).catch(() => caches.match(req, {ignoreVary: true})));
  }
});
"""


def service_worker(request: HttpRequest) -> HttpResponse:
    """Public script (it holds nothing personal); its scope is /nat/."""
    response = HttpResponse(SERVICE_WORKER, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@role_required(Role.COMMAND)
@require_http_methods(["GET", "POST"])
def results(request: HttpRequest) -> HttpResponse:
    """The command centre uploads a laboratory's results file (CSV or Excel); the page then lists
    what each row did, refusals first."""
    from jiedao.nat.results import do_record_results, rows_from_file

    report = None
    error = ""
    lab = request.POST.get("lab", "").strip()
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise InvalidInput(_("Choose a results file."), field="file")
            data = upload.read()
            name = upload.name or "results.csv"
            rows = rows_from_file(name, data)
            report = do_record_results(actor=request.user, rows=rows, lab=lab, filename=name, data=data)
        except InvalidInput as exc:
            error = exc.message
    batches = list(ResultBatch.objects.order_by("-created_at", "-pk")[:20])
    items = (
        sorted(report.items, key=lambda i: (i["status"] != "refused", i.get("row") or 0)) if report else []
    )
    return render(
        request,
        "nat/results.html",
        {"report": report, "items": items[:500], "error": error, "lab": lab, "batches": batches},
    )


@role_required(Role.COMMAND, Role.AUDITOR, Role.COMMUNITY_STAFF)
def tube(request: HttpRequest, barcode: str) -> HttpResponse:
    """One tube: where and when it was filled, its result and, for a positive pool, its members and
    the pushed list that put them under temporary control."""
    the_tube = access_tube(request.user, barcode)
    samples = list(the_tube.samples.select_related("person").order_by("sampled_at", "pk"))
    return render(request, "nat/tube.html", {"tube": the_tube, "samples": samples})


ROUND_ROLES = (Role.COMMAND, Role.AUDITOR, Role.COMMUNITY_STAFF, Role.GRID_WORKER)


def _round_scope(request: HttpRequest) -> Any:
    from jiedao.control.queries import role_scope

    return role_scope(request.user, ROUND_ROLES)


@role_required(*ROUND_ROLES)
def rounds(request: HttpRequest) -> HttpResponse:
    page = listing(
        request, TestingRound.objects.all(), sortable={"starts": "starts_at"}, default_sort="-starts"
    )
    can_open = request.user.has_role(Role.COMMAND)  # type: ignore[union-attr]
    return render(request, "nat/rounds.html", {"list": page, "can_open": can_open})


@role_required(*ROUND_ROLES)
def round_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A round at a glance: coverage of the residents in scope by community, grid, compound or
    building (the caller's area) and on the map, samples by hour and by site, tubes and their
    reconciliation, and pooling advice. `?part=coverage` is the live part the page polls."""
    from jiedao.nat import coverage
    from jiedao.org.geo import feature_collection

    rnd = access_round(request.user, pk)
    level = request.GET.get("level", "grid")
    if level not in coverage.LEVELS:
        level = "grid"
    scope = _round_scope(request)
    rows, total = coverage.coverage(rnd, scope, level)
    context: dict[str, Any] = {"round": rnd, "rows": rows, "total": total, "level": level,
                               "levels": LEVEL_LABELS, "tubes": coverage.tube_counts(rnd)}  # fmt: skip
    if request.GET.get("part") == "coverage":
        return render(request, "nat/_round_live.html", context)
    by_community = coverage.by_community(rows)  # added up from the rows, not counted again
    outlines = feature_collection(
        "community", Community.objects.filter(pk__in=[r.community_id for r in by_community])
    )
    context.update(
        advice=coverage.pooling_advice(rnd),
        rec=coverage.reconciliation(rnd)["total"],
        chart={
            "hourly": coverage.by_hour(rnd), "sites": coverage.by_site(rnd),
            "map": {"geojson": outlines, "values": [{"name": r.label, "value": r.percent} for r in by_community]}
            if outlines["features"] else None,
        },
        can_issue=request.user.has_role(Role.COMMAND),  # type: ignore[union-attr]
        next_missing=next_missing_send(rnd), missing_every=MISSING_EVERY,
    )  # fmt: skip
    return render(request, "nat/round.html", context)


LEVEL_LABELS = [
    ("community", _lazy("Community")),
    ("grid", _lazy("Grid")),
    ("compound", _lazy("Compound")),
    ("building", _lazy("Building")),
]


@role_required(*ROUND_ROLES)
def round_missing(request: HttpRequest, pk: int) -> HttpResponse:
    """The residents in scope neither sampled nor exempt, for the grid workers (by community, grid,
    compound or building), with an exemption form per person and an Excel export."""
    from jiedao.nat import coverage
    from jiedao.nat.choices import ExemptionReason
    from jiedao.nat.rounds import EXEMPT_ROLES

    rnd = access_round(request.user, pk)
    qs = coverage.missing(rnd, _round_scope(request))
    filters = {}
    for name, column in (("community", "community_id"), ("grid", "grid_id"),
                         ("compound", "household__flat__compound_id"),
                         ("building", "household__flat__entrance__building_id")):  # fmt: skip
        value = parse_id(request.GET.get(name))
        if value is not None:
            qs = qs.filter(**{column: value})
            filters[name] = str(value)
    q = request.GET.get("q", "").strip().replace("\x00", "")[:50]
    if q:
        qs = qs.filter(person__name__contains=q)
        filters["q"] = q
    if request.GET.get("export") == "1":
        data = do_export_missing(actor=request.user, rnd=rnd, queryset=qs, filters=filters)
        return xlsx_response(stamped(f"missing-{rnd.pk}"), data)
    page = listing(request, qs, sortable={"address": "household__address"}, default_sort="address")
    return render(
        request,
        "nat/missing.html",
        {
            "round": rnd, "list": page, "filters": filters, "q": q,
            "back": urlencode(filters),
            "can_exempt": request.user.has_role(*EXEMPT_ROLES) and rnd.status != "closed",  # type: ignore[union-attr]
            "reasons": ExemptionReason.choices,
        },
    )  # fmt: skip


@role_required(Role.COMMAND, Role.COMMUNITY_STAFF)
@require_http_methods(["GET", "POST"])
def site_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Add a sampling site, or change one, in the caller's area."""
    from jiedao.control.queries import role_scope
    from jiedao.nat.actions import do_save_site
    from jiedao.nat.forms import SiteForm

    the_site = access_site(request.user, pk) if pk else None
    scope = role_scope(request.user, (Role.COMMAND, Role.COMMUNITY_STAFF))
    communities = (
        Community.objects.all() if scope.everything else Community.objects.filter(pk__in=scope.community_ids)
    )
    initial = (
        {f: getattr(the_site, f) for f in ("name", "address", "hours", "lanes", "lat", "lng")} | {"community": the_site.community_id}
        if the_site else {}
    )  # fmt: skip
    chosen = parse_id(request.POST.get("community"))
    if request.method == "POST" and chosen and not communities.filter(pk=chosen).exists():
        raise NotFound(_("Not found."))  # a community outside one's area reads as not found
    from jiedao.nat.queries import samplers_in

    samplers = samplers_in(list(communities.values_list("pk", flat=True)))
    if the_site is not None:
        initial["staff"] = list(the_site.staff.all())
    form = SiteForm(
        request.POST or None, initial=initial, communities=communities.defer("geometry"), samplers=samplers
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            saved = do_save_site(
                actor=request.user, site=the_site, name=d["name"], community=d["community"], address=d["address"],
                hours=d["hours"], lanes=d["lanes"], lat=d["lat"], lng=d["lng"], staff=list(d["staff"]),
            )  # fmt: skip
        except (InvalidInput, Forbidden) as exc:
            attach_error(form, exc)
        else:
            messages.success(request, _("Saved: the public map shows it now."))
            return redirect("nat:site", saved.pk)
    return render(request, "nat/site_form.html", {"form": form, "site": the_site})


@role_required(Role.COMMAND)
@require_http_methods(["GET", "POST"])
def round_new(request: HttpRequest) -> HttpResponse:
    from jiedao.nat.actions import do_open_round
    from jiedao.nat.forms import RoundForm

    form = RoundForm(
        request.POST or None, initial={"sites": list(SamplingSite.objects.filter(status=SiteStatus.OPEN))}
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            rnd = do_open_round(
                actor=request.user, name=d["name"], kind=d["kind"], starts_at=d["starts_at"], ends_at=d["ends_at"],
                communities=list(d["communities"]), sites=list(d["sites"]),
            )  # fmt: skip
        except InvalidInput as exc:
            attach_error(form, exc)
        else:
            return redirect("nat:round", rnd.pk)
    return render(request, "nat/round_form.html", {"form": form})
