"""Arithmetic consistency of a worked answer: equations whose two sides differ, and whether the final
number is a result of the working. Evaluated by a small parser, never ``eval``."""

from __future__ import annotations

from itertools import pairwise

from .common import HEAD_CHARS, NUMBER, LazyPattern, to_float

__all__ = ["arithmetic_errors", "supported_by_working"]

# Multiplication written as "x", "×", "\*" or "\times" between numbers; division as "÷" or "\div".
_TIMES_RE = LazyPattern(r"(?<=[\d)])\s*(?:[x×]|\\\*|\\times|\\cdot)\s*(?=[\d(.$])")
_THOUSANDS_RE = LazyPattern(r"(?<=\d),(?=\d{3}(?!\d))")
_ARITH_CHARS = "0123456789.$ ()+-*/"
_ARITH_OPS = "+-*/"
_MAX_EXPR_CHARS = 160
_MAX_EXPR_TOKENS = 64
_ARITH_TOKEN_RE = LazyPattern(r"\d+(?:\.\d+)?|\.\d+|[-+*/()]")
_MAX_MAGNITUDE = 1e15
# Results of the working: right-hand sides of "=", "≈", "≥", "≤", "~" and GSM8K "<<a*b=c>>" annotations.
_RESULT_RE = LazyPattern(r"(?:=|>>|≈|≥|≤|~)\s*\$?\s?(" + NUMBER + r")")


class _ArithParser:
    """Evaluates ``+ - * /`` arithmetic on numbers and parentheses (unary minus allowed) by recursive descent
    over a token list; anything else (names, powers, calls, two numbers in a row) is rejected. No ``eval``,
    bounded work: the expression is at most ``_MAX_EXPR_CHARS`` long and values are capped."""

    __slots__ = ("depth", "pos", "tokens")

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def value(self) -> float:
        v = self._sum()
        if self.pos != len(self.tokens):
            raise ValueError("trailing tokens")
        return v

    def _sum(self) -> float:
        v = self._product()
        tokens = self.tokens
        while self.pos < len(tokens) and tokens[self.pos] in "+-":
            op = tokens[self.pos]
            self.pos += 1
            rhs = self._product()
            v = v + rhs if op == "+" else v - rhs
        return _bounded(v)

    def _product(self) -> float:
        v = self._factor()
        tokens = self.tokens
        while self.pos < len(tokens) and tokens[self.pos] in "*/":
            op = tokens[self.pos]
            self.pos += 1
            rhs = self._factor()
            if op == "*":
                v *= rhs
            elif rhs == 0:
                raise ValueError("division by zero")
            else:
                v /= rhs
            v = _bounded(v)
        return v

    def _factor(self) -> float:
        tokens = self.tokens
        if self.pos >= len(tokens):
            raise ValueError("unexpected end")
        tok = tokens[self.pos]
        self.pos += 1
        if tok == "-":
            return -self._factor()
        if tok == "+":
            return self._factor()
        if tok == "(":
            self.depth += 1
            if self.depth > 8:
                raise ValueError("too deep")
            v = self._sum()
            if self.pos >= len(tokens) or tokens[self.pos] != ")":
                raise ValueError("unbalanced")
            self.pos += 1
            self.depth -= 1
            return v
        if tok in "*/)":
            raise ValueError("unexpected operator")
        return float(tok)


def _bounded(v: float) -> float:
    if not abs(v) < _MAX_MAGNITUDE:
        raise ValueError("too large")
    return v


