"""Person-code cards and camera scanning in a real browser: a grid worker finds the over-60s of their
grid and prints their cards (12 to an A4 sheet); a sampler's phone camera — Chromium's fake camera
playing a video of a printed card — reads the card's QR and the person is sampled, also with the
network cut (the code reader comes from the phone's offline copy)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import segno
from django.utils import timezone
from playwright.sync_api import expect

from jiedao.core.errors import InvalidInput
from jiedao.core.identity import mask_name
from jiedao.nat.actions import do_open_round, do_save_site
from jiedao.nat.models import Sample
from jiedao.nat.personcode import person_code, resolve_person_code
from jiedao.registry.actions import do_register_resident
from jiedao.registry.models import Person, Resident
from jiedao.registry.tests.factories import make_household, person_name, resident_id

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def _elders(cast: Any, n: int) -> list[Person]:
    today = timezone.localdate()
    out = []
    for i in range(n):
        hh = make_household(
            cast.community_a, cast.grid_a1, members=0, compound="锦绣花园", building=str(1 + i % 3)
        )
        born = today.replace(year=today.year - 65 - i % 20) - dt.timedelta(days=3)
        out.append(
            do_register_resident(
                actor=None,
                household=hh,
                name=person_name(900 + i),
                id_number=resident_id(900 + i, birth=born),
            ).person
        )
        young = today.replace(year=today.year - 30 - i % 20)
        do_register_resident(
            actor=None, household=hh, name=person_name(950 + i), id_number=resident_id(950 + i, birth=young)
        )
    return out


def test_a_grid_worker_prints_cards_for_the_elderly(web: Any, cast: Any, signed_in: Any) -> None:
    elders = _elders(cast, 14)
    make_household(cast.community_a, cast.grid_a2, members=2)  # another grid: not on this worker's list
    page = signed_in("grid_worker_a")
    web.goto("/nat/codes/")
    rows = page.locator("[data-testid=code-row]")
    expect(rows.first).to_be_visible()
    everyone = rows.count()
    page.locator("[data-testid=codes-age]").select_option("60+")
    expect(rows).to_have_count(14)
    assert everyone > 14  # the younger members of those households were listed before the filter
    web.screenshot("nat-codes-list")

    # tick two and print just them
    page.locator("[data-testid=tick]").nth(0).check()
    page.locator("[data-testid=tick]").nth(1).check()
    with page.context.expect_page() as popup:
        page.locator("[data-testid=print-ticked]").click()
    ticked = popup.value
    ticked.wait_for_load_state()
    expect(ticked.locator("[data-testid=card]")).to_have_count(2)
    ticked.close()

    href = page.locator("[data-testid=print-all]").get_attribute("href")
    assert href and "age=60" in href
    web.goto(href)
    cards = page.locator("[data-testid=card]")
    expect(cards).to_have_count(14)
    expect(page.locator("[data-testid=sheet]")).to_have_count(2)  # 12 to a sheet
    names = set(cards.locator("[data-testid=card-name]").all_inner_texts())
    assert names == {mask_name(p.name) for p in elders}
    codes = cards.locator("[data-testid=card-code]").all_inner_texts()
    assert {resolve_person_code(c).pk for c in codes} == {p.pk for p in elders}
    box = cards.first.locator("svg").bounding_box()
    assert box and box["width"] > 100  # the QR is drawn at a scannable size
    web.screenshot("nat-codes-print")

    # printed: two A4 pages, and the page chrome stays off the paper
    page.emulate_media(media="print")
    expect(page.locator(".jd-topbar")).to_be_hidden()
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    assert _pdf_pages(pdf) == 2
    out = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots" / "nat-codes-print.pdf"
    out.write_bytes(pdf)
    page.emulate_media(media="screen")

    # one elder lost their card: it is made void (after saying why), and the old code stops working
    lost = elders[0]
    old_code = next(c for c in codes if resolve_person_code(c).pk == lost.pk)
    web.goto(f"/nat/codes/{lost.pk}/void/")
    expect(page.locator("[data-testid=void-name]")).to_have_text(lost.name)
    page.locator("[data-testid=void-reason]").fill("老人外出时遗失")
    web.screenshot("nat-codes-void")
    page.on("dialog", lambda d: d.accept())
    page.locator("[data-testid=void-save]").click()
    expect(page.locator(".alert-success")).to_contain_text(lost.name)
    with pytest.raises(InvalidInput):
        resolve_person_code(old_code)


def _pdf_pages(pdf: bytes) -> int:
    import re

    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


# ---- the camera --------------------------------------------------------------------------------------


def write_y4m(
    path: Path, text: str | None, width: int = 640, height: int = 480, frames: int = 3, code128: bool = False
) -> None:
    """A short still video of a printed card's QR, or of a tube's Code 128 label (black on white; None: a
    blank card) for Chromium's fake camera. Y4M 4:2:0: a luma plane, then two grey chroma planes."""
    luma = bytearray(b"\xeb" * (width * height))
    if text and code128:
        import barcode  # python-barcode: the label's modules as "1" (bar) and "0" (space)

        modules = barcode.get("code128", text).build()[0]
        scale = width * 8 // 10 // (len(modules) + 20)  # with 10 modules of quiet zone each side
        left, top, bottom = (width - len(modules) * scale) // 2, height * 3 // 10, height * 7 // 10
        for c, bit in enumerate(modules):
            if bit == "1":
                for y in range(top, bottom):
                    start = y * width + left + c * scale
                    luma[start : start + scale] = b"\x10" * scale
        text = None
    matrix = [list(row) for row in segno.make(text, error="m", micro=False).matrix] if text else []
    n = (len(matrix) or 21) + 8  # with the quiet zone
    scale = min(width, height) * 7 // 10 // n
    left, top = (width - n * scale) // 2, (height - n * scale) // 2
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if not dark:
                continue
            for y in range(top + (r + 4) * scale, top + (r + 5) * scale):
                start = y * width + left + (c + 4) * scale
                luma[start : start + scale] = b"\x10" * scale
    chroma = b"\x80" * ((width // 2) * (height // 2))
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * frames)


@pytest.fixture
def camera(web: Any, tmp_path: Path) -> Any:
    """A second Chromium whose camera plays `tmp_path/card.y4m` (write it before opening the camera)."""
    video = tmp_path / "card.y4m"
    write_y4m(video, None)
    cam = web.browser.browser_type.launch(
        executable_path=_chromium(),
        args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream",
              "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"],
    )  # fmt: skip
    session = type(web)(cam, web.base_url)
    session.context.grant_permissions(["camera"], origin=web.base_url)
    session.video = video
    yield session
    session.close()
    cam.close()


