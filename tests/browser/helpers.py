"""Small helpers the browser tests share: HTMX response matching and a no-reload check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def htmx(path_part: str, method: str = "GET") -> Callable[[Any], bool]:
    """A predicate for `page.expect_response`: an HTMX request whose URL contains `path_part`."""

    def _match(response: Any) -> bool:
        req = response.request
        return req.method == method and path_part in response.url and req.headers.get("hx-request") == "true"

    return _match


class StaysOnPage:
    """Marks the window; `check()` fails if a full page load happened since (an HTMX swap keeps it)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        page.evaluate("window.__jdStay = 'still-here'")

    def check(self) -> None:
        assert self.page.evaluate("window.__jdStay") == "still-here", "the page reloaded instead of swapping"


SHOWN_JS = """el => {
  el.scrollIntoView({block: "center"});
  const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  const style = getComputedStyle(el);
  const mask = style.maskImage || style.webkitMaskImage || "none";
  return {height: r.height, hit: el.contains(hit), mask: mask};
}"""


def assert_shown(locator: Any, min_height: float = 40) -> None:
    """Really on screen: of a readable size, not masked away, and on top where the user would tap.
    Playwright's `to_be_visible()` accepts an element that CSS masked down to a 3-pixel strip."""
    locator.wait_for(state="visible")
    state = locator.evaluate(SHOWN_JS)
    assert state["height"] >= min_height, f"{locator} is squeezed: {state}"
    assert state["mask"] == "none", f"{locator} is masked away by CSS: {state}"
    assert state["hit"], f"{locator} is covered or ignores taps: {state}"
