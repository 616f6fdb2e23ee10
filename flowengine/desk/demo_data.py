"""A realistic year of Bizim Masa requests, generated straight into the database.

``flowengine demo-data --requests N`` fills an empty (or any) database with N
requests spread over the last ``days`` days, as the desk would have seen them:

* channels, request types, neighbourhoods of Ayvalık and directorates drawn
  with the weights below (WhatsApp and the call centre carry most; Fen İşleri
  and Temizlik İşleri get most referrals);
* each case walks a real path of ``flows/bizim_masa.yaml`` — referred to a
  directorate and answered (most), redirected outside, or mediated — with
  durations drawn per step, a few beyond the legal 30 days;
* the most recent cases are still open somewhere on their path.

The rows are what the engine itself writes: the instance, its work items
(closed, or the one still open) and a sealed history whose hash chain
``flowengine audit verify`` accepts. They are written in batches, not one
command at a time (100,000 requests take about a minute on SQLite instead of
several), and no outbox rows or timers are made for the past. The same seed
gives the same data. Names and phone numbers are invented.

The applicant, phone, channel, kind, subject, place and directorate are
written to the fields the flow's ``desk:`` names (the report reads them
there); the path itself, its events and their answers, is Bizim Masa's.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flowengine import audit, schema
from flowengine.definition import FlowDefinition
from flowengine.engine import Engine
from flowengine.errors import ConfigurationError, InvalidData
from flowengine.instance import HistoryEntry, Instance, Status, WorkItem

FLOW = "bizim_masa"
BATCH = 1000

CHANNELS = {
    "whatsapp": 30, "cagri_merkezi": 25, "yuz_yuze": 12, "danisma_noktasi": 8,
    "facebook": 9, "twitter": 8, "instagram": 8,
}  # fmt: skip
TYPES = {"sikayet": 34, "istek": 30, "talep": 26, "oneri": 10}
NEIGHBOURHOODS = {
    "Sakarya": 9, "Ali Çetinkaya": 8, "Fevzipaşa-Vehbibey": 8, "Hamdibey": 6,
    "Zekibey": 5, "İsmetpaşa": 6, "Gazikemalpaşa": 5, "Mithatpaşa": 5,
    "Namık Kemal (Cunda)": 7, "Küçükköy": 6, "Altınova": 8, "150 Evler": 7,
    "Kemalpaşa": 4, "Sefa Çamlık": 3, "Çamlıca": 3, "Hacıveliler": 2,
    "Bağyüzü": 2, "Mutlu": 2, "Türközü": 2, "Kırcalar": 2,
}  # fmt: skip
SUBJECTS = {
    "fen_isleri": ["Yolda çukur var", "Kaldırım taşları kırık", "Yağmur suyu ızgarası tıkalı",
                   "Asfalt yaması istiyoruz", "Merdiven korkuluğu kopmuş"],
    "temizlik_isleri": ["Çöp konteyneri boşaltılmadı", "Sokak süpürülmüyor",
                        "Konteyner yeri değişsin", "Moloz bırakılmış"],
    "zabita": ["Kaldırım işgali", "Gece gürültüsü", "Seyyar satıcı şikâyeti",
               "Başıboş köpekler", "Tabelasız işyeri"],
    "park_ve_bahceler": ["Ağaç budansın", "Parktaki salıncak kırık", "Çim biçilmedi",
                         "Sulama hortumu patlak"],
    "imar_ve_sehircilik": ["Kaçak yapı ihbarı", "İmar durumu soruluyor", "Ruhsatsız tadilat"],
    "destek_hizmetleri": ["Muhtarlığa masa sandalye talebi", "Etkinlik için çadır talebi"],
}  # fmt: skip
DIRECTORATE_WEIGHTS = {
    "fen_isleri": 30, "temizlik_isleri": 24, "zabita": 18, "park_ve_bahceler": 14,
    "imar_ve_sehircilik": 9, "destek_hizmetleri": 5,
}  # fmt: skip
OUTSIDE = {"baski": 40, "uedas": 25, "balikesir_buyuksehir": 20, "turk_telekom": 15}
FIRST_NAMES = (
    "Ayşe", "Mehmet", "Fatma", "Mustafa", "Emine", "Ahmet", "Hatice", "Ali",
    "Zeynep", "Hüseyin", "Elif", "İbrahim", "Şükrü", "Gülşen", "Çağla", "Oğuz",
)  # fmt: skip
LAST_NAMES = (
    "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Öztürk", "Aydın",
    "Özdemir", "Arslan", "Doğan", "Kılıç", "Güneş", "Işık", "Ünal", "Erdoğan",
)  # fmt: skip
DESK = "bizim_masa_demo"  # the desk clerk every generated step is recorded as


@dataclass(frozen=True)
class GeneratedYear:
    requests: int
    open: int
    first: datetime
    last: datetime


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _days(rng: random.Random, median: float, spread: float = 0.8) -> timedelta:
    """A duration whose median is ``median`` days, with a long right tail."""
    return timedelta(days=median * rng.lognormvariate(0, spread))


def generate(
    engine: Engine, requests: int, *, days: int = 365, seed: int = 2026, now: datetime | None = None
) -> GeneratedYear:
    """Write ``requests`` Bizim Masa cases over the last ``days`` days (see module doc)."""
    if requests < 1:
        raise InvalidData({"requests": "give a positive number of requests"})
    if FLOW not in engine.current:
        raise InvalidData({"flow": f"the flows folder has no '{FLOW}' flow to generate cases of"})
    desk = engine.current[FLOW].doc.desk
    if desk is None or desk.directorate is None:
        raise ConfigurationError(
            f"flow '{FLOW}' has no 'desk: directorate', so generated cases could not be "
            "referred anywhere; add its 'desk:' section (docs/flow-language.md)"
        )
    engine.deploy([FLOW])
    definition = engine.definition(FLOW)
    engine.add_person(DESK, "Bizim Masa (örnek veri)", ["bizim_masa"])
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    start = end - timedelta(days=days)
    moments = sorted(
        start + timedelta(seconds=rng.uniform(0, days * 86400)) for _ in range(requests)
    )
    still_open = 0
    for first in range(0, requests, BATCH):
        batch = moments[first : first + BATCH]
        with engine.case_rows(writes=True) as unit:
            years = sorted({m.year for m in batch})
            numbers = {
                y: unit.reserve_sequence(FLOW, y, sum(m.year == y for m in batch)) for y in years
            }
            cases = []
            for moment in batch:
                seq = numbers[moment.year]
                numbers[moment.year] += 1
                reference = f"BM-{moment.year}-{seq:06d}"
                case = _case(definition, desk, engine.timezone, rng, moment, end, reference)
                still_open += case[0].status == "active"
                cases.append(case)
            unit.insert_generated(cases)
    return GeneratedYear(requests, still_open, moments[0], moments[-1])


def _case(
    definition: FlowDefinition,
    desk: schema.DeskDoc,
    timezone: str,
    rng: random.Random,
    created: datetime,
    now: datetime,
    reference: str,
) -> tuple[Instance, list[audit.SealedEntry], list[tuple[WorkItem, datetime | None]]]:
    """One case: its instance, sealed history and work items (with when each closed)."""
    iid = str(uuid.uuid4())  # unique across runs; the seed fixes the content
    directorate = _pick(rng, DIRECTORATE_WEIGHTS)
    # drawn in this order whatever the flow declares, so a seed gives the same year
    drawn: list[tuple[str | None, Any]] = [
        (desk.channel, _pick(rng, CHANNELS)),
        ("aracilik", "yok"),
        (desk.kind, _pick(rng, TYPES)),
        (desk.applicant, f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"),
        (
            desk.phone,
            f"05{rng.randint(30, 59)} {rng.randint(100, 999)} {rng.randint(10, 99)} "
            f"{rng.randint(10, 99)}",
        ),
        (desk.subject, rng.choice(SUBJECTS[directorate])),
        ("metin", "Örnek veri: vatandaşın başvuru metni."),
        (desk.place, _pick(rng, NEIGHBOURHOODS)),
    ]
    data: dict[str, Any] = {name: value for name, value in drawn if name is not None}
    path = _path(rng, directorate, desk.directorate or "")
    entries: list[HistoryEntry] = []
    work: list[tuple[WorkItem, datetime | None]] = []
    at = created
    state = definition.start
    entries.append(
        HistoryEntry(
            iid, 1, "start", None, state, DESK, at, {k: [None, v] for k, v in data.items()}
        )
    )
    for event, target, changes, median in path:
        done = at + _days(rng, median)
        item = _work_item(definition, iid, reference, state, at, directorate, timezone)
        if done > now:  # not there yet: the case waits in this state
            work.append((item, None))
            break
        work.append((item, done))
        before = {k: data.get(k) for k in changes}
        data.update(changes)
        diff = {k: [before[k], v] for k, v in changes.items()}
        entries.append(HistoryEntry(iid, len(entries) + 1, event, state, target, DESK, done, diff))
        at, state = done, target
    status: Status = "completed" if definition.states[state].kind == "end" else "active"
    salt = audit.new_salt()
    sealed = audit.seal(entries, None, salt, definition.personal_fields)
    sla = definition.slas.get("")
    instance = Instance(
        id=iid,
        reference=reference,
        flow=definition.flow,
        version=definition.version,
        states=(state,),
        status=status,
        data=data,
        row_version=len(entries),
        created_at=created,
        updated_at=at,
        updated_by=DESK,
        outcome=definition.states[state].doc.outcome if status == "completed" else None,  # type: ignore[union-attr]
        due_at=sla.add_to(created, timezone) if sla else None,
        audit_salt=salt,
        history_head=sealed[-1].hash,
    )
    return instance, sealed, work


def _work_item(
    definition: FlowDefinition,
    iid: str,
    reference: str,
    state: str,
    opened: datetime,
    mudurluk: str,
    timezone: str,
) -> WorkItem:
    doc = definition.states[state].doc
    sla = definition.slas.get(state)
    return WorkItem(
        instance_id=iid,
        state=state,
        role=doc.role,  # type: ignore[union-attr]
        assignee=mudurluk if state == "mudurluk_incelemesi" else None,
        opened_at=opened,
        due_at=sla.add_to(opened, timezone) if sla else None,
        reference=reference,
        flow=definition.flow,
        title=definition.states[state].title,
    )


def _path(
    rng: random.Random, directorate: str, field: str
) -> Iterator[tuple[str, str, dict[str, Any], float]]:
    """(event, target, data it sets, median days it takes) along one case's way;
    ``field`` is the one naming the directorate it is referred to."""
    roll = rng.random()
    if roll < 0.80:  # referred to a directorate, answered, replied to
        yield (
            "havale_et",
            "mudurluk_incelemesi",
            {field: directorate, "kapsam": "kurum_ici"},
            0.6,
        )
        yield "cevap_ver", "vatandasa_donus", {"mudurluk_cevabi": "İncelendi, gereği yapıldı."}, 8.0
        yield "geri_donus_yap", "cozuldu", {"vatandasa_cevap": "Talebiniz karşılanmıştır."}, 0.8
    elif roll < 0.92:  # redirected outside the institution, the citizen told at once
        yield "kurum_disi", "kurum_disi_islem", {"kapsam": "kurum_disi"}, 0.5
        told = "Konu ilgili kuruma iletilmiş, size bilgi verilmiştir."
        yield (
            "yonlendirildi",
            "yonlendirildi",
            {"dis_kurum": _pick(rng, OUTSIDE), "vatandasa_cevap": told},
            1.0,
        )
    else:  # mediated with an outside body
        body = _pick(rng, OUTSIDE)
        yield "kurum_disi", "kurum_disi_islem", {"kapsam": "kurum_disi"}, 0.5
        yield "dis_kuruma_iletildi", "dis_kurum_takibi", {"dis_kurum": body}, 0.7
        yield (
            "dis_kurum_dondu",
            "vatandasa_donus",
            {"dis_kurum_cevabi": "Kurum çalışma yaptı."},
            9.0,
        )
        yield "geri_donus_yap", "cozuldu", {"vatandasa_cevap": "Kurumun dönüşü iletildi."}, 0.8
