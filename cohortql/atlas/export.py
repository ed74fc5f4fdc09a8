"""A compiled CohortQL definition -> a Circe cohort expression (the JSON ATLAS and ohdsi-circepy read).

It walks the syntax tree (names, labels, how an occurrence was written) beside the plan
(resolved numbers, windows and concept ids), which the resolver builds in the same shape.
The mapping is the importer's read backwards (cohortql/atlas/to_cohortql.py); what has no
Circe form is an E307 problem, never approximated.
"""

from __future__ import annotations

from cohortql.atlas.errors import AtlasError, Problem
from cohortql.omop import DOMAINS, RANGE_ATTRIBUTES
from cohortql.parse import ast
from cohortql.resolve import plan as p

_OPS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "=": "eq", "!=": "!eq"}
_OCCURRENCE_TYPES = {"=": 0, "<=": 1, ">=": 2}


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _range(bounds: tuple) -> dict:
    """A plan's bounds as a Circe NumericRange or DateRange (the resolver writes `between` as >=, <=)."""
    if len(bounds) == 2:
        low, high = bounds
        return {"Op": "bt", "Value": _value(low.value), "Extent": _value(high.value)}
    (bound,) = bounds
    return {"Op": _OPS[bound.op], "Value": _value(bound.value)}


def _value(value):
    return value if isinstance(value, str) else _number(value)


def _concepts(ids, labels: dict[int, str] | None = None) -> list[dict]:
    labels = labels or {}
    return [{"CONCEPT_ID": i, "CONCEPT_NAME": labels.get(i, "")} for i in ids]


