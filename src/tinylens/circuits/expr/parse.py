"""Text to syntax tree: a tokenizer and a recursive-descent parser (never ``eval``).

Grammar (lowest precedence first; comparisons do not chain)::

    expr     := additive (CMP additive)?
    additive := term (("+" | "-") term)*
    term     := unary (("*" | "/") unary)*
    unary    := ("-" | "+") unary | atom
    atom     := NUMBER | NAME | NAME "(" [arg ("," arg)*] ")" | "(" expr ")"
    arg      := NAME "=" INTEGER | expr

A malformed expression raises :class:`~tinylens.errors.ConfigError` with one line naming the
column, e.g. ``invalid expression 'min(x, y': column 9: expected ')' to close 'min(' at
column 4``.

>>> e = parse("max(x1, x2) - 3/2")
>>> type(e).__name__, e.op, e.left
('BinOp', '-', Call(name='max', args=(Var(name='x1'), Var(name='x2')), keywords=()))
>>> parse("min(x, y")
Traceback (most recent call last):
...
tinylens.errors.ConfigError: invalid expression 'min(x, y': column 9: expected ')' to close ...
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from tinylens.circuits.expr.syntax import (
    COMPARISONS,
    FUNCTIONS,
    BinOp,
    Call,
    Compare,
    Expr,
    Neg,
    Num,
    Var,
)
from tinylens.errors import ConfigError, did_you_mean

__all__ = ["Token", "parse", "tokenize"]

_MAX_LENGTH = 10_000
_MAX_NUMBER = 400
"""Longest number literal (characters; our own bound, below Python's 4300-digit conversion
limit, and 1e400 written out still fits)."""
_MAX_DEPTH = 100  # nesting (~5 Python frames a level); deeper is an error, not a RecursionError


@dataclass(frozen=True)
class Token:
    kind: str  # number, name, op, end
    text: str
    pos: int  # 1-based column


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op><=|>=|==|!=|\*\*|[-+*/(),<>=^%])
    """,
    re.VERBOSE,
)


