"""A safe parser for formulas such as ``(sigmoid(w*a + b) - y)**2``.

The text is parsed with Python's :mod:`ast` and every node is checked
against an allow-list: numbers, variable names, ``+ - * / **``, unary ``-``
and ``+``, parentheses, and calls of the table's callable ops (``sigmoid tanh
relu exp log square``, and every op of :func:`scalargrad.define_op`, each with
its own number of arguments). Anything else is refused with a :class:`ParseError` whose
message points at the offending part (column and a caret line). Nothing is
ever passed to ``eval``; evaluation walks the tree with an explicit stack,
building :class:`~scalargrad.engine.Value` nodes, so deeply nested input never
hits Python's recursion limit. Precedence is Python's: ``-x**2`` is ``-(x**2)``.

What the library prints, it reads: before parsing, the notes' characters are
read as Python's (:func:`normalise`): ``·`` and ``×`` as ``*``, ``−`` (U+2212)
as ``-``, ``σ`` as ``sigmoid``, superscripts ``x²``, ``x⁻¹`` and a power with a
number exponent ``x^3``, ``x^−0.5`` as ``**``. Error carets point at the
characters as typed. Implicit multiplication (``2(x + 1)``, ``2w``) is refused
with the product to write instead (``2*(…)``).
"""

from __future__ import annotations

import ast
import math
import operator
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Union

from .engine import Value
from .errors import ParseError, VariableError
from .ops import apply_rule
from .rules import RULES, DomainError, pow_rule

__all__ = [
    "FUNCTIONS", "ParseError", "ParsedExpression", "VariableError", "allowed", "functions", "parse",
]


def functions() -> tuple[str, ...]:
    """The functions an expression may call now: the callable rules, built-ins first."""
    return tuple(name for name, r in RULES.items() if r.callable)


FUNCTIONS = functions()
"""The built-in functions an expression may call, each of one argument
(:func:`functions` adds the ops of :func:`scalargrad.define_op`)."""


def allowed() -> str:
    """What an expression may use, in words: the error messages and the CLI's help say it."""
    return "numbers, names, + - * / **, unary -, parentheses and " + " ".join(functions())

_BINOPS: dict[type[ast.operator], str] = {
    ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow",
}
_ARITHMETIC = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
               "div": operator.truediv}
_REFUSED: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access (.)",
    ast.Subscript: "subscripts ([...])",
    ast.Lambda: "lambda",
    ast.Compare: "comparisons",
    ast.BoolOp: "'and' / 'or'",
    ast.IfExp: "conditional expressions",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.List: "lists",
    ast.Tuple: "tuples (a comma)",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.JoinedStr: "f-strings",
    ast.NamedExpr: "':='",
    ast.Starred: "'*' unpacking",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.keyword: "keyword arguments",
}

Item = Union[Value, float]  # noqa: UP007 (a runtime alias on Python 3.10)


def _short(name: str) -> str:
    """A name as quoted in a message: at most 40 characters."""
    return name if len(name) <= 40 else name[:39] + "…"


def _listed(names: Sequence[str]) -> str:
    """Names as listed in a message: at most 10 of them, each shortened."""
    shown = ", ".join(_short(n) for n in names[:10])
    return shown if len(names) <= 10 else f"{shown} and {len(names) - 10} more"


def _position(text: str, node: ast.AST) -> tuple[int, int, int]:
    """1-based line and character columns (start, end) of a node (ast counts UTF-8 bytes)."""
    line = getattr(node, "lineno", 1)
    lines = text.splitlines() or [""]
    src = lines[line - 1].encode() if line <= len(lines) else b""

    def col(offset: int | None) -> int:
        return len(src[: offset or 0].decode(errors="replace")) + 1

    start = col(getattr(node, "col_offset", 0))
    same_line = getattr(node, "end_lineno", line) == line
    end = col(getattr(node, "end_col_offset", None)) if same_line else len(lines[line - 1]) + 1
    return line, start, end


