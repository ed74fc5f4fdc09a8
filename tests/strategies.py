"""Hypothesis strategies for random but syntactically valid CohortQL syntax trees.

`definitions()` draws any tree the grammar can produce. Names come from a small alphabet and
rules reuse the concept-set names, so a few resolve; most do not, which is fine for the
formatter and parser. `resolvable_definitions()` draws trees that pass every resolver check,
so the pipeline runs through to a plan.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from hypothesis import strategies as st

from cohortql.diagnostics import UNSAFE_IN_SOURCE
from cohortql.omop import (
    BREAKDOWNS,
    GENDER_CONCEPTS,
    MAX_AGE,
    MAX_DAYS,
    RANGE_ATTRIBUTES,
    UNIT_CONCEPTS,
    VISIT_CONCEPTS,
)
from cohortql.omop import DOMAINS as DOMAIN_TABLES
from cohortql.parse import ast

# Never keywords, but some look like one (`Index`, `index_date`) or start a multi-word
# terminal (`distinct`, `ignoring`), which the lexer must still read as names.
NAMES = ("T2DM", "HbA1c", "eGFR", "A", "x_1", "Index", "index_date", "distinct", "ignoring", "period")
DOMAINS = ("condition", "condition_era", "drug", "drug_era", "procedure", "measurement",
           "observation", "visit", "device", "death")
DIRECTIONS = ("before", "after")
COMPARISON_OPS = (">=", "<=", "!=", ">", "<", "=")

names = st.sampled_from(NAMES).map(ast.Name)

# Any text a CohortQL string can hold: everything but a line break (no escape exists for it) and
# the bidirectional and control characters a definition may not hold anywhere (E007).
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
safe_characters = st.one_of(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=_BIDI + "\u2028\u2029"), st.just("\t")
)
assert all(UNSAFE_IN_SOURCE.fullmatch(char) for char in _BIDI)  # the characters E007 rejects
strings = st.one_of(
    st.text(safe_characters, max_size=12),
    st.text(st.sampled_from('ab "\\#:,(){}%/'), max_size=8),
)

ints = st.one_of(st.integers(0, 400), st.integers(-10, 10), st.integers(-(10**12), 10**12)).map(ast.Int)

# Decimals as the parser builds them: an integer, or digits with a fixed number of places
# (`0.0000001` included, whose str() is the unparsable `1E-7`).
numbers = st.builds(
    lambda digits, places: ast.Number(Decimal(digits).scaleb(-places)),
    st.integers(-(10**6), 10**6),
    st.integers(0, 8),
)
dates = st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True)

comparisons = st.one_of(
    st.builds(ast.Compare, st.sampled_from(COMPARISON_OPS), numbers),
    st.builds(ast.Between, numbers, numbers),
)

# ---- statements without criteria -------------------------------------------------------------

metas = st.builds(ast.Meta, st.sampled_from(("title", "protocol", "sponsor")), strings)

concept_items = st.one_of(
    st.builds(ast.ConceptInclude, ints, st.none() | strings, st.booleans()),
    st.builds(ast.ConceptExclude, ints, st.none() | strings, st.booleans()),
    st.builds(ast.SourceCodes, st.sampled_from(("ICD10CM", "SNOMED", "Read", "x_1")).map(ast.Name), strings),
)
concept_sets = st.builds(ast.ConceptSet, names, st.lists(concept_items, max_size=4).map(tuple))

attributes = st.one_of(
    st.builds(ast.ValueFilter, comparisons),
    st.builds(ast.ValueConceptFilter, names),
    st.builds(
        ast.UnitFilter,
        st.lists(st.builds(ast.Unit, st.one_of(strings, st.integers(-5, 10**6))), min_size=1, max_size=3).map(tuple),
    ),
    st.builds(
        ast.VisitTypeFilter, st.one_of(st.sampled_from(("inpatient", "outpatient", "Index")), st.integers(-5, 10**5))
    ),
    st.builds(ast.DurationFilter, comparisons),
    st.builds(ast.DaysSupplyFilter, comparisons),
    st.builds(
        ast.ConceptColumnFilter,
        st.just("condition_status"),
        st.lists(st.builds(ast.AttributeConcept, ints, st.none() | strings), min_size=1, max_size=3).map(tuple),
    ),
)
events = st.builds(
    ast.Event, st.sampled_from(DOMAINS), st.none() | names, st.lists(attributes, max_size=3).map(tuple)
)

entries = st.builds(
    ast.Entry, st.sampled_from(("first", "earliest", "all")), st.lists(events, min_size=1, max_size=2).map(tuple)
)
observation_spans = st.builds(ast.ObservationSpan, ints, st.sampled_from(DIRECTIONS))
observations = st.builds(ast.Observation, st.lists(observation_spans, min_size=1, max_size=2).map(tuple))
dimensions = st.sampled_from(("site", "sex", "age10", "year", "region")).map(ast.Name)
breakdowns = st.builds(ast.Breakdown, st.lists(dimensions, min_size=1, max_size=3).map(tuple))

# ---- windows and criteria ----------------------------------------------------------------------

offsets = st.one_of(st.just(ast.Offset(None, None)), st.builds(ast.Offset, ints, st.sampled_from(DIRECTIONS)))
window_spans = st.one_of(
    st.builds(ast.Within, ints, st.sampled_from(DIRECTIONS)),
    st.builds(ast.Around, ints),
    st.builds(ast.FromTo, offsets, offsets),
    st.builds(ast.AnyTime, st.sampled_from((None, *DIRECTIONS))),
    st.just(ast.OnIndex()),
)
windows = st.builds(ast.Window, window_spans, st.booleans())

occurrences = st.one_of(
    st.none(),
    st.just(ast.Occurrence("none", None, False)),
    st.builds(ast.Occurrence, st.sampled_from(("at_least", "at_most", "exactly")), ints, st.booleans()),
)

leaf_criteria = st.one_of(
    st.builds(ast.EventCriterion, occurrences, events, windows),
    st.builds(ast.Age, comparisons),
    st.builds(ast.Sex, st.sampled_from(("female", "male", "other", "Index")).map(ast.Name)),
    st.builds(
        ast.IndexDate,
        st.one_of(
            st.builds(ast.DateCompare, st.sampled_from(COMPARISON_OPS), dates), st.builds(ast.DateBetween, dates, dates)
        ),
    ),
)


def criteria(depth: int = 3) -> st.SearchStrategy[ast.Criterion]:
    """A criterion whose groups and negations nest at most `depth` levels."""
    if depth == 0:
        return leaf_criteria
    inner = criteria(depth - 1)
    children = st.lists(inner, min_size=1, max_size=4).map(tuple)
    groups = st.one_of(
        st.builds(ast.Group, st.sampled_from(("any", "all")), st.none(), children),
        st.builds(ast.Group, st.just("at_least"), ints, children),
    )
    return st.one_of(leaf_criteria, groups, st.builds(ast.Not, inner))


rules = st.builds(ast.Rule, st.sampled_from(("include", "exclude")), strings, criteria())


@st.composite
def definitions(draw) -> ast.Definition:
    """Mostly in the usual order (metadata, concepts, entry, rules, breakdown); sometimes shuffled."""
    statements = [
        *draw(st.lists(metas, max_size=3)),
        *draw(st.lists(concept_sets, max_size=4)),
        *draw(st.lists(entries, min_size=0, max_size=2)),
        *draw(st.lists(observations, max_size=1)),
        *draw(st.lists(rules, max_size=5)),
        *draw(st.lists(breakdowns, max_size=1)),
    ]
    if draw(st.integers(0, 4)) == 0:
        statements = draw(st.permutations(statements))
    return ast.Definition(tuple(statements))


# ---- comments ------------------------------------------------------------------------------------

comment_texts = st.text(safe_characters, max_size=15).map(lambda text: "#" + text)


@st.composite
def with_comments(draw, text: str) -> tuple[str, list[str]]:
    """`text` with comments added on their own lines and at line ends, plus some blank lines.

    Returns the new text and the comment texts in the order they appear.
    """
    out: list[str] = []
    comments: list[str] = []
    # Split on line feeds only: a string may hold other characters that `splitlines` breaks at.
    for line in [*text.split("\n")[:-1], None]:
        for _ in range(draw(st.integers(0, 2))):
            choice = draw(st.integers(0, 3))
            if choice == 0:
                out.append("")
            else:
                comment = draw(comment_texts)
                out.append(" " * draw(st.integers(0, 3)) + comment)
                comments.append(comment)
        if line is None:
            break
        if draw(st.booleans()):
            comment = draw(comment_texts)
            line += " " * draw(st.integers(0, 2)) + comment
            comments.append(comment)
        out.append(line)
    return "\n".join(out) + "\n", comments


# ---- definitions that resolve ------------------------------------------------------------------------
# Built to pass every resolver check, so the whole pipeline runs through to a plan.

positive_ints = st.integers(1, 10**9).map(ast.Int)
non_negative_ints = st.integers(0, 3000).map(ast.Int)


@st.composite
def ordered_pair(draw, values):
    low, high = sorted((draw(values), draw(values)), key=lambda v: getattr(v, "value", v))
    return low, high


def valid_comparisons(minimum: int | None = None, maximum: int | None = None) -> st.SearchStrategy[ast.Comparison]:
    """Comparisons of numbers within the field's range (cohortql.omop: MAX_DAYS, MAX_AGE, ...)."""
    values = numbers if minimum is None else numbers.filter(lambda n: n.value >= minimum)
    if maximum is not None:
        low = -maximum if minimum is None else minimum
        values = st.integers(0, 8).flatmap(
            lambda places: st.integers(low * 10**places, maximum * 10**places).map(
                lambda digits: ast.Number(Decimal(digits).scaleb(-places))
            )
        )
    return st.one_of(
        st.builds(ast.Compare, st.sampled_from(COMPARISON_OPS), values),
        ordered_pair(values).map(lambda pair: ast.Between(*pair)),
    )


