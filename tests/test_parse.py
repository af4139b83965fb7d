"""Tests for scalargrad.parse: the allow-list, error positions, evaluation."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scalargrad import DomainError
from scalargrad.parse import ParseError, VariableError, parse


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@pytest.mark.parametrize("text", ["(sigmoid(w*a + b) - y)**2", "square(sigmoid(w*a+b) - y)"])
def test_the_notes_cost_evaluates_and_differentiates(text: str) -> None:
    e = parse(text)
    assert e.variables == ("w", "a", "b", "y")
    root, leaves = e.evaluate({"w": 0.5, "a": 0.71, "b": 0.1, "y": 1.0})
    assert [v.label for v in leaves.values()] == ["w", "a", "b", "y"]
    s = sig(0.5 * 0.71 + 0.1)
    assert root.data == pytest.approx((s - 1) ** 2, rel=1e-14)
    root.backward()
    assert leaves["w"].grad == pytest.approx(2 * (s - 1) * s * (1 - s) * 0.71, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "x", "expected"),
    [
        ("-x**2", 3.0, -9.0),  # Python precedence: -(x**2)
        ("+x - -x", 2.0, 4.0),
        ("x**(1/2)", 4.0, 2.0),
        ("x**-1", 4.0, 0.25),
        ("2*3*x", 1.5, 9.0),
        ("tanh(x) + relu(x) + exp(x) + log(x)", 1.0,
         math.tanh(1) + 1 + math.e),
        ("x / 4 * 2", 2.0, 1.0),
        ("x*x*x", 2.0, 8.0),
    ],
)
def test_values(text: str, x: float, expected: float) -> None:
    root, _ = parse(text).evaluate({"x": x})
    assert root.data == pytest.approx(expected, rel=1e-14)


def test_constant_expression_and_repeated_variable() -> None:
    root, leaves = parse("2 + 3").evaluate({})
    assert root.data == 5.0 and leaves == {}
    e = parse("a*a + b*a")
    assert e.variables == ("a", "b")
    root, leaves = e.evaluate({"a": 3.0, "b": 2.0})
    root.backward()
    assert leaves["a"].grad == 2 * 3.0 + 2.0


@pytest.mark.parametrize(
    ("text", "message", "column", "carets"),
    [
        ("os.system('ls')", "only calls of sigmoid", 1, "^^^^^^^^^"),
        ("__import__('os')", "unknown function '__import__'", 1, "^^^^^^^^^^"),
        ("x + y[0]", "subscripts", 5, "^^^^"),
        ("lambda: 1", "lambda", 1, "^" * 9),
        ("x * 'a'", "strings are not allowed", 5, "^^^"),
        ("[x for x in y]", "comprehensions", 1, "^" * 14),
        ("x // 2", "operator '//'", 1, "^" * 6),
        ("2 ** x", "exponent of ** must be a number", 6, "^"),
        ("x ** sigmoid(y)", "exponent of ** must be a number", 6, "^" * 10),
        ("sin(x)", "unknown function 'sin' (supported: sigmoid", 1, "^^^"),
        ("exp + 1", "exp is a function", 1, "^^^"),
        ("exp(x, y)", "takes exactly one argument", 1, "^" * 9),
        ("exp(x=1)", "no keyword arguments", 5, "^^^"),
        ("not x", "unary 'not'", 1, "^" * 5),
        ("x < 1", "comparisons", 1, "^" * 5),
        ("x, y", "tuples", 1, "^" * 4),
        ("1e999 * x", "number too large", 1, "^" * 5),
        ("True * x", "bool values", 1, "^^^^"),
        ("1j * x", "complex values", 1, "^^"),
        ("x if y else z", "conditional", 1, "^" * 13),
        ("é + ü.a", "attribute access", 5, "^^^"),  # columns in characters, not bytes
        ("x y", "invalid syntax", 3, "^"),
        ("x +", "ends too early", 4, "^"),
    ],
)
def test_refusals_point_at_the_offending_part(
    text: str, message: str, column: int, carets: str
) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    err = info.value
    assert isinstance(err, ValueError)
    assert message in str(err)
    assert err.column == column
    assert f"column {column}" in str(err)
    line, caret = str(err).splitlines()[-2:]
    assert line == f"  {text}"
    assert caret == "  " + " " * (column - 1) + carets


def test_parse_never_evaluates_python(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    for text in (f"__import__('pathlib').Path({str(target)!r}).touch()",
                 f"open({str(target)!r}, 'w')",
                 "().__class__.__bases__[0].__subclasses__()"):
        with pytest.raises(ParseError):
            parse(text)
    assert not target.exists()


@pytest.mark.parametrize("text", ["", "   ", "x\0", "-" * 100_000 + "x",
                                  "(" * 300 + "x" + ")" * 300, "x+" * 5000 + "x", "1" * 5000])
def test_odd_input_gives_parse_errors(text: str) -> None:
    with pytest.raises(ParseError):
        parse(text)


def test_long_flat_sums_work_without_recursion() -> None:
    root, leaves = parse("x+" * 2000 + "x").evaluate({"x": 1.0})
    root.backward()
    assert root.data == 2001.0 and leaves["x"].grad == 2001.0


def test_variable_errors_name_the_variables() -> None:
    e = parse("w*a + b")
    with pytest.raises(VariableError, match=r"no value for a, b \(it uses w, a, b\)"):
        e.evaluate({"w": 1.0})
    with pytest.raises(VariableError, match="q, z not used"):
        e.evaluate({"w": 1.0, "a": 1.0, "b": 1.0, "z": 2.0, "q": 1.0})
    with pytest.raises(VariableError, match="w must be a finite number"):
        e.evaluate({"w": math.nan, "a": 1.0, "b": 1.0})


@pytest.mark.parametrize(("text", "op"), [("log(x)", "log"), ("x / (1 - 1)", "div"),
                                          ("log(0) + x", "log"), ("exp(1000) * x", "exp"),
                                          ("x ** 9 ** 9 ** 9", "pow")])
def test_domain_errors_come_from_the_engine_rules(text: str, op: str) -> None:
    with pytest.raises(DomainError, match=f"^{op}:"):
        parse(text).evaluate({"x": 0.0} if "x" in text else {})


def only_parse_errors(text: str) -> None:
    try:
        e = parse(text)
    except ParseError:
        return
    try:
        e.evaluate(dict.fromkeys(e.variables, 0.5))
    except DomainError:
        pass


@given(st.text(max_size=40))
def test_random_text_only_ever_raises_parse_error(text: str) -> None:
    only_parse_errors(text)


_ALPHABET = "xy()+-*/ .,0123456789e_[]'\"=<>!%@~^&|:;lambdsigmoexpqrt\n"


@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_expression_like_text_only_ever_raises_parse_error(text: str) -> None:
    only_parse_errors(text)


# ------------------------------------------------------------- hostile input (#10, #14)


def test_a_malformed_number_points_past_its_digits() -> None:
    # Python's own column for "2w" is the 2; the mistake is the w
    with pytest.raises(ParseError) as info:
        parse("2w + 1")
    err = info.value
    assert err.column == 2
    assert "'w' right after 2 (for a product write 2*w)" in str(err)
    assert str(err).splitlines()[1:] == ["  2w + 1", "   ^"]
    for text, column in (("x * 3.5e2q", 10), ("1_000x", 6), ("y + .5z", 7)):
        with pytest.raises(ParseError) as info:
            parse(text)
        assert info.value.column == column, str(info.value)


def test_an_error_in_a_long_expression_shows_a_window_not_the_whole_text() -> None:
    text = "a_long_name" * 100_000 + " + (* y) + x"  # 1.1 MB
    with pytest.raises(ParseError) as info:
        parse(text)
    message = str(info.value)
    assert len(message) < 300
    first, shown, caret = message.splitlines()
    assert first.endswith(f"at column {11 * 100_000 + 5}")
    assert shown.startswith("  …") and shown.endswith("a_long_name + (* y) + x")
    assert shown[caret.index("^")] == "*"  # the caret stays under the offending "*"
    with pytest.raises(ParseError) as info:
        parse("(" + "x + " * 1000 + "1 @ y" + " + x" * 1000 + ")")
    first, shown, caret = str(info.value).splitlines()
    assert shown.count("…") == 2 and len(shown) < 120 and caret.strip(" ^") == ""


def test_control_characters_in_the_window_keep_the_caret_in_place() -> None:
    with pytest.raises(ParseError) as info:
        parse("x\t+ \x1b[31m")
    _, shown, _ = str(info.value).splitlines()
    assert "\x1b" not in shown and "\t" not in shown
    assert len(shown) == len("  x + \x1b[31m")
    with pytest.raises(ParseError, match="a null byte is not allowed at column 2"):
        parse("x\0")


@pytest.mark.parametrize("digits", [4301, 5000, 100_000])
def test_a_huge_integer_literal_is_too_large_for_a_float(digits: int) -> None:
    # 5,000 digits were reported as "the expression ends too early at column 5002"
    with pytest.raises(ParseError) as info:
        parse("x + " + "7" * digits)
    err = info.value
    assert f"number too large for a float (an integer of {digits} digits)" in str(err)
    assert err.column == 5 and len(str(err)) < 300
    with pytest.raises(ParseError, match="number too large for a float at column 1"):
        parse("9" * 400 + " * x")  # Python reads it; a float cannot hold it


def test_evaluating_a_huge_int_names_the_variable() -> None:
    with pytest.raises(VariableError, match=r"x is too large for a float \(about 10\^400\)"):
        parse("x * 2").evaluate({"x": 10**400})
    with pytest.raises(VariableError, match=r"y is too large for a float \(about 10\^5000\)"):
        parse("y * 2").evaluate({"y": -(10**5000)})


def test_names_are_nfkc_normalised_like_python_identifiers() -> None:
    e = parse("ｘ*2 + ﬁ")  # fullwidth x, the ligature ﬁ
    assert e.variables == ("x", "fi")
    root, leaves = e.evaluate({"ｘ": 1.5, "fi": 1.0})
    assert root.data == 4.0 and list(leaves) == ["x", "fi"]
    with pytest.raises(VariableError, match="'ｘ' and 'x' are the same variable 'x'"):
        e.evaluate({"ｘ": 1.0, "x": 2.0, "fi": 0.0})


def test_numpy_scalars_are_numbers_and_bools_are_not() -> None:
    np = pytest.importorskip("numpy")
    e = parse("x * y")
    root, _ = e.evaluate({"x": np.float32(0.5), "y": np.int64(3)})
    assert root.data == 1.5
    for bad, kind in ((True, "bool"), ("1", "str"), (None, "NoneType"), (1j, "complex")):
        with pytest.raises(VariableError, match=f"x must be a real number .*not {kind}"):
            e.evaluate({"x": bad, "y": 1.0})


def test_long_names_and_many_variables_keep_messages_short() -> None:
    many = " + ".join(f"v{k}" for k in range(2000))
    with pytest.raises(VariableError) as info:
        parse(many).evaluate({})
    assert len(str(info.value)) < 1000 and "and 1990 more" in str(info.value)
    with pytest.raises(ParseError) as err:
        parse("q" * 100_000 + "(x)")
    assert len(str(err.value)) < 400 and "unknown function 'qqq" in str(err.value)


# -------------------------------------------------------------- fuzzing the parser (#10)

TOKENS = [
    "x", "y", "w_1", "ｘ", "σ", "0", "1", "2", "0.5", "1e308", "1e-320", "9" * 30, ".", "e",
    "+", "-", "*", "/", "**", "(", ")", " ", ",", "=", "@", "%", "//", "[", "]", "'", "\\",
    "sigmoid(", "tanh(", "relu(", "exp(", "log(", "square(", "lambda", "x.real", "\0",
    "\n", "#", ":=", "if", "1j", "0x1f", "_", "{x}",
]
fuzz_texts = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=25).map("".join),  # near the grammar
    st.text(max_size=25),  # anything
)


def outcome(text: str) -> str:
    """Parses, evaluates and differentiates; returns how it ended. Any other exception fails."""
    try:
        expression = parse(text)
    except ParseError as err:
        assert str(err) and len(str(err)) < 600
        return "parse error"
    values = {name: 0.75 for name in expression.variables}
    try:
        root, leaves = expression.evaluate(values)
        root.backward()
    except (DomainError, VariableError) as err:
        assert str(err)
        return "named error"
    assert math.isfinite(root.data)
    assert all(math.isfinite(leaf.grad) for leaf in leaves.values())
    return "value"


@given(fuzz_texts)
def test_fuzzed_input_ends_in_a_value_or_a_named_error(text: str) -> None:
    assert outcome(text) in ("value", "parse error", "named error")


def test_the_fuzz_reaches_every_outcome() -> None:
    assert outcome("sigmoid(x)*y") == "value"
    assert outcome("log(x - 1)") == "named error"  # log of −0.25
    assert outcome("x +") == "parse error"
