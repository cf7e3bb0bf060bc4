"""The Huayang demo builder: one deterministic action that fills an empty database with Huayang
Subdistrict (华阳街道, Tianfu New Area, Chengdu) — communities and grids with map outlines, compounds down
to residents with care tags, places, one login per role and a grid worker's day of work items.

- Deterministic: Faker `zh_CN` and `random.Random` streams seeded from `seed`; the same seed and scale
  give the same people, households and places (ciphertexts differ: every encryption takes a fresh
  nonce). Ages count from 1 January of the build year, so rebuilding within a year gives the same IDs.
- Figures from the article at every scale: 218 clinics and 222 pharmacies; Nanhu Shangjing (南湖尚景,
  Binjiang) with exactly 1,324 flats, 1,263 occupied households and over 3,000 residents whenever
  scale ≥ NANHU_EXACT_MIN_SCALE. Below that (test-sized builds) Nanhu Shangjing is scaled down to
  scale/10,000 of its size; `nanhu=False` leaves it out.
- Total residents equal `scale` exactly.
- Safety: it builds only into an empty database. If the database holds its own earlier build with the
  same seed, scale and Nanhu mode it reuses it (so `make demo` twice serves the same data); any other
  content — someone's subdistrict, or a demo of another size — is refused with a message that says to
  delete the SQLite file. Rebuilding means deleting var/jiedao.sqlite3.
- Writes in bulk, straight to the models, inside one transaction (all or nothing), with one audit
  entry per stage (`demo.build_<stage>`). Identity columns go through `registry.identity.apply_identity`.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from django.conf import settings
from django.db import transaction

from jiedao.core import audit
from jiedao.core.identity import mask_phone
from jiedao.core.models import AuditEntry
from jiedao.demo import data, geo
from jiedao.demo.control import build_control, summary_lines
from jiedao.demo.nat import build_nat
from jiedao.demo.nat import summary_lines as nat_lines
from jiedao.demo.people import PeopleFactory
from jiedao.demo.register import build_register
from jiedao.demo.screening import build_screening
from jiedao.demo.sensors import build_sensors
from jiedao.demo.sensors import summary_lines as sensor_lines
from jiedao.demo.staffing import build_staff, build_work, planned_usernames
from jiedao.demo.state import BuildState
from jiedao.demo.tracing import build_tracing
from jiedao.demo.tracing import summary_lines as tracing_lines
from jiedao.demo.venues import GridUnit, VenuePlanner
from jiedao.org.models import Community, Grid, Subdistrict, User
from jiedao.places.models import Place
from jiedao.registry.models import Person

MIN_SCALE = 1_000
MAX_SCALE = 500_000
NANHU_EXACT_MIN_SCALE = 5_000


class DemoRefused(SystemExit):
    """The demo cannot be built as asked or into this database. A SystemExit so that `jiedao demo`
    stops with the message (exit status 1) rather than a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _nanhu_mode(scale: int, nanhu: bool | None) -> str:
    if nanhu is False:
        return "none"
    if scale >= NANHU_EXACT_MIN_SCALE:
        return "exact"
    if nanhu is True:
        raise DemoRefused(
            f"Nanhu Shangjing alone has over 3,000 residents: its exact figures need --scale ≥ "
            f"{NANHU_EXACT_MIN_SCALE:,} (got {scale:,}); leave nanhu unset to scale it down."
        )
    return "scaled"


def _database_label() -> tuple[str, str]:
    """The database's name for messages, and how to get a fresh one."""
    db = settings.DATABASES["default"]
    if str(db["ENGINE"]).endswith("sqlite3"):
        return str(db["NAME"]), f"delete {db['NAME']} (and its -wal and -shm files)"
    name = f"database {db.get('NAME')} on {db.get('HOST') or 'localhost'}"
    return name, f"drop and re-create {name} (then run migrations)"


