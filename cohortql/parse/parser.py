"""Runs the Lark grammar and turns its errors into CohortQL diagnostics.

Nothing outside this package sees a Lark type.
"""

from __future__ import annotations

import difflib
import re
from contextvars import ContextVar
from functools import lru_cache

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from cohortql.diagnostics import (
    UNSAFE_IN_SOURCE,
    CohortQLError,
    Diagnostic,
    Source,
    Span,
    describe_character,
    is_bidi_control,
)
from cohortql.omop import MAX_NUMBER_DIGITS
from cohortql.parse.ast import Comment, Definition
from cohortql.parse.transformer import ToAst
from cohortql.resources import cache_dir, resource_path

# How expected terminals are shown to a person.
_TERMINAL_TEXT = {
    "NAME": "a name",
    "STRING": 'a quoted string such as "HbA1c"',
    "INTEGER": "a whole number",
    "DECIMAL": "a number",
    "DATE": "a date such as 2020-01-31",
    "DISTINCT_DAYS": "`distinct days of`",
    "IGNORE_OBSERVATION": "`ignoring observation period`",
    "$END": "the end of the file",
}

# Words that begin a statement; seen at the start of a line, they end the statement before.
_STATEMENT_WORDS = frozenset(
    {"title", "protocol", "sponsor", "concepts", "entry", "require", "include", "exclude", "breakdown"}
)

# Characters people paste from word processors or other languages, and what to write instead.
_STRAY_HINTS = {
    ";": "statements end at the end of the line; remove the `;`",
    "'": 'strings use double quotes: "..."',
    "\u201c": 'use straight double quotes `"` (this one was probably pasted from a word processor)',
    "\u201d": 'use straight double quotes `"` (this one was probably pasted from a word processor)',
    "\u2265": "write `>=`",
    "\u2264": "write `<=`",
    "\u2260": "write `!=`",
}


def keywords() -> frozenset[str]:
    """Every keyword of the language (used for hints and by the docs test)."""
    return frozenset(word for terminal in _parser().terminals for word in _terminal_words(terminal.name))


def _terminal_words(name: str) -> list[str]:
    """The literal words a terminal matches: `WITHIN` -> [within], `DISTINCT_DAYS` -> [distinct, ...]."""
    for terminal in _parser().terminals:
        if terminal.name != name:
            continue
        pattern = terminal.pattern
        if isinstance(pattern, lark.lexer.PatternStr):
            return [pattern.value] if pattern.value.isalpha() else []
        if "[" in pattern.value:  # NAME, STRING, numbers: not keywords
            return []
        # Regex terminals are word alternations or phrases: /distinct\s+days?\s+of\b/ -> distinct, days, of
        return [word for word in re.findall(r"(?<![\\a-z])[a-z]+", pattern.value) if word != "s"]
    return []


_comments: ContextVar[list[Comment]] = ContextVar("cohortql_comments")


def _collect_comment(token: lark.Token) -> lark.Token:
    _comments.get().append(Comment(str(token), token.line, token.column))
    return token


def _grammar_cache() -> str | bool:
    """Where Lark keeps the analysed grammar (building it is most of a `check`); False if unwritable.

    A private directory, not Lark's default (a predictable name in the shared temporary directory,
    which another user could plant). Lark checks the grammar's hash before using the file and
    rebuilds, silently, when it is stale, unreadable or half written by a concurrent process.
    """
    try:
        directory = cache_dir()
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return str(directory / f"grammar-lark-{lark.__version__}.cache")


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    grammar = (resource_path("grammar") / "cohortql.lark").read_text(encoding="utf-8")
    return lark.Lark(
        grammar,
        cache=_grammar_cache(),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        # The basic lexer reads a whole word before deciding whether it is a keyword,
        # so `withn` is one unknown word rather than `with` followed by `n`.
        lexer="basic",
        lexer_callbacks={"COMMENT": _collect_comment},
    )


def parse(text: str, name: str = "<string>") -> Definition:
    """Parse a whole `.cohort` text; raise `CohortQLError` with a positioned diagnostic."""
    source = Source(name, text)
    _check_characters(source)
    collected: list[Comment] = []
    reset = _comments.set(collected)
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as error:
        raise CohortQLError(source, (_diagnose(error, source),)) from None
    finally:
        _comments.reset(reset)
    _check_nesting(tree, source)
    _check_number_lengths(tree, source)
    definition = ToAst(source).transform(tree)
    return Definition(definition.statements, tuple(collected))


# Criteria nest (`not`, `any of`, ...); later stages walk them recursively, so depth is bounded
# here, far beyond what a protocol needs, instead of failing with a RecursionError.
MAX_NESTING = 32
_NESTING_RULES = frozenset({"negation", "any_group", "all_group", "at_least_group", "nested_criterion"})


def _check_nesting(tree: lark.Tree, source: Source) -> None:
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if node.data in _NESTING_RULES:
            depth += 1
            if depth > MAX_NESTING:
                meta = node.meta
                span = Span(meta.line, meta.column, meta.line, meta.column + 1)
                raise CohortQLError(source, (Diagnostic(
                    "E005", f"criteria are nested more than {MAX_NESTING} levels deep", span,
                    "flatten the rule: `all of (...)` and `any of (...)` take any number of criteria",
                ),))
        stack.extend((child, depth) for child in node.children if isinstance(child, lark.Tree))


