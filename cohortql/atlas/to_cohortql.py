"""Circe cohort expression -> CohortQL syntax tree, or every feature it cannot count the same way.

Each mapping below is what Circe's query builder (ohdsi-circepy, the port of circe-be's
CohortExpressionQueryBuilder and criteria builders) generates; docs/atlas.md lists them.
Anything else is a problem with its JSON path; nothing is dropped or approximated, except the
features listed in IGNORED, which cannot change who is counted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from cohortql.atlas.circe_json import CirceFile
from cohortql.atlas.errors import Problem
from cohortql.omop import DOMAINS, GENDER_CONCEPTS, MAX_RULES, RANGE_ATTRIBUTES, UNIT_CONCEPTS, VISIT_CONCEPTS
from cohortql.parse import ast

# Top-level parts that only move cohort end dates or merge eras (the person counts and the
# inclusion statistics are computed before them), and why.
IGNORED = {
    "EndStrategy": "sets cohort end dates only",
    "CensoringCriteria": "censoring events move cohort end dates only (every event keeps an end date)",
    "CollapseSettings": "merges cohort eras; a person's count is unchanged",
    "ExpressionLimit": "keeps one of a person's included events; persons are unchanged",
    "QualifiedLimit": "applies only after AdditionalCriteria, which are absent here",
}
_KNOWN_TOP = {"ConceptSets", "PrimaryCriteria", "AdditionalCriteria", "InclusionRules", "CensorWindow",
              "cdmVersionRange", "Title", "cohortql", *IGNORED}  # fmt: skip

_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=", "!eq": "!="}
_SEXES = {concept_id: name for name, concept_id in GENDER_CONCEPTS.items()}
# Concept ids CohortQL has a word for; the importer writes the word.
_UNIT_SYMBOLS = {concept_id: symbol for symbol, concept_id in UNIT_CONCEPTS.items()}
_VISIT_NAMES = {concept_id: name for name, concept_id in VISIT_CONCEPTS.items()}
_BY_CIRCE = {table.circe: word for word, table in DOMAINS.items()}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@lru_cache(maxsize=1)
def circe_fields() -> dict[str, frozenset[str]]:
    """Criteria type -> the attribute names Circe knows (lower case), from circe_fields.json."""
    data = json.loads(Path(__file__).with_name("circe_fields.json").read_text(encoding="utf-8"))
    return {kind: frozenset(name.lower() for name in names) for kind, names in data["criteria"].items()}


@dataclass(frozen=True)
class Ignored:
    """A Circe field given but passed over: it cannot change a count (the reason is from IGNORED)."""

    feature: str
    path: str
    why: str


@dataclass(frozen=True)
class Imported:
    """What an import made: the definition, the Circe fields it passed over, the rules' descriptions."""

    definition: ast.Definition
    ignored: tuple[Ignored, ...]
    descriptions: tuple[str, ...]  # each rule's description ("" for none), in rule order


def _given(value) -> bool:
    """Circe skips a field that is null, false, empty or a range without an operator."""
    if isinstance(value, dict) and set(value) <= {"Op", "Value", "Extent"}:
        return value.get("Op") is not None
    return value not in (None, False, [], {}, "")


