"""Protect stage: raw counts -> a protected result; the only way to build one."""

from cohortql.lazy import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    ".policy": ("DisclosurePolicy", "PolicyError"),
    ".protector": ("protect",),
    ".result": ("AttritionStep", "Cell", "ProtectedResult", "ProtectedTable", "TableCell"),
    ".tables": ("Breakdown", "Hierarchy"),
})
