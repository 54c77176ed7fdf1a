"""The expression language: tokens, grammar, errors with columns, printing, SymPy, the oracle."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
import sympy

from tinylens.circuits import evaluate, interpret, parse, parse_domain, to_sympy_string
from tinylens.circuits.expr import BinOp, Call, Compare, Neg, Num, Var
from tinylens.errors import ConfigError


def test_the_tree_and_precedence():
    assert parse("1 + 2 * x") == BinOp("+", Num(F(1)), BinOp("*", Num(F(2)), Var("x")))
    assert parse("(1 + 2) * x") == BinOp("*", BinOp("+", Num(F(1)), Num(F(2))), Var("x"))
    assert parse("x - y - z") == BinOp("-", BinOp("-", Var("x"), Var("y")), Var("z"))
    assert parse("-x < 2 * y") == Compare("<", Neg(Var("x")), BinOp("*", Num(F(2)), Var("y")))
    assert parse("0.1").value == F(1, 10)  # decimals are exact
    assert parse("1e-3").value == F(1, 1000)
    assert parse("is_even(x + 1, bits=4)") == Call(
        "is_even", (BinOp("+", Var("x"), Num(F(1))),), (("bits", 4),)
    )


@pytest.mark.parametrize(
    "source",
    [
        "x - (y - z)",
        "x / (2 / 3)",
        "-(x + y)",
        "(2/3)*x",
        "min(x, y, 3) - max(x)",
        "where(x < 1, y, -y)",
        "clamp(abs(x - 1/2), 0, 1) <= y",
        "-(-x)",
    ],
)
def test_printing_round_trips(source):
    e = parse(source)
    assert parse(str(e)) == e


@pytest.mark.parametrize(
    "source, column, message",
    [
        ("min(x, y", 9, "expected ')' to close 'min(' at column 4"),
        ("x +", 4, "ends where a value was expected"),
        ("x ** 2", 3, "powers are not piecewise-linear"),
        ("x ^ 2", 3, "powers"),
        ("x % 2", 3, "is_even"),
        ("mni(x, y)", 1, "did you mean 'min'"),
        ("x < y < z", 7, "comparisons do not chain"),
        ("x = 1", 3, "write '=='"),
        ("abs(x, y)", 1, "abs takes 1 argument"),
        ("clamp(x)", 1, "clamp takes 3 argument"),
        ("is_even(x, bitz=3)", 12, "takes the keyword bits"),
        ("is_even(x, bits=y)", 17, "bits must be a positive integer"),
        ("is_even(x, bits=0)", 17, "between 1 and 62"),
        ("min(x, bits=2)", 8, "min takes no keywords"),
        ("x $ y", 3, "unexpected character '$'"),
        ("(x + 1", 7, "expected ')' to close '(' at column 1"),
        ("x y", 3, "unexpected 'y' after a complete expression"),
        ("", 1, "empty"),
        ("abs", 1, "abs is a function"),
        ("__import__(os)", 1, "unknown function '__import__'"),
    ],
)
def test_malformed_expressions_name_the_column(source, column, message):
    with pytest.raises(ConfigError) as err:
        parse(source)
    text = str(err.value)
    assert f"column {column}:" in text and message in text, text
    assert "\n" not in text


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(ConfigError, match="nests deeper"):
        parse("(" * 500 + "x" + ")" * 500)
    with pytest.raises(ConfigError, match="nests deeper"):
        parse("-" * 500 + "x")


# -- the interpreter (the oracle), checked by hand and against SymPy -----------------------

HAND = [
    ("min(3, 5)", {}, 3),
    ("min(3, -5)", {}, -5),
    ("max(x1, x2, x3)", {"x1": 1, "x2": 7, "x3": -2}, 7),
    ("abs(x - 8)", {"x": 3}, 5),
    ("relu(-x)", {"x": 3}, 0),
    ("clamp(x, -1, 2)", {"x": 5}, 2),
    ("clamp(x, -1, 2)", {"x": F(1, 2)}, F(1, 2)),
    ("x < 10", {"x": F(19, 2)}, 1),
    ("x >= 10", {"x": 10}, 1),
    ("x == y", {"x": 3, "y": 3}, 1),
    ("x != y", {"x": 3, "y": 3}, 0),
    ("is_even(x, bits=4)", {"x": 6}, 1),
    ("is_odd(x, bits=4)", {"x": 6}, 0),
    ("where(x > 0, x, -2*x)", {"x": -3}, 6),
    ("x / 3", {"x": 1}, F(1, 3)),
    ("(x > 2) * y", {"x": 3, "y": -4}, -4),
]


@pytest.mark.parametrize("source, env, want", HAND)
def test_interpreter_by_hand(source, env, want):
    got = evaluate(parse(source), **env)
    assert got == want and isinstance(got, F)


@pytest.mark.parametrize("source, env, want", HAND)
def test_sympy_strings_mean_the_same(source, env, want):
    expr = sympy.sympify(to_sympy_string(parse(source)))
    value = expr.subs({sympy.Symbol(k): sympy.Rational(F(v)) for k, v in env.items()})
    assert sympy.Rational(value) == sympy.Rational(F(want))


def test_interpreter_is_vectorised_and_exact():
    x = np.array([0, 1, 2, 3], dtype=object)
    out = interpret(parse("x / 3 + is_even(x, bits=2)"), {"x": x})
    assert out.tolist() == [F(1), F(1, 3), F(5, 3), F(1)]
    floats = interpret(parse("x * 1"), {"x": np.array([0.1])})
    assert floats[0] == F(0.1)  # a float input is taken exactly, not rounded to 1/10


def test_interpreter_errors():
    with pytest.raises(ConfigError, match="non-integer"):
        evaluate(parse("is_even(x, bits=3)"), x=F(1, 2))
    with pytest.raises(ConfigError, match="no values for variable 'y'"):
        evaluate(parse("x + y"), x=1)
    with pytest.raises(ConfigError, match="division by zero"):
        evaluate(parse("x / y"), x=1, y=0)


@pytest.mark.parametrize(
    "text, names, expected",
    [
        ("x=0..15", None, "x=0..15"),
        ("x=0..15,y=-3..3", None, "x=0..15,y=-3..3"),
        ("x1=-1:1, x2=-1/2:0.5", None, "x1=-1:1,x2=-1/2:1/2"),
        ("0..7", ["a", "b"], "a=0..7,b=0..7"),
        ("-1:1", ["x"], "x=-1:1"),
    ],
)
def test_domains(text, names, expected):
    assert str(parse_domain(text, names)) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("x=0.5..3", "needs integer ends"),
        ("x=3..1", "lower end exceeds"),
        ("x=0-1", "expected LO..HI"),
        ("x=a..b", "is not a number"),
        ("x=0..1,x=0..2", "names x twice"),
        ("0..3", "names no input"),
        ("0..3,y=0..1", "name every range"),
    ],
)
def test_domain_errors(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_domain(text)
