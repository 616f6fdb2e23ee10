"""The diagrams draw the pattern constructs: branch conditions, partial joins,
terminating ends, region events and timers, and foreach."""

from __future__ import annotations

from flowengine.flowset import validate_paths
from flowengine.graph import to_dot, to_mermaid
from tests.patterns.conftest import PATTERNS

FLOWS = validate_paths([PATTERNS]).flows


def test_branch_conditions_and_partial_joins_are_drawn() -> None:
    mermaid = to_mermaid(FLOWS["coklu_secim"].doc)
    assert '["fen_dali [fen_ilgili]"]' in mermaid
    dot = to_dot(FLOWS["coklu_secim"].doc)
    assert '[label="zabita_ilgili"]' in dot
    joins = to_mermaid(FLOWS["birlesmeler"].doc)
    assert "(2 yeter, kalanlar sürer)" in joins and "(1 yeter, kalanlar iptal)" in joins


def test_region_events_timers_terminate_and_foreach_are_drawn() -> None:
    region = to_dot(FLOWS["iptal_bolgesi"].doc)
    assert '"iptal_bolgesi__hazirlik__join" -> "iptal_bolgesi__zaman_asimi"' in region
    assert 'label="⏱ 7d", style=dashed' in region
    assert 'label="Hazırlığı geri çek"' in region
    assert "⏹ tümünü bitirir" in to_mermaid(FLOWS["sonlandirma"].doc)
    purchase = to_mermaid(FLOWS["satin_alma"].doc)
    assert "∀ kalemler (2 yeter, kalanlar iptal)" in purchase
