"""The fingerprint of a plan: a hash of what the definition means, equal for definitions that mean the same.

Governance binds an approval to it, so it must move with every change of meaning and with nothing else.

Not meaning (kept): comments and layout (gone after parsing), concept labels, concept-set names and
the order in which concept sets are declared (a set is referred to by its content, not by its name
or position), and the order of whatever the engine treats as a set: the items of a concept set,
the concept ids of one attribute, the bounds of one comparison (they are a conjunction), the
children of `all of` / `any of` / `at least N of`, the metadata lines. Nor the names of the plan's
Python classes: each kind of node is written as a tag of its own (`KINDS`).

Meaning (changed): every concept id and whether it is included, excluded or taken with its
descendants; every number, date, window and comparison; include vs exclude; the entry and its
observation requirement; the breakdown and the order of its dimensions (the table's layout);
rule names (they label the released numbers); the study metadata (an approval covers one question
asked of one sponsor); and the order of the rules. OHDSI Circe's final cohort does not depend on
rule order (a person must pass every rule), but the attrition it reports, persons left after each
rule in turn, does, and a release carries that attrition: reordering rules changes what is released.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from cohortql.resolve import plan

# A stable tag per kind of node, independent of the class's Python name.
KINDS = {
    plan.Plan: "definition",
    plan.Entry: "entry",
    plan.Qualify: "qualify",
    plan.Rule: "rule",
    plan.EventQuery: "events",
    plan.ConceptItem: "concept",
    plan.SourceCodes: "source codes",
    plan.ConceptFilter: "concept column",
    plan.Bound: "comparison",
    plan.DateBound: "date comparison",
    plan.Window: "window",
    plan.Occurs: "occurrence",
    plan.AgeTest: "age",
    plan.SexTest: "sex",
    plan.IndexDateTest: "index date",
    plan.AllOf: "all of",
    plan.AnyOf: "any of",
    plan.AtLeastOf: "at least",
    plan.NotTest: "not",
}
# Fields whose order carries no meaning: the canonical form sorts them.
UNORDERED = {
    ("definition", "metadata"),
    ("entry", "events"),
    ("events", "value"),
    ("events", "unit_concept_ids"),
    ("events", "visit_concept_ids"),
    ("events", "duration"),
    ("events", "days_supply"),
    ("events", "concept_filters"),
    ("events", "start_date"),
    ("events", "age"),
    ("events", "gender_concept_ids"),
    ("events", "range_low"),
    ("events", "range_high"),
    ("events", "range_low_ratio"),
    ("events", "range_high_ratio"),
    ("concept column", "concept_ids"),
    ("age", "bounds"),
    ("index date", "bounds"),
    ("all of", "children"),
    ("any of", "children"),
    ("at least", "children"),
}
# Fields that refer to a concept set by its position in the plan: replaced by the set's content.
CODESET_REFERENCES = {("events", "codeset_id"), ("events", "value_codeset_id"), ("events", "source_codeset_id")}
# Fields added after fingerprints were first taken: left out when not used (at their default), so
# that a definition that does not use them keeps its fingerprint.
OMITTED_WHEN_EMPTY = {("events", "nested"), ("events", "source_codeset_id"), ("entry", "qualify"),
                      ("window", "event_end"), ("window", "index_end"), ("occurrence", "also"),
                      ("events", "first"), ("events", "start_date"), ("events", "age"),
                      ("events", "gender_concept_ids"), ("events", "range_low"), ("events", "range_high"),
                      ("events", "range_low_ratio"), ("events", "range_high_ratio")}  # fmt: skip


def fingerprint(definition: plan.Plan) -> str:
    text = json.dumps(canonical(definition), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical(definition: plan.Plan) -> dict:
    """The plan as plain JSON values, with everything that is not meaning taken out (see the module)."""
    codesets = [_codeset(codeset) for codeset in definition.codesets]
    return _node(definition, codesets)


def canonical_part(value, definition: plan.Plan):
    """One node of a plan (an entry, a test) in the same canonical form, its concept sets written
    out by content: what the what-if cache keys a vector by."""
    return _node(value, [_codeset(codeset) for codeset in definition.codesets])


def _codeset(codeset: plan.Codeset) -> dict:
    # Neither `id` (its position) nor `name` (for people only): a set is what it selects.
    return {"items": _sorted(_node(item, []) for item in codeset.items),
            "sources": _sorted(_node(source, []) for source in codeset.sources)}


def _node(value, codesets: list[dict]):
    if isinstance(value, tuple):
        return [_node(item, codesets) for item in value]
    if not dataclasses.is_dataclass(value):
        return value
    if type(value) not in KINDS:
        raise TypeError(f"{type(value).__name__} has no fingerprint tag: add it to cohortql.fingerprint.KINDS")
    kind = KINDS[type(value)]
    fields = {}
    for field in dataclasses.fields(value):
        item = getattr(value, field.name)
        if (kind, field.name) in OMITTED_WHEN_EMPTY and item == field.default:
            continue
        if (kind, field.name) in CODESET_REFERENCES:
            fields[field.name] = None if item is None else codesets[item]
        elif kind == "definition" and field.name == "codesets":
            fields[field.name] = _sorted(codesets)
        elif (kind, field.name) in UNORDERED:
            fields[field.name] = _sorted(_node(element, codesets) for element in item)
        else:
            fields[field.name] = _node(item, codesets)
    return {"kind": kind, **fields}


def _sorted(values) -> list:
    return sorted(values, key=lambda value: json.dumps(value, sort_keys=True, ensure_ascii=False))
