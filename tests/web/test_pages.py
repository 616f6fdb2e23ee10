"""The staff pages without a browser: login, inbox, case page, forms, masking, language."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.engine.helpers import LAMBA, prepare_press_release
from tests.web.conftest import PASSWORD, Web, csrf_of, log_in


def test_pages_need_a_login_and_send_back_after_it(web: Web) -> None:
    response = web.client.get("/inbox", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/inbox"
    wrong = log_in(web.client, "ayse", "yanlış parola 123")
    assert wrong.status_code == 401 and "Kullanıcı adı ya da parola yanlış." in wrong.text
    unknown = log_in(web.client, "kimse")
    assert unknown.status_code == 401 and "Kullanıcı adı ya da parola yanlış." in unknown.text
    assert log_in(web.client, "ayse").url.path == "/inbox"


def test_login_is_throttled(web: Web) -> None:
    for _ in range(5):
        log_in(web.client, "ayse", "yanlış parola 123")
    throttled = log_in(web.client, "ayse")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "900"
    assert "15 dakika sonra yeniden deneyiniz" in throttled.text


def test_a_login_form_without_its_csrf_token_is_refused(web: Web) -> None:
    response = web.client.post("/login", data={"person": "ayse", "password": "x" * 12})
    assert response.status_code == 403 and "güvenlik anahtarı eksik ya da eski" in response.text


def test_the_inbox_lists_work_with_due_dates_and_marks_the_overdue(web: Web) -> None:
    fresh = web.engine.start("bizim_masa", LAMBA, actor="ayse").reference
    late_case = web.engine.start("bizim_masa", {**LAMBA, "konu": "Eski"}, actor="ayse").reference
    with web.engine.store.unit() as unit:  # as if it arrived three days ago (sla 2d)
        from sqlalchemy import update

        from flowengine.storage import tables as t

        due = web.engine.clock() - timedelta(days=1)
        unit.connection.execute(
            update(t.work_items)
            .where(t.work_items.c.instance_id == web.engine.get(late_case).id)
            .values(due_at=due)
        )
    log_in(web.client, "ayse")
    page = web.client.get("/inbox").text
    assert f'<tr class="overdue" data-reference="{late_case}">' in page
    assert f'<tr class="" data-reference="{fresh}">' in page
    assert "Süresi geçti" in page and "Bizim Masa&#39;da toplanıp değerlendirme" in page


def test_a_request_is_started_from_a_form_built_from_the_fields(web: Web) -> None:
    log_in(web.client, "ayse")
    form = web.client.get("/flows/bizim_masa/new").text
    assert '<select name="kanal" required>' in form and '<textarea name="metin"' in form
    # a step's answer (the directorate referred to, the reply) is no field of intake
    assert 'name="mudurluk"' not in form and 'name="vatandasa_cevap"' not in form
    values = {k: str(v) for k, v in LAMBA.items()}
    done = web.client.post("/flows/bizim_masa/new", data={"csrf": csrf_of(form), **values})
    assert done.url.path.startswith("/cases/BM-")
    assert "Başvuru kaydedildi" in done.text and "Zeynep Kaya" in done.text
    # the referral's form offers the organisation's directorates to choose from
    assert '<option value="fen_isleri" >Fen İşleri Müdürlüğü</option>' in done.text
    missing = web.client.post(
        "/flows/bizim_masa/new", data={"csrf": csrf_of(form), "kanal": "whatsapp"}
    )
    assert missing.status_code == 422 and "Adı soyadı: is required" in missing.text


def test_the_case_page_fires_events_and_masks_for_the_directorate(web: Web) -> None:
    ref = web.engine.start("bizim_masa", LAMBA, actor="ayse").reference
    log_in(web.client, "ayse")
    page = web.client.get(f"/cases/{ref}").text
    assert 'data-event="havale_et"' in page and "Zeynep Kaya" in page
    assert "classDef current" in page and "class bizim_masa__degerlendirme current" in page
    fired = web.client.post(
        f"/cases/{ref}/events/havale_et",
        data={
            "csrf": csrf_of(page),
            "mudurluk": "fen_isleri",
            "state": "degerlendirme",
            "row_version": str(web.engine.get(ref).row_version),
        },
    )
    assert "İşlem kaydedildi" in fired.text
    assert web.engine.get(ref).states == ("mudurluk_incelemesi",)
    web.client.post("/logout", data={"csrf": csrf_of(fired.text)})
    log_in(web.client, "mehmet")
    theirs = web.client.get(f"/cases/{ref}").text
    assert "Zeynep Kaya" not in theirs and "0532" not in theirs and "***" in theirs
    assert "kişisel veriler rolünüze kapalıdır" in theirs
    assert 'data-event="cevap_ver"' in theirs and 'data-event="havale_et"' not in theirs
    assert 'id="status-code"' not in theirs  # the citizen's code is the desk's to hand over


def test_a_stale_form_is_refused_with_who_changed_it(web: Web) -> None:
    ref = web.engine.start("bizim_masa", LAMBA, actor="ayse").reference
    log_in(web.client, "ayse")
    page = web.client.get(f"/cases/{ref}").text
    web.engine.fire(ref, "kurum_disi", "ayse")  # someone else, meanwhile
    stale = web.client.post(
        f"/cases/{ref}/events/havale_et",
        data={"csrf": csrf_of(page), "mudurluk": "fen_isleri", "row_version": "1"},
    )
    assert "dosya ayse tarafından değiştirildi" in stale.text and "hiçbir şey" in stale.text
    assert web.engine.get(ref).states == ("kurum_disi_islem",)


def test_a_case_outside_ones_roles_is_a_403_page(web: Web) -> None:
    ref = web.engine.start("bizim_masa", LAMBA, actor="ayse").reference
    log_in(web.client, "mehmet")
    response = web.client.get(f"/cases/{ref}")
    assert response.status_code == 403 and "yetkiniz yok" in response.text
    assert web.engine.refusals(ref)[-1]["actor"] == "mehmet"  # audited as on the CLI


def test_the_interface_speaks_english_on_request(web: Web) -> None:
    log_in(web.client, "ayse")
    assert "Gelen kutusu" in web.client.get("/inbox").text
    english = web.client.get("/lang/en?next=/inbox")
    assert english.url.path == "/inbox" and "Inbox" in english.text and 'lang="en"' in english.text
    assert web.client.get("/lang/en?next=//evil.example").url.path == "/inbox"


def test_a_form_changes_only_the_fields_its_event_asks_for(web: Web) -> None:
    ref = web.engine.start("bizim_masa", LAMBA, actor="ayse").reference
    web.engine.fire(ref, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    log_in(web.client, "mehmet")
    page = web.client.get(f"/cases/{ref}").text
    forged = web.client.post(
        f"/cases/{ref}/events/cevap_ver",
        data={"csrf": csrf_of(page), "mudurluk_cevabi": "Onarıldı.", "telefon": "0000000000",
              "row_version": "²"},
    )  # fmt: skip
    # the runtime's rule refuses the field by name, and nothing of the event is written
    assert "Telefon" in forged.text and "does not ask for this field" in forged.text
    data = web.engine.get(ref).data
    assert data.get("mudurluk_cevabi") is None and data["telefon"] == LAMBA["telefon"]
    page = forged.text
    web.client.post(
        f"/cases/{ref}/events/cevap_ver",
        data={"csrf": csrf_of(page), "mudurluk_cevabi": "Onarıldı."},
    )
    data = web.engine.get(ref).data
    assert data["mudurluk_cevabi"] == "Onarıldı." and data["telefon"] == LAMBA["telefon"]


def test_a_session_ends_after_a_working_day_however_often_it_is_used(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from flowengine.web import security

    log_in(web.client, "ayse")
    assert web.client.get("/inbox").url.path == "/inbox"
    later = time.time() + security.SESSION_SECONDS + 60
    monkeypatch.setattr(security.time, "time", lambda: later)
    assert web.client.get("/inbox").url.path == "/login"


def test_only_starters_get_the_new_request_form(web: Web) -> None:
    log_in(web.client, "mehmet")
    assert web.client.get("/flows/bizim_masa/new").status_code == 403


def test_an_approval_is_rejected_only_with_its_reason(web: Web) -> None:
    engine = web.engine
    ref = prepare_press_release(engine)
    waiting = engine.get(ref).states
    web.accounts.set_password("arda", PASSWORD)
    log_in(web.client, "arda")
    page = web.client.get(f"/cases/{ref}").text
    reject_form = page.split('data-event="reject"')[1].split("</form>")[0]
    assert "Gerekçe" in reject_form and '<textarea name="comment" rows="2" required>' in reject_form
    assert 'class="danger"' in reject_form
    no_reason = web.client.post(f"/cases/{ref}/events/reject", data={"csrf": csrf_of(page)})
    assert "Eksik ya da hatalı bilgi — Açıklama:" in no_reason.text
    assert engine.get(ref).states == waiting
    reason = "Haber metninde açılış tarihi eksik."
    web.client.post(f"/cases/{ref}/events/reject", data={"csrf": csrf_of(page), "comment": reason})
    assert engine.get(ref).states != waiting
    rejected = [e for e in engine.history(ref) if e.event == "reject"]
    assert [e.comment for e in rejected] == [reason] and rejected[0].actor == "arda"


def test_a_new_password_ends_the_sessions_begun_before_it(web: Web) -> None:
    log_in(web.client, "ayse")
    assert web.client.get("/inbox").url.path == "/inbox"
    web.accounts.set_password("ayse", "yepyeni bir parola 2026")
    assert web.client.get("/inbox").url.path == "/login"
    log_in(web.client, "ayse", "yepyeni bir parola 2026")
    assert web.client.get("/inbox").url.path == "/inbox"
