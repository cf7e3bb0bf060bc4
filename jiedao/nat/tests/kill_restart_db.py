"""The database side of the kill-and-restart test (test_kill_restart.py), run as a subprocess against the
same database the real server uses, so the test process never opens it through pytest-django:

    python -m jiedao.nat.tests.kill_restart_db setup PEOPLE WALK_INS ROUNDS   # migrates; prints the setup
    python -m jiedao.nat.tests.kill_restart_db check                          # prints what the database holds

`setup` migrates the empty database and builds a community, a grid, a sampling site, ROUNDS rounds under way,
a sampler with an API key that has `nat.register`, and PEOPLE people on the register, through the real
actions; it also names WALK_INS valid resident IDs that are not on the register. `check` dumps the
registration log, the samples (with the person's decrypted document number), the tubes and the persons,
for the test to compare with what the client was told."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from typing import Any

SAMPLER_PASSWORD = "kill-restart-sampler-2022"  # a throwaway account in a throwaway database


def setup(people: int, walk_ins: int, rounds: int) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from jiedao.nat.actions import do_open_round, do_save_site
    from jiedao.org.actions import do_create_api_key, do_create_staff
    from jiedao.org.models import Community, Grid, Subdistrict
    from jiedao.registry.actions import do_register_person
    from jiedao.registry.tests.factories import mobile, person_name, resident_id

    call_command("migrate", interactive=False, verbosity=0)
    # no actions create the organisation's units (they come from the demo builder or the admin)
    sub = Subdistrict.objects.create(name="断电街道", code="KR")
    community = Community.objects.create(subdistrict=sub, name="断电社区", code="KRA")
    grid = Grid.objects.create(community=community, name="断电一网格", code="KRA1")
    sampler = do_create_staff(
        actor=None, username="sampler_kr", display_name="采样员", password=SAMPLER_PASSWORD,
        role="sampler", level="grid", community=community, grid=grid,
    )  # fmt: skip
    site = do_save_site(actor=None, name="断电社区采样点", community=community, grid=grid, lanes=4)
    site.staff.add(sampler)
    now = timezone.now()
    # several rounds under way at once (mass rounds, a routine programme): a person is sampled once in
    # each, so the same people serve that many times more samples
    opened = [
        do_open_round(
            actor=None,
            name=f"断电测试第{n + 1}轮",
            kind="routine" if n % 2 else "mass",
            starts_at=now - dt.timedelta(hours=4),
            ends_at=now + dt.timedelta(hours=4),
            communities=[community],
            sites=[site],
        )
        for n in range(rounds)
    ]
    _, raw_key = do_create_api_key(actor=None, name="采样终端", user=sampler, permissions=["nat.register"])
    # People on the register, through the same action as everywhere (households would add nothing the
    # registration path looks at, and cost three times as long to build). One transaction: one commit.
    with transaction.atomic():
        for n in range(1, people + 1):
            do_register_person(
                actor=None, name=person_name(n), id_number=resident_id(n), phone=mobile(n),
                community=community, grid=grid,
            )  # fmt: skip
    return {
        "rounds": [r.pk for r in opened],
        "site": site.pk,
        "api_key": raw_key,
        "registered": [resident_id(n) for n in range(1, people + 1)],
        # not on the register: the sampler gives their name and the server adds them
        "walk_ins": [[resident_id(n), person_name(n)] for n in range(people + 1, people + walk_ins + 1)],
    }


def check() -> dict[str, Any]:
    from django.db.models import Count

    from jiedao.nat.models import Registration, RegistrationConflict, Sample, Tube
    from jiedao.registry.models import Person

    registrations = {
        r.client_key: {
            "op": r.op,
            "outcome": r.outcome,
            "answer": r.answer,
            "sample": r.sample_id,
            "tube": r.tube.barcode if r.tube is not None else None,
        }
        for r in Registration.objects.select_related("tube")
    }
    sample_keys = dict(
        Registration.objects.filter(sample__isnull=False).values_list("sample_id", "client_key")
    )
    samples = [
        {
            "id": s.pk,
            "round": s.round_id,
            "tube": s.tube.barcode,
            "person": s.person_id,
            "id_number": s.person.id_number,
            "key": sample_keys.get(s.pk),
        }
        for s in Sample.objects.select_related("tube", "person")
    ]
    tubes = {
        t.barcode: {"members": t.members, "status": t.status, "samples": t.n}
        for t in Tube.objects.annotate(n=Count("samples"))
    }
    persons = [{"id": p.pk, "id_number": p.id_number} for p in Person.objects.all()]
    return {
        "registrations": registrations,
        "samples": samples,
        "tubes": tubes,
        "persons": persons,
        "conflicts": RegistrationConflict.objects.count(),
    }


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiedao.config.settings")
    import django

    django.setup()
    if argv[:1] == ["setup"] and len(argv) == 4:
        out = setup(int(argv[1]), int(argv[2]), int(argv[3]))
    elif argv == ["check"]:
        out = check()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    json.dump(out, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
