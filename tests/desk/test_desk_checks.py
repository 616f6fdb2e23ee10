"""Validation of a flow's `desk:`: every field it names is declared and fits its use."""

from __future__ import annotations

import pytest

from flowengine.errors import Issue
from tests.unit.helpers import checked

FLOW = """\
flow: ariza
version: 1
title: Arıza bildirimi
directorate: yazi_isleri
unit: evrak
roles: {masa: {title: Arıza masası}}
data:
  bildiren: {type: string, title: Bildiren, personal: true}
  gsm: {type: string, title: GSM, personal: true}
  gelis: {type: enum, title: Geliş yolu, values: [telefon, eposta]}
  tur: {type: enum, title: Arıza türü, values: [elektrik, su]}
  baslik: {type: string, title: Başlık}
  semt: {type: string, title: Semt}
  birim: {type: string, title: Birim, directorate: true}
  adet: {type: integer, title: Adet}
  yanit: {type: text, title: Yanıt}
desk:
  applicant: bildiren
  phone: gsm
  channel: gelis
  kind: tur
  subject: baslik
  place: semt
  directorate: birim
  titles:
    gelis: {telefon: Telefon hattı, eposta: E-posta}
start: kayit
states:
  kayit:
    type: task
    role: masa
    sla: 1d
    on:
      yanitla: {to: kapandi, requires: [yanit], reply: final}
  kapandi: {type: end, outcome: cozuldu}
"""


def desk_errors(text: str) -> list[Issue]:
    return [i for i in checked(text)[1] if i.severity == "error"]


def changed(old: str, new: str) -> str:
    assert FLOW.count(old) == 1, old
    return FLOW.replace(old, new)


def test_a_desk_naming_declared_fields_of_fitting_types_is_valid() -> None:
    """The flow above, every desk key given, validates without an error."""
    doc, issues = checked(FLOW)
    assert [i for i in issues if i.severity == "error"] == []
    assert doc.desk is not None and doc.desk.channel == "gelis"


def test_an_undeclared_field_is_named_with_a_suggestion_at_its_line() -> None:
    """A typo in a desk key's field is one `field` error on that line, with a did-you-mean."""
    text = changed("  subject: baslik\n", "  subject: baslk\n")
    [issue] = desk_errors(text)
    assert issue.code == "field" and "baslk" in issue.message and "baslik" in issue.message
    assert issue.line == text.splitlines().index("  subject: baslk") + 1


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("  channel: gelis\n", "  channel: baslik\n", "must be enum"),
        ("  kind: tur\n", "  kind: semt\n", "must be enum"),
        (
            "  applicant: bildiren\n",
            "  applicant: adet\n",
            "is of type integer; it must be string or text",
        ),
        ("  directorate: birim\n", "  directorate: semt\n", "directorate: true"),
    ],
)
def test_a_field_of_the_wrong_kind_is_refused(old: str, new: str, words: str) -> None:
    """Channel and kind are counted by value (enums); a name is text; a directorate is one."""
    [issue] = desk_errors(changed(old, new))
    assert issue.code == "desk-field" and words in issue.message


def test_titles_are_for_values_an_enum_field_has() -> None:
    """A title for a value the field lacks, or for a field that is no enum, is refused."""
    [issue] = desk_errors(changed("{telefon: Telefon hattı,", "{telefn: Telefon hattı,"))
    assert issue.code == "desk-field" and "'telefn' is not a value of 'gelis'" in issue.message
    [issue] = desk_errors(changed("    gelis: {telefon", "    semt: {telefon"))
    assert issue.code == "desk-field" and "'semt' is of type string" in issue.message


def test_a_flow_without_a_desk_is_valid() -> None:
    """`desk:` is optional: a flow the desk does not serve needs none."""
    start = FLOW.index("desk:\n")
    text = FLOW[:start] + FLOW[FLOW.index("start: kayit") :]
    doc, issues = checked(text)
    assert doc.desk is None and [i for i in issues if i.severity == "error"] == []
