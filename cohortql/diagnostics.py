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


_UTF8_BOM = b"\xef\xbb\xbf"


def decode_source(name: str, data: bytes) -> Source:
    """A file's bytes as a Source: UTF-8, a leading byte order mark dropped; anything else is E006
    at the first byte that is not UTF-8 (its offset in the file, its line and column)."""
    skipped = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    body = data[skipped:]
    try:
        # Bytes decoded as-is: text mode would turn a lone \r into a line break the lexer never sees.
        return Source(name, body.decode("utf-8"))
    except UnicodeDecodeError as error:
        bad = error.start
    line_start = body.rfind(b"\n", 0, bad) + 1
    line = body.count(b"\n", 0, bad) + 1
    column = len(body[line_start:bad].decode("utf-8")) + 1
    offset = skipped + bad
    message = f"the file must be UTF-8 text: byte 0x{body[bad]:02X} at byte offset {offset} is not UTF-8"
    if b"\x00" in body:
        hint = "it holds NUL bytes, so it is probably a binary file, not a definition"
    else:
        hint = "save it as UTF-8 (from Latin-1 or Windows-1252: `iconv -f cp1252 -t utf-8 FILE`)"
    shown = Source(name, body.decode("utf-8", "replace"))
    raise CohortQLError(shown, (Diagnostic("E006", message, Span(line, column, line, column + 1), hint),))


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


SHOWN_LINE_WIDTH = 160


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
    if len(text) > SHOWN_LINE_WIDTH:  # a pasted or binary line: the part around the caret
        left = max(0, start - SHOWN_LINE_WIDTH // 3)
        right = min(len(text), left + SHOWN_LINE_WIDTH)
        width = max(1, min(width, right - start))
        text = ("..." if left else "") + text[left:right] + ("..." if right < len(text) else "")
        start = start - left + (3 if left else 0)
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
