"""What a breakdown request means for protection: its tables, the site hierarchy, every stratum value.

The strata the query aggregates by are render's (cohortql.render.strata); this reads the raw counts.

Site groups come from the care site hierarchy (a site's location, see sql_templates/strata.sql.j2):
a table by site carries each group's subtotal, and is protected with it, so a group's total
minus its visible sites cannot reveal a suppressed site.
"""

from __future__ import annotations

from cohortql.counts import RawCounts
from cohortql.protect.tables import Breakdown, Hierarchy

# Values every population can take, listed even when no one has them.
_KNOWN_VALUES = {"sex": ("female", "male")}


def breakdown_inputs(
    dimensions: tuple[str, ...], raw: RawCounts, site_catalogue: list[tuple]
) -> tuple[tuple[Breakdown, ...], tuple[Hierarchy, ...], dict[str, tuple]]:
    """The table to release (one table over all dimensions, margins included), the hierarchy, the values."""
    if not dimensions:
        return (), (), {}
    values = {name: _KNOWN_VALUES.get(name, ()) for name in raw.strata}
    hierarchies: tuple[Hierarchy, ...] = ()
    if "site" in raw.strata:
        site, group = raw.strata.index("site"), raw.strata.index("site_group")
        parent_of = {leaf: parent for leaf, parent in site_catalogue}
        for _mask, strata, _persons, _entries in raw.rows:
            parent_of.setdefault(strata[site], strata[group])
        values["site"] = tuple(parent_of)
        hierarchies = (Hierarchy.of("site", "site_group", parent_of),)
    dimensions = tuple(dict.fromkeys(dimensions))
    if "site" in dimensions:  # a table by site already carries every site group's subtotal
        dimensions = tuple(d for d in dimensions if d != "site_group")
    # With a hierarchy, a table by site_group is a table by the site stratum's parents.
    return (Breakdown(dimensions),), hierarchies, values
