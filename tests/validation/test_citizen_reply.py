"""Law 3071 art. 7 as validation: every path of Bizim Masa to an end replies to the citizen."""

from __future__ import annotations

import shutil
from pathlib import Path

from flowengine.flowset import validate_paths
from tests.conftest import FLOWS


def test_bizim_masa_requires_and_gives_a_final_reply_on_every_path() -> None:
    report = validate_paths([FLOWS])
    assert report.errors == []
    doc = report.flows["bizim_masa"].doc
    assert doc.citizen_reply == "required"
    finals = {
        (sid, eid)
        for sid, state in doc.states.items()
        for eid, event in getattr(state, "on", {}).items()
        if event.reply == "final"
    }
    assert finals == {("kurum_disi_islem", "yonlendirildi"), ("vatandasa_donus", "geri_donus_yap")}


def test_without_the_reply_marks_both_ends_are_refused(tmp_path: Path) -> None:
    shutil.copy(FLOWS / "organization.yaml", tmp_path / "organization.yaml")
    text = (FLOWS / "bizim_masa.yaml").read_text(encoding="utf-8")
    unmarked = text.replace(", reply: final}", "}")
    (tmp_path / "bizim_masa.yaml").write_text(unmarked, encoding="utf-8")
    report = validate_paths([tmp_path])
    messages = [issue.message for issue in report.errors]
    assert len(messages) == 2, messages
    assert messages[0].startswith("end 'cozuldu' can be reached without a final reply")
    assert "degerlendirme → kurum_disi_islem → yonlendirildi" in messages[1]
