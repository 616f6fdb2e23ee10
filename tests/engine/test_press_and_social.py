"""The press flow's parallel work, approval loop and hand-off to social media."""

from __future__ import annotations

import pytest

from flowengine.engine import Engine
from flowengine.instance import Instance


def prepare(engine: Engine, ref: str) -> Instance:
    """Do the three preparation branches (edit, design, news text)."""
    engine.fire(ref, "gerek_yok", "basin")
    engine.fire(ref, "tamamlandi", "basin", data={"gorseller": ["afis.png"]})
    return engine.fire(ref, "tamamlandi", "basin", data={"haber_metni": "Sahil yolu açıldı."})


def test_press_release_rejected_once_then_published_and_handed_off(engine: Engine) -> None:
    """Mayor rejects, the work is redone, both approve; outputs run; social media gets it."""
    case = engine.start(
        "basin_yayin", {"kaynak": "mudurlukler", "baslik": "Sahil yolu açılışı"}, actor="basin"
    )
    engine.fire(case.reference, "planla", "basin")
    engine.fire(case.reference, "gerek_yok", "basin")
    case = engine.fire(case.reference, "kaydedildi", "basin", data={"sonrasi_kayitlar": ["a.jpg"]})
    assert sorted(case.states) == [
        "hazirlik.haber_dali.haber_metni_yazimi",
        "hazirlik.montaj_dali.montaj",
        "hazirlik.tasarim_dali.gorsel_tasarim",
    ]
    case = engine.fire(
        case.reference,
        "tamamlandi",
        "basin",
        data={"haber_metni": "Metin"},
        state="haber_metni_yazimi",
    )
    assert "hazirlik.haber_dali.haber_bitti" in case.states, "the event went to another branch"
    engine.fire(case.reference, "gerek_yok", "basin")
    assert "mudur_onayi" not in engine.get(case.reference).states, (
        "the join fired before the third branch ended"
    )
    case = engine.fire(case.reference, "tamamlandi", "basin", data={"gorseller": ["afis.png"]})
    assert case.states == ("mudur_onayi",)
    engine.fire(case.reference, "approve", "arda")
    with pytest.raises(Exception, match="needs a comment"):
        engine.fire(case.reference, "reject", "baskan")
    case = engine.fire(case.reference, "reject", "baskan", comment="Fotoğraflar yetersiz.")
    assert len(case.states) == 3
    case = prepare(engine, case.reference)
    engine.fire(case.reference, "approve", "arda")
    case = engine.fire(case.reference, "approve", "baskan")
    assert sorted(case.states) == [
        "yayin.basin_dali.basina_gonderildi",
        "yayin.platform_dali.platform_paylasimi",
        "yayin.sosyal_medya_dali.sosyal_medyaya_aktarildi",
    ], "two branches ended at once; the platform task waits"
    kinds = [row.kind for row in engine.outbox(case.reference)]
    assert "email" in kinds
    children = engine.instances(flow="sosyal_medya")
    assert len(children) == 1 and children[0].parent_id == case.id
    assert children[0].states == ("degerlendirme_hazirlama",)
    case = engine.fire(case.reference, "paylasildi", "basin", data={"platformlar": ["billboard"]})
    assert (case.status, case.outcome) == ("completed", "published")
    child = children[0].reference
    engine.fire(child, "hazirlandi", "sosyal", data={"paylasim_metni": "Sahil yolu açıldı! 🌊"})
    engine.fire(child, "approve", "arda")
    done = engine.fire(child, "approve", "baskan")
    assert (done.status, done.outcome) == ("completed", "published")
    assert any(row.kind == "publish" for row in engine.outbox(child))
