"""Protect stage: raw counts -> a protected result; the only way to build one."""

from cohortql.lazy import lazy_exports

_EXPORTS = {
    "AttritionStep": ".result",
    "Breakdown": ".tables",
    "Cell": ".result",
    "DisclosurePolicy": ".policy",
    "Hierarchy": ".tables",
    "PolicyError": ".policy",
    "ProtectedResult": ".result",
    "ProtectedTable": ".result",
    "TableCell": ".result",
    "protect": ".protector",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