def _fail(source: str, pos: int, message: str) -> ConfigError:
    shown = source if len(source) <= 80 else source[:77] + "..."
    return ConfigError(f"invalid expression {shown!r}: column {pos}: {message}")


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``, ending with an ``end`` token."""
    if len(source) > _MAX_LENGTH:
        raise ConfigError(f"the expression is {len(source)} characters; the limit is {_MAX_LENGTH}")
    tokens: list[Token] = []
    i = 0
    while i < len(source):
        m = _TOKEN.match(source, i)
        if m is None:
            raise _fail(source, i + 1, f"unexpected character {source[i]!r}")
        kind = m.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, m.group(), i + 1))
        i = m.end()
    tokens.append(Token("end", "", len(source) + 1))
    return tokens


def _describe(tok: Token) -> str:
    return "the end" if tok.kind == "end" else repr(tok.text)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: Token | None = None) -> ConfigError:
        return _fail(self.source, (tok or self.tok).pos, message)

    def expect(self, text: str, context: str) -> Token:
        if self.tok.text != text or self.tok.kind == "end":
            raise self.error(f"expected {text!r} {context}, found {_describe(self.tok)}")
        return self.advance()

    # -- grammar -------------------------------------------------------------------------------
    def parse(self) -> Expr:
        if self.tok.kind == "end":
            raise self.error("the expression is empty")
        e = self.expr()
        if self.tok.kind != "end":
            if self.tok.text in COMPARISONS:
                raise self.error(
                    "comparisons do not chain (a < b < c); combine two comparisons, e.g. "
                    "min(a < b, b < c)"
                )
            raise self.error(f"unexpected {_describe(self.tok)} after a complete expression")
        return e

    def expr(self) -> Expr:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error(f"the expression nests deeper than {_MAX_DEPTH} levels")
        try:
            left = self.additive()
            if self.tok.kind == "op" and self.tok.text in COMPARISONS:
                op = self.advance()
                right = self.additive()
                return Compare(op.text, left, right, pos=op.pos)
            if self.tok.kind == "op" and self.tok.text == "=":
                raise self.error("'=' is not a comparison; write '==' (or name=value for bits)")
            return left
        finally:
            self.depth -= 1

    def additive(self) -> Expr:
        left = self.term()
        while self.tok.kind == "op" and self.tok.text in "+-":
            op = self.advance()
            left = BinOp(op.text, left, self.term(), pos=op.pos)
        return left

    def term(self) -> Expr:
        left = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/", "**", "^", "%"):
            op = self.tok
            if op.text in ("**", "^"):
                raise self.error(
                    "powers are not piecewise-linear, so no ReLU network computes them exactly; "
                    "use abs, min, max or products with constants"
                )
            if op.text == "%":
                raise self.error("'%' is not supported; parity is is_even(x, bits=n)")
            self.advance()
            left = BinOp(op.text, left, self.unary(), pos=op.pos)
        return left

    def unary(self) -> Expr:
        if self.tok.kind == "op" and self.tok.text in "+-":
            op = self.advance()
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise self.error(f"the expression nests deeper than {_MAX_DEPTH} levels")
            try:
                operand = self.unary()
            finally:
                self.depth -= 1
            return Neg(operand, pos=op.pos) if op.text == "-" else operand
        return self.atom()

    def atom(self) -> Expr:
        tok = self.tok
        if tok.kind == "number":
            if len(tok.text) > _MAX_NUMBER:
                raise self.error(
                    f"a number of {len(tok.text)} characters; tinylens takes numbers of up to "
                    f"{_MAX_NUMBER} (exact rationals of that size are already far beyond any "
                    "weight)",
                    tok,
                )
            self.advance()
            return Num(Fraction(tok.text), pos=tok.pos)
        if tok.kind == "name":
            self.advance()
            if self.tok.text == "(" and self.tok.kind == "op":
                return self.call(tok)
            if tok.text in FUNCTIONS:
                raise self.error(f"{tok.text} is a function; call it as {tok.text}(...)", tok)
            return Var(tok.text, pos=tok.pos)
        if tok.text == "(" and tok.kind == "op":
            self.advance()
            inner = self.expr()
            if self.tok.text != ")" or self.tok.kind == "end":
                raise self.error(
                    f"expected ')' to close '(' at column {tok.pos}, found {_describe(self.tok)}"
                )
            self.advance()
            return inner
        if tok.kind == "end":
            raise self.error("the expression ends where a value was expected")
        raise self.error(f"expected a number, a name or '(', found {_describe(tok)}")

    def call(self, name_tok: Token) -> Expr:
        name = name_tok.text
        spec = FUNCTIONS.get(name)
        if spec is None:
            hint = did_you_mean(name, FUNCTIONS)
            raise self.error(
                f"unknown function {name!r}; expected one of {', '.join(sorted(FUNCTIONS))}{hint}",
                name_tok,
            )
        open_tok = self.advance()  # "("
        args: list[Expr] = []
        keywords: list[tuple[str, int]] = []
        if not (self.tok.text == ")" and self.tok.kind == "op"):
            while True:
                if self.tok.kind == "name" and self.tokens[self.i + 1].text == "=":
                    keywords.append(self.keyword(name, spec.keywords, keywords))
                else:
                    if keywords:
                        raise self.error("a positional argument follows a keyword argument")
                    args.append(self.expr())
                if self.tok.text == "," and self.tok.kind == "op":
                    self.advance()
                    continue
                break
        if self.tok.text != ")" or self.tok.kind == "end":
            raise self.error(
                f"expected ')' to close '{name}(' at column {open_tok.pos}, found "
                f"{_describe(self.tok)}"
            )
        self.advance()
        n = len(args)
        if n < spec.min_args or (spec.max_args is not None and n > spec.max_args):
            want = (
                f"{spec.min_args}"
                if spec.max_args == spec.min_args
                else f"at least {spec.min_args}"
                if spec.max_args is None
                else f"{spec.min_args} to {spec.max_args}"
            )
            raise self.error(f"{name} takes {want} argument(s), got {n}: {spec.doc}", name_tok)
        return Call(name, tuple(args), tuple(keywords), pos=name_tok.pos)

    def keyword(
        self, fname: str, allowed: tuple[str, ...], seen: list[tuple[str, int]]
    ) -> tuple[str, int]:
        key = self.advance()
        if key.text not in allowed:
            what = f"takes the keyword {', '.join(allowed)}" if allowed else "takes no keywords"
            raise self.error(f"{fname} {what}, not {key.text!r}", key)
        if any(k == key.text for k, _ in seen):
            raise self.error(f"{key.text} is given twice", key)
        self.advance()  # "="
        value = self.tok
        if value.kind != "number" or not value.text.isdigit():
            raise self.error(f"{key.text} must be a positive integer, found {_describe(value)}")
        self.advance()
        n = int(value.text)
        if n < 1 or n > 62:
            raise self.error(f"{key.text} must be between 1 and 62, got {n}", value)
        return key.text, n


def parse(source: str) -> Expr:
    """The syntax tree of ``source`` (see the module docstring for the grammar)."""
    if not isinstance(source, str):
        raise ConfigError(f"an expression must be a string, not {type(source).__name__}")
    tree = _Parser(source).parse()
    depth = _tree_depth(tree)
    if depth > _MAX_DEPTH:
        # NOTE: "x + x + ... + x" parses in a loop but is a tree as deep as it has terms, and
        # every later pass (compiling, verifying) recurses over it.
        raise ConfigError(
            f"the expression is {depth} operations deep (a long sum or product counts one "
            f"level per term); tinylens takes up to {_MAX_DEPTH}: group terms in "
            "parentheses, e.g. (a + b) + (c + d), or split the expression"
        )
    return tree


def _tree_depth(root: Expr) -> int:
    """The depth of an expression tree, without recursion."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in node.children())
    return deepest
