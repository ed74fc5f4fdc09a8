"""Errors a person can act on: a stable code, a position, the source line, a caret, a hint."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    # Tabs are shown as four spaces (as rustc does) so the caret lines up in any terminal.
    text = raw.replace("\t", "    ")

    def shown(column: int) -> int:
        return column - 1 + 3 * raw[: column - 1].count("\t")

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
