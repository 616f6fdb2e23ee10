"""People and payloads of the charts, shared by engine tests."""

from __future__ import annotations

from typing import Any

from flowengine.engine import Engine

PEOPLE: dict[str, tuple[str, list[str]]] = {
    "ayse": ("Ayşe Yılmaz", ["bizim_masa"]),
    "mehmet": ("Mehmet Demir", ["ilgili_mudurluk:fen_isleri"]),
    "zabita_ali": ("Ali Şahin", ["ilgili_mudurluk:zabita"]),
    "arda": ("Arda BAYRİ", ["mudur"]),
    "baskan": ("Belediye Başkanı", ["baskan"]),
    "basin": ("İpek Çelik", ["basin_yayin_tanitim"]),
    "sosyal": ("Oğuz Güneş", ["sosyal_medya"]),
    "idari": ("Ayşe Demir", ["idari_isler"]),
}

LAMBA: dict[str, Any] = {
    "kanal": "whatsapp",
    "basvuru_turu": "sikayet",
    "ad_soyad": "Zeynep Kaya",
    "telefon": "0532 000 00 00",
    "konu": "Sokak lambası yanmıyor",
    "metin": "Sakarya Mahallesi 12. sokaktaki lamba üç gündür yanmıyor.",
    "mahalle": "Sakarya",
}


def add_people(engine: Engine) -> None:
    for person_id, (name, roles) in PEOPLE.items():
        engine.add_person(person_id, name, roles)


def approve_press_release(engine: Engine, title: str = "Sahil yolu açılışı") -> str:
    """Carry a press release through preparation and both approvals; return its reference."""
    ref = prepare_press_release(engine, title)
    engine.fire(ref, "approve", "arda")
    engine.fire(ref, "approve", "baskan")
    return ref


def prepare_press_release(engine: Engine, title: str = "Sahil yolu açılışı") -> str:
    """Carry a press release to the Director's approval; return its reference."""
    case = engine.start("basin_yayin", {"kaynak": "mudurlukler", "baslik": title}, actor="basin")
    ref = case.reference
    engine.fire(ref, "planla", "basin")
    engine.fire(ref, "gerek_yok", "basin")
    engine.fire(ref, "kaydedildi", "basin", data={"sonrasi_kayitlar": ["a.jpg"]})
    engine.fire(ref, "gerek_yok", "basin", state="montaj")
    engine.fire(
        ref, "tamamlandi", "basin", data={"gorseller": ["afis.png"]}, state="gorsel_tasarim"
    )
    engine.fire(
        ref, "tamamlandi", "basin", data={"haber_metni": "Metin"}, state="haber_metni_yazimi"
    )
    return ref