@st.composite
def valid_events(draw, concept_sets: tuple[str, ...]) -> ast.Event:
    table = draw(st.sampled_from(sorted(DOMAIN_TABLES)))
    flags = DOMAIN_TABLES[table]
    concept_set = None if draw(st.booleans()) else ast.Name(draw(st.sampled_from(concept_sets)))
    kinds = sorted(flags.attributes)
    attributes = []
    for kind in draw(st.lists(st.sampled_from(kinds), unique=True, max_size=3)) if kinds else []:
        if kind == "value":
            attributes.append(ast.ValueFilter(draw(valid_comparisons())))
        elif kind == "value_concept":
            attributes.append(ast.ValueConceptFilter(ast.Name(draw(st.sampled_from(concept_sets)))))
        elif kind == "source_concept":
            attributes.append(ast.SourceConceptFilter(ast.Name(draw(st.sampled_from(concept_sets)))))
        elif kind == "unit":
            unit = st.one_of(st.sampled_from(sorted(UNIT_CONCEPTS)), st.integers(1, 10**6)).map(ast.Unit)
            attributes.append(ast.UnitFilter(tuple(draw(st.lists(unit, min_size=1, max_size=3)))))
        elif kind == "visit_type":
            visit = st.one_of(st.sampled_from(sorted(VISIT_CONCEPTS)), st.integers(1, 10**6))
            attributes.append(ast.VisitTypeFilter(draw(visit)))
        elif kind == "duration":
            attributes.append(ast.DurationFilter(draw(valid_comparisons(maximum=MAX_DAYS))))
        elif kind == "days_supply":
            attributes.append(ast.DaysSupplyFilter(draw(valid_comparisons(maximum=MAX_DAYS))))
        elif kind == "start_date":
            attributes.append(ast.StartDateFilter(draw(valid_date_comparisons)))
        elif kind == "age":
            attributes.append(ast.AgeFilter(draw(valid_comparisons(minimum=0, maximum=MAX_AGE))))
        elif kind == "sex":
            attributes.append(ast.SexFilter(ast.Name(draw(st.sampled_from(sorted(GENDER_CONCEPTS))))))
        elif kind in RANGE_ATTRIBUTES:
            attributes.append(ast.RangeFilter(kind, draw(valid_comparisons())))
        else:  # a concept column
            ids = st.lists(st.integers(1, 10**9).map(ast.Int), min_size=1, max_size=3)
            attributes.append(ast.ConceptColumnFilter(kind, tuple(ast.AttributeConcept(i, None) for i in draw(ids))))
    return ast.Event(table, concept_set, tuple(attributes))


