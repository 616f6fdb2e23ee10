"""The history's hash chain and replay, on rows a pure step produced: no database."""

from __future__ import annotations

import dataclasses

from flowengine import audit, runtime
from flowengine.instance import HistoryEntry
from tests.unit.helpers import NOW, compiled, person, started

BASVURU = compiled(
    """
    flow: basvuru
    version: 1
    title: Başvuru
    directorate: yazi_isleri
    unit: evrak
    roles:
      basvuran: {title: Başvuru sahibi}
    starters: [masa]
    data:
      ad_soyad: {type: string, title: Ad soyad, personal: true}
      konu: {type: string, title: Konu}
    start: kayit
    states:
      kayit:
        type: task
        title: Kayıt
        role: masa
        on:
          incele: {to: inceleme}
      inceleme:
        type: parallel
        title: İnceleme
        branches:
          fen_dali:
            start: fen
            states:
              fen:
                type: task
                title: Fen
                role: fen
                on:
                  bitti: {to: fen_son}
              fen_son: {type: end, outcome: done}
          zabita_dali:
            start: zabita
            states:
              zabita:
                type: task
                title: Zabıta
                role: zabita
                on:
                  bitti: {to: zabita_son}
              zabita_son: {type: end, outcome: done}
        next: kapandi
      kapandi: {type: end, outcome: resolved}
    """
)
PERSONAL = BASVURU.personal_fields
SALT = "00112233445566778899aabbccddeeff"


def history() -> list[HistoryEntry]:
    """A whole case: start, referral, both branches and the join."""
    first = started(BASVURU, {"ad_soyad": "Zeynep Kaya", "konu": "Lamba"})
    entries = list(first.history)
    instance = first.instance
    steps = [("incele", "ayse", "masa", None), ("bitti", "ali", "fen", "fen")]
    steps.append(("bitti", "can", "zabita", "zabita"))
    for event, who, role, state in steps:
        instance = instance.evolve(row_version=entries[-1].seq)
        result = runtime.fire(
            BASVURU, instance, event, person(who, role), {}, None, NOW, state=state
        )
        entries += result.history
        instance = result.instance
    return entries


def stored(entries: list[HistoryEntry]) -> tuple[list[audit.StoredRow], str]:
    sealed = audit.seal(entries, None, SALT, PERSONAL)
    rows = [audit.StoredRow(s.entry, s.digests, s.prev_hash, s.hash) for s in sealed]
    return rows, sealed[-1].hash


def test_an_untouched_chain_verifies() -> None:
    rows, head = stored(history())
    assert audit.verify(rows, head, SALT, PERSONAL) is None


def test_an_edited_value_is_found_in_its_row() -> None:
    rows, head = stored(history())
    changes = {**rows[0].entry.changes, "konu": [None, "Başka"]}
    rows[0] = dataclasses.replace(
        rows[0], entry=dataclasses.replace(rows[0].entry, changes=changes)
    )
    assert audit.verify(rows, head, SALT, PERSONAL) == "row 1: the value of 'konu' was changed"


def test_an_edited_actor_breaks_the_row_hash() -> None:
    rows, head = stored(history())
    rows[1] = dataclasses.replace(rows[1], entry=dataclasses.replace(rows[1].entry, actor="x"))
    assert audit.verify(rows, head, SALT, PERSONAL) == (
        "row 2 was changed (its hash does not match its content)"
    )


def test_a_deleted_row_and_a_cut_tail_are_found() -> None:
    rows, head = stored(history())
    assert audit.verify([rows[0], *rows[2:]], head, SALT, PERSONAL) == (
        "row 2 is missing (found seq 3 in its place)"
    )
    assert audit.verify(rows[:-1], head, SALT, PERSONAL) == (
        "the last row does not match the recorded head (rows added or cut at the end)"
    )


def test_after_erasure_the_chain_still_verifies_and_the_value_is_gone() -> None:
    entries = history()
    rows, head = stored(entries)
    erased = [
        dataclasses.replace(
            row,
            entry=dataclasses.replace(
                row.entry, changes=audit.erase_values(row.entry.changes, PERSONAL)
            ),
        )
        for row in rows
    ]
    mark = HistoryEntry(
        entries[0].instance_id, len(rows) + 1, audit.ERASURE_EVENT, None, None, "kvkk", NOW
    )
    [sealed] = audit.seal([mark], head, None, PERSONAL)
    erased.append(audit.StoredRow(sealed.entry, sealed.digests, sealed.prev_hash, sealed.hash))
    assert erased[0].entry.changes["ad_soyad"] == [None, audit.ERASED]
    assert audit.verify(erased, sealed.hash, None, PERSONAL) is None


def test_blanking_a_value_without_an_erasure_record_is_found() -> None:
    rows, head = stored(history())
    changes = audit.erase_values(rows[0].entry.changes, PERSONAL)
    rows[0] = dataclasses.replace(
        rows[0], entry=dataclasses.replace(rows[0].entry, changes=changes)
    )
    assert audit.verify(rows, head, SALT, PERSONAL) == (
        "row 1: 'ad_soyad' was blanked without an erasure record"
    )


def test_a_personal_value_is_digested_with_the_salt_only() -> None:
    plain = audit.digest("Zeynep Kaya", None)
    keyed = audit.digest("Zeynep Kaya", SALT)
    assert keyed != plain
    digests = audit.change_digests({"ad_soyad": [None, "Zeynep Kaya"]}, PERSONAL, SALT)
    assert digests["ad_soyad"][1] == keyed


def test_replay_rebuilds_the_states_and_the_data() -> None:
    entries = history()
    assert audit.replay(entries) == audit.Replayed(
        ("kapandi",), {"ad_soyad": "Zeynep Kaya", "konu": "Lamba"}
    )
    # after the fork both branches stand; the join closes everything inside
    assert audit.replay(entries[:4]).states == (
        "inceleme.fen_dali.fen",
        "inceleme.zabita_dali.zabita",
    )
    assert audit.replay(entries[:6]).states == (
        "inceleme.fen_dali.fen_son",
        "inceleme.zabita_dali.zabita_son",
    )
