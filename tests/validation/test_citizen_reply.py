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


def test_a_terminating_end_in_a_branch_must_reply_too(tmp_path: Path) -> None:
    patterns = FLOWS.parent / "examples" / "patterns"
    shutil.copy(patterns / "organization.yaml", tmp_path / "organization.yaml")
    text = (patterns / "sonlandirma.yaml").read_text(encoding="utf-8")
    text = text.replace("roles: {}\n", "roles: {}\ncitizen_reply: required\n", 1)
    text = text.replace("kapat: {to: kapandi}", "kapat: {to: kapandi, reply: final}")
    (tmp_path / "sonlandirma.yaml").write_text(text, encoding="utf-8")
    messages = [i.message for i in validate_paths([tmp_path]).errors]
    assert len(messages) == 1
    assert messages[0].startswith("end 'isleniyor.vatandas_dali.geri_alindi' can be reached")
    fixed = text.replace(
        "{to: geri_alindi, comment: required}", "{to: geri_alindi, comment: required, reply: final}"
    )
    (tmp_path / "sonlandirma.yaml").write_text(fixed, encoding="utf-8")
    assert validate_paths([tmp_path]).errors == []