@dataclass(frozen=True)
class ParsedExpression:
    """A checked expression, ready to evaluate.

    Attributes:
        text: The source text.
        variables: The variable names, in order of first appearance.
    """

    text: str
    variables: tuple[str, ...]
    _tree: ast.expr = field(repr=False, compare=False)

    def evaluate(self, values: Mapping[str, float]) -> tuple[Value, dict[str, Value]]:
        """Builds the Value graph at the given numbers.

        Args:
            values: A number for every variable, by name (no extra names).

        Returns:
            ``(root, leaves)``: the expression's node and each variable's leaf,
            labelled with its name, in the order of :attr:`variables`.

        Raises:
            VariableError: A variable has no value, a value names no variable,
                or a value is not a finite number.
            DomainError: An operation is outside its domain (``log(0)``, ``1/0``...).
        """
        given = _normalised(values)
        missing = [n for n in self.variables if n not in given]
        unused = sorted(n for n in given if n not in self.variables)
        problems = []
        if missing:
            problems.append(f"no value for {_listed(missing)}")
        if unused:
            problems.append(f"{_listed(unused)} not used by the expression")
        if problems:
            uses = _listed(self.variables) or "no variables"
            raise VariableError(f"{'; '.join(problems)} (it uses {uses})")
        leaves = {}
        for name in self.variables:
            leaves[name] = Value(_number(name, given[name]), name)
        root = _evaluate(self._tree, leaves)
        return (root if isinstance(root, Value) else Value(root)), leaves


Expression = ParsedExpression
"""Deprecated: the old name of :class:`ParsedExpression` (not in ``__all__``:
:class:`scalargrad.testing.Expression` is a drawn test expression, another thing)."""


def _normalised(values: Mapping[str, object]) -> dict[str, object]:
    """The values keyed by NFKC-normalised names, as Python normalises identifiers.

    ``ｘ`` (fullwidth) and ``x`` are the same variable in an expression, so they
    are the same key here; two keys that normalise alike are refused.
    """
    out: dict[str, object] = {}
    spelled: dict[str, str] = {}
    for key, x in values.items():
        if not isinstance(key, str):
            raise VariableError(f"variable names must be str, not {type(key).__name__} "
                                f"({_short(repr(key))})")
        name = unicodedata.normalize("NFKC", key)
        if name in out:
            raise VariableError(f"{_short(spelled[name])!r} and {_short(key)!r} are the same "
                                f"variable {_short(name)!r} (Python reads names in NFKC form)")
        out[name] = x
        spelled[name] = key
    return out


def _number(name: str, x: object) -> float:
    """A variable's value as a float: any real number (not bool), finite."""
    if isinstance(x, bool) or not isinstance(x, Real):
        raise VariableError(f"{_short(name)} must be a real number (int, float or a numpy "
                            f"scalar), not {type(x).__name__} ({_short(repr(x))})")
    try:
        f = float(x)
    except OverflowError:  # an int (or a Fraction) beyond the float range
        raise VariableError(f"{_short(name)} is too large for a float (about "
                            f"10^{int(math.log10(abs(math.trunc(x))))})") from None
    if not math.isfinite(f):
        raise VariableError(f"{_short(name)} must be a finite number, got {f!r}")
    return f


_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_NOTATION = re.compile(
    r"(?P<dot>[·×])|(?P<minus>−)|(?P<sup>[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)"
    r"|(?P<caret>\^(?=\s*[-−+]?\s*(?:[0-9]|\.[0-9])))"
    r"|(?P<sigma>(?<![^\W\d])σ(?!\w))"
)


def normalise(text: str) -> tuple[str, list[list[int]]]:
    """The notation the library prints, as Python reads it, and where each character came from.

    ``σ(w·a + b) − y`` → ``sigmoid(w*a + b) - y``; ``x²`` → ``x**2``;
    ``x⁻¹`` → ``x**-1``; ``x^3`` → ``x**3`` (``^`` only before a number: a
    variable exponent stays an error). Nothing else changes.

    Args:
        text: An expression as typed.

    Returns:
        ``(python, columns)``: the Python text and, for each of its lines, the
        0-based column in ``text``'s line of every character (plus one past
        the end), so that an error found in the Python text points at the
        characters typed.
    """
    out_lines: list[str] = []
    maps: list[list[int]] = []
    for line in text.split("\n"):
        pieces: list[str] = []
        cols: list[int] = []
        end = 0
        for m in _NOTATION.finditer(line):
            pieces.append(line[end:m.start()])
            cols.extend(range(end, m.start()))
            kind = m.lastgroup
            new = {"dot": "*", "minus": "-", "caret": "**", "sigma": "sigmoid"}.get(
                kind or "", "")
            if kind == "sup":
                new = "**" + m[0].translate(_SUPERSCRIPTS)
            pieces.append(new)
            cols.extend([m.start()] * len(new))
            end = m.end()
        pieces.append(line[end:])
        cols.extend(range(end, len(line) + 1))
        out_lines.append("".join(pieces))
        maps.append(cols)
    return "\n".join(out_lines), maps


