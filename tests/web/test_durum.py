"""The citizen's status page: reference plus a second factor, public replies only, throttled."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from flowengine.desk.citizen import status_code
from tests.engine.helpers import LAMBA
from tests.web.conftest import Web, csrf_of

REPLY = "Sayın Zeynep Hanım, lamba Fen İşleri ekiplerince değiştirilmiştir."


def ask(web: Web, reference: str, code: str) -> Any:
    page = web.client.get("/durum")
    return web.client.post(
        "/durum", data={"csrf": csrf_of(page.text), "reference": reference, "code": code}
    )


def test_the_last_four_phone_digits_or_the_receipt_code_open_the_status(web: Web) -> None:
    case = web.engine.start("bizim_masa", {**LAMBA, "telefon": "0532 123 45 67"}, actor="ayse")
    by_phone = ask(web, case.reference, "4567")
    assert by_phone.status_code == 200, by_phone.text
    assert 'data-status="active"' in by_phone.text
    assert "Bizim Masa&#39;da toplanıp değerlendirme" in by_phone.text
    code = status_code(case)
    assert code is not None
    by_code = ask(web, case.reference.lower(), code.lower())
    assert by_code.status_code == 200 and case.reference in by_code.text


def test_the_page_shows_replies_but_never_personal_data_or_internal_notes(web: Web) -> None:
    ref = web.engine.start("bizim_masa", LAMBA, actor="ayse").reference
    web.engine.fire(ref, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    internal = "İç not: armatür stokta yok, ihaleye kadar bekleyecek."
    web.engine.fire(ref, "cevap_ver", "mehmet", data={"mudurluk_cevabi": internal})
    before = ask(web, ref, "0000")  # LAMBA's phone is 0532 000 00 00
    assert 'data-status="active"' in before.text and "Henüz bir cevap verilmedi." in before.text
    web.engine.fire(ref, "geri_donus_yap", "ayse", data={"vatandasa_cevap": REPLY})
    code = status_code(web.engine.get(ref))
    assert code is not None
    page = ask(web, ref, code).text
    assert REPLY in page and 'data-status="completed"' in page
    for secret in ("Zeynep Kaya", LAMBA["telefon"], internal, LAMBA["metin"]):
        assert secret not in page


def test_a_wrong_code_and_an_unknown_reference_look_the_same(web: Web) -> None:
    ref = web.engine.start("bizim_masa", LAMBA, actor="ayse").reference
    wrong = ask(web, ref, "9999")
    unknown = ask(web, "BM-1900-000001", "9999")
    assert wrong.status_code == unknown.status_code == 404
    assert "Bu referans numarası ve kodla bir başvuru bulunamadı" in wrong.text
    assert wrong.text.count("bulunamadı") == unknown.text.count("bulunamadı")


def test_guessing_is_throttled_per_reference_and_client(web: Web) -> None:
    case = web.engine.start("bizim_masa", {**LAMBA, "telefon": "0532 123 45 67"}, actor="ayse")
    for guess in ("0001", "0002", "0003", "0004", "0005"):
        assert ask(web, case.reference, guess).status_code == 404
    throttled = ask(web, case.reference, "4567")  # even the right answer waits now
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "900"
    assert "dakika sonra yeniden deneyiniz" in throttled.text


def test_one_client_guessing_across_references_is_throttled(web: Web) -> None:
    refs = [web.engine.start("bizim_masa", LAMBA, actor="ayse").reference for _ in range(6)]
    for ref in refs[:5]:
        assert ask(web, ref, "9999").status_code == 404
    assert ask(web, refs[5], "0000").status_code == 429  # the right phone digits, too late


def test_a_reference_is_throttled_across_clients(web: Web) -> None:
    ref = web.engine.start("bizim_masa", LAMBA, actor="ayse").reference
    for i in range(5):
        with TestClient(web.client.app, client=(f"198.51.100.{i}", 5000)) as other:
            page = other.get("/durum")
            other.post(
                "/durum", data={"csrf": csrf_of(page.text), "reference": ref, "code": "9999"}
            )
    assert ask(web, ref, "0000").status_code == 429


def test_a_request_without_a_phone_opens_only_with_its_code(web: Web) -> None:
    data = {k: v for k, v in LAMBA.items() if k != "telefon"}
    case = web.engine.start("bizim_masa", data, actor="ayse")
    assert ask(web, case.reference, "0000").status_code == 404
    assert ask(web, case.reference, status_code(case) or "").status_code == 200


def test_a_merged_request_shows_the_reply_of_the_one_it_joined(web: Web) -> None:
    first = web.engine.start("bizim_masa", LAMBA, actor="ayse").reference
    again = web.engine.start("bizim_masa", {**LAMBA, "kanal": "twitter"}, actor="ayse")
    web.engine.merge(again.reference, first, "ayse", "aynı lamba")
    web.engine.fire(first, "kurum_disi", "ayse")
    web.engine.fire(first, "aracilik_yapildi", "ayse")
    web.engine.fire(first, "geri_donus_yap", "ayse", data={"vatandasa_cevap": REPLY})
    page = ask(web, again.reference, status_code(again) or "").text
    assert REPLY in page


def test_non_ascii_codes_are_a_miss_not_a_crash(web: Web) -> None:
    ref = web.engine.start("bizim_masa", LAMBA, actor="ayse").reference
    assert ask(web, ref, "ş123").status_code == 404
    assert ask(web, ref, "١٢٣٤").status_code == 404  # Arabic-Indic digits


def test_a_concluded_request_names_its_status_once(web: Web) -> None:
    ref = web.engine.start("bizim_masa", LAMBA, actor="ayse").reference
    web.engine.fire(ref, "kurum_disi", "ayse")
    web.engine.fire(ref, "aracilik_yapildi", "ayse")
    web.engine.fire(ref, "geri_donus_yap", "ayse", data={"vatandasa_cevap": REPLY})
    page = ask(web, ref, "0000").text
    state = page.split('id="public-state"')[1].split("</dd>")[0]
    assert state.count("Sonuçlandı") == 1
