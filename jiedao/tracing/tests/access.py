"""Access-matrix entries for the trace pages. Tracing reads everyone's movements: only the subdistrict
command centre runs traces and pushes their contacts; the auditor reads. Community offices, grid
workers and everyone else get 403 (lists) or 404 (a run)."""

from __future__ import annotations

from typing import Any

from jiedao.core.testing import Cast, endpoint

READ = {"command", "auditor"}
RUN = {"command"}


def _case(cast: Cast) -> Any:
    from jiedao.tracing.tests.helpers import positive_case

    return positive_case(cast)


def _run(cast: Cast) -> Any:
    from jiedao.tracing.actions.runs import do_start_trace

    return do_start_trace(actor=cast["command"], case=_case(cast))


def _an_hour_ago() -> str:
    import datetime as dt

    from django.utils import timezone

    return (timezone.localtime() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")


endpoint("tracing:runs", lambda cast: "/tracing/", READ)
endpoint("tracing:start", lambda cast: f"/tracing/cases/{_case(cast).pk}/start", RUN)
endpoint(
    "tracing:start", lambda cast: f"/tracing/cases/{_case(cast).pk}/start", RUN, method="post",
    data=lambda cast: {"onset": _an_hour_ago(), "lookback_days": "4"}, ok=(302,),
)  # fmt: skip
endpoint("tracing:run", lambda cast: f"/tracing/runs/{_run(cast).pk}/", READ)
endpoint("tracing:push", lambda cast: f"/tracing/runs/{_run(cast).pk}/push", RUN)
endpoint("tracing:push", lambda cast: f"/tracing/runs/{_run(cast).pk}/push", RUN, method="post", ok=(302,))
endpoint("tracing:export", lambda cast: f"/tracing/runs/{_run(cast).pk}/export", READ)
