"""Protect stage: raw counts -> a protected result; the only way to build one."""

from cohortql.protect.policy import DisclosurePolicy, PolicyError
from cohortql.protect.protector import protect
from cohortql.protect.result import AttritionStep, Cell, ProtectedResult, ProtectedTable, TableCell
from cohortql.protect.tables import Breakdown, Hierarchy

__all__ = [
    "AttritionStep",
    "Breakdown",
    "Cell",
    "DisclosurePolicy",
    "Hierarchy",
    "PolicyError",
    "ProtectedResult",
    "ProtectedTable",
    "TableCell",
    "protect",
]