# Unsafe characters reported at once, at most this many (a file of them needs no more).
MAX_CHARACTER_ERRORS = 20


def _check_characters(source: Source) -> None:
    """Bidirectional and control characters, anywhere (strings, comments): a reviewer of the text
    or of what cohortql prints from it would read something else than what is compiled."""
    found = []
    for match in UNSAFE_IN_SOURCE.finditer(source.text):
        start = match.start()
        line = source.text.count("\n", 0, start) + 1
        column = start - (source.text.rfind("\n", 0, start) + 1) + 1
        char = match.group()
        message = f"{describe_character(char)} in the text"
        if char in "\r\u2028\u2029":
            hint = "a line break to some viewers but not to cohortql, which ends lines at a line feed; remove it"
        elif is_bidi_control(char):
            hint = "it shows text in another order than it is compiled, so a reader can be shown spoofed text; " \
                "remove it"
        else:
            hint = "a terminal acts on it instead of showing it; remove it"
        found.append(Diagnostic("E007", message, Span(line, column, line, column + 1), hint))
        if len(found) == MAX_CHARACTER_ERRORS:
            break
    if found:
        raise CohortQLError(source, tuple(found))


def _check_number_lengths(tree: lark.Tree, source: Source) -> None:
    """No field holds a number this long (the resolver checks each field's range, E135); stopping
    here keeps Python from converting a megabyte of digits (it refuses past 4,300)."""
    for token in tree.scan_values(lambda v: isinstance(v, lark.Token) and v.type in ("INTEGER", "DECIMAL")):
        digits = sum(char.isdigit() for char in token)
        if digits > MAX_NUMBER_DIGITS:
            span = Span(token.line, token.column, token.end_line, token.end_column)
            raise CohortQLError(source, (Diagnostic(
                "E135", f"a number of {digits} digits is too large for any field", span,
                "concept ids fit in 19 digits, days in 5; is this text pasted by mistake?",
            ),))


def _diagnose(error: UnexpectedInput, source: Source) -> Diagnostic:
    if isinstance(error, UnexpectedCharacters):
        char = source.text[error.pos_in_stream] if error.pos_in_stream < len(source.text) else ""
        span = Span(error.line, error.column, error.line, error.column + 1)
        if char == '"':
            return Diagnostic("E002", "unterminated string", span, 'close the string with `"` on the same line')
        # The basic lexer's `allowed` is every terminal wherever the error is, so it is no hint.
        return Diagnostic("E001", f"unexpected character `{char}`", span, _STRAY_HINTS.get(char))
    if isinstance(error, UnexpectedEOF):
        lines = source.text.rstrip("\r\n").split("\n")  # lines as the lexer counts them
        line = len(lines)
        column = len(lines[-1]) + 1
        return Diagnostic(
            "E003",
            "the definition ends in the middle of a statement",
            Span(line, max(1, column - 1), line, column),
            _expected_hint(set(error.expected), None),
        )
    assert isinstance(error, UnexpectedToken)
    token = error.token
    if token.type == "$END":
        # Lark's end token borrows the position of the last real token: point just after it,
        # not at trailing blank lines or comments.
        line, column = token.end_line or token.line, token.end_column or token.column
        return Diagnostic(
            "E003",
            "the definition ends in the middle of a statement",
            Span(line, column, line, column + 1),
            _expected_hint(error.accepts or error.expected, None),
        )
    span = Span(token.line, token.column, token.end_line or token.line, token.end_column or token.column + 1)
    expected = error.accepts or error.expected
    if token.column == 1 and str(token) in _STATEMENT_WORDS:
        # A new statement began before the previous one was finished: say so, not "did you mean".
        hint = _expected_hint(expected, None)
        unfinished = f"the statement before line {token.line} is unfinished"
        return Diagnostic("E004", f"unexpected `{token}`", span, f"{unfinished}; {hint}" if hint else unfinished)
    return Diagnostic("E004", f"unexpected `{token}`", span, _expected_hint(expected, str(token)))


def _expected_hint(expected: set[str], found: str | None) -> str | None:
    if "DECIMAL" in expected:
        expected = set(expected) - {"INTEGER"}  # "a number" already includes whole numbers
    if "INDEX" in expected:
        expected = set(expected) - {"IT"}  # `it` only in nested criteria; the resolver says where (E134)
    words = sorted({_terminal_text(t) for t in expected if not t.startswith("__")})
    keywords_expected = [word for terminal in expected for word in _terminal_words(terminal)]
    if found and found not in keywords() and keywords_expected:
        close = difflib.get_close_matches(found.lower(), keywords_expected, n=1, cutoff=0.6)
        if close:
            return f"did you mean `{close[0]}`?"
    if not words:
        return None
    if len(words) > 8:
        return "expected one of: " + ", ".join(words[:8]) + ", ..."
    return "expected " + (words[0] if len(words) == 1 else "one of: " + ", ".join(words))


def _terminal_text(terminal: str) -> str:
    if terminal in _TERMINAL_TEXT:
        return _TERMINAL_TEXT[terminal]
    for term in _parser().terminals:
        if term.name == terminal and isinstance(term.pattern, lark.lexer.PatternStr):
            return f"`{term.pattern.value}`"
    return terminal.lower()