def _previous_build(scale: int, seed: int, mode: str) -> dict[str, Any] | None:
    """The summary of this database's earlier identical demo build, None for an empty database; refuse
    anything else."""
    where, fresh = _database_label()
    subdistricts = list(Subdistrict.objects.values_list("code", "name"))
    done = AuditEntry.objects.filter(action="demo.build_done").order_by("-id").first()
    if subdistricts:
        if done is not None and subdistricts == [(data.SUBDISTRICT_CODE, data.SUBDISTRICT_NAME)]:
            before = done.changes
            asked = {"scale": scale, "seed": seed, "nanhu": mode}
            if all(before.get(k) == v for k, v in asked.items()):
                return {**before, "reused": True, "password": data.DEMO_PASSWORD}
            built = ", ".join(f"{k} {before.get(k)}" for k in asked)
            wanted = ", ".join(f"{k} {v}" for k, v in asked.items())
            raise DemoRefused(
                f"The Huayang demo is already built in {where} ({built}); you asked for {wanted}. "
                f"The builder writes only into an empty database: {fresh}, and run jiedao demo again."
            )
        names = ", ".join(f"{name} ({code})" for code, name in subdistricts)
        raise DemoRefused(
            f"{where} already holds a subdistrict: {names}. The demo builder will not write into a database "
            "with real or other data: point JIEDAO_VAR_DIR or DATABASE_URL at a new, empty database."
        )
    if Person.objects.exists() or Place.objects.exists():
        raise DemoRefused(
            f"{where} already holds persons or places but no subdistrict; the demo needs an empty database."
        )
    clashes = sorted(User.objects.filter(username__in=planned_usernames()).values_list("username", flat=True))
    if clashes:
        raise DemoRefused(
            f"{where} already has accounts named like the demo's ({', '.join(clashes[:5])}); "
            "the demo needs an empty database."
        )
    return None


def _build_org(state: BuildState) -> None:
    started = time.perf_counter()
    outlines = geo.build_outlines(state.rng("geo"), [c.grid_layout for c in data.COMMUNITIES])
    sub = Subdistrict.objects.create(
        name=data.SUBDISTRICT_NAME, code=data.SUBDISTRICT_CODE, geometry=outlines.subdistrict
    )
    communities = Community.objects.bulk_create(
        [
            Community(
                subdistrict=sub, name=spec.name, code=f"HY-{spec.abbr}", geometry=outlines.communities[k]
            )
            for k, spec in enumerate(data.COMMUNITIES)
        ]
    )
    grids: list[Grid] = []
    for k, spec in enumerate(data.COMMUNITIES):
        for n, cell in enumerate(outlines.grids[k], start=1):
            grid = Grid(
                community=communities[k],
                name=f"第{data.chinese_number(n)}网格",
                code=f"HY-{spec.abbr}-{n:02d}",
                geometry=cell.outline(),
            )
            grids.append(grid)
            state.units.append(GridUnit(spec=spec, community=communities[k], grid=grid, cell=cell))
    Grid.objects.bulk_create(grids)
    state.subdistrict = sub
    state.demo_grid = next(
        u for u in state.units if u.spec.slug == data.NANHU_COMMUNITY and u.grid.code.endswith("-01")
    )
    state.counts.update(communities=len(communities), grids=len(grids))
    audit.record(
        actor=None,
        action="demo.build_org",
        obj=sub,
        changes={"communities": len(communities), "grids": len(grids)},
    )
    state.say("org", f"{len(communities)} communities, {len(grids)} grids", started)


def _build_places(state: BuildState) -> None:
    started = time.perf_counter()
    assert state.people is not None
    # Contacts get their own name stream but share the residents' phone numbers' uniqueness.
    contacts = PeopleFactory(state.rng("places-people"), state.faker, state.ref)
    contacts.used_phones = state.people.used_phones
    planner = VenuePlanner(
        state.rng("places"), state.faker, state.units, state.compounds, contacts.name, contacts.phone
    )
    rows = []
    for p in planner.plan(state.scale):
        rows.append(
            Place(
                kind=p.kind,
                name=p.name,
                address=p.address,
                community=p.unit.community,
                grid=p.unit.grid,
                venue_code=p.venue_code,
                contact_name=p.contact_name,
                contact_phone=p.contact_phone,
                contact_phone_masked=mask_phone(p.contact_phone),
                credit_code=p.credit_code,
                lat=p.lat,
                lng=p.lng,
            )
        )
        state.place_counts[p.kind] += 1
    Place.objects.bulk_create(rows, batch_size=500)
    audit.record(actor=None, action="demo.build_places", changes={"places": dict(state.place_counts)})
    state.say(
        "places",
        f"{len(rows):,} places ({state.place_counts['clinic']} clinics, "
        f"{state.place_counts['pharmacy']} pharmacies)",
        started,
    )


def _summary(state: BuildState, elapsed: float) -> dict[str, Any]:
    return {
        "scale": state.scale,
        "seed": state.seed,
        "nanhu": state.mode,
        "reused": False,
        "counts": {
            **dict(state.counts),
            "care_tags": dict(state.care_counts),
            "places": dict(state.place_counts),
        },
        "nanhu_shangjing": state.nanhu,
        "logins": state.logins,
        "digest": state.digest.hexdigest(),
        "seconds": {**state.seconds, "total": round(elapsed, 2)},
    }


