"""Import and export problems: a stable code, what is wrong, where in the JSON, what to do."""

from __future__ import annotations

from dataclasses import dataclass

from cohortql.diagnostics import CohortQLError, Source

# E301 not JSON, E302 not a cohort expression, E303 a feature CohortQL cannot count the same way,
# E304 a name this Circe version does not know, E305 a concept set referenced but missing,
# E306 a file too large, E307 a definition the exporter cannot write as Circe JSON, E308 a text
# holding a bidirectional or control character.
CODES = ("E301", "E302", "E303", "E304", "E305", "E306", "E307", "E308")


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    path: str  # a JSON path such as $.InclusionRules[3].expression, or the definition's part
    hint: str | None = None

    def text(self, name: str) -> str:
        lines = [f"error[{self.code}]: {self.message}", f" --> {name}: {self.path}"]
        if self.hint:
            lines.append(f"  = hint: {self.hint}")
        return "\n".join(lines)


class AtlasError(CohortQLError):
    """Every problem of one Circe file (import) or definition (export); never a traceback."""

    def __init__(self, name: str, problems: tuple[Problem, ...]):
        super().__init__(Source(name, ""), ())
        self.problems = problems

    def __str__(self) -> str:
        return "\n\n".join(problem.text(self.source.name) for problem in self.problems)

    def to_dicts(self) -> list[dict]:
        return [
            {"code": p.code, "message": p.message, "file": self.source.name, "json_path": p.path, "hint": p.hint}
            for p in self.problems
        ]
