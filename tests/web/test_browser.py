"""The story of issue 7 in a real browser: Debian's Chromium driven by Playwright.

A civic app submits a request by Open311; the desk logs in, finds it in the
inbox, and starts another request from the form; refers it to Fen İşleri;
the directorate logs in, sees the case with the citizen's data masked and
answers; the desk replies; the citizen's status page changes from "İşlemde"
to the reply. The Open311 request is carried to its end as well. Screenshots
of the inbox, the case page and the status page go to build/screenshots/.

Needs /usr/bin/chromium (Debian's package `chromium`; .ci/run installs it).
Where it is missing the tests skip with that reason, except when
FLOWENGINE_REQUIRE_BROWSER is set (CI), where they fail.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.web.conftest import PASSWORD
from tests.web.live import LiveServer, serve

CHROMIUM = Path(os.environ.get("FLOWENGINE_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "build" / "screenshots"
# flags the machine's closed network needs: no background calls home
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

pytestmark = [pytest.mark.slow, pytest.mark.acceptance]  # a real `flowengine serve`

if not CHROMIUM.exists():
    if os.environ.get("FLOWENGINE_REQUIRE_BROWSER"):
        raise RuntimeError(f"{CHROMIUM} is missing and FLOWENGINE_REQUIRE_BROWSER is set")
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

LAMBA_FORM = {
    "kanal": "yuz_yuze",
    "basvuru_turu": "sikayet",
    "ad_soyad": "Ayşegül Çınar",
    "telefon": "0536 987 65 43",
    "konu": "Sokak lambası yanmıyor",
    "metin": "Küçükköy'de okul yolundaki lamba iki haftadır yanmıyor.",
    "mahalle": "Küçükköy",
}
ANSWER = "Arızalı armatür ekiplerimizce değiştirilmiştir."
REPLY = "Sayın Ayşegül Çınar, bildirdiğiniz lamba Fen İşleri Müdürlüğümüzce onarılmıştır."


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def live(db_url: str) -> Iterator[LiveServer]:
    with serve(db_url) as server:
        yield server


def new_page(browser: Browser, live: LiveServer) -> Page:
    context = browser.new_context(base_url=live.url, locale="tr-TR", timezone_id="Europe/Istanbul")
    context.set_default_timeout(15_000)
    return context.new_page()


def log_in(page: Page, person: str) -> None:
    page.goto("/login")
    page.fill("input[name=person]", person)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    expect(page.locator("h1")).to_have_text("Gelen kutusu")


def log_out(page: Page) -> None:
    page.click("header form button")
    expect(page.locator("h1")).to_have_text("Giriş")


def action(page: Page, event: str) -> None:
    """Submit the event's form and wait for the page to confirm it."""
    page.locator(f"form[data-event={event}] button[type=submit]").click()
    expect(page.locator(".flash.ok")).to_contain_text("İşlem kaydedildi")