def _arith_value(expr: str, before: str) -> tuple[float, bool, str] | None:
    """(value, has an operator, the plain number as written) of one side of an "=", or None if it is not a
    self-contained arithmetic expression. ``before`` is the text just before ``expr`` (a leading operator
    right after a word or a number is binary: "y - 5 = ..." is not "-5")."""
    e = expr.replace("$", "").strip()
    if not e or len(e) > _MAX_EXPR_CHARS or e[0] in ")*/+" or e[-1] in _ARITH_OPS:
        return None
    if e[0] == "-" and before.rstrip()[-1:].isalnum():
        return None
    if e.count("(") != e.count(")"):
        e = e.strip("()").strip()  # "(so 3 * 4 = 12)": the bracket belongs to the prose around it
        if not e or e.count("(") != e.count(")") or e[0] in "*/+" or e[-1] in _ARITH_OPS:
            return None
    has_op = any(c in _ARITH_OPS for c in e.lstrip("-"))
    try:
        if not has_op and "(" not in e:
            value = float(e)  # a plain number: no parser needed
        else:
            tokens = _ARITH_TOKEN_RE.findall(e)
            if len(tokens) > _MAX_EXPR_TOKENS or sum(map(len, tokens)) != len(e) - e.count(" "):
                return None  # "3 4", "1.2.3": not one expression
            value = _ArithParser(tokens).value()
    except (ValueError, OverflowError):
        return None
    return value, has_op, e


def _decimals(number: str) -> int:
    return len(number.rsplit(".", 1)[1]) if "." in number else 0


def arithmetic_errors(text: str, limit: int = 0) -> list[str]:
    """Equations in ``text`` whose two sides differ: ``a op b = c`` chains (numbers, ``+ - * /``, ``x``/``×``/
    ``÷``, parentheses, GSM8K ``<<a*b=c>>`` annotations), evaluated without ``eval``.

    A plain number on one side may be rounded to the digits written (or by 1 %); two expressions must agree
    within 1 %. Sides that are not pure arithmetic (words, units in the middle, ``%``, powers) are skipped.
    ``limit`` > 0 stops after that many errors.
    """
    if "=" not in text:
        return []
    t = text[-HEAD_CHARS:] if len(text) > HEAD_CHARS else text
    t = t.replace("<<", " | ").replace(">>", " | ").replace("÷", "/").replace("\\div", "/").replace("−", "-")
    t = t.replace("**", " ").replace("\\$", "$")
    t = _TIMES_RE.sub(" * ", _THOUSANDS_RE.sub("", t))
    errors: list[str] = []
    for line in t.splitlines():
        if "=" not in line:
            continue
        parts = line.split("=")
        for left, right in pairwise(parts):
            i = len(left.rstrip(_ARITH_CHARS))  # the arithmetic just before "=" ...
            j = len(right) - len(right.lstrip(_ARITH_CHARS))  # ... and just after it
            if i == len(left) or j == 0:
                continue
            if right[j : j + 1] == "%" or (j < len(right) and right[j].isalpha() and right[j - 1 : j] != " "):
                continue  # "1/2 = 50%", "500 * 3 = 1.5k": not the plain number it looks like
            lhs = _arith_value(left[i:], left[:i])
            if lhs is None:
                continue
            rhs = _arith_value(right[:j], "")
            if rhs is None or not (lhs[1] or rhs[1]):
                continue
            lv, rv = lhs[0], rhs[0]
            if not lhs[1] and left[:i].rstrip()[-1:] not in ("", "|", ":"):
                continue  # "20% of 50 = 0.2 * 50": a plain number after words is only part of the left side
            if lhs[1] and rhs[1]:
                tol = 0.01 * max(abs(lv), abs(rv))
            else:
                plain = rhs[2] if not rhs[1] else lhs[2]
                exact = lv if not lhs[1] else rv
                tol = max(0.5 * 10.0 ** -_decimals(plain), 0.01 * abs(exact))
            if abs(lv - rv) > tol + 1e-9:
                errors.append(f"{left[i:].strip()} = {right[:j].strip()}")
                if len(errors) == limit:
                    return errors
    return errors


def supported_by_working(value: float, body: str) -> bool:
    """Whether the final number is the result of some step of the working: the right-hand side of an "=",
    "≈", "≥" or a ``<<...>>`` annotation (also as a percentage: 0.4 for 40 %). An answer with no such step
    is not judged."""
    results = _RESULT_RE.findall(body[-HEAD_CHARS:])
    if not results:
        return True
    tol = 1e-6 * max(1.0, abs(value))
    for r in results:
        v = to_float(r)
        if v is None:
            continue
        if abs(v - value) <= tol or abs(v * 100 - value) <= tol or abs(v - value * 100) <= 1e-6 * max(1.0, abs(v)):
            return True
    return False