def _typed(err: ParseError, src: str, py: str, maps: list[list[int]]) -> ParseError:
    """``err``, found in the normalised text ``py``, with its columns in ``src`` as typed."""
    if not err.column or not 1 <= err.line <= len(maps):
        return ParseError(err.problem, src, err.line, err.column)
    cols = maps[err.line - 1]
    problem = err.problem
    if problem.startswith("invalid number: "):  # 2σ(x): name the σ typed, not the s read
        was = py.split("\n")[err.line - 1][err.column - 1:err.column]
        typed_row = src.split("\n")[err.line - 1]
        now = typed_row[cols[min(err.column - 1, len(cols) - 1)]:][:1]
        if was and now and was != now:
            problem = problem.replace(repr(was), repr(now)).replace(f"*{was})", f"*{now})")

    def typed(column: int) -> int:
        return cols[min(column - 1, len(cols) - 1)] + 1

    start = typed(err.column)
    end = max(typed(err.end_column - 1) + 1, start + 1) if err.end_column > err.column else 0
    return ParseError(problem, src, err.line, start, end)


def parse(text: str) -> ParsedExpression:
    """Parses and checks an expression; never evaluates Python code.

    Args:
        text: E.g. ``"(sigmoid(w*a + b) - y)**2"``.

    Returns:
        The :class:`ParsedExpression`.

    Raises:
        ParseError: The text is not valid syntax, is too deeply nested, or uses
            anything outside the allow-list; the message points at the part.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse needs a str, not {type(text).__name__}")
    if not text.strip():
        raise ParseError("empty expression", text)
    typed = text.strip()
    py, maps = normalise(typed)
    try:
        tree = _parse_python(py)
        names: list[str] = []
        _check(tree.body, py, names, in_exponent=False)
    except ParseError as err:
        raise _typed(err, typed, py, maps) from None
    return ParsedExpression(typed, tuple(dict.fromkeys(names)), tree.body)


def _parse_python(text: str) -> ast.Expression:
    """``ast.parse`` of the normalised text, every failure as a :class:`ParseError`."""
    try:
        with warnings.catch_warnings():  # "1if x" warns before we refuse it: no stray output
            warnings.simplefilter("ignore")
            return ast.parse(text, mode="eval")
    except SyntaxError as err:
        line = err.lineno or 1
        offset = err.offset or 0
        end = err.end_offset if err.end_offset and err.end_lineno == err.lineno else 0
        msg = err.msg.split(" (<unknown>")[0]
        if msg.startswith("Exceeds the limit"):  # a 5,000-digit integer literal
            raise _huge_literal(text) from None
        if "null bytes" in msg:
            raise ParseError("a null byte is not allowed", text, 1, text.find("\0") + 1) from None
        if "literal" in msg and offset:  # 2w: Python points at the number, not at the w
            bad = _bad_literal(text, line, offset)
            if bad is not None:
                raise bad from None
        if not offset:  # Python points nowhere: the text ended early
            line = len(text.splitlines())
            offset = len(text.splitlines()[-1]) + 1
            msg = "the expression ends too early"
        problem = msg if msg.startswith("invalid syntax") else f"invalid syntax: {msg}"
        raise ParseError(problem, text, line, offset, end if end > offset else 0) from None
    except (RecursionError, MemoryError):
        raise ParseError(
            "expression is too deeply nested to parse (Python's parser stops near 3,000 "
            "nested operations or 200 nested parentheses)", text) from None
    except ValueError as err:  # a null byte (Python 3.11), an integer beyond the digit limit
        if "null bytes" in str(err):
            raise ParseError("a null byte is not allowed", text, 1, text.find("\0") + 1) from None
        if "Exceeds the limit" in str(err):
            raise _huge_literal(text) from None
        raise ParseError(f"invalid number: {err}", text) from None


_DIGITS = re.compile(r"[0-9][0-9_]*")
_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F_]*|0[oO][0-7_]*|0[bB][01_]*"
    r"|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9][0-9_]*)?"
)


def _huge_literal(src: str) -> ParseError:
    """The error for an integer literal too long for Python to read (and for a float)."""
    lines = src.splitlines() or [""]
    for n, text in enumerate(lines, 1):
        for m in _DIGITS.finditer(text):
            if len(m[0]) > 4000:
                return ParseError(f"number too large for a float (an integer of "
                                  f"{len(m[0].replace('_', ''))} digits)", src, n,
                                  m.start() + 1, m.end() + 1)
    return ParseError("number too large for a float", src)


def _bad_literal(src: str, line: int, offset: int) -> ParseError | None:
    """A malformed number (``2w``), pointed at the character after its digits.

    Python's column is the number's; the mistake is what follows it.
    """
    text = src.splitlines()[line - 1]
    for m in _NUMBER.finditer(text):
        if m.start() <= offset - 1 < m.end() or m.end() == offset - 1:
            stop = m.end()
            if stop >= len(text):
                return None
            ch = text[stop]
            hint = f" (for a product write {m[0]}*{ch})" if ch.isidentifier() else ""
            return ParseError(f"invalid number: {ch!r} right after {m[0]}{hint}", src, line,
                              stop + 1, stop + 2)
    return None


def _check(top: ast.expr, text: str, names: list[str], in_exponent: bool) -> None:
    """Walks the tree (explicit stack, source order) and refuses anything not allowed."""
    stack: list[tuple[ast.AST, bool]] = [(top, in_exponent)]

    def refuse(node: ast.AST, problem: str) -> ParseError:
        line, start, end = _position(text, node)
        return ParseError(problem, text, line, start, end)

    while stack:
        node, exponent = stack.pop()
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.BitXor):  # x^y: point at the ^ itself
                line, _, after_left = _position(text, node.left)
                right_line, before_right, _ = _position(text, node.right)
                row = text.splitlines()[line - 1] if text.splitlines() else ""
                stop = before_right - 1 if right_line == line else len(row)
                at = row.find("^", after_left - 1, stop) + 1 or after_left
                raise ParseError("operator '^' is not allowed: a power is written x**2 (or x^2 "
                                 "with a number exponent); for a variable exponent write "
                                 "exp(y*log(x))", text, line, at, at + 1)
            if type(node.op) not in _BINOPS:
                raise refuse(node, f"operator {_op_text(node.op)!r} is not allowed "
                             "(use + - * / **)")
            stack.append((node.right, exponent or isinstance(node.op, ast.Pow)))
            stack.append((node.left, exponent))
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise refuse(node, f"unary {_op_text(node.op)!r} is not allowed (only - and +)")
            stack.append((node.operand, exponent))
        elif isinstance(node, ast.Constant):
            x = node.value
            if isinstance(x, bool) or not isinstance(x, (int, float)):  # str, bytes, complex...
                kind = "strings" if isinstance(x, (str, bytes)) else f"{type(x).__name__} values"
                raise refuse(node, f"{kind} are not allowed (only real numbers)")
            try:
                finite = math.isfinite(float(x))  # a huge int literal overflows
            except OverflowError:
                finite = False
            if not finite:
                raise refuse(node, "number too large for a float")
        elif exponent and isinstance(node, (ast.Name, ast.Call)):
            raise refuse(node, "the exponent of ** must be a number (as in x**2 or "
                         "x**-0.5), not a variable or a call; for a variable exponent write "
                         "exp(y*log(x))")
        elif isinstance(node, ast.Name):
            if node.id in functions():
                raise refuse(node, f"{node.id} is a function: call it, e.g. {node.id}(x)")
            names.append(node.id)
        elif isinstance(node, ast.Call):
            func = node.func
            known = functions()
            if not isinstance(func, (ast.Name, ast.Attribute)):  # 2(x + 1), (x + 1)(x - 1)
                line, start, after = _position(text, func)
                row = text.splitlines()[line - 1]
                paren = row.find("(", after - 1) + 1 or after
                factor = row[start - 1:paren - 1].strip()
                if factor.count(")") > factor.count("("):  # (x + 1)(x − 1): its own brackets
                    factor = "(" + factor
                raise ParseError(
                    f"implicit multiplication is not allowed: write {_short(factor)}*(…) for a "
                    f"product (the only calls are {' '.join(known)})", text, line, paren,
                    paren + 1)
            if not isinstance(func, ast.Name):
                raise refuse(func, f"only calls of {' '.join(known)} are allowed")
            if func.id not in known:
                raise refuse(func, f"unknown function {_short(func.id)!r} "
                             f"(supported: {', '.join(known)}; for a product write "
                             f"{_short(func.id)}*(…))")
            if node.keywords:
                raise refuse(node.keywords[0], f"{func.id} takes no keyword arguments")
            n = RULES[func.id].arity or 1
            if len(node.args) != n:
                many = "one argument" if n == 1 else f"{n} arguments"
                raise refuse(node, f"{func.id} takes exactly {many}, got {len(node.args)}")
            for arg in reversed(node.args):  # popped in source order
                stack.append((arg, exponent))
        else:
            what = _REFUSED.get(type(node), type(node).__name__)
            raise refuse(node, f"{what} not allowed here (allowed: {allowed()})")


def _op_text(op: ast.AST) -> str:
    return {
        ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
        ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^",
        ast.Not: "not", ast.Invert: "~",
    }.get(type(op), type(op).__name__)


def _fold(op: str, args: list[float], exponent: float = 0.0) -> float:
    """Applies an op to plain numbers through the rule table (same domain checks)."""
    rule = pow_rule(exponent) if op == "pow" else RULES[op]
    out, _ = rule.forward(*args)
    if not math.isfinite(out):
        raise DomainError(f"{op}: result {out!r} is not a finite float (arguments {args!r})")
    return out


def _evaluate(top: ast.expr, leaves: Mapping[str, Value]) -> Item:
    """Evaluates a checked tree bottom-up with an explicit stack (post-order)."""
    results: list[Item] = []
    stack: list[tuple[ast.AST, bool]] = [(top, False)]
    while stack:
        node, done = stack.pop()
        if isinstance(node, ast.Constant):
            number = node.value
            assert isinstance(number, (int, float))  # the checker allows nothing else
            results.append(float(number))
        elif isinstance(node, ast.Name):
            results.append(leaves[node.id])
        elif not done:
            stack.append((node, True))
            if isinstance(node, ast.BinOp):
                stack.append((node.right, False))
                stack.append((node.left, False))
            elif isinstance(node, ast.UnaryOp):
                stack.append((node.operand, False))
            elif isinstance(node, ast.Call):
                for arg in reversed(node.args):
                    stack.append((arg, False))
        elif isinstance(node, ast.UnaryOp):
            x = results.pop()
            results.append(-x if isinstance(node.op, ast.USub) else x)
        elif isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            n = len(node.args)
            xs = results[-n:]
            del results[-n:]
            rule = RULES[node.func.id]
            if any(isinstance(x, Value) for x in xs):
                results.append(apply_rule(rule, xs))
            else:
                results.append(_fold(rule.name, [float(x) for x in xs]))  # type: ignore[arg-type]
        elif isinstance(node, ast.BinOp):
            y = results.pop()
            x = results.pop()
            op = _BINOPS[type(node.op)]
            if op == "pow":
                assert isinstance(y, float)  # the checker allows only numbers in exponents
                results.append(x**y if isinstance(x, Value) else _fold("pow", [x], y))
            elif isinstance(x, Value) or isinstance(y, Value):
                results.append(_ARITHMETIC[op](x, y))
            else:
                results.append(_fold(op, [x, y]))
    return results.pop()
