"""Synthetic presence data at any scale with planted contacts, so tests and benchmarks know the
true answer (issue 7, "Synthetic data").

Background: random people scan random venues in the daytime (08:00–22:00 China time) and leave
cell records of 10–240 minutes, mostly in their home cell. Planted: per index case, close contacts
by venue scan and by cell/bulk overlap, boundary cases, a busy venue, near misses and secondary
contacts. Planted people and places are never used by the background (their keys are numbered past
the background ranges), so the planted truth is exact whatever the background holds.

Definitions the truth follows (the engines must use the same):
- venue scans are co-present when |t1 - t2| <= W minutes (W inclusive, to the microsecond);
- cell and bulk stays are co-present when they overlap by >= N minutes at the same place;
- a close contact of an index case is co-present with it at a time within the look-back window
  [onset - LOOKBACK_DAYS, onset];
- a secondary contact is co-present with a close contact at or after that contact's exposure,
  and is neither an index case nor a close contact of the same index case."""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from jiedao.tracing import store
from jiedao.tracing.schema import BULK, CELL, VENUE_SCAN

SCAN_WINDOW_MINUTES = 15  # venue scans within ±15 min are co-present
MIN_OVERLAP_MINUTES = 15  # cell and bulk stays overlapping >= 15 min are co-present
LOOKBACK_DAYS = 4  # days before onset (or sampling) searched for contacts

TRUTH_FILE = "truth.json"
BUSY_SCANS = 3000  # scans in the busy venue's hour
CHUNK_ROWS = 2_000_000

_SCAN_HOURS = (0, 14)  # UTC hours of background scans: 08:00–22:00 in China (UTC+8)
_CELL_MIN_S, _CELL_MAX_S = 10 * 60, 240 * 60
_HOME_SHARE = 0.7  # share of background cell records in the person's home cell
_SLOTS = 17  # planted events per index case, spread over its look-back window

Triple = tuple[str, str, str]


def person_key(n: int) -> str:
    return f"P{n:09d}"


def venue_key(n: int) -> str:
    return f"V{n:07d}"


def cell_key(n: int) -> str:
    return f"C{n:07d}"


@dataclass
class Truth:
    """What the generator planted and what the engines must find."""

    seed: int
    persons: int
    venues: int
    cells: int
    days: int
    start_day: date
    scan_window_minutes: int  # W
    min_overlap_minutes: int  # N
    lookback_days: int
    index_keys: list[str] = field(default_factory=list)
    onsets: dict[str, datetime] = field(default_factory=dict)  # index key -> onset (UTC, naive)
    # (index key, contact key, place key) for every expected close contact
    close_contacts: set[Triple] = field(default_factory=set)
    # (index key, secondary contact key, place key where it met the close contact)
    secondary_contacts: set[Triple] = field(default_factory=set)
    # (index key, person key, place key): planted near misses that must NOT be found at any level
    non_contacts: set[Triple] = field(default_factory=set)
    busy_venue_keys: list[str] = field(default_factory=list)
    # one dict per planted pair: kind, index, person, place, source, expected ("close",
    # "secondary" or "none"), via (the close contact for secondary kinds), start/end as ISO text
    events: list[dict[str, Any]] = field(default_factory=list)
    rows_written: int = 0
    duplicates: int = 0  # background rows that happened to repeat (skipped by the store)

    def close_pairs(self) -> set[tuple[str, str]]:
        return {(index, contact) for index, contact, _ in self.close_contacts}

    def secondary_pairs(self) -> set[tuple[str, str]]:
        return {(index, person) for index, person, _ in self.secondary_contacts}

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["start_day"] = self.start_day.isoformat()
        data["onsets"] = {k: v.isoformat() for k, v in self.onsets.items()}
        for name in ("close_contacts", "secondary_contacts", "non_contacts"):
            data[name] = sorted(list(t) for t in getattr(self, name))
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Truth:
        data = dict(data)
        data["start_day"] = date.fromisoformat(data["start_day"])
        data["onsets"] = {k: datetime.fromisoformat(v) for k, v in data["onsets"].items()}
        for name in ("close_contacts", "secondary_contacts", "non_contacts"):
            data[name] = {tuple(t) for t in data[name]}
        return cls(**data)

    def save(self, root: str | Path) -> Path:
        path = Path(root) / TRUTH_FILE
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, root: str | Path) -> Truth:
        path = Path(root)
        if path.is_dir():
            path = path / TRUTH_FILE
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


