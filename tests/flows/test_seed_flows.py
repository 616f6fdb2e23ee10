"""The seed flows of flows/ are valid and traceable to the charts."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowengine import schema
from flowengine.checks import iter_scopes
from flowengine.flowset import ValidationReport, validate_paths

FLOWS = Path(__file__).resolve().parents[2] / "flows"
SEEDS = ("bizim_masa", "basin_yayin", "sosyal_medya", "idari_isler")


@pytest.fixture(scope="module")
def report() -> ValidationReport:
    return validate_paths([FLOWS])


def test_the_seed_flows_validate_without_errors(report: ValidationReport) -> None:
    """`flowengine validate flows/` passes."""
    assert [i.format() for i in report.errors] == []
    assert sorted(report.flows) == sorted(SEEDS)


@pytest.mark.parametrize("flow", SEEDS)
def test_each_flow_has_the_governance_block(report: ValidationReport, flow: str) -> None:
    """Every chart is signed by the same three people (HAZIRLAYAN/KONTROL EDEN/ONAYLAYAN)."""
    document = report.flows[flow].doc.document
    assert document is not None
    assert document.prepared_by is not None and document.prepared_by.name == "Serkan KİBAR"
    assert document.checked_by is not None and document.checked_by.name == "Arda BAYRİ"
    assert document.approved_by is not None and document.approved_by.name == "Erkan KARASU"


def test_bizim_masa_has_every_intake_channel(report: ValidationReport) -> None:
    """All channels and intermediaries of the Bizim Masa chart are values of the flow."""
    data = report.flows["bizim_masa"].doc.data
    assert set(data["kanal"].values or []) >= {
        "whatsapp",
        "twitter",
        "facebook",
        "instagram",
        "cagri_merkezi",
        "danisma_noktasi",
        "yuz_yuze",
    }
    assert set(data["aracilik"].values or []) >= {"baskanlik", "muhtarlik", "stk"}


def test_press_outputs_are_parallel_with_a_social_media_handoff(report: ValidationReport) -> None:
    """The press chart's three outputs run together; one hands off to sosyal_medya."""
    doc = report.flows["basin_yayin"].doc
    parallels = [
        s
        for scope in iter_scopes(doc)
        for s in scope.states.values()
        if isinstance(s, schema.ParallelState) and len(s.branches) == 3
    ]
    assert parallels, "no three-branch parallel state in basin_yayin"
    subflows = [
        s
        for b in parallels[-1].branches.values()
        for s in b.states.values()
        if isinstance(s, schema.SubflowState)
    ]
    assert [(s.flow, s.wait) for s in subflows] == [("sosyal_medya", False)]


@pytest.mark.parametrize("flow", ["basin_yayin", "sosyal_medya"])
def test_director_and_mayor_approvals_have_reject_loops(
    report: ValidationReport, flow: str
) -> None:
    """Both approvals exist and a rejection goes back, not to an end."""
    doc = report.flows[flow].doc
    approvals = {s.role: s for s in doc.states.values() if isinstance(s, schema.ApprovalState)}
    assert set(approvals) >= {"mudur", "baskan"}
    for approval in approvals.values():
        assert not isinstance(doc.states[approval.reject.to], schema.EndState)


def test_titles_keep_turkish_letters(report: ValidationReport) -> None:
    """Titles are proper Turkish text, intact after loading."""
    assert report.flows["bizim_masa"].doc.title == "Bizim Masa İş Akış Şeması"