valid_offsets = st.one_of(
    st.just(ast.Offset(None, None)), st.builds(ast.Offset, non_negative_ints, st.sampled_from(DIRECTIONS))
)


def _offset_day(offset: ast.Offset) -> int:
    if offset.days is None:
        return 0
    return -offset.days.value if offset.direction == "before" else offset.days.value


valid_windows = st.builds(
    ast.Window,
    st.one_of(
        st.builds(ast.Within, st.integers(1, MAX_DAYS).map(ast.Int), st.sampled_from(DIRECTIONS)),
        st.builds(ast.Around, non_negative_ints),
        st.builds(lambda a, b: ast.FromTo(*sorted((a, b), key=_offset_day)), valid_offsets, valid_offsets),
        st.builds(ast.AnyTime, st.sampled_from((None, *DIRECTIONS))),
        st.just(ast.OnIndex()),
    ),
    st.booleans(),
)
valid_occurrences = st.one_of(
    st.none(),
    st.just(ast.Occurrence("none", None, False)),
    st.builds(ast.Occurrence, st.sampled_from(("at_least", "at_most", "exactly")), non_negative_ints, st.booleans()),
)
valid_dates = st.dates().map(lambda d: d.isoformat()).filter(lambda text: len(text) == 10)
valid_date_comparisons = st.one_of(
    st.builds(ast.DateCompare, st.sampled_from(COMPARISON_OPS), valid_dates),
    ordered_pair(valid_dates).map(lambda pair: ast.DateBetween(*pair)),
)