def _chromium() -> str:
    import os

    return os.environ.get("JIEDAO_CHROMIUM", "/usr/bin/chromium")


def test_a_sampler_scans_a_card_with_the_camera_also_offline(cast: Any, camera: Any) -> None:
    site = do_save_site(actor=None, name="甲社区广场采样点", community=cast.community_a, grid=cast.grid_a1)
    site.staff.add(cast["sampler_a"])
    now = timezone.now()
    do_open_round(actor=None, name="第一轮全员核酸", starts_at=now - dt.timedelta(hours=1),
                  ends_at=now + dt.timedelta(hours=8), sites=[site])  # fmt: skip
    hh = make_household(cast.community_a, cast.grid_a1, members=2)
    grandma, grandson = [r.person for r in Resident.objects.filter(household=hh).select_related("person")]

    camera.login("sampler_a")
    page = camera.page
    page.set_viewport_size(PHONE)
    camera.goto("/nat/sample/")
    expect(page.locator("#jd-sampler")).to_have_attribute("data-offline-ready", "1")
    # the tube's Code 128 label read by the camera (without BarcodeDetector: by the vendored ZXing)
    write_y4m(camera.video, "HY20221101009", code128=True)
    page.locator("[data-testid=scan-barcode]").click()
    expect(page.locator("[data-testid=barcode]")).to_have_value("HY20221101009", timeout=20_000)
    expect(page.locator("[data-testid=scanner]")).to_be_hidden()
    page.locator("[data-testid=barcode]").press("Enter")  # as a keyboard-wedge scanner ends it
    expect(page.locator("[data-testid=tube]")).to_be_visible()
    write_y4m(camera.video, None)  # nothing in front of the camera

    # the camera opens on the rear lens with a frame to aim at; cancel closes it and releases the camera
    page.locator("[data-testid=scan-person]").click()
    expect(page.locator("#jd-sampler")).to_have_attribute("data-scanning", "1")
    camera.screenshot("nat-qr-camera")
    page.locator("[data-testid=scan-cancel]").click()
    expect(page.locator("[data-testid=scanner]")).to_be_hidden()
    assert page.evaluate("document.getElementById('jd-scan-video').srcObject") is None

    write_y4m(camera.video, person_code(grandma))
    page.locator("[data-testid=scan-person]").click()
    expect(page.locator("[data-testid=scanner]")).to_be_visible()
    expect(page.locator("[data-testid=member]")).to_have_count(1, timeout=20_000)
    expect(page.locator("[data-testid=scanner]")).to_be_hidden()  # the camera closes on a read
    expect(page.locator("[data-testid=pending]")).to_have_text("0")
    expect(page.locator("[data-testid=member]").first).to_contain_text(grandma.name)  # the server's answer
    decoder = page.locator("#jd-sampler").get_attribute("data-decoder")
    assert decoder in ("native", "zxing")
    camera.screenshot("nat-qr-scanned")
    assert list(Sample.objects.values_list("person_id", flat=True)) == [grandma.pk]

    # the network is cut and the page reopened from the phone's copy: the camera still reads a card
    camera.context.set_offline(True)
    page.reload()
    expect(page.locator("[data-testid=tube]")).to_be_visible()
    write_y4m(camera.video, person_code(grandson))
    page.locator("[data-testid=scan-person]").click()
    expect(page.locator("[data-testid=member]")).to_have_count(2, timeout=20_000)
    expect(page.locator("[data-testid=pending]")).to_have_text("1")
    assert Sample.objects.count() == 1

    camera.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("[data-testid=pending]")).to_have_text("0", timeout=15_000)
    expect(page.locator("[data-testid=member]").nth(1)).to_contain_text(grandson.name)
    assert sorted(Sample.objects.values_list("person_id", flat=True)) == sorted([grandma.pk, grandson.pk])
    print(f"decoder used: {decoder}")