# ---------------------------------------------------------------------------------------- planted


class _Plan:
    """Planted rows (few: a Python loop is fine) and the truth they imply."""

    def __init__(self, truth: Truth, rng: random.Random, busy_scans: int) -> None:
        self.truth = truth
        self.busy_scans = busy_scans
        self.rng = rng
        self.next_person = truth.persons
        self.next_venue = truth.venues
        self.next_cell = truth.cells
        self.rows: list[tuple[str, str, datetime, datetime, str]] = []
        self.w = timedelta(minutes=truth.scan_window_minutes)
        self.n = timedelta(minutes=truth.min_overlap_minutes)
        # every planted stay lasts long enough to hold any overlap the cases need
        self.stay = self.n + timedelta(minutes=45)

    def person(self) -> str:
        self.next_person += 1
        return person_key(self.next_person - 1)

    def place(self, source: str) -> str:
        if source == CELL:
            self.next_cell += 1
            return cell_key(self.next_cell - 1)
        self.next_venue += 1
        return venue_key(self.next_venue - 1)

    def record(self, person: str, place: str, start: datetime, end: datetime, source: str) -> None:
        self.rows.append((person, place, start, end, source))

    def event(
        self,
        kind: str,
        index: str,
        person: str,
        place: str,
        source: str,
        *,
        expected: str,
        via: str | None,
        start: datetime,
        end: datetime | None = None,
    ) -> None:
        """Record one planted pair: `expected` is "close", "secondary" or "none"; `start`/`end` are
        when the two were (or nearly were) together."""
        self.truth.events.append(
            {"kind": kind, "index": index, "person": person, "place": place, "source": source}
            | {"expected": expected, "via": via, "start": start.isoformat()}
            | {"end": (end or start).isoformat()}
        )
        triple = (index, person, place)
        if expected == "close":
            self.truth.close_contacts.add(triple)
        elif expected == "secondary":
            self.truth.secondary_contacts.add(triple)
        else:
            self.truth.non_contacts.add(triple)

    def scan_pair(
        self,
        index: str,
        who: str,
        t: datetime,
        offset: timedelta,
        kind: str,
        expected: str,
        via: str | None = None,
    ) -> str:
        """`who` scans a fresh venue at `t` and a new person scans it `offset` later; returns the
        new person (the planted pair belongs to `index`'s case)."""
        other = self.person()
        venue = self.place(VENUE_SCAN)
        self.record(who, venue, t, t, VENUE_SCAN)
        self.record(other, venue, t + offset, t + offset, VENUE_SCAN)
        self.event(kind, index, other, venue, VENUE_SCAN, expected=expected, via=via, start=t)
        return other

    def stay_pair(
        self,
        index: str,
        who: str,
        t: datetime,
        overlap: timedelta,
        kind: str,
        expected: str,
        source: str = CELL,
        via: str | None = None,
    ) -> str:
        """`who` stays [t, t+stay] in a fresh place; a new person's stay overlaps it by `overlap`
        at its end (zero: the two intervals touch)."""
        other = self.person()
        place = self.place(source)
        end = t + self.stay
        self.record(who, place, t, end, source)
        self.record(other, place, end - overlap, end - overlap + self.stay, source)
        self.event(
            kind, index, other, place, source, expected=expected, via=via, start=end - overlap, end=end
        )
        return other

    def index_case(self, k: int, onset: datetime, busy: bool) -> None:
        t = self.truth
        rng = self.rng
        index = self.person()
        t.index_keys.append(index)
        t.onsets[index] = onset
        w, n = self.w, self.n
        lookback = timedelta(days=t.lookback_days)
        first = onset - lookback + timedelta(hours=2)
        step = (lookback - timedelta(hours=4)) / _SLOTS
        slot = [(first + step * j).replace(microsecond=0) for j in range(_SLOTS)]
        inside = max(0, int(w.total_seconds()) - 60)

        # Slot 0: a venue contact with a secondary contact after exposure, and one before it.
        contact = self.scan_pair(
            index, index, slot[0], timedelta(seconds=rng.randint(-inside, inside)), "venue", "close"
        )
        exposure = slot[0]
        self.scan_pair(
            index,
            contact,
            exposure + timedelta(hours=6),
            timedelta(minutes=2),
            "secondary_venue",
            "secondary",
            via=contact,
        )
        self.scan_pair(
            index,
            contact,
            exposure - timedelta(hours=12),
            timedelta(minutes=2),
            "before_exposure",
            "none",
            via=contact,
        )
        # Slot 1: a cell contact with the same two.
        overlap = timedelta(seconds=rng.randint(int(n.total_seconds()), int(self.stay.total_seconds()) - 60))
        contact = self.stay_pair(index, index, slot[1], overlap, "cell", "close")
        exposure = slot[1] + self.stay - overlap
        self.stay_pair(
            index,
            contact,
            exposure + timedelta(hours=6),
            n + timedelta(minutes=20),
            "secondary_cell",
            "secondary",
            via=contact,
        )
        self.stay_pair(
            index,
            contact,
            exposure - timedelta(hours=12),
            n + timedelta(minutes=20),
            "before_exposure",
            "none",
            via=contact,
        )
        # Slots 2–3: more venue contacts inside the window.
        for j in (2, 3):
            self.scan_pair(
                index, index, slot[j], timedelta(seconds=rng.randint(-inside, inside)), "venue", "close"
            )
        # Slots 4–8: venue boundaries.
        self.scan_pair(index, index, slot[4], w, "venue_plus_w", "close")
        self.scan_pair(index, index, slot[5], -w, "venue_minus_w", "close")
        miss = self.scan_pair(index, index, slot[6], w + timedelta(minutes=1), "venue_plus_w_1min", "none")
        # a non-contact's own contact is nobody's secondary contact
        self.scan_pair(
            index,
            miss,
            slot[6] + timedelta(hours=6),
            timedelta(minutes=2),
            "contact_of_non_contact",
            "none",
            via=miss,
        )
        self.scan_pair(index, index, slot[7], -(w + timedelta(minutes=1)), "venue_minus_w_1min", "none")
        self.scan_pair(index, index, slot[8], w + timedelta(seconds=1), "venue_plus_w_1s", "none")
        # Slots 9–10: more cell contacts.
        for j in (9, 10):
            overlap = timedelta(
                seconds=rng.randint(int(n.total_seconds()), int(self.stay.total_seconds()) - 60)
            )
            self.stay_pair(index, index, slot[j], overlap, "cell", "close")
        # Slots 11–13: cell boundaries.
        self.stay_pair(index, index, slot[11], n, "cell_exactly_n", "close")
        self.stay_pair(index, index, slot[12], n - timedelta(minutes=1), "cell_n_minus_1min", "none")
        self.stay_pair(index, index, slot[13], timedelta(0), "cell_touching", "none")
        # Slot 14: a bulk stay (an upstream file) overlapping by more than N.
        self.stay_pair(index, index, slot[14], n + timedelta(minutes=10), "bulk", "close", source=BULK)
        # Slot 15 is free; slot 16: the busy venue.
        if busy:
            self.busy_venue(index, slot[16])
        # Before the look-back window: not a contact.
        self.scan_pair(
            index,
            index,
            onset - lookback - timedelta(hours=6),
            timedelta(minutes=1),
            "before_lookback",
            "none",
        )
        # The index case's own life at places nobody else uses: a home cell each night and a
        # daily scan, up to the day before onset.
        home, shop = self.place(CELL), self.place(VENUE_SCAN)
        day = datetime.combine(t.start_day, datetime.min.time())
        while day.date() < onset.date():
            self.record(index, home, day + timedelta(hours=14), day + timedelta(hours=22), CELL)
            at = day + timedelta(hours=3, minutes=k % 60)
            self.record(index, shop, at, at, VENUE_SCAN)
            day += timedelta(days=1)

    def busy_venue(self, index: str | None, t: datetime) -> None:
        """`busy_scans` scans in one hour at a fresh venue; the index case (if any) scans first, so
        every crowd scan is at or after it (which keeps "after exposure" unambiguous)."""
        venue = self.place(VENUE_SCAN)
        self.truth.busy_venue_keys.append(venue)
        crowd = [(self.person(), timedelta(seconds=self.rng.randrange(3600))) for _ in range(self.busy_scans)]
        for person, offset in crowd:
            self.record(person, venue, t + offset, t + offset, VENUE_SCAN)
        if index is None:
            return
        self.record(index, venue, t, t, VENUE_SCAN)
        close = [(p, o) for p, o in crowd if o <= self.w]
        for person, _ in close:
            self.truth.close_contacts.add((index, person, venue))
        if close:
            last = max(o for _, o in close)
            for person, offset in crowd:
                if self.w < offset <= last + self.w:
                    self.truth.secondary_contacts.add((index, person, venue))


