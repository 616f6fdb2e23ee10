"""What an event or a start may write is one rule, the runtime's: the library, the
CLI, the REST API, the staff pages and Open311 refuse the same payload, and
nothing of it is stored (on SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from flowengine.engine import Engine
from flowengine.errors import InvalidData
from tests.cli.helpers import cli
from tests.engine.helpers import LAMBA
from tests.web.conftest import Web, csrf_of, log_in

API = "/api/v1"
# A Fen İşleri officer answers the referral and also tries to overwrite the
# citizen's name and phone, which he may not even see.
ILLEGAL_ANSWER = {"mudurluk_cevabi": "tamam", "ad_soyad": "Başkası", "telefon": "111"}


def referred(engine: Engine) -> str:
    case = engine.start("bizim_masa", LAMBA, actor="ayse")
    engine.fire(case.reference, "havale_et", "ayse", data={"mudurluk": "fen_isleri"})
    return case.reference


def assert_untouched(engine: Engine, ref: str, before: dict[str, Any], version: int) -> None:
    instance = engine.get(ref)
    assert instance.data == before
    assert instance.row_version == version
    assert instance.states == ("mudurluk_incelemesi",)


def test_the_same_illegal_answer_is_refused_by_every_face(web: Web) -> None:
    engine = web.engine
    ref = referred(engine)
    before = dict(engine.get(ref).data)
    version = engine.get(ref).row_version

    # the library
    with pytest.raises(InvalidData) as refused:
        engine.fire(ref, "cevap_ver", "mehmet", data=ILLEGAL_ANSWER)
    assert set(refused.value.problems) == {"ad_soyad", "telefon"}
    assert "'cevap_ver' does not ask for this field" in refused.value.problems["telefon"]
    assert_untouched(engine, ref, before, version)

    # the REST API
    response = web.client.post(
        f"{API}/instances/{ref}/events/cevap_ver",
        json={"data": ILLEGAL_ANSWER},
        headers=web.bearer(web.fen_token),
    )
    assert response.status_code == 422, response.text
    assert set(response.json()["error"]["fields"]) == {"data.ad_soyad", "data.telefon"}
    assert_untouched(engine, ref, before, version)

    # the CLI, on the same database
    url = engine.store.url
    args = ["--set", "mudurluk_cevabi=tamam", "--set", "ad_soyad=Başkası", "--set", "telefon=111"]
    result = cli(url, "fire", ref, "cevap_ver", "--as", "mehmet", *args)
    assert result.returncode != 0
    assert "ad_soyad" in result.stderr and "telefon" in result.stderr
    assert "Traceback" not in result.stderr
    assert_untouched(engine, ref, before, version)

    # the staff page: its form offers only the event's field, and a forged post
    # with the others is refused by the same rule
    log_in(web.client, "mehmet")
    page = web.client.get(f"/cases/{ref}").text
    assert 'name="mudurluk_cevabi"' in page and 'name="telefon"' not in page
    forged = web.client.post(
        f"/cases/{ref}/events/cevap_ver",
        data={"csrf": csrf_of(page), "row_version": str(version), **ILLEGAL_ANSWER},
    )
    assert "does not ask for this field" in forged.text or "bu alanı istemiyor" in forged.text
    assert_untouched(engine, ref, before, version)

    # the lawful answer still goes through, on every face's behalf
    engine.fire(ref, "cevap_ver", "mehmet", data={"mudurluk_cevabi": "Onarıldı."})
    assert engine.get(ref).data["mudurluk_cevabi"] == "Onarıldı."


def test_a_start_cannot_fill_in_a_later_steps_answer(web: Web) -> None:
    """No face can start a request that already carries the final reply."""
    engine = web.engine
    answered = {**LAMBA, "vatandasa_cevap": "Çözüldü.", "mudurluk": "fen_isleri"}
    with pytest.raises(InvalidData) as refused:
        engine.start("bizim_masa", answered, actor="ayse")
    assert set(refused.value.problems) == {"vatandasa_cevap", "mudurluk"}
    assert "later step" in refused.value.problems["vatandasa_cevap"]

    response = web.client.post(
        f"{API}/instances",
        json={"flow": "bizim_masa", "data": answered},
        headers=web.bearer(web.desk_token),
    )
    assert response.status_code == 422, response.text

    url = engine.store.url
    sets = [a for k, v in answered.items() for a in ("--set", f"{k}={v}")]
    result = cli(url, "start", "bizim_masa", "--as", "ayse", *sets)
    assert result.returncode != 0 and "vatandasa_cevap" in result.stderr

    assert engine.instances(flow="bizim_masa") == []


def test_the_civic_app_sets_only_what_open311_maps(web: Web) -> None:
    """The civic app's token may start requests, but not as a face-to-face one,
    nor with the desk's own fields; its Open311 intake still works."""
    engine = web.engine
    for data, field in (
        ({**LAMBA, "kanal": "yuz_yuze"}, "kanal"),
        ({**LAMBA, "kanal": "mobil_uygulama", "aracilik": "baskanlik"}, "aracilik"),
        ({**LAMBA, "kanal": "mobil_uygulama", "vatandasa_cevap": "Tamam"}, "vatandasa_cevap"),
    ):
        response = web.client.post(
            f"{API}/instances",
            json={"flow": "bizim_masa", "data": data},
            headers=web.bearer(web.app_token),
        )
        assert response.status_code == 422, response.text
        fields = set(response.json()["error"]["fields"])
        assert f"data.{field}" in fields
    assert engine.instances(flow="bizim_masa") == []

    lawful = {**LAMBA, "kanal": "mobil_uygulama"}
    lawful.pop("mahalle")  # not an Open311 parameter
    response = web.client.post(
        f"{API}/instances",
        json={"flow": "bizim_masa", "data": lawful},
        headers=web.bearer(web.app_token),
    )
    assert response.status_code == 201, response.text

    created = web.client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": web.app_token,
            "service_code": "sikayet",
            "description": "Çukur var\nİnönü Caddesi'nde büyük bir çukur",
            "first_name": "Gül",
            "last_name": "Şen",
        },
    )
    assert created.status_code == 201, created.text
    ref = created.json()[0]["service_request_id"]
    assert engine.get(ref).data["kanal"] == "mobil_uygulama"
