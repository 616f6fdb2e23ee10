"""The REST API: the engine's errors as documented statuses, ETags, idempotency, pages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.helpers import LAMBA
from tests.web.conftest import PASSWORD, Web

API = "/api/v1"


def start(web: Web, data: dict[str, Any] | None = None, **headers: str) -> Any:
    return web.client.post(
        f"{API}/instances",
        json={"flow": "bizim_masa", "data": data or LAMBA},
        headers={**web.bearer(web.desk_token), **headers},
    )


def assert_error(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["type"] == kind
    assert body["error"]["message"] and "\n" not in body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


def test_without_credentials_the_api_answers_401_in_the_error_shape(web: Web) -> None:
    error = assert_error(web.client.get(f"{API}/tasks"), 401, "unauthenticated")
    assert "flowengine tokens create" in error["message"]
    assert_error(
        web.client.get(f"{API}/tasks", headers=web.bearer("fe_0_forged")), 401, "unauthenticated"
    )


def test_start_returns_201_with_location_and_etag(web: Web) -> None:
    response = start(web)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["reference"].startswith("BM-") and body["states"] == ["degerlendirme"]
    assert response.headers["Location"] == f"{API}/instances/{body['reference']}"
    assert response.headers["ETag"] == f'"{body["row_version"]}"'
    assert body["data"]["ad_soyad"] == "Zeynep Kaya"  # the desk is entitled
    assert "havale_et" in body["allowed_events"]


def test_personal_fields_are_masked_for_the_directorate(web: Web) -> None:
    ref = start(web).json()["reference"]
    fired = web.client.post(
        f"{API}/instances/{ref}/events/havale_et",
        json={"data": {"mudurluk": "fen_isleri"}},
        headers=web.bearer(web.desk_token),
    )
    assert fired.status_code == 200, fired.text
    seen = web.client.get(f"{API}/instances/{ref}", headers=web.bearer(web.fen_token)).json()
    assert seen["data"]["ad_soyad"] == "***" and seen["data"]["telefon"] == "***"
    assert set(seen["masked"]) >= {"ad_soyad", "telefon"}
    assert seen["allowed_events"] == ["cevap_ver", "sure_uzat", "iade_et"]
    history = web.client.get(f"{API}/instances/{ref}/history", headers=web.bearer(web.fen_token))
    assert "Zeynep" not in history.text and history.json()["items"][0]["seq"] == 1


def test_a_stale_if_match_is_a_409_with_the_current_version(web: Web) -> None:
    started = start(web)
    ref, etag = started.json()["reference"], started.headers["ETag"]
    first = web.client.post(
        f"{API}/instances/{ref}/events/kurum_disi",
        headers={**web.bearer(web.desk_token), "If-Match": etag},
    )
    assert first.status_code == 200 and first.headers["ETag"] != etag
    stale = web.client.post(
        f"{API}/instances/{ref}/events/aracilik_yapildi",
        headers={**web.bearer(web.desk_token), "If-Match": etag},
    )
    error = assert_error(stale, 409, "concurrent_update")
    assert error["current_version"] == first.json()["row_version"]
    assert stale.headers["ETag"] == first.headers["ETag"]
    assert web.engine.get(ref).states == ("kurum_disi_islem",)  # nothing was done


def test_idempotency_key_returns_the_first_result(web: Web) -> None:
    one = start(web, **{"Idempotency-Key": "mobil-42"})
    two = start(web, **{"Idempotency-Key": "mobil-42"})
    assert one.json()["reference"] == two.json()["reference"]
    assert len(web.engine.instances(flow="bizim_masa")) == 1
    other = start(web, {**LAMBA, "konu": "Başka konu"}, **{"Idempotency-Key": "mobil-42"})
    assert_error(other, 409, "idempotency_conflict")


def test_errors_map_to_404_403_409_and_422_with_field_paths(web: Web) -> None:
    assert_error(
        web.client.get(f"{API}/instances/BM-1900-000001", headers=web.bearer(web.desk_token)),
        404,
        "not_found",
    )
    ref = start(web).json()["reference"]
    # Fen İşleri has no part in a request not referred to it
    assert_error(
        web.client.get(f"{API}/instances/{ref}", headers=web.bearer(web.fen_token)),
        403,
        "forbidden",
    )
    wrong = web.client.post(
        f"{API}/instances/{ref}/events/geri_donus_yap", headers=web.bearer(web.desk_token)
    )
    assert "havale_et" in assert_error(wrong, 409, "transition_not_allowed")["message"]
    missing = web.client.post(
        f"{API}/instances/{ref}/events/havale_et", json={}, headers=web.bearer(web.desk_token)
    )
    assert "data.mudurluk" in assert_error(missing, 422, "invalid_data")["fields"]
    bad = start(web, {**LAMBA, "kanal": "güvercin"})
    assert "data.kanal" in assert_error(bad, 422, "invalid_data")["fields"]
    malformed = web.client.post(
        f"{API}/instances", json={"data": "x"}, headers=web.bearer(web.desk_token)
    )
    fields = assert_error(malformed, 422, "invalid_data")["fields"]
    assert "body.flow" in fields and "body.data" in fields


def test_lists_are_paginated(web: Web) -> None:
    refs = [start(web, {**LAMBA, "konu": f"Konu {i}"}).json()["reference"] for i in range(3)]
    first = web.client.get(f"{API}/instances?limit=2", headers=web.bearer(web.desk_token)).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    rest = web.client.get(
        f"{API}/instances?limit=2&offset=2", headers=web.bearer(web.desk_token)
    ).json()
    assert rest["next_offset"] is None
    seen = [i["reference"] for i in first["items"] + rest["items"]]
    assert sorted(seen) == sorted(refs)
    tasks = web.client.get(f"{API}/tasks?limit=1", headers=web.bearer(web.desk_token)).json()
    assert len(tasks["items"]) == 1 and tasks["next_offset"] == 1
    flows = web.client.get(f"{API}/flows", headers=web.bearer(web.desk_token)).json()
    assert "bizim_masa" in [f["flow"] for f in flows["items"]]


def test_a_directorate_lists_no_instances_it_has_no_unscoped_part_in(web: Web) -> None:
    start(web)
    listed = web.client.get(f"{API}/instances", headers=web.bearer(web.fen_token)).json()
    assert listed["items"] == []


def test_a_session_cookie_needs_the_csrf_token_to_change_anything(web: Web) -> None:
    login = web.client.get("/login")
    csrf = login.text.split('name="csrf" value="')[1].split('"')[0]
    web.client.post(
        "/login", data={"csrf": csrf, "person": "ayse", "password": PASSWORD, "next": "/inbox"}
    )
    assert web.client.get(f"{API}/me").json()["id"] == "ayse"
    refused = web.client.post(f"{API}/instances", json={"flow": "bizim_masa", "data": LAMBA})
    assert_error(refused, 403, "forbidden")
    inbox = web.client.get("/inbox")
    token = inbox.text.split('name="csrf" value="')[1].split('"')[0]
    allowed = web.client.post(
        f"{API}/instances",
        json={"flow": "bizim_masa", "data": LAMBA},
        headers={"X-CSRF-Token": token},
    )
    assert allowed.status_code == 201, allowed.text


def test_notifications_reach_the_roles_they_name(web: Web) -> None:
    ref = start(web).json()["reference"]
    web.client.post(
        f"{API}/instances/{ref}/events/havale_et",
        json={"data": {"mudurluk": "fen_isleri"}},
        headers=web.bearer(web.desk_token),
    )
    from flowengine.worker import Worker

    Worker(web.engine).deliver()  # the in-app inbox connector records the notice
    notices = web.client.get(f"{API}/notifications", headers=web.bearer(web.fen_token)).json()
    assert [n["reference"] for n in notices["items"]] == [ref]
    assert "müdürlüğünüze havale" in notices["items"][0]["message"]


def test_pages_of_several_flows_are_filled_in_the_database(web: Web) -> None:
    from tests.engine.helpers import approve_press_release

    start(web)
    start(web, {**LAMBA, "konu": "İkinci"})
    approve_press_release(web.engine)
    arda = web.accounts.create_token("arda", "müdür").text  # mudur: bizim_masa and basin_yayin
    first = web.client.get(f"{API}/instances?limit=2", headers=web.bearer(arda)).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    rest = web.client.get(f"{API}/instances?limit=2&offset=2", headers=web.bearer(arda)).json()
    assert len(rest["items"]) >= 1
    assert {i["flow"] for i in first["items"] + rest["items"]} >= {"bizim_masa", "basin_yayin"}


def test_a_starter_who_may_not_follow_the_case_still_learns_it_was_created(web: Web) -> None:
    web.engine.add_person("masa2", "Şube masası", ["bizim_masa:basin_yayin_halkla_iliskiler"])
    token = web.accounts.create_token("masa2", "şube").text
    response = web.client.post(
        f"{API}/instances", json={"flow": "bizim_masa", "data": LAMBA}, headers=web.bearer(token)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["reference"].startswith("BM-") and body["data"] == {}
    assert "ad_soyad" in body["masked"]


def test_answers_are_not_cached_nor_framed(web: Web) -> None:
    response = web.client.get(f"{API}/tasks", headers=web.bearer(web.desk_token))
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert web.client.get("/login").headers["Cache-Control"] == "no-store"


def test_non_ascii_security_tokens_are_refused_not_crashed_on(web: Web) -> None:
    from tests.web.conftest import log_in

    log_in(web.client, "ayse")
    refused = web.client.post(
        f"{API}/instances",
        json={"flow": "bizim_masa", "data": LAMBA},
        headers={"X-CSRF-Token": "şğü".encode()},  # raw UTF-8 bytes in a header
    )
    assert_error(refused, 403, "forbidden")
    assert web.client.put(f"{API}/instances").status_code == 405


def test_a_weak_or_malformed_if_match_is_invalid(web: Web) -> None:
    ref = start(web).json()["reference"]
    for value in ('W/"1"', "1", '"x"'):
        response = web.client.post(
            f"{API}/instances/{ref}/events/kurum_disi",
            headers={**web.bearer(web.desk_token), "If-Match": value},
        )
        assert "header.If-Match" in assert_error(response, 422, "invalid_data")["fields"]


def test_a_revoked_token_is_refused_at_once(web: Web) -> None:
    issued = web.accounts.create_token("ayse", "eski betik")
    assert web.client.get(f"{API}/me", headers=web.bearer(issued.text)).status_code == 200
    web.accounts.revoke_token(issued.id)
    refused = web.client.get(f"{API}/me", headers=web.bearer(issued.text))
    assert "revoked" in assert_error(refused, 401, "unauthenticated")["message"]
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_repeated_fire_with_its_idempotency_key_acts_once(web: Web) -> None:
    ref = start(web).json()["reference"]
    key = {**web.bearer(web.desk_token), "Idempotency-Key": "fire-7"}
    first = web.client.post(f"{API}/instances/{ref}/events/kurum_disi", headers=key)
    again = web.client.post(f"{API}/instances/{ref}/events/kurum_disi", headers=key)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["row_version"] == again.json()["row_version"]
    assert [e.event for e in web.engine.history(ref)].count("kurum_disi") == 1
    other = web.client.post(f"{API}/instances/{ref}/events/aracilik_yapildi", headers=key)
    assert_error(other, 409, "idempotency_conflict")


def test_a_database_failure_is_a_503_in_the_error_shape(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flowengine.errors import StorageError

    def down(*_: object, **__: object) -> None:
        raise StorageError("database unavailable: connection refused")

    monkeypatch.setattr(web.engine, "tasks", down)
    error = assert_error(
        web.client.get(f"{API}/tasks", headers=web.bearer(web.desk_token)),
        503,
        "storage_unavailable",
    )
    assert "connection refused" in error["message"]