def citizen_status(page: Page, reference: str, code: str) -> str:
    page.goto("/durum")
    page.fill("input[name=reference]", reference)
    page.fill("input[name=code]", code)
    page.click("main button[type=submit]")
    return page.locator("#public-state").inner_text()


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_request_from_the_desk_to_the_directorate_and_back_to_the_citizen(
    browser: Browser, live: LiveServer, db_url: str
) -> None:
    opened = httpx.post(
        f"{live.url}/open311/v2/requests.json",
        data={
            "api_key": live.app_token,
            "service_code": "istek",
            "description": "Çamlık parkına çöp kutusu konulmasını istiyorum.",
            "first_name": "Oğuz",
            "last_name": "Şahin",
            "phone": "0533 222 11 00",
        },
    )
    assert opened.status_code == 201, opened.text
    app_ref = opened.json()[0]["service_request_id"]

    desk = new_page(browser, live)
    log_in(desk, "serkan.kibar")
    expect(desk.locator(f"tr[data-reference='{app_ref}']")).to_be_visible()  # from Open311
    # a citizen at the counter: the desk starts a request from the form
    desk.click("text=Yeni başvuru: Bizim Masa İş Akış Şeması")
    for name, value in LAMBA_FORM.items():
        control = desk.locator(f"[name={name}]")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    desk.click("main button[type=submit]")
    expect(desk.locator(".flash.ok")).to_contain_text("Başvuru kaydedildi")
    ref = re.search(r"BM-\d{4}-\d{6}", desk.locator("h1").inner_text())
    assert ref is not None
    reference = ref.group(0)
    code = desk.locator("#status-code").inner_text()

    citizen = new_page(browser, live)
    assert citizen_status(citizen, reference, "6543").startswith("İşlemde")
    expect(citizen.locator(".reply")).to_have_count(0)

    # refer it to Fen İşleri
    desk.select_option("form[data-event=havale_et] select[name=mudurluk]", "fen_isleri")
    action(desk, "havale_et")
    expect(desk.locator("#current-step")).to_have_text("İlgili müdürlüğün incelemesi ve dönüşü")
    desk.goto("/inbox")
    shoot(desk, "inbox")
    log_out(desk)

    # the directorate answers, seeing the case without the citizen's personal data
    fen = new_page(browser, live)
    log_in(fen, "hakan.ozturk")
    fen.click(f"a:text('{reference}')")
    expect(fen.locator("[data-field=ad_soyad]")).to_have_text("***")
    expect(fen.locator("[data-field=telefon]")).to_have_text("***")
    assert "Ayşegül" not in fen.content() and "0536" not in fen.content()
    expect(fen.locator("#diagram svg")).to_be_visible()  # mermaid drew it
    assert fen.locator("#diagram svg .current").count() >= 1  # the state it stands in
    shoot(fen, "case")
    fen.fill("form[data-event=cevap_ver] textarea[name=mudurluk_cevabi]", ANSWER)
    action(fen, "cevap_ver")
    log_out(fen)

    # the desk replies to the citizen
    log_in(desk, "serkan.kibar")
    desk.click(f"a:text('{reference}')")
    desk.fill("form[data-event=geri_donus_yap] textarea[name=vatandasa_cevap]", REPLY)
    action(desk, "geri_donus_yap")
    expect(desk.locator("[data-status]").first).to_have_text("Sonuçlandı")

    assert citizen_status(citizen, reference, code).startswith("Sonuçlandı")
    expect(citizen.locator(".reply.final p")).to_have_text(REPLY)
    assert ANSWER not in citizen.content()  # the directorate's internal answer stays inside
    shoot(citizen, "durum")

    # the Open311 request, carried to its end in the browser: redirected outside
    desk.goto("/inbox")
    desk.click(f"a:text('{app_ref}')")
    action(desk, "kurum_disi")
    desk.select_option(
        "form[data-event=yonlendirildi] select[name=dis_kurum]", "balikesir_buyuksehir"
    )
    desk.fill(
        "form[data-event=yonlendirildi] textarea[name=vatandasa_cevap]",
        "Parklardaki çöp kutuları Büyükşehir Belediyesinin sorumluluğundadır.",
    )
    action(desk, "yonlendirildi")
    [status] = httpx.get(
        f"{live.url}/open311/v2/requests/{app_ref}.json", params={"api_key": live.app_token}
    ).json()
    assert status["status"] == "closed" and "Büyükşehir" in status["status_notes"]
    for name in ("inbox", "case", "durum"):  # the CI artifacts
        shot = SCREENSHOTS / f"{name}.png"
        assert shot.stat().st_size > 10_000 and shot.read_bytes()[:4] == b"\x89PNG"


def test_the_inbox_in_english(browser: Browser, live: LiveServer) -> None:
    page = new_page(browser, live)
    log_in(page, "serkan.kibar")
    page.click("text=English")
    expect(page.locator("h1")).to_have_text("Inbox")
    expect(page.locator("html")).to_have_attribute("lang", "en")
