"""Same seed, same demo; another seed, another demo. Each build runs in a savepoint rolled back
before the next, so all three see an empty database."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from jiedao.core.testing import build_cast
from jiedao.demo.build import MIN_SCALE, DemoRefused, build_demo, person_digest
from jiedao.places.models import Place
from jiedao.registry.models import Household

pytestmark = pytest.mark.django_db


def _build_and_forget(seed: int) -> dict[str, Any]:
    savepoint = transaction.savepoint()
    try:
        summary = build_demo(scale=MIN_SCALE, seed=seed)
        return {
            "summary": summary,
            "digest": person_digest(),
            "households": list(Household.objects.order_by("pk").values_list("file_no", "address")),
            "places": list(Place.objects.order_by("pk").values_list("name", "venue_code", "lat", "lng")),
        }
    finally:
        transaction.savepoint_rollback(savepoint)


def test_the_same_seed_gives_the_same_demo() -> None:
    first = _build_and_forget(7)
    second = _build_and_forget(7)
    other = _build_and_forget(8)
    assert first["digest"] == first["summary"]["digest"]  # what was generated is what is stored
    assert first["digest"] == second["digest"]
    assert first["households"] == second["households"] and first["places"] == second["places"]
    assert first["summary"]["counts"] == second["summary"]["counts"]
    assert other["digest"] != first["digest"]
    assert other["places"] != first["places"]


def test_small_scales_scale_nanhu_shangjing_down_or_leave_it_out() -> None:
    summary = build_demo(scale=MIN_SCALE, seed=1)
    assert summary["nanhu"] == "scaled"
    nanhu = summary["nanhu_shangjing"]
    assert 0 < nanhu["households"] < nanhu["flats"] < 1324
    assert summary["counts"]["persons"] == MIN_SCALE


def test_bad_parameters_are_refused_before_anything_is_written() -> None:
    with pytest.raises(DemoRefused, match="scale must be between"):
        build_demo(scale=10)
    with pytest.raises(DemoRefused, match="exact figures need --scale"):
        build_demo(scale=MIN_SCALE, nanhu=True)
    assert not Household.objects.exists()


def test_a_database_with_another_subdistrict_is_refused() -> None:
    build_cast()
    with pytest.raises(DemoRefused, match="already holds a subdistrict"):
        build_demo(scale=MIN_SCALE)
    assert not Household.objects.exists()


def test_without_nanhu_every_grid_still_has_households() -> None:
    summary = build_demo(scale=MIN_SCALE, seed=3, nanhu=False)
    assert summary["nanhu_shangjing"] == {}
    assert not Household.objects.filter(address__startswith="南湖尚景").exists()
    from jiedao.org.models import Grid

    assert set(Household.objects.values_list("grid", flat=True)) == set(
        Grid.objects.values_list("pk", flat=True)
    )


def test_a_database_with_a_demo_username_taken_is_refused() -> None:
    from jiedao.org.models import User

    User.objects.create(username="grid_longhe_3")
    with pytest.raises(DemoRefused, match="grid_longhe_3"):
        build_demo(scale=MIN_SCALE)
    assert not Household.objects.exists()