def set_name(text: str, taken: set[str], keywords: frozenset[str]) -> str:
    """A valid, unique CohortQL name for a concept-set name."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")[:60] or "Concepts"
    if name[0].isdigit():
        name = "C_" + name
    if name.lower() in keywords:
        name += "_set"
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name}_{n}", n + 1
    taken.add(unique)
    return unique


def _one_line(text) -> str:
    return " ".join(str(text).split())


class _Importer:
    def __init__(self, circe: CirceFile, keywords: frozenset[str]):
        self.expression = circe.expression
        self.root = circe.root
        self.name = circe.name
        self.keywords = keywords
        self.problems: list[Problem] = []
        self.ignored: list[Ignored] = []
        self.codesets: dict[int, str] = {}  # Circe codeset id -> CohortQL set name
        self.empty_codesets: set[int] = set()
        self.descriptions: list[str] = []
        self.taken: set[str] = set()  # concept-set names given
        self.value_sets: dict[tuple[int, ...], ast.ConceptSet] = {}  # ValueAsConcept lists, as sets
        self.plain_sets: dict[tuple[int, ...], str] = {}  # concept sets of plain concept ids, by their ids
        self.nesting = 0  # how many CorrelatedCriteria of a criterion enclose what is read (windows: `it`)

    def problem(self, code: str, message: str, path: str, hint: str | None = None) -> None:
        self.problems.append(Problem(code, message, path, hint))

    def unsupported(self, feature: str, path: str, hint: str | None = None) -> None:
        self.problem("E303", f"not supported yet: {feature}", path, hint or "see docs/atlas.md for what imports")

    def objects(self, items: list, path: str, key: str, kind: type, message: str):
        """(i, its path, item) for each item of `items` that is an object whose `key` is a `kind`; the
        others are problems (`message`) and skipped."""
        for i, item in enumerate(items):
            where = f"{path}[{i}]"
            if isinstance(item, dict) and isinstance(item.get(key), kind):
                yield i, where, item
            else:
                self.problem("E302", message, where)

    def field(self, body: dict, key: str, path: str, kind: type, default=None):
        value = body.get(key, default)
        if value is not None and not isinstance(value, kind):
            self.problem("E302", f"`{key}` should be a {kind.__name__}", f"{path}.{key}")
            return default
        return value

    # ---- top level ----
    def run(self) -> ast.Definition | None:
        e, root = self.expression, self.root
        for key in e:
            if key not in _KNOWN_TOP:
                self.problem("E304", f"unknown Circe field `{key}`", f"{root}.{key}", "is it from a newer Circe?")
            elif key in IGNORED and _given(e[key]) and key != "QualifiedLimit":
                self.ignored.append(Ignored(key, f"{root}.{key}", IGNORED[key]))
        censor = e.get("CensorWindow")
        if isinstance(censor, dict) and (censor.get("StartDate") or censor.get("EndDate")):
            self.unsupported("CensorWindow (drops cohort periods outside a date window)", f"{root}.CensorWindow")
        extra = e.get("cohortql") if isinstance(e.get("cohortql"), dict) else {}
        statements: list[ast.Statement] = self.metadata(extra)
        statements += self.concept_sets(self.field(e, "ConceptSets", root, list, []) or [])
        later = self.entry(e["PrimaryCriteria"], e.get("AdditionalCriteria"), e.get("QualifiedLimit"))
        later += self.rules(self.field(e, "InclusionRules", root, list, []) or [])
        statements += [*self.value_sets.values(), *later]
        breakdown = extra.get("breakdown")
        if isinstance(breakdown, list) and breakdown:
            statements.append(ast.Breakdown(tuple(ast.Name(str(d)) for d in breakdown)))
        return None if self.problems else ast.Definition(tuple(statements))

    def metadata(self, extra: dict) -> list[ast.Meta]:
        title = self.name or self.expression.get("Title")
        metas = [ast.Meta("title", _one_line(title))] if isinstance(title, str) and title.strip() else []
        for key in ("protocol", "sponsor"):
            if isinstance(extra.get(key), str):
                metas.append(ast.Meta(key, _one_line(extra[key])))
        return metas

    def concept_sets(self, sets: list) -> list[ast.ConceptSet]:
        taken = self.taken
        statements = []
        for _, path, item in self.objects(sets, f"{self.root}.ConceptSets", "id", int,
                                          "a concept set needs an integer `id`"):
            expression = item.get("expression") or {}
            items = expression.get("items") if isinstance(expression, dict) else None
            concepts = []
            for j, entry in enumerate(items or []):
                concept = self.concept_item(entry, f"{path}.expression.items[{j}]")
                if concept is not None:
                    concepts.append(concept)
            if not any(isinstance(c, ast.ConceptInclude) for c in concepts):
                self.empty_codesets.add(item["id"])
                continue
            name = set_name(str(item.get("name") or f"Concepts_{item['id']}"), taken, self.keywords)
            self.codesets[item["id"]] = name
            statements.append(ast.ConceptSet(ast.Name(name), tuple(concepts)))
            if all(isinstance(c, ast.ConceptInclude) and not c.descendants for c in concepts):
                self.plain_sets.setdefault(tuple(sorted({c.concept_id.value for c in concepts})), name)
        return statements

    def concept_item(self, entry, path: str) -> ast.ConceptItem | None:
        concept = entry.get("concept") if isinstance(entry, dict) else None
        concept_id = concept.get("CONCEPT_ID") if isinstance(concept, dict) else None
        if not isinstance(concept_id, int) or isinstance(concept_id, bool) or concept_id <= 0:
            self.problem("E302", "a concept set item needs a positive integer CONCEPT_ID", path)
            return None
        if entry.get("includeMapped"):
            self.unsupported("includeMapped (source concepts mapped to this concept)", f"{path}.includeMapped")
        label = concept.get("CONCEPT_NAME")
        label = _one_line(label) if isinstance(label, str) and label.strip() else None
        node = ast.ConceptExclude if entry.get("isExcluded") else ast.ConceptInclude
        return node(ast.Int(concept_id), label, bool(entry.get("includeDescendants")))

    def codeset(self, codeset_id, path: str) -> ast.Name | None:
        if codeset_id in self.codesets:
            return ast.Name(self.codesets[codeset_id])
        if codeset_id in self.empty_codesets:
            self.unsupported(f"concept set {codeset_id} selects no concepts (Circe matches no record)", path)
        else:
            self.problem("E305", f"concept set {codeset_id} is referenced but not defined", path,
                         "every CodesetId must be the id of one of the ConceptSets")  # fmt: skip
        return None

    # ---- entry ----
    def entry(self, primary: dict, additional, qualified) -> list[ast.Statement]:
        path = f"{self.root}.PrimaryCriteria"
        criteria = self.field(primary, "CriteriaList", path, list, []) or []
        if not criteria:
            self.problem("E302", "the entry has no criteria", f"{path}.CriteriaList")
            return []
        limit = (primary.get("PrimaryCriteriaLimit") or {}).get("Type") or "First"
        if str(limit).upper() == "LAST":
            self.unsupported("the latest event per person (PrimaryCriteriaLimit Last)", f"{path}.PrimaryCriteriaLimit")
        mode = "all" if str(limit).upper() == "ALL" else "earliest"
        qualified_limit = str((qualified or {}).get("Type") or "First").upper()
        qualify = None
        if additional is not None:
            where = f"{self.root}.AdditionalCriteria"
            if not isinstance(additional, dict):
                self.problem("E302", "`AdditionalCriteria` should be a criteria group", where)
            elif not _group_members(additional):
                # An empty group keeps every event, but the qualified limit then applies.
                if qualified_limit != "ALL":
                    mode = "earliest"
            elif qualified_limit == "LAST":
                self.unsupported("the latest qualifying event per person (QualifiedLimit Last)",
                                 f"{self.root}.QualifiedLimit")  # fmt: skip
            else:
                criterion = self.group(additional, where)
                if criterion is not None:
                    qualify = ast.Qualify("all" if qualified_limit == "ALL" else "earliest", criterion)
        found = [self.event(c, f"{path}.CriteriaList[{i}]", entry=True) for i, c in enumerate(criteria)]
        firsts = {first for _, first in found}
        if len(firsts) > 1:
            self.unsupported("alternative entry events of which only some are first-ever (First)",
                             f"{path}.CriteriaList")  # fmt: skip
        elif firsts == {True}:
            if mode == "all" and len(found) > 1:
                self.unsupported("every first-ever record of several entry events (First with limit All)",
                                 f"{path}.PrimaryCriteriaLimit")  # fmt: skip
            mode = "first"
        statements: list[ast.Statement] = []
        if all(event is not None for event, _ in found):
            statements.append(ast.Entry(mode, tuple(event for event, _ in found)))
        window = primary.get("ObservationWindow") or {}
        spans = []
        for key, direction in (("PriorDays", "before"), ("PostDays", "after")):
            days = window.get(key) or 0
            if not isinstance(days, int) or days < 0:
                self.problem("E302", f"`{key}` should be a non-negative integer", f"{path}.ObservationWindow.{key}")
            elif days:
                spans.append(ast.ObservationSpan(ast.Int(days), direction))
        if spans:
            statements.append(ast.Observation(tuple(spans)))
        if qualify is not None:
            statements.append(qualify)
        return statements

    # ---- events ----
    def event(self, criterion, path: str, entry: bool = False) -> tuple[ast.Event | None, bool]:
        """The event of one Circe criterion, and whether it asks for the first-ever record."""
        if not isinstance(criterion, dict) or len(criterion) != 1:
            self.problem("E302", "a criterion is an object with one criteria type", path)
            return None, False
        ((kind, body),) = criterion.items()
        path = f"{path}.{kind}"
        if kind not in circe_fields():
            self.problem("E304", f"unknown criteria type `{kind}`", path, "is it from a newer Circe?")
            return None, False
        if kind not in _BY_CIRCE:
            self.unsupported(f"{kind} criteria", path)
            return None, False
        if not isinstance(body, dict):
            self.problem("E302", f"{kind} should be an object", path)
            return None, False
        domain = _BY_CIRCE[kind]
        table = DOMAINS[domain]
        known = circe_fields()[kind]
        circe_attributes = dict(table.circe_attributes)
        concept_columns = {c.circe: c for c in table.concept_columns}
        attributes: list[ast.Attribute] = []
        concept_set, ok, first = None, True, False
        for key, value in body.items():
            where = f"{path}.{key}"
            if key.lower() not in known:
                self.problem("E304", f"unknown {kind} attribute `{key}`", where, "is it from a newer Circe?")
                ok = False
            elif key == "CodesetId":
                if value is not None:
                    concept_set = self.codeset(value, where)
                    ok = ok and concept_set is not None
            elif circe_attributes.get(key) == "source_concept":  # a codeset id, 0 included
                if value is not None:
                    source = self.codeset(value, where)
                    ok = ok and source is not None
                    attributes.append(ast.SourceConceptFilter(source))
            elif not _given(value):
                continue
            elif key.endswith("Exclude") and not _given(body.get(key.removesuffix("Exclude"))):
                continue  # Circe reads an exclusion flag only with its list of concepts
            elif key == "CorrelatedCriteria":
                nested = self.nested(value, where)
                ok = ok and nested is not None
                attributes.append(nested)
            elif key == "First":
                first = True  # the entry's mode on an entry event, `first ever` on any other
            elif key in circe_attributes:
                attribute = self.attribute(circe_attributes[key], value, where)
                ok = ok and attribute is not None
                attributes.append(attribute)
            elif key in concept_columns:
                concepts = self.concepts(value, where)
                ok = ok and bool(concepts)
                attributes.append(ast.ConceptColumnFilter(concept_columns[key].attribute, concepts))
            else:
                self.unsupported(f"{key} on {kind}", where)
                ok = False
        event = ast.Event(domain, concept_set, tuple(attributes), first=first and not entry)
        return (event if ok else None), first

    def nested(self, group, path: str) -> ast.NestedCriterion | None:
        """A criterion's CorrelatedCriteria: a group about each of its records (Circe keeps only
        records in an observation period, as CohortQL's nested criterion does)."""
        if not isinstance(group, dict):
            self.problem("E302", "CorrelatedCriteria should be a criteria group", path)
            return None
        self.nesting += 1
        criterion = self.group(group, path)
        self.nesting -= 1
        return None if criterion is None else ast.NestedCriterion(criterion)

    def concepts(self, value, path: str) -> tuple[ast.AttributeConcept, ...]:
        if not isinstance(value, list):
            self.problem("E302", "should be a list of concepts", path)
            return ()
        out = []
        for i, concept in enumerate(value):
            concept_id = concept.get("CONCEPT_ID") if isinstance(concept, dict) else None
            if not isinstance(concept_id, int) or concept_id <= 0:
                self.problem("E302", "a concept needs a positive integer CONCEPT_ID", f"{path}[{i}]")
                return ()
            label = concept.get("CONCEPT_NAME")
            out.append(ast.AttributeConcept(ast.Int(concept_id), _one_line(label) if label else None))
        return tuple(out)

    def attribute(self, key: str, value, path: str) -> ast.Attribute | None:
        if key == "visit_type":
            concepts = self.concepts(value, path)
            if len(concepts) > 1:
                self.unsupported("several visit types in one filter", path)
                return None
            if not concepts:
                return None
            concept_id = concepts[0].concept_id.value
            return ast.VisitTypeFilter(_VISIT_NAMES.get(concept_id, concept_id))
        if key == "value_concept":
            concepts = self.concepts(value, path)
            return ast.ValueConceptFilter(self.value_set(concepts)) if concepts else None
        if key == "unit":
            ids = [c.concept_id.value for c in self.concepts(value, path)]
            return ast.UnitFilter(tuple(ast.Unit(_UNIT_SYMBOLS.get(i, i)) for i in ids)) if ids else None
        if key == "start_date":
            date = self.date_range(value, path)
            return None if date is None else ast.StartDateFilter(date)
        if key == "sex":
            concepts = self.concepts(value, path)
            if len(concepts) > 1:
                self.unsupported("several genders in one filter", path)
                return None
            sex = self.sex({"CONCEPT_ID": concepts[0].concept_id.value}, f"{path}[0]") if concepts else None
            return None if sex is None else ast.SexFilter(sex.value)
        comparison = self.comparison(value, path, decimal=key in ("value", *RANGE_ATTRIBUTES))
        if comparison is None:
            return None
        if key in RANGE_ATTRIBUTES:
            return ast.RangeFilter(key, comparison)
        node = {"value": ast.ValueFilter, "duration": ast.DurationFilter, "days_supply": ast.DaysSupplyFilter,
                "age": ast.AgeFilter}[key]  # fmt: skip
        return node(comparison)

    def value_set(self, concepts: tuple[ast.AttributeConcept, ...]) -> ast.Name:
        """The concept set (no descendants) of a Circe ValueAsConcept list: a set of the definition with
        exactly those concepts, else a new one, one per distinct list."""
        key = tuple(sorted({c.concept_id.value for c in concepts}))
        if key in self.plain_sets:  # a concept set of the definition says the same (as export writes it)
            return ast.Name(self.plain_sets[key])
        if key not in self.value_sets:
            name = set_name(f"Value_{concepts[0].label or key[0]}", self.taken, self.keywords)
            items = tuple(ast.ConceptInclude(c.concept_id, c.label, False) for c in concepts)
            self.value_sets[key] = ast.ConceptSet(ast.Name(name), items)
        return self.value_sets[key].name

    def comparison(self, value, path: str, decimal: bool) -> ast.Comparison | None:
        """A Circe NumericRange; Circe truncates integer ranges to whole numbers, and writes the others
        with 4 decimals (Java's `%.4f`, rounding half up)."""
        op = str(value.get("Op", "")).lower() if isinstance(value, dict) else ""

        def number(key: str) -> ast.Number | None:
            raw = value.get(key)
            if not isinstance(raw, int | float) or isinstance(raw, bool):
                self.problem("E302", f"`{key}` should be a number", f"{path}.{key}")
                return None
            if not decimal:
                return ast.Number(Decimal(int(raw)))
            number = Decimal(str(raw))
            if number.as_tuple().exponent < -4:
                number = number.quantize(Decimal("0.0001"), ROUND_HALF_UP)
            return ast.Number(number)

        if op == "bt":
            low, high = number("Value"), number("Extent")
            if low is None or high is None:
                return None
            if low.value > high.value:
                self.unsupported("an empty range (Value above Extent: Circe matches nothing)", path)
                return None
            return ast.Between(low, high)
        if op in _OPS:
            n = number("Value")
            return None if n is None else ast.Compare(_OPS[op], n)
        if op == "!bt":
            self.unsupported("a range outside two numbers (!bt)", f"{path}.Op")
        else:
            self.problem("E304", f"unknown range operator `{value.get('Op') if isinstance(value, dict) else value}`",
                         f"{path}.Op")  # fmt: skip
        return None

    # ---- rules and criteria ----
    def rules(self, rules: list) -> list[ast.Rule]:
        if len(rules) > MAX_RULES:
            self.unsupported(f"more than {MAX_RULES} inclusion rules", f"{self.root}.InclusionRules")
            return []
        names: set[str] = set()
        out = []
        for i, path, rule in self.objects(rules, f"{self.root}.InclusionRules", "expression", dict,
                                          "an inclusion rule needs an `expression` object"):
            name = _one_line(rule.get("name") or "") or f"rule {i + 1}"
            unique, n = name, 2
            while unique in names:
                unique, n = f"{name} ({n})", n + 1
            names.add(unique)
            group = rule["expression"]
            kind, criterion = "include", None
            if str(group.get("Type", "")).upper() == "AT_MOST" and group.get("Count") == 0:
                kind, criterion = "exclude", self.members_as_one(group, f"{path}.expression", "any")
            else:
                criterion = self.group(group, f"{path}.expression")
            if criterion is not None:
                out.append(ast.Rule(kind, unique, criterion))
                description = rule.get("description")
                self.descriptions.append(description.strip() if isinstance(description, str) else "")
        return out

    def members(self, group: dict, path: str) -> list[ast.Criterion] | None:
        out: list[ast.Criterion | None] = []
        for i, cc in enumerate(group.get("CriteriaList") or []):
            out.append(self.correlated(cc, f"{path}.CriteriaList[{i}]"))
        for i, dc in enumerate(group.get("DemographicCriteriaList") or []):
            out.append(self.demographic(dc, f"{path}.DemographicCriteriaList[{i}]"))
        for i, g in enumerate(group.get("Groups") or []):
            out.append(self.group(g, f"{path}.Groups[{i}]") if isinstance(g, dict) else None)
        if not out:
            self.unsupported("an empty criteria group (Circe lets every event pass)", path)
            return None
        return None if any(m is None for m in out) else out

    def members_as_one(self, group: dict, path: str, kind: str) -> ast.Criterion | None:
        members = self.members(group, path)
        if members is None:
            return None
        return members[0] if len(members) == 1 else ast.Group(kind, None, tuple(members))

    def group(self, group: dict, path: str) -> ast.Criterion | None:
        kind = str(group.get("Type") or "ALL").upper()
        count = group.get("Count")
        if kind in ("ALL", "ANY"):
            return self.members_as_one(group, path, kind.lower())
        if kind not in ("AT_LEAST", "AT_MOST"):
            self.problem("E304", f"unknown group type `{group.get('Type')}`", f"{path}.Type")
            return None
        if not isinstance(count, int):
            self.problem("E302", "`Count` should be an integer", f"{path}.Count")
            return None
        members = self.members(group, path)
        if members is None:
            return None
        n = len(members)
        if kind == "AT_LEAST":
            if not 1 <= count <= n:
                self.unsupported(f"at least {count} of {n} criteria (always {'true' if count < 1 else 'false'})",
                                 f"{path}.Count")  # fmt: skip
                return None
            return members[0] if n == 1 else ast.Group("at_least", ast.Int(count), tuple(members))
        if count == 0:
            return ast.Not(members[0] if n == 1 else ast.Group("any", None, tuple(members)))
        if count >= n:
            self.unsupported(f"at most {count} of {n} criteria (always true)", f"{path}.Count")
            return None
        return ast.Not(ast.Group("at_least", ast.Int(count + 1), tuple(members)))

    def correlated(self, cc, path: str) -> ast.Criterion | None:
        if not isinstance(cc, dict):
            self.problem("E302", "a criterion should be an object", path)
            return None
        for key in cc:
            if key not in ("Criteria", "StartWindow", "EndWindow", "RestrictVisit", "IgnoreObservationPeriod",
                           "Occurrence"):  # fmt: skip
                self.problem("E304", f"unknown correlated-criteria field `{key}`", f"{path}.{key}")
        event, _ = self.event(cc.get("Criteria"), f"{path}.Criteria")
        if cc.get("RestrictVisit"):
            self.unsupported("the same visit as the index (RestrictVisit)", f"{path}.RestrictVisit")
            return None
        ignore = bool(cc.get("IgnoreObservationPeriod"))
        window = self.windows(cc.get("StartWindow"), cc.get("EndWindow"), ignore, path)
        occurrence = self.occurrence(cc.get("Occurrence"), f"{path}.Occurrence")
        if event is None or window is None or occurrence is None:
            return None
        return ast.EventCriterion(occurrence, event, window)

    def occurrence(self, occurrence, path: str) -> ast.Occurrence | None:
        if occurrence is None:
            return ast.Occurrence("at_least", ast.Int(1), False)
        kind = {0: "exactly", 1: "at_most", 2: "at_least"}.get(occurrence.get("Type"))
        count = occurrence.get("Count")
        if kind is None or not isinstance(count, int) or count < 0:
            self.problem("E302", "an occurrence needs Type 0, 1 or 2 and a non-negative Count", path)
            return None
        distinct = bool(occurrence.get("IsDistinct"))
        if distinct and str(occurrence.get("CountColumn") or "DOMAIN_CONCEPT").upper() != "START_DATE":
            self.unsupported("a count of distinct concepts (IsDistinct without CountColumn START_DATE)", path)
            return None
        if kind == "at_most" and count == 0 and not distinct:
            return ast.Occurrence("none", None, False)
        return ast.Occurrence(kind, ast.Int(count), distinct)

    def windows(self, start_window, end_window, ignore: bool, path: str) -> ast.Window | None:
        """A correlated criterion's StartWindow and EndWindow (both must hold). Circe tests a
        StartWindow on the record's start unless UseEventEnd, an EndWindow on its end unless
        UseEventEnd is false (a missing UseEventEnd there means true)."""
        first = self.window(start_window, ignore, f"{path}.StartWindow", event_end=False)
        if not _given(end_window):
            return None if first is None else ast.Window(first[0], ignore, date="ending" if first[1] else None)
        second = self.window(end_window, ignore, f"{path}.EndWindow", event_end=True)
        if first is None or second is None:
            return None
        if start_window is None:  # the EndWindow alone
            return ast.Window(second[0], ignore, date="ending" if second[1] else None)
        words = {True: "ending", False: "starting"}
        return ast.Window(first[0], ignore, date=words[first[1]], also=ast.DatedSpan(words[second[1]], second[0]))

    def window(self, window, ignore: bool, path: str, event_end: bool) -> tuple[ast.WindowSpan, bool] | None:
        """The window's span and whether it is on the record's end date (`event_end`: Circe's default)."""
        if window is None:
            return ast.AnyTime(None), False
        on_end = window.get("UseEventEnd")
        on_end = event_end if on_end is None else bool(on_end)
        start = self.bound(window.get("Start"), ignore, -1, f"{path}.Start")
        end = self.bound(window.get("End"), ignore, 1, f"{path}.End")
        if start is False or end is False:
            return None
        if start is not None and end is not None and start > end:
            self.unsupported("a window that starts after it ends (Circe matches nothing)", path)
            return None
        anchor = "it" if self.nesting else "index"
        return _window_span(start, end, anchor + (" end" if window.get("UseIndexEnd") else "")), on_end

    def bound(self, bound, ignore: bool, open_coeff: int, path: str) -> int | None | bool:
        """Days from the index; None when open; False when Circe's bound has no CohortQL form."""
        bound = bound or {}
        days, coeff = bound.get("Days"), bound.get("Coeff", open_coeff)
        if days is None:
            if ignore or coeff == open_coeff:
                return None
            edge = "start" if coeff == -1 else "end"
            self.unsupported(f"a window bound at the observation period's {edge} on this side", path)
            return False
        if not isinstance(days, int) or coeff not in (-1, 1):
            self.problem("E302", "a window bound needs integer Days and Coeff -1 or 1", path)
            return False
        return coeff * days

    def demographic(self, dc, path: str) -> ast.Criterion | None:
        if not isinstance(dc, dict):
            self.problem("E302", "a demographic criterion should be an object", path)
            return None
        parts: list[ast.Criterion] = []
        ok = True
        for key, value in dc.items():
            where = f"{path}.{key}"
            if not _given(value):
                continue
            if key == "Age":
                comparison = self.comparison(value, where, decimal=False)
                ok = ok and comparison is not None
                parts.append(ast.Age(comparison))
            elif key == "Gender":
                sexes = [self.sex(c, f"{where}[{i}]") for i, c in enumerate(value if isinstance(value, list) else [])]
                ok = ok and bool(sexes) and all(sexes)
                parts.append(sexes[0] if len(sexes) == 1 else ast.Group("any", None, tuple(sexes)))
            elif key == "OccurrenceStartDate" and self.nesting:
                self.unsupported("OccurrenceStartDate in the CorrelatedCriteria of a criterion", where)
                ok = False
            elif key == "OccurrenceStartDate":
                date = self.date_range(value, where)
                ok = ok and date is not None
                parts.append(ast.IndexDate(date))
            elif key.lower() in ("race", "racecs", "ethnicity", "ethnicitycs", "gendercs", "occurrenceenddate"):
                self.unsupported(f"{key} in demographic criteria", where)
                ok = False
            else:
                self.problem("E304", f"unknown demographic attribute `{key}`", where, "is it from a newer Circe?")
                ok = False
        if ok and not parts:
            self.unsupported("an empty demographic criterion (Circe lets every event pass)", path)
        if not ok or not parts:
            return None
        return parts[0] if len(parts) == 1 else ast.Group("all", None, tuple(parts))

    def sex(self, concept, path: str) -> ast.Sex | None:
        concept_id = concept.get("CONCEPT_ID") if isinstance(concept, dict) else None
        if concept_id not in _SEXES:
            self.unsupported(f"gender concept {concept_id} (CohortQL knows {', '.join(map(str, _SEXES))})", path)
            return None
        return ast.Sex(ast.Name(_SEXES[concept_id]))

    def date_range(self, value, path: str) -> ast.DateCompare | ast.DateBetween | None:
        op = str(value.get("Op", "")).lower() if isinstance(value, dict) else ""

        def date(key: str) -> str | None:
            raw = value.get(key)
            if not isinstance(raw, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw[:10]):
                self.problem("E302", f"`{key}` should be a date YYYY-MM-DD", f"{path}.{key}")
                return None
            return raw[:10]

        if op == "bt":
            low, high = date("Value"), date("Extent")
            return None if low is None or high is None else ast.DateBetween(low, high)
        if op in _OPS:
            value_date = date("Value")
            return None if value_date is None else ast.DateCompare(_OPS[op], value_date)
        self.unsupported(f"date range operator `{value.get('Op') if isinstance(value, dict) else value}`", path)
        return None


