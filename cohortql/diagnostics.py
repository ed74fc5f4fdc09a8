"""Errors a person can act on: a stable code, a position, the source line, a caret, a hint."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Characters that make text display otherwise than it reads: the Unicode bidirectional controls
# (embeddings, overrides, isolates, marks; "Trojan Source", CVE-2021-42574), and control
# characters, which a terminal obeys (ESC sequences rewrite the screen, a lone CR the line).
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# In a definition: also every control character but tab, line feed, form feed and the CR of a
# CRLF, and the Unicode line separators (a line break to some viewers, none to the lexer).
UNSAFE_IN_SOURCE = re.compile(f"[{BIDI_CONTROLS}\u2028\u2029\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]|\r(?!\n)")
# In a one-line text (a name, a label) whose whitespace is folded to spaces: the rest.
UNSAFE_IN_TEXT = re.compile(f"[{BIDI_CONTROLS}\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")


def is_bidi_control(char: str) -> bool:
    return re.fullmatch(f"[{BIDI_CONTROLS}]", char) is not None


def describe_character(char: str) -> str:
    """`bidirectional control U+202E RIGHT-TO-LEFT OVERRIDE`: a character named without showing it."""
    code = f"U+{ord(char):04X}"
    if is_bidi_control(char):
        return f"bidirectional control {code} {unicodedata.name(char)}"
    if unicodedata.category(char) == "Cc":
        return f"control character {code}"
    return f"{unicodedata.name(char, 'character').lower()} {code}"


def visible(text: str) -> str:
    """Text safe to print: each unsafe character shown as `<U+202E>`."""
    return UNSAFE_IN_SOURCE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


@dataclass(frozen=True)
class Span:
    """A region of a source file, 1-based lines and columns, end exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Source:
    """The text being compiled and the name to show for it (a path or `<string>`)."""

    name: str
    text: str

    def line(self, number: int) -> str:
        # Lines end at "\n" only, as the lexer counts them: splitlines() also breaks at \r,
        # \x0b, \x0c, \x1c-\x1e, \x85, \u2028 and \u2029 and would show the wrong line.
        lines = self.text.split("\n")
        return lines[number - 1].removesuffix("\r") if 0 < number <= len(lines) else ""


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    hint: str | None = None

    def to_dict(self, source: Source) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "file": source.name,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "source_line": source.line(self.span.line),
            "hint": self.hint,
        }


@dataclass
class CohortQLError(Exception):
    """One or more diagnostics about a definition; never shown as a traceback."""

    source: Source
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        return render_diagnostics(self.source, self.diagnostics)

    def to_dicts(self) -> list[dict]:
        return [d.to_dict(self.source) for d in self.diagnostics]


def render_diagnostic(source: Source, diagnostic: Diagnostic) -> str:
    """Rustc/PRQL-style text: header, location, source line, caret, hint."""
    span = diagnostic.span
    raw = source.line(span.line)
    # Tabs are shown as four spaces (as rustc does) so the caret lines up in any terminal, and
    # characters that would change what the terminal shows as `<U+202E>`.
    text = visible(raw.replace("\t", "    "))

    def shown(column: int) -> int:
        return len(visible(raw[: column - 1].replace("\t", "    ")))

    gutter = " " * len(str(span.line))
    caret_end = span.end_column if span.end_line == span.line else len(raw) + 1
    start = shown(span.column)
    width = max(1, shown(caret_end) - start)
    lines = [
        f"error[{diagnostic.code}]: {diagnostic.message}",
        f"{gutter}--> {source.name}:{span.line}:{span.column}",
        f"{gutter} |",
        f"{span.line} | {text}",
        f"{gutter} | {' ' * start}{'^' * width}",
    ]
    if diagnostic.hint:
        lines.append(f"{gutter} = hint: {diagnostic.hint}")
    return "\n".join(lines)


def render_diagnostics(source: Source, diagnostics: tuple[Diagnostic, ...]) -> str:
    return "\n\n".join(render_diagnostic(source, d) for d in diagnostics)