@cache
def valid_criteria(concept_sets: tuple[str, ...], depth: int = 3) -> st.SearchStrategy[ast.Criterion]:
    """Cached: building a nested strategy anew for every rule drawn would dominate the run time."""
    leaves = st.one_of(
        st.builds(ast.EventCriterion, valid_occurrences, valid_events(concept_sets), valid_windows),
        st.builds(ast.Age, valid_comparisons(minimum=0, maximum=MAX_AGE)),
        st.builds(ast.Sex, st.sampled_from(sorted(GENDER_CONCEPTS)).map(ast.Name)),
        st.builds(ast.IndexDate, valid_date_comparisons),
    )
    if depth == 0:
        return leaves
    inner = valid_criteria(concept_sets, depth - 1)
    children = st.lists(inner, min_size=1, max_size=3).map(tuple)
    groups = st.one_of(
        st.builds(ast.Group, st.sampled_from(("any", "all")), st.none(), children),
        children.flatmap(
            lambda kids: st.integers(1, len(kids)).map(lambda n: ast.Group("at_least", ast.Int(n), kids))
        ),
    )
    return st.one_of(leaves, leaves, groups, st.builds(ast.Not, inner))


@st.composite
def resolvable_definitions(draw) -> ast.Definition:
    """A definition that passes the resolver: every name defined, every number in range."""
    set_names = tuple(draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True)))
    items = st.lists(
        st.builds(ast.ConceptInclude, positive_ints, st.none() | strings, st.booleans()), min_size=1, max_size=3
    )
    keys = draw(st.lists(st.sampled_from(("title", "protocol", "sponsor")), unique=True))
    statements: list[ast.Statement] = [ast.Meta(key, draw(strings)) for key in keys]
    statements += [ast.ConceptSet(ast.Name(name), tuple(draw(items))) for name in set_names]
    modes = st.sampled_from(("first", "earliest", "all"))
    alternatives = st.lists(valid_events(set_names), min_size=1, max_size=2).map(tuple)
    statements.append(ast.Entry(draw(modes), draw(alternatives)))
    directions = draw(st.lists(st.sampled_from(DIRECTIONS), unique=True, max_size=2))
    if directions:
        statements.append(ast.Observation(tuple(ast.ObservationSpan(draw(non_negative_ints), d) for d in directions)))
    rule_names = draw(st.lists(strings.filter(str.strip), unique=True, max_size=5))
    statements += [
        ast.Rule(draw(st.sampled_from(("include", "exclude"))), name, draw(valid_criteria(set_names)))
        for name in rule_names
    ]
    dimensions = draw(st.lists(st.sampled_from(BREAKDOWNS), unique=True, max_size=2))
    if dimensions:
        statements.append(ast.Breakdown(tuple(ast.Name(d) for d in dimensions)))
    return ast.Definition(tuple(statements))