def build_demo(
    *, scale: int = 30000, seed: int = 2022, progress: bool = False, nanhu: bool | None = None
) -> dict:
    """Build the Huayang demo into the (empty) default database and return its summary.

    `nanhu`: None = Nanhu Shangjing exact when scale ≥ NANHU_EXACT_MIN_SCALE, scaled down below;
    True = exact (refused below that scale); False = left out. Raises DemoRefused for a scale out of
    range and when the database is not empty (an identical earlier build is reused instead)."""
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise DemoRefused(
            f"--scale must be between {MIN_SCALE:,} and {MAX_SCALE:,} residents, not {scale:,}."
        )
    mode = _nanhu_mode(scale, nanhu)
    started = time.perf_counter()
    previous = _previous_build(scale, seed, mode)
    if previous is not None:
        if progress:
            print(
                f"[demo] already built here (scale {scale:,}, seed {seed}): reusing it. "
                f"To rebuild, {_database_label()[1]} and run jiedao demo again.",
                flush=True,
            )
        return previous
    state = BuildState(scale=scale, seed=seed, mode=mode, progress=progress)
    with transaction.atomic():
        _build_org(state)
        build_register(state)
        _build_places(state)
        build_staff(state)
        build_work(state)
        build_screening(state)
        build_control(state)
        build_sensors(state)
        build_tracing(state)
        build_nat(state)
        summary = _summary(state, time.perf_counter() - started)
        audit.record(actor=None, action="demo.build_done", obj=state.subdistrict, changes=summary)
    # The demo password is printed for everyone to use, but it has no place in the audit log.
    summary["password"] = data.DEMO_PASSWORD
    if progress:
        print(f"[demo] done in {summary['seconds']['total']:.1f}s", flush=True)
    return summary


def person_digest() -> str:
    """SHA-256 over every person's name, document and phone in creation order: equal for equal builds.
    (The ciphertexts differ between builds; this compares what they decrypt to.)"""
    digest = hashlib.sha256()
    for name, id_type, number, phone in (
        Person.objects.order_by("pk")
        .values_list("name", "id_type", "id_number", "phone")
        .iterator(chunk_size=5000)
    ):
        digest.update(f"{name}\t{id_type}\t{number}\t{phone}\n".encode())
    return digest.hexdigest()


def print_logins(summary: dict) -> None:
    """Print what was built and how to sign in."""
    counts = summary.get("counts", {})
    places = counts.get("places", {})
    nanhu = summary.get("nanhu_shangjing") or {}
    print()
    print(
        f"Huayang demo (华阳街道): {summary['scale']:,} residents in {counts.get('households', 0):,} households, "
        f"{counts.get('communities', 0)} communities, {counts.get('grids', 0)} grids, "
        f"{sum(places.values()):,} places ({places.get('clinic', 0)} clinics, {places.get('pharmacy', 0)} "
        f"pharmacies); seed {summary['seed']}."
    )
    if nanhu:
        print(
            f"{nanhu['name']} ({nanhu['community']}): {nanhu['flats']:,} flats, {nanhu['households']:,} "
            f"households, {nanhu['residents']:,} residents"
            + ("" if nanhu["mode"] == "exact" else " (scaled down)")
        )
    if counts.get("pushed_lists"):
        print(
            f"Screening: {counts['pushed_lists']} pushed lists this week, {counts.get('key_persons', 0):,} key persons "
            f"({counts.get('key_persons_to_verify', 0):,} to verify, {counts.get('key_persons_dispatch', 0):,} in the "
            f"dispatch queue, {counts.get('key_persons_verified', 0):,} verified)"
        )
    for line in summary_lines(counts):
        print(line)
    for line in sensor_lines(counts):
        print(line)
    for line in tracing_lines(counts):
        print(line)
    for line in nat_lines(counts):
        print(line)
    print()
    print(f"Sign in with password {summary['password']!r} as:")
    for login in summary["logins"]:
        print(f"  {login['role']:<20} {login['username']:<28} {login['unit']}")
    print("Every community has <community>_staff (e.g. longhe_staff) and every grid a grid worker")
    print("grid_<community>_<n> (e.g. grid_longhe_3); for care teams, doctor_<community>, police_<community>")
    print("and volunteer_<community>_team (e.g. doctor_longhe).")
    print()
