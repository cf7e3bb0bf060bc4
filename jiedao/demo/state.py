"""What the demo builder's stages share: the parameters, the seeded random streams, the grids with
their outlines, counters for the summary and the rows later stages refer to."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from faker import Faker

from jiedao.demo.people import PeopleFactory
from jiedao.demo.venues import CompoundRef, GridUnit


@dataclass
class BuildState:
    scale: int
    seed: int
    mode: str  # Nanhu Shangjing: "exact", "scaled" or "none"
    progress: bool
    ref: dt.date = field(default_factory=lambda: dt.date(timezone.localdate().year, 1, 1))
    faker: Any = None
    people: PeopleFactory | None = None
    digest: Any = field(default_factory=hashlib.sha256)
    units: list[GridUnit] = field(default_factory=list)
    compounds: list[CompoundRef] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    care_counts: Counter[str] = field(default_factory=Counter)
    place_counts: Counter[str] = field(default_factory=Counter)
    nanhu: dict[str, Any] = field(default_factory=dict)
    logins: list[dict[str, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    subdistrict: Any = None
    demo_grid: GridUnit | None = None  # the grid of Nanhu Shangjing and of the printed grid worker
    demo_worker: Any = None
    # Households of the demo grid by care tag ("" = any), for the grid worker's work items.
    demo_households: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.faker = Faker("zh_CN")
        self.faker.seed_instance(self.seed)
        self.people = PeopleFactory(self.rng("people"), self.faker, self.ref)

    def rng(self, stream: str) -> random.Random:
        # One stream per stage, so a change in one stage leaves the others' data as they were.
        return random.Random(f"jiedao-demo:{self.seed}:{stream}")

    def say(self, stage: str, detail: str, started: float) -> None:
        took = time.perf_counter() - started
        self.seconds[stage] = round(took, 2)
        if self.progress:
            print(f"[demo] {stage:<9} {detail} ({took:.1f}s)", flush=True)
