"""Field values: type checks, and reading values typed as text by their field's type."""

from __future__ import annotations

import pytest

from flowengine.errors import InvalidData
from flowengine.schema import FieldDoc
from flowengine.values import from_text, value_problem, values_from_text

FIELDS = {
    "tc_kimlik_no": FieldDoc(type="string", pattern="^[1-9][0-9]{10}$"),
    "adet": FieldDoc(type="integer", min=1),
    "tutar": FieldDoc(type="number"),
    "acil": FieldDoc(type="boolean"),
    "gorseller": FieldDoc(type="list", items=FieldDoc(type="file")),
    "adetler": FieldDoc(type="list", items=FieldDoc(type="integer")),
    "kanal": FieldDoc(type="enum", values=["whatsapp", "yuz_yuze"]),
}


def test_digits_stay_text_in_a_text_field() -> None:
    """A T.C. kimlik number typed on the command line is text, and fits its pattern."""
    value = from_text(FIELDS["tc_kimlik_no"], "12345678950")
    assert value == "12345678950"
    assert value_problem(FIELDS["tc_kimlik_no"], value) is None


@pytest.mark.parametrize(
    ("field", "text", "value"),
    [
        ("adet", "3", 3),
        ("tutar", "12,5", 12.5),
        ("tutar", "1500", 1500),
        ("acil", "evet", True),
        ("acil", "false", False),
        ("gorseller", "[a.jpg, b.jpg]", ["a.jpg", "b.jpg"]),
        ("gorseller", "a.jpg, b.jpg", ["a.jpg", "b.jpg"]),
        ("adetler", "[1, 2]", [1, 2]),
        ("kanal", "yuz_yuze", "yuz_yuze"),
    ],
)
def test_values_are_read_by_field_type(field: str, text: str, value: object) -> None:
    """Numbers, Turkish decimal commas, booleans (evet/hayır) and lists are parsed."""
    assert from_text(FIELDS[field], text) == value


def test_every_bad_value_is_named() -> None:
    """All unreadable values are reported together, each by field."""
    with pytest.raises(InvalidData) as caught:
        values_from_text(FIELDS, {"adet": "üç", "acil": "belki", "kanal": "fax"})
    assert caught.value.problems == {
        "adet": "must be a whole number, got 'üç'",
        "acil": "must be true or false, got 'belki'",
    }


def test_value_problem_checks_ranges_and_enums() -> None:
    """min and enum values are enforced on typed values."""
    assert value_problem(FIELDS["adet"], 0) == "must be at least 1"
    assert value_problem(FIELDS["kanal"], "fax") == "'fax' is not one of: whatsapp, yuz_yuze"
    assert value_problem(FIELDS["adet"], True) == "must be a whole number, got True"
