"""Open311 GeoReport v2: a civic app's request lands in the desk's inbox and can be followed."""

from __future__ import annotations

from typing import Any

from flowengine.desk.citizen import status_code
from tests.engine.helpers import LAMBA
from tests.web.conftest import Web

V2 = "/open311/v2"
REQUEST = {
    "service_code": "sikayet",
    "description": "Çamlık Caddesi'nde büyük bir çukur var.\nAraçlar zarar görüyor.",
    "first_name": "Gülşen",
    "last_name": "Işıkoğlu",
    "phone": "0532 444 55 66",
    "email": "gulsen@example.org",
    "address_string": "Çamlık Cd. No 3, Ayvalık",
}


def submit(web: Web, **changes: Any) -> Any:
    return web.client.post(
        f"{V2}/requests.json", data={"api_key": web.app_token, **REQUEST, **changes}
    )


def test_services_are_the_flows_open311_section(web: Web) -> None:
    services = web.client.get(f"{V2}/services.json").json()
    assert [s["service_code"] for s in services] == ["sikayet", "istek", "talep", "oneri"]
    assert services[0]["service_name"] == "Şikâyet" and services[0]["metadata"] is False


def test_a_request_lands_in_the_desks_inbox_with_its_fields(web: Web) -> None:
    response = submit(web)
    assert response.status_code == 201, response.text
    [created] = response.json()
    ref = created["service_request_id"]
    assert ref in created["service_notice"]
    instance = web.engine.get(ref)
    assert status_code(instance) in created["service_notice"]
    assert instance.data["kanal"] == "mobil_uygulama" and instance.data["basvuru_turu"] == "sikayet"
    assert instance.data["konu"] == "Çamlık Caddesi'nde büyük bir çukur var."
    assert instance.data["metin"] == REQUEST["description"]
    assert instance.data["ad_soyad"] == "Gülşen Işıkoğlu"
    assert instance.data["konum"] == REQUEST["address_string"]
    assert ref in [w.reference for w in web.engine.tasks("ayse")]


def test_raw_utf8_form_bytes_keep_their_turkish_letters(web: Web) -> None:
    body = (
        f"api_key={web.app_token}&service_code=oneri&first_name=Şükrü&last_name=Öztürk"
        "&description=Çınaraltı'na bank konulsun, ığüşöç İĞÜŞÖÇ"
    ).encode()
    response = web.client.post(
        f"{V2}/requests.json",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201, response.text
    data = web.engine.get(response.json()[0]["service_request_id"]).data
    assert data["ad_soyad"] == "Şükrü Öztürk"
    assert data["metin"] == "Çınaraltı'na bank konulsun, ığüşöç İĞÜŞÖÇ"


def test_errors_are_geo_report_arrays_naming_the_parameter(web: Web) -> None:
    unknown = submit(web, service_code="kedi")
    assert unknown.status_code == 400
    assert unknown.json()[0]["code"] == 400 and "sikayet" in unknown.json()[0]["description"]
    nameless = submit(web, first_name="", last_name="")
    assert nameless.status_code == 400
    assert "first_name / last_name" in nameless.json()[0]["description"]
    no_key = web.client.post(f"{V2}/requests.json", data=REQUEST)
    assert no_key.status_code == 401 and no_key.json()[0]["code"] == 401
    # a desk clerk's token works; a directorate's may not start requests
    refused = web.client.post(f"{V2}/requests.json", data={"api_key": web.fen_token, **REQUEST})
    assert refused.status_code == 403


def test_the_request_can_be_followed_to_its_reply_without_personal_data(web: Web) -> None:
    ref = submit(web).json()[0]["service_request_id"]
    url = f"{V2}/requests/{ref}.json?api_key={web.app_token}"
    [opened] = web.client.get(url).json()
    assert opened["status"] == "open" and opened["service_code"] == "sikayet"
    assert opened["status_notes"] == "Bizim Masa'da toplanıp değerlendirme"
    web.engine.fire(ref, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    web.engine.fire(ref, "cevap_ver", "mehmet", data={"mudurluk_cevabi": "Çukur kapatıldı."})
    reply = "Sayın Gülşen Hanım, çukur Fen İşleri ekiplerince kapatılmıştır."
    web.engine.fire(ref, "geri_donus_yap", "ayse", data={"vatandasa_cevap": reply})
    response = web.client.get(url)
    [closed] = response.json()
    assert closed["status"] == "closed" and closed["status_notes"] == reply
    assert "0532" not in response.text and "Işıkoğlu" not in response.text
    assert "gulsen@" not in response.text
    assert (
        web.client.get(f"{V2}/requests/BM-1900-000009.json?api_key={web.app_token}").status_code
        == 404
    )


def test_a_civic_apps_token_sees_only_the_requests_it_submitted(web: Web) -> None:
    own = submit(web).json()[0]["service_request_id"]
    desk_case = web.engine.start("bizim_masa", LAMBA, actor="ayse").reference
    headers = web.bearer(web.app_token)
    assert web.client.get(f"/api/v1/instances/{own}", headers=headers).status_code == 200
    assert web.client.get(f"/api/v1/instances/{desk_case}", headers=headers).status_code == 403
    other = web.client.get(f"{V2}/requests/{desk_case}.json?api_key={web.app_token}")
    assert other.status_code == 403 and isinstance(other.json(), list)
    listed = web.client.get("/api/v1/instances", headers=headers).json()
    assert listed["items"] == []  # a starter-only role lists nothing; it follows its own by id


def test_framework_errors_on_open311_paths_are_geo_report_arrays(web: Web) -> None:
    wrong_method = web.client.delete(f"{V2}/services.json")
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "GET"
    assert wrong_method.json()[0]["code"] == 405
    assert web.client.get(f"{V2}/nothing.json").json()[0]["code"] == 404
