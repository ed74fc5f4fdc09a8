"""cohortql: cohort feasibility counts on OMOP CDM warehouses, protected before release."""

from cohortql.version import __version__

__all__ = ["__version__", "count"]


def count(definition, db=None, cdm_schema=None, vocab_schema=None, timeout_seconds=None):
    """Count a cohort (path or text) and return the protected result; see `cohortql.api.count`."""
    from cohortql.api import count as _count

    return _count(definition, db, cdm_schema, vocab_schema, timeout_seconds)
