"""CEL expressions: compiled once, names listed, evaluated safely."""

from __future__ import annotations

import pytest

from flowengine.expressions import ExpressionError, compile_expression


def test_compiles_and_evaluates_the_contract_example() -> None:
    """The contract's example guard works on Turkish data."""
    expression = compile_expression('kapsam == "kurum_ici" && kanal in ["whatsapp", "twitter"]')
    assert expression.evaluate({"kapsam": "kurum_ici", "kanal": "twitter"}) is True
    assert expression.evaluate({"kapsam": "kurum_disi", "kanal": "twitter"}) is False


def test_lists_variables_but_not_macro_bound_names() -> None:
    """Names bound by exists/all/map are not data fields."""
    expression = compile_expression("kalemler.exists(k, k == mudurluk) && tutar > 100")
    assert expression.variables == {"kalemler", "mudurluk", "tutar"}


def test_syntax_error_names_the_column() -> None:
    """A syntax error is one line with its column."""
    with pytest.raises(ExpressionError) as caught:
        compile_expression("kapsam == ")
    assert str(caught.value).startswith("expression does not compile at column 11:")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("source", ["(" * 40 + "1" + ")" * 40, "a == 1 || " * 400 + "true", "   "])
def test_hostile_expressions_are_refused(source: str) -> None:
    """Deeply nested, huge or empty expressions are refused before compiling."""
    with pytest.raises(ExpressionError):
        compile_expression(source)


def test_type_errors_at_runtime_are_expression_errors() -> None:
    """A type mismatch while evaluating is an ExpressionError, not a bare TypeError."""
    with pytest.raises(ExpressionError) as caught:
        compile_expression("x > 1").evaluate({"x": "metin"})
    assert "x > 1" in str(caught.value)


def test_custom_functions_can_be_bound() -> None:
    """Engine functions are plain Python callables, never names resolved from YAML."""
    expression = compile_expression('in_state("mudur_onayi")')
    assert expression.evaluate({}, {"in_state": lambda s: s == "mudur_onayi"}) is True
