"""The spot-check draw: exactly ceil(n × share) members, the same for everyone who asks, and a member
joining or leaving within a period changes the draw of at most one other member."""

from __future__ import annotations

import math
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from jiedao.nat.groups import drawn

members = st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=60, unique=True)


@given(members, st.integers(min_value=1, max_value=99), st.integers(min_value=1, max_value=10**6),
       st.integers(min_value=0, max_value=5000), st.integers(min_value=1, max_value=10**9))  # fmt: skip
def test_a_member_joining_or_leaving_moves_at_most_one_other(
    ids: list[int], percent: int, group: int, period: int, newcomer: int
) -> None:
    g = SimpleNamespace(pk=group, spot_check_percent=percent)
    before = drawn(g, ids, period)  # type: ignore[arg-type]
    assert len(before) == math.ceil(len(ids) * percent / 100)
    assert before == drawn(g, list(reversed(ids)), period)  # type: ignore[arg-type]  # order does not matter
    if newcomer not in ids:
        after = drawn(g, [*ids, newcomer], period)  # type: ignore[arg-type]
        assert len((before ^ after) - {newcomer}) <= 1
    if len(ids) > 1:
        left = drawn(g, ids[1:], period)  # type: ignore[arg-type]
        assert len((before ^ left) - {ids[0]}) <= 1
