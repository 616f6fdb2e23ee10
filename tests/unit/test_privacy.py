"""Who sees an instance and its personal data (KVKK), decided without I/O."""

from __future__ import annotations

from flowengine import privacy
from tests.unit.helpers import compiled, person

SIKAYET = compiled(
    """
    flow: sikayet
    version: 1
    title: Şikâyet
    directorate: yazi_isleri
    unit: evrak
    roles:
      istemci: {title: Mobil uygulama}
    starters: [masa, istemci]
    privacy: {personal_access: [masa]}
    data:
      ad_soyad: {type: string, title: Ad soyad, personal: true}
      telefon: {type: string, title: Telefon, personal: true}
      konu: {type: string, title: Konu}
      mudurluk: {type: enum, title: Müdürlük, values: [fen_isleri], directorate: true}
    start: kayit
    states:
      kayit:
        type: task
        title: Kayıt
        role: masa
        on:
          havale_et: {to: inceleme, requires: [mudurluk]}
      inceleme:
        type: task
        title: Müdürlük incelemesi
        role: fen
        assignee: mudurluk
        timers:
          - {after: 3d, notify: [mudur]}
        on:
          bitti: {to: kapandi}
      kapandi: {type: end, outcome: resolved}
    """
)
DATA = {"ad_soyad": "Zeynep Kaya", "telefon": None, "konu": "Lamba"}


def test_personal_values_are_masked_unless_shown() -> None:
    masked, hidden = privacy.mask(SIKAYET, DATA, show_personal=False)
    assert masked == {"ad_soyad": privacy.MASK, "telefon": None, "konu": "Lamba"}
    assert hidden == ("ad_soyad",)  # an empty value hides nothing
    assert privacy.mask(SIKAYET, DATA, show_personal=True) == (DATA, ())


def test_only_holders_of_a_personal_access_role_are_entitled() -> None:
    assert privacy.entitled(SIKAYET, person("ayse", "masa"))
    assert not privacy.entitled(SIKAYET, person("ali", "fen"))
    assert not privacy.entitled(SIKAYET, person("cepte", "istemci"))
    assert not privacy.entitled(SIKAYET, None)


def test_the_flow_roles_and_the_roles_that_only_start_it() -> None:
    assert privacy.flow_roles(SIKAYET) == {"masa", "istemci", "fen", "mudur"}
    assert privacy.starter_only_roles(SIKAYET) == {"istemci"}
    assert privacy.viewing_roles(SIKAYET) == {"masa", "fen", "mudur"}


def test_a_scoped_role_sees_only_its_directorates_instances() -> None:
    fen = person("ali", "fen:fen_isleri")
    assert privacy.may_view(SIKAYET, fen, ["fen_isleri"])
    assert not privacy.may_view(SIKAYET, fen, ["zabita"])
    assert privacy.may_view(SIKAYET, person("ayse", "masa"), [])  # unscoped: every one


def test_a_starter_only_role_sees_what_its_holder_started() -> None:
    app = person("cepte", "istemci")
    assert privacy.may_view(SIKAYET, app, [], started_by="cepte")
    assert not privacy.may_view(SIKAYET, app, [], started_by="ayse")


def test_work_reassigned_by_name_is_visible_to_that_person() -> None:
    assert privacy.may_view(SIKAYET, person("veli"), ["veli"])
    assert not privacy.may_view(SIKAYET, person("veli"), ["fen_isleri"])


def test_only_a_notice_to_entitled_roles_may_carry_personal_values() -> None:
    assert privacy.effect_may_carry_personal(SIKAYET, "notify", ["masa"])
    assert not privacy.effect_may_carry_personal(SIKAYET, "notify", ["masa", "fen"])
    for kind in ("email", "webhook", "publish"):
        assert not privacy.effect_may_carry_personal(SIKAYET, kind, ["masa"])