def test_a_scanned_text_goes_where_it_belongs(cast: Any, web: Any, signed_in: Any) -> None:
    """The decode step's output, injected through the same function the camera calls: a person code in
    the tube field is refused on the phone; a forged card is refused by the server on its field; a
    resident ID read from a code works like a typed one."""
    site = do_save_site(actor=None, name="甲社区广场采样点", community=cast.community_a, grid=cast.grid_a1)
    site.staff.add(cast["sampler_a"])
    now = timezone.now()
    do_open_round(actor=None, name="第一轮全员核酸", starts_at=now - dt.timedelta(hours=1),
                  ends_at=now + dt.timedelta(hours=8), sites=[site])  # fmt: skip
    hh = make_household(cast.community_a, cast.grid_a1, members=2)
    a, b = [r.person for r in Resident.objects.filter(household=hh).select_related("person")]
    page = signed_in("sampler_a")
    page.set_viewport_size(PHONE)
    web.goto("/nat/sample/")
    expect(page.locator("#jd-sampler")).to_have_attribute("data-ready", "1")

    page.evaluate("code => window.jdSampler.scanned('jd-barcode', code)", person_code(a))
    expect(page.locator("[data-testid=open-error]")).not_to_be_empty()
    expect(page.locator("[data-testid=barcode]")).to_have_value("")
    page.evaluate("window.jdSampler.scanned('jd-barcode', ' hy20221101010 ')")
    expect(page.locator("[data-testid=barcode]")).to_have_value("HY20221101010")
    page.locator("[data-testid=open-tube]").click()

    good = person_code(a)
    page.evaluate(
        "code => window.jdSampler.scanned('jd-id', code)", good[:-1] + ("0" if good[-1] != "0" else "1")
    )
    page.evaluate("code => window.jdSampler.scanned('jd-id', code)", b.id_number)
    page.evaluate("window.jdSampler.scanned('jd-id', 'https://example.org/v/ABC')")
    expect(page.locator("[data-testid=local-error]")).not_to_be_empty()  # a URL is neither
    expect(page.locator("[data-testid=pending]")).to_have_text("0")
    expect(page.locator("[data-testid=answer-refused]")).to_have_count(1)
    expect(page.locator("[data-testid=member]").first).to_contain_text("—")
    web.screenshot("nat-qr-injected")
    assert list(Sample.objects.values_list("person_id", flat=True)) == [b.pk]
