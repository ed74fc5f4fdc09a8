"""cohortql: cohort feasibility counts on OMOP CDM warehouses, protected before release."""

from cohortql.version import __version__

__all__ = ["__version__", "compare", "count", "impact", "sweep", "what_if"]


def count(definition, **options):
    """Count a cohort (path or text) and return the protected result; see `cohortql.api.count`."""
    from cohortql.api import count as _count

    return _count(definition, **options)


def compare(*definitions, **options):
    """Definitions released side by side as one release; see `cohortql.api.compare`."""
    from cohortql.api import compare as _compare

    return _compare(*definitions, **options)


def what_if(definition, drop=(), set=(), **options):
    """Variants without editing the file; see `cohortql.api.what_if`."""
    from cohortql.api import what_if as _what_if

    return _what_if(definition, drop, set, **options)


def sweep(definition, rule, vary, **options):
    """The final count across values of one number of a rule; see `cohortql.api.sweep`."""
    from cohortql.api import sweep as _sweep

    return _sweep(definition, rule, vary, **options)


def impact(definition, **options):
    """Each rule's impact on the final count; see `cohortql.api.impact`."""
    from cohortql.api import impact as _impact

    return _impact(definition, **options)
