"""What an approval is bound to (definition fingerprint, engine, disclosure policy) and the current values.

`active_policy` is the one place governance asks which disclosure policy is in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cohortql import pipeline
from cohortql.diagnostics import Source
from cohortql.execute.target import Target
from cohortql.fingerprint import fingerprint
from cohortql.governance.errors import Refused
from cohortql.protect import DisclosurePolicy, profile
from cohortql.protect.policy import PolicyError
from cohortql.report.records import engine_text, policy_text


def active_policy() -> DisclosurePolicy:
    """The disclosure policy results are protected with now: the profile's, as for `cohortql count`."""
    try:
        return profile.active_policy().policy
    except PolicyError as error:
        hint = "fix the [disclosure] table of the profile"
        raise Refused(f"the disclosure policy cannot be read: {error}", hint) from None


@dataclass(frozen=True)
class Binding:
    fingerprint: str
    engine: dict  # Target.to_dict(): dialect, description (no credentials), schemas
    policy: dict  # DisclosurePolicy.to_dict()

    def mismatches(self, current: Binding) -> list[str]:
        """Why `current` is not what this binding covers; empty when it is."""
        reasons = []
        if current.fingerprint != self.fingerprint:
            reasons.append(
                f"the definition changed: {self.fingerprint} was approved, it is now {current.fingerprint}"
            )
        if current.engine != self.engine:
            reasons.append(f"the engine changed: {engine_text(self.engine)} was approved, "
                           f"this run would use {engine_text(current.engine)}")
        if current.policy != self.policy:
            reasons.append(f"the disclosure policy changed: {policy_text(self.policy)} was approved, "
                           f"the policy in force is {policy_text(current.policy)}")
        return reasons


def engine_of(target: Target) -> dict:
    return target.to_dict()


def compile_text(text: str, name: str) -> pipeline.Compiled:
    """Compile a definition; a definition error is raised as is (the caller shows its diagnostics)."""
    return pipeline.compile_source(Source(name, text))


def compile_file(path: Path) -> pipeline.Compiled:
    """Re-read and compile a definition file; a missing or unreadable file is a refusal."""
    try:
        source = pipeline.read_source(path)
    except pipeline.UnreadableFile as error:
        if error.missing:
            raise Refused(f"the definition file {path} no longer exists", "give it again with --file PATH") from None
        raise Refused(f"the definition file: {error.message}", error.hint or "give it again with --file PATH") from None
    return pipeline.compile_source(source)


def current_binding(compiled: pipeline.Compiled, target: Target) -> Binding:
    return Binding(fingerprint(compiled.plan), engine_of(target), active_policy().to_dict())

