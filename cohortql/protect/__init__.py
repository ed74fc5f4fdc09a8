"""Protect stage: raw counts -> a protected result; the only way to build one."""

from cohortql.protect.policy import DisclosurePolicy
from cohortql.protect.protector import protect
from cohortql.protect.result import AttritionStep, Cell, ProtectedResult

__all__ = ["AttritionStep", "Cell", "DisclosurePolicy", "ProtectedResult", "protect"]
