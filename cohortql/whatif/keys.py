"""What each cached vector depends on: its part of the definition, the tables it reads, the CDM.

A key is a digest of the canonical text of the plan nodes a vector is computed from, with every
concept set written out by its contents (ids are positions: adding a set earlier renumbers them),
the identity of the CDM (engine, database, schemas), the data version of every table the vector
reads, and the cache format and cohortql version. Rule names and kinds are not in a test's key:
the client applies them, so renaming, reordering or flipping include/exclude recomputes nothing.
"""

from __future__ import annotations

import hashlib
import json

from cohortql.fingerprint import canonical_part
from cohortql.omop import DOMAINS
from cohortql.resolve import plan as p
from cohortql.version import __version__
from cohortql.whatif.store import FORMAT

# Read by the concept sets, in the order their SQL reads them: the data version reads them first, as
# the one pass does, so a table the user may not read is named the same way by both.
VOCABULARY_TABLES = ("concept_ancestor", "concept", "concept_relationship")
BASE_TABLES = ("observation_period", "person")  # every entry event joins these
STRATA_TABLES = {"site": ("visit_occurrence", "care_site"), "site_group": ("visit_occurrence", "care_site", "location")}
CATALOGUE_TABLES = ("care_site", "location")


def _canonical(value, plan: p.Plan) -> str:
    return json.dumps(canonical_part(value, plan), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _events(test: p.Test) -> list[p.EventQuery]:
    if isinstance(test, p.Occurs):
        return [test.event]
    if isinstance(test, p.AllOf | p.AnyOf | p.AtLeastOf):
        return [event for child in test.children for event in _events(child)]
    if isinstance(test, p.NotTest):
        return _events(test.child)
    return []


def _event_tables(event: p.EventQuery) -> tuple[str, ...]:
    visits = ("visit_occurrence",) if event.visit_concept_ids and event.domain != "visit" else ()
    return (DOMAINS[event.domain].table, *visits)


def entry_tables(plan: p.Plan) -> tuple[str, ...]:
    qualify = _events(plan.entry.qualify.test) if plan.entry.qualify else []
    events = (table for event in (*plan.entry.events, *qualify) for table in _event_tables(event))
    return tuple(dict.fromkeys((*VOCABULARY_TABLES, *events, *BASE_TABLES)))


def test_tables(plan: p.Plan, test: p.Test) -> tuple[str, ...]:
    own = (table for event in _events(test) for table in _event_tables(event))
    return tuple(dict.fromkeys((*entry_tables(plan), *own)))


def stratum_tables(plan: p.Plan, name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*entry_tables(plan), *STRATA_TABLES.get(name, ()))))


class KeyMaker:
    """Digests for one definition on one CDM at one data version."""

    def __init__(self, plan: p.Plan, identity: dict, versions: dict[str, list]):
        self.plan = plan
        self.identity = identity
        self.versions = versions
        self.entry = _canonical(plan.entry, plan)

    def _digest(self, kind: str, parts: dict, tables: tuple[str, ...]) -> str:
        text = json.dumps(
            {
                "format": FORMAT,
                "cohortql": __version__,
                "kind": kind,
                "cdm": self.identity,
                "data": {table: self.versions[table] for table in sorted(tables)},
                **parts,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def entries(self) -> str:
        return self._digest("entries", {"entry": self.entry}, entry_tables(self.plan))

    def test(self, test: p.Test) -> str:
        parts = {"entry": self.entry, "test": _canonical(test, self.plan)}
        return self._digest("test", parts, test_tables(self.plan, test))

    def stratum(self, name: str) -> str:
        return self._digest("stratum", {"entry": self.entry, "stratum": name}, stratum_tables(self.plan, name))

    def catalogue(self) -> str:
        return self._digest("catalogue", {}, CATALOGUE_TABLES)