def _group_members(group: dict) -> int:
    return sum(len(group.get(key) or []) for key in ("CriteriaList", "DemographicCriteriaList", "Groups"))


def _offset(day: int | None, side: str, anchor: str) -> ast.Offset:
    if day is None:
        return ast.Offset(None, "before" if side == "start" else "after", anchor)
    if day == 0:
        return ast.Offset(None, None, anchor)
    return ast.Offset(ast.Int(abs(day)), "before" if day < 0 else "after", anchor)


def _window_span(start: int | None, end: int | None, anchor: str) -> ast.WindowSpan:
    """The plainest CohortQL form of the window [start, end] in days (None: open) from the anchor."""
    if start is None and end is None:
        return ast.AnyTime(None)
    if start is None and end == -1:
        return ast.AnyTime("before", anchor)
    if start == 1 and end is None:
        return ast.AnyTime("after", anchor)
    if start is not None and end is not None:
        if start == end == 0:
            return ast.OnIndex(anchor)
        if end == -1 and start <= -1:
            return ast.Within(ast.Int(-start), "before", anchor)
        if start == 1 and end >= 1:
            return ast.Within(ast.Int(end), "after", anchor)
        if start == -end and end > 0:
            return ast.Around(ast.Int(end), anchor)
    return ast.FromTo(_offset(start, "start", anchor), _offset(end, "end", anchor))


def import_expression(circe: CirceFile, keywords: frozenset[str]) -> Imported | list[Problem]:
    """The syntax tree of a Circe cohort expression, or every problem found."""
    importer = _Importer(circe, keywords)
    definition = importer.run()
    if definition is None:
        return importer.problems
    return Imported(definition, tuple(importer.ignored), tuple(importer.descriptions))


__all__ = ["IGNORED", "Ignored", "Imported", "import_expression", "set_name"]
