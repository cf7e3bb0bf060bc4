"""Set-up for trace-run tests (unit, access matrix, browser): a positive case in community A and
presence records around it, written through the store like any upstream feed."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils import timezone

from jiedao.tracing import store

_n = itertools.count(1)
MIN = dt.timedelta(minutes=1)
VISITOR_ID = "11010519491231002X"  # a valid GB 11643 number (the standard's own example)


def positive_case(cast: Any) -> Any:
    """A close contact in grid A1 under centralised quarantine (control's own test case), with a
    positive test sampled an hour ago."""
    from jiedao.control.actions import do_record_test, do_start_case
    from jiedao.control.tests.access import case_a1

    case = do_start_case(actor=None, case=case_a1(cast), basis="已入住集中隔离点")
    do_record_test(
        actor=None, case=case, test_date=case.start_date, result="positive",
        sampled_at=timezone.now() - dt.timedelta(hours=1),
    )  # fmt: skip
    return case


@dataclass
class Scene:
    case: Any
    onset: dt.datetime
    close: list[Any]  # register persons who scanned the same venue code as the index case
    secondary: list[Any]  # register persons who met a close contact later
    stranger_key: str  # a close contact with no register entry and no check-in
    visitor_key: str  # a close contact not on the register who checked in at the venue's page
    venue: Any


def presence_scene(root: Path, case: Any, cast: Any) -> Scene:
    """Around the index case: two register persons scan its venue within minutes (close contacts),
    one of them then meets a third (secondary), and a key unknown here scans too."""
    from jiedao.control.models import CaseTest
    from jiedao.registry.models import Resident
    from jiedao.registry.tests.factories import make_household

    onset = CaseTest.objects.filter(case=case).get().sampled_at
    hh = make_household(cast.community_a, cast.grid_a1, members=3)
    people = [r.person for r in Resident.objects.filter(household=hh).select_related("person").order_by("pk")]
    from jiedao.places.actions import do_check_in, do_create_place
    from jiedao.registry.identity import id_lookup_key

    at = onset - dt.timedelta(days=1)
    place = do_create_place(
        actor=None, kind="supermarket", name="甲一超市", community=cast.community_a, grid=cast.grid_a1
    )
    other = do_create_place(
        actor=None, kind="restaurant", name="甲一面馆", community=cast.community_a, grid=cast.grid_a1
    )
    venue = place.venue_code
    # a visitor from outside the subdistrict, on no register: known here only by the check-in page
    do_check_in(place=place, name="访客甲", id_number=VISITOR_ID, phone="13900139000",
                client_key=uuid.uuid4().hex, now=at + 2 * MIN)  # fmt: skip
    rows = [
        (case.person.id_index, venue, at, at, "venue_scan"),
        (people[0].id_index, venue, at + 5 * MIN, at + 5 * MIN, "venue_scan"),
        (people[1].id_index, venue, at - 10 * MIN, at - 10 * MIN, "venue_scan"),
        ("STRANGER-KEY-0001", venue, at + 14 * MIN, at + 14 * MIN, "venue_scan"),
        (people[0].id_index, other.venue_code, at + 120 * MIN, at + 120 * MIN, "venue_scan"),
        (people[2].id_index, other.venue_code, at + 125 * MIN, at + 125 * MIN, "venue_scan"),
        ("FAR-AWAY-0001", venue, at + 60 * MIN, at + 60 * MIN, "venue_scan"),  # 60 min later: not
    ]
    report = store.write_presence(
        root,
        [
            dict(zip(("person_key", "place_key", "start_ts", "end_ts", "source"), r, strict=True))
            for r in rows
        ],
    )
    assert report.written == len(rows), report
    return Scene(case, onset, [people[0], people[1]], [people[2]], "STRANGER-KEY-0001",
                 id_lookup_key("resident_id", VISITOR_ID), place)  # fmt: skip