# ---------------------------------------------------------------------------------------- background


def _mix(*parts: int) -> int:
    """A stable 31-bit seed for one random stream (pc.random takes an int initializer)."""
    value = 0x9E3779B1
    for part in parts:
        value = (value * 1_000_003 ^ (part & 0xFFFFFFFF)) & 0x7FFFFFFF
    return value


def _uniform_ints(n: int, high: int, seed: int, power: float = 1.0) -> pa.Array:
    """n integers in [0, high), uniform or skewed toward 0 (power > 1), from one seeded stream."""
    u = pc.random(n, initializer=seed)
    if power != 1.0:
        u = pc.power(u, power)
    return pc.cast(pc.floor(pc.multiply(u, high)), pa.int64())


def _keys(prefix: str, count: int, width: int) -> pa.Array:
    numbers = pa.array(range(count), type=pa.int64()).cast(pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width, "0"), "")


def _times(day: date, seconds: pa.Array) -> pa.Array:
    epoch = (day - date(1970, 1, 1)).days * 86_400_000_000
    return pc.add(pc.multiply(seconds, 1_000_000), epoch).cast(pa.timestamp("us"))


def _background(
    root: Path,
    truth: Truth,
    *,
    scans_per_person_day: float,
    cell_records_per_person_day: float,
    chunk_rows: int,
) -> None:
    person_keys = _keys("P", truth.persons, 9)
    venue_keys = _keys("V", truth.venues, 7)
    cell_keys = _keys("C", truth.cells, 7)
    home = _uniform_ints(truth.persons, truth.cells, _mix(truth.seed, 1))
    scan_lo, scan_hi = _SCAN_HOURS[0] * 3600, _SCAN_HOURS[1] * 3600
    for d in range(truth.days):
        day = truth.start_day + timedelta(days=d)
        for kind, total in (
            (VENUE_SCAN, round(truth.persons * scans_per_person_day)),
            (CELL, round(truth.persons * cell_records_per_person_day)),
        ):
            for c, lo in enumerate(range(0, total, chunk_rows)):
                n = min(chunk_rows, total - lo)
                s = _mix(truth.seed, d, c, 2 if kind == VENUE_SCAN else 3)
                people = _uniform_ints(n, truth.persons, _mix(s, 1))
                if kind == VENUE_SCAN:
                    places = venue_keys.take(_uniform_ints(n, truth.venues, _mix(s, 2), power=1.5))
                    start = pc.add(_uniform_ints(n, scan_hi - scan_lo, _mix(s, 3)), scan_lo)
                    end = start
                else:
                    roam = _uniform_ints(n, truth.cells, _mix(s, 2))
                    at_home = pc.less(pc.random(n, initializer=_mix(s, 4)), _HOME_SHARE)
                    places = cell_keys.take(pc.if_else(at_home, home.take(people), roam))
                    start = _uniform_ints(n, 86_400, _mix(s, 3))
                    length = pc.add(_uniform_ints(n, _CELL_MAX_S - _CELL_MIN_S + 1, _mix(s, 5)), _CELL_MIN_S)
                    end = pc.add(start, length)
                table = pa.table(
                    {
                        "person_key": person_keys.take(people),
                        "place_key": places,
                        "start_ts": _times(day, start),
                        "end_ts": _times(day, end),
                        "source": pa.repeat(pa.scalar(kind), n),
                    },
                    schema=store.ARROW_SCHEMA,
                )
                _write(root, table, truth)