class _Exporter:
    def __init__(self, definition: ast.Definition, resolved: p.Plan, name: str):
        self.definition = definition
        self.plan = resolved
        self.name = name
        self.problems: list[Problem] = []

    def unsupported(self, what: str, where: str) -> None:
        self.problems.append(Problem("E307", f"no Circe form for {what}", where, "see docs/atlas.md"))

    def run(self) -> dict:
        statements = self.definition.statements
        metadata = dict(self.plan.metadata)
        expression: dict = {"cdmVersionRange": ">=5.0.0"}
        if "title" in metadata:
            expression["Title"] = metadata["title"]
        expression["ConceptSets"] = [self.concept_set(s) for s in statements if isinstance(s, ast.ConceptSet)]
        ast_entry = next(s for s in statements if isinstance(s, ast.Entry))
        entry = self.plan.entry
        limit = "All" if entry.mode == "all" else "First"
        expression["PrimaryCriteria"] = {
            "CriteriaList": [
                self.event(node, query, "entry", first=entry.mode == "first")
                for node, query in zip(ast_entry.events, entry.events, strict=True)
            ],
            "ObservationWindow": {"PriorDays": entry.prior_days, "PostDays": entry.post_days},
            "PrimaryCriteriaLimit": {"Type": limit},
        }
        ast_qualify = next((s for s in statements if isinstance(s, ast.Qualify)), None)
        if entry.qualify is not None and ast_qualify is not None:
            expression["AdditionalCriteria"] = self.as_group(ast_qualify.criterion, entry.qualify.test, "qualify")
            expression["QualifiedLimit"] = {"Type": "First" if ast_qualify.mode == "earliest" else "All"}
        else:
            expression["QualifiedLimit"] = {"Type": limit}
        expression["ExpressionLimit"] = {"Type": limit}
        ast_rules = [s for s in statements if isinstance(s, ast.Rule)]
        expression["InclusionRules"] = [
            {"name": rule.name, "expression": self.rule(node, rule)}
            for node, rule in zip(ast_rules, self.plan.rules, strict=True)
        ]
        expression["CensoringCriteria"] = []
        expression["CollapseSettings"] = {"CollapseType": "ERA", "EraPad": 0}
        extra = {key: metadata[key] for key in ("protocol", "sponsor") if key in metadata}
        if self.plan.breakdown:
            extra["breakdown"] = list(self.plan.breakdown)
        if extra:
            expression["cohortql"] = extra  # Circe ignores it; the importer reads it back
        return expression

    def concept_set(self, node: ast.ConceptSet) -> dict:
        codeset_id = next(c.id for c in self.plan.codesets if c.name == node.name.text)
        items = []
        for item in node.items:
            if isinstance(item, ast.SourceCodes):
                what = f"source codes ({item.vocabulary.text} {item.pattern!r})"
                self.unsupported(what, f"concepts {node.name.text}")
                continue
            items.append({
                "concept": {"CONCEPT_ID": item.concept_id.value, "CONCEPT_NAME": item.label or ""},
                "isExcluded": isinstance(item, ast.ConceptExclude),
                "includeDescendants": item.descendants,
                "includeMapped": False,
            })  # fmt: skip
        return {"id": codeset_id, "name": node.name.text, "expression": {"items": items}}

    # ---- events ----
    def event(self, node: ast.Event, query: p.EventQuery, where: str, first: bool = False) -> dict:
        table = DOMAINS[query.domain]
        circe_field = {key: circe for circe, key in table.circe_attributes}
        body: dict = {}
        if query.codeset_id is not None:
            body["CodesetId"] = query.codeset_id
        if first or query.first:
            body["First"] = True
        labels = {c.concept_id.value: c.label for a in node.attributes if isinstance(a, ast.ConceptColumnFilter)
                  for c in a.concepts if c.label}  # fmt: skip
        values = {
            "value": query.value and _range(query.value),
            "value_concept": query.value_codeset_id is not None and self.value_concepts(query.value_codeset_id, where),
            "source_concept": query.source_codeset_id,
            "unit": query.unit_concept_ids and _concepts(query.unit_concept_ids),
            "visit_type": query.visit_concept_ids and _concepts(query.visit_concept_ids),
            "duration": query.duration and _range(query.duration),
            "days_supply": query.days_supply and _range(query.days_supply),
            "start_date": query.start_date and _range(query.start_date),
            "age": query.age and self.age(query.age, where),
            "sex": query.gender_concept_ids and _concepts(query.gender_concept_ids),
            **{key: getattr(query, key) and _range(getattr(query, key)) for key in RANGE_ATTRIBUTES},
        }
        if query.nested is not None:
            nested = next(a for a in node.attributes if isinstance(a, ast.NestedCriterion))
            body["CorrelatedCriteria"] = self.as_group(nested.criterion, query.nested, where)
        for key in query.attribute_keys():
            if key == "value_concept" and values[key] is None:
                continue  # reported by value_concepts
            if key in values and key in circe_field:
                body[circe_field[key]] = values[key]
            elif key not in values:  # a concept column
                concept_filter = next(f for f in query.concept_filters if f.attribute == key)
                body[table.concept_column(key).circe] = _concepts(concept_filter.concept_ids, labels)
            else:
                self.unsupported(f"`{key.replace('_', ' ')}` on {query.domain.replace('_', ' ')}", where)
        return {table.circe: body}

    def age(self, bounds: tuple[p.Bound, ...], where: str) -> dict:
        """Circe truncates an age range to whole years, so only whole ages have its form."""
        if any(not float(b.value).is_integer() for b in bounds):
            self.unsupported("an age that is not a whole number of years (Circe truncates it)", where)
        return _range(bounds)

    def value_concepts(self, codeset_id: int, where: str) -> list[dict] | None:
        """Circe lists value concepts: only a set of plain concept ids has that form."""
        codeset = self.plan.codeset(codeset_id)
        if codeset.sources or any(i.descendants or i.excluded for i in codeset.items):
            self.unsupported(f"value concept set {codeset.name} (descendants, exclusions or source codes)", where)
            return None
        sets = [s for s in self.definition.statements if isinstance(s, ast.ConceptSet)]
        node = next(s for s in sets if s.name.text == codeset.name)
        labels = {i.concept_id.value: i.label for i in node.items if i.label}
        return _concepts([i.concept_id for i in codeset.items], labels)

    # ---- rules ----
    def rule(self, node: ast.Rule, rule: p.Rule) -> dict:
        where = f'rule "{rule.name}"'
        if rule.kind == "exclude":
            children = (
                list(zip(node.criterion.children, rule.test.children, strict=True))
                if isinstance(rule.test, p.AnyOf) else [(node.criterion, rule.test)]
            )  # fmt: skip
            return self.group("AT_MOST", 0, children, where)
        return self.as_group(node.criterion, rule.test, where)

    def as_group(self, node: ast.Criterion, test: p.Test, where: str) -> dict:
        if isinstance(test, p.AllOf | p.AnyOf | p.AtLeastOf):
            kind = {p.AllOf: "ALL", p.AnyOf: "ANY", p.AtLeastOf: "AT_LEAST"}[type(test)]
            count = test.count if isinstance(test, p.AtLeastOf) else None
            return self.group(kind, count, list(zip(node.children, test.children, strict=True)), where)
        if isinstance(test, p.NotTest):
            return self.group("AT_MOST", 0, [(node.child, test.child)], where)
        return self.group("ALL", None, [(node, test)], where)

    def group(self, kind: str, count: int | None, members: list, where: str) -> dict:
        group: dict = {"Type": kind, "CriteriaList": [], "DemographicCriteriaList": [], "Groups": []}
        if count is not None:
            group["Count"] = count
        for node, test in members:
            if isinstance(test, p.Occurs):
                group["CriteriaList"].append(self.correlated(node, test, where))
            elif isinstance(test, p.AgeTest):
                group["DemographicCriteriaList"].append({"Age": self.age(test.bounds, where)})
            elif isinstance(test, p.SexTest):
                group["DemographicCriteriaList"].append({"Gender": _concepts([test.concept_id])})
            elif isinstance(test, p.IndexDateTest):
                group["DemographicCriteriaList"].append({"OccurrenceStartDate": _range(test.bounds)})
            else:
                group["Groups"].append(self.as_group(node, test, where))
        return group

    def correlated(self, node: ast.EventCriterion, test: p.Occurs, where: str) -> dict:
        def bound(day: int | None, open_coeff: int) -> dict:
            if day is None:
                return {"Coeff": open_coeff}
            return {"Days": abs(day), "Coeff": -1 if day < 0 else 1}

        def window(w: p.Window) -> dict:
            return {"Start": bound(w.start, -1), "End": bound(w.end, 1), "UseIndexEnd": w.index_end,
                    "UseEventEnd": w.event_end}  # fmt: skip

        written_no = node.occurrence is not None and node.occurrence.kind == "none"
        occurrence = {"Type": 1 if written_no else _OCCURRENCE_TYPES[test.op], "Count": test.count,
                      "IsDistinct": test.distinct_days}  # fmt: skip
        if test.distinct_days:
            occurrence["CountColumn"] = "START_DATE"
        correlated = {
            "Criteria": self.event(node.event, test.event, where),
            "StartWindow": window(test.window),
            "RestrictVisit": False,
            "IgnoreObservationPeriod": not test.window.within_observation,
            "Occurrence": occurrence,
        }
        if test.also is not None:
            correlated["EndWindow"] = window(test.also)
        return correlated


def export_circe(definition: ast.Definition, resolved: p.Plan, name: str) -> dict:
    """The Circe cohort expression of a compiled definition; raises `AtlasError` for what has no Circe form."""
    exporter = _Exporter(definition, resolved, name)
    expression = exporter.run()
    if exporter.problems:
        raise AtlasError(name, tuple(exporter.problems))
    return expression


__all__ = ["export_circe"]