def _write(root: Path, data: Any, truth: Truth) -> None:
    report = store.write_presence(root, data)
    if report.refused:
        raise AssertionError(f"the generator produced refused rows: {report.refused_by_reason}")
    truth.rows_written += report.written
    truth.duplicates += report.duplicates


# ---------------------------------------------------------------------------------------- entry


def generate(
    root: str | Path,
    *,
    persons: int,
    venues: int,
    cells: int,
    days: int,
    start_day: date,
    seed: int,
    index_cases: int,
    busy_venues: int = 1,
    busy_scans: int = BUSY_SCANS,
    scans_per_person_day: float = 2.0,
    cell_records_per_person_day: float = 4.0,
    scan_window_minutes: int = SCAN_WINDOW_MINUTES,
    min_overlap_minutes: int = MIN_OVERLAP_MINUTES,
    lookback_days: int = LOOKBACK_DAYS,
    chunk_rows: int = CHUNK_ROWS,
) -> Truth:
    """Write background and planted presence into an empty store at `root` and save truth.json
    there. Background rows ≈ persons × days × (scans + cell records per person-day); the first
    `busy_venues` index cases scan at a busy venue (extra busy venues have no index case).
    Planted people/places are numbered after the background's `persons`/`venues`/`cells`."""
    base = Path(root)
    if store.read_days(base, date.min, date.max):
        raise ValueError(f"{base} already holds presence data: generate into an empty directory")
    if days < lookback_days + 3:
        raise ValueError(f"days must be at least lookback_days + 3 = {lookback_days + 3}")
    if min(persons, venues, cells) < 1 or index_cases < 0 or busy_venues < 0:
        raise ValueError("persons, venues and cells must be positive; counts not negative")
    truth = Truth(
        seed=seed,
        persons=persons,
        venues=venues,
        cells=cells,
        days=days,
        start_day=start_day,
        scan_window_minutes=scan_window_minutes,
        min_overlap_minutes=min_overlap_minutes,
        lookback_days=lookback_days,
    )
    base.mkdir(parents=True, exist_ok=True)
    _background(
        base,
        truth,
        scans_per_person_day=scans_per_person_day,
        cell_records_per_person_day=cell_records_per_person_day,
        chunk_rows=chunk_rows,
    )
    plan = _Plan(truth, random.Random(seed), busy_scans)
    first = datetime.combine(start_day, datetime.min.time())
    onset_days = days - lookback_days - 2
    for k in range(index_cases):
        onset_day = lookback_days + 1 + k % onset_days
        onset = first + timedelta(days=onset_day, hours=6, minutes=7 * (k % 60))
        plan.index_case(k, onset, busy=k < busy_venues)
    for k in range(index_cases, busy_venues):
        plan.busy_venue(None, first + timedelta(days=k % days, hours=4))
    for lo in range(0, len(plan.rows), chunk_rows):
        _write(base, plan.rows[lo : lo + chunk_rows], truth)
    truth.save(base)
    return truth
