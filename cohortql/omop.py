"""Facts about the OMOP CDM 5.4 that every stage shares: the event domains and standard concepts.

`DOMAINS` is the one table of event domains. The resolver checks attributes against it, the
templates read their column names from it, explain takes its nouns from it, the loader its
indexes, the ATLAS importer and exporter their Circe names, and the tests their fixtures.
"""

from __future__ import annotations

from dataclasses import dataclass

# A plan's rules are bits of one 64-bit mask (two bits are kept free for sums and signs).
MAX_RULES = 62

# The largest numbers a definition may hold (E135): what the engines store, or what a person can
# mean. Concept ids are BIGINT columns; windows, observation spans, durations and days supply are
# days, and no record lies more than 100 years of days from the index; an age is a human's; an
# occurrence count is of one person's records (a record a minute for two years is ~10^6); values
# are doubles, exact to 15 significant digits.
MAX_CONCEPT_ID = 2**63 - 1
MAX_DAYS = 36525
MAX_AGE = 150
MAX_OCCURRENCES = 1_000_000
MAX_VALUE = 10**15
MAX_VALUE_DIGITS = 15
# No field holds a number of more digits; the parser and the ATLAS reader stop at it.
MAX_NUMBER_DIGITS = 100


@dataclass(frozen=True)
class ConceptColumn:
    """A concept column of a domain's rows that `with WORDS id, ...` filters on."""

    attribute: str  # the attribute key: the CohortQL words joined by "_", e.g. condition_status
    column: str
    circe: str  # the Circe criteria field holding the list of concepts


# Attribute keys other than concept columns, and what they need of a domain.
VALUE_ATTRIBUTES = frozenset({"value", "value_concept", "unit"})  # tables with value_as_number etc.
# Every domain's rows: the record's start date, and its person's age at it and sex.
RECORD_ATTRIBUTES = frozenset({"start_date", "age", "sex"})
# Tables with the normal range of a value (range_low, range_high), and value / range ratios.
RANGE_ATTRIBUTES = ("range_low", "range_high", "range_low_ratio", "range_high_ratio")


@dataclass(frozen=True)
class DomainTable:
    """One event domain: its table, its columns, which attributes apply, its names for people and Circe."""

    word: str  # the CohortQL domain word (condition_era is written `condition era`)
    table: str
    record_id: str  # one value per row (death has none in CDM 5.4: person_id, one death per person)
    concept_id: str
    source_concept_id: str | None
    start_date: str
    end_date: str | None
    type_concept_id: str | None
    visit_id: str | None  # visit_occurrence_id, where the rows are linked to a visit
    noun: str  # what explain calls one row
    circe: str  # the Circe criteria name
    has_value: bool = False  # value_as_number, value_as_concept_id, unit_concept_id
    has_days_supply: bool = False
    has_range: bool = False  # range_low, range_high (the normal range of value_as_number)
    concept_columns: tuple[ConceptColumn, ...] = ()
    # Circe criteria field -> attribute key, where Circe's filter means what ours does (concept
    # columns name theirs). Circe's VisitType on a visit is its visit_type_concept_id, not ours.
    circe_attributes: tuple[tuple[str, str], ...] = ()
    # The vocabulary's domain_id of the concepts recorded in this table (None: eras and death
    # record concepts of another domain's table); `cohortql concepts` counts a concept's records here.
    vocabulary_domain: str | None = None

    def __post_init__(self):
        # Every domain has the start date, age and sex filters: Circe's OccurrenceStartDate, Age and
        # Gender, or on eras EraStartDate and AgeAtStart (the same tests on the era's start date).
        era = self.circe.endswith("Era")
        record = ((("EraStartDate", "start_date"), ("AgeAtStart", "age")) if era else
                  (("OccurrenceStartDate", "start_date"), ("Age", "age")))  # fmt: skip
        ranges = tuple(("".join(w.title() for w in key.split("_")), key) for key in RANGE_ATTRIBUTES)
        object.__setattr__(self, "circe_attributes", (*self.circe_attributes, *record, ("Gender", "sex"),
                                                      *(ranges if self.has_range else ())))  # fmt: skip
        # Every domain with a source concept column has the `source concept` filter (Circe's
        # <Domain>SourceConcept, a concept set's id).
        if self.source_concept_id is not None:
            circe = self.circe.removesuffix("Occurrence").removesuffix("Exposure") + "SourceConcept"
            object.__setattr__(self, "circe_attributes", (*self.circe_attributes, (circe, "source_concept")))
        # Every domain with a type column has the `record type` filter (Circe's <Domain>Type).
        if self.type_concept_id is not None:
            circe = {"VisitOccurrence": "VisitType"}.get(self.circe, self.circe.removesuffix("Occurrence")
                                                          .removesuffix("Exposure") + "Type")  # fmt: skip
            typed = ConceptColumn("record_type", self.type_concept_id, circe)
            object.__setattr__(self, "concept_columns", (*self.concept_columns, typed))

    @property
    def has_visit(self) -> bool:
        return self.visit_id is not None

    @property
    def attributes(self) -> frozenset[str]:
        """The attribute keys that apply to this domain's rows."""
        keys = {c.attribute for c in self.concept_columns} | RECORD_ATTRIBUTES
        if self.has_range:
            keys |= set(RANGE_ATTRIBUTES)
        if self.has_value:
            keys |= VALUE_ATTRIBUTES
        if self.has_visit:
            keys.add("visit_type")
        if self.end_date is not None:
            keys.add("duration")
        if self.has_days_supply:
            keys.add("days_supply")
        if self.source_concept_id is not None:
            keys.add("source_concept")
        return frozenset(keys)

    def concept_column(self, attribute: str) -> ConceptColumn:
        return next(c for c in self.concept_columns if c.attribute == attribute)


# The Circe attributes of the domains whose records carry a value (measurement, observation).
_VALUED_ATTRIBUTES = (("VisitType", "visit_type"), ("ValueAsNumber", "value"), ("Unit", "unit"),
                      ("ValueAsConcept", "value_concept"))

DOMAINS: dict[str, DomainTable] = {
    d.word: d
    for d in (
        DomainTable(
            "condition", "condition_occurrence", "condition_occurrence_id", "condition_concept_id",
            "condition_source_concept_id", "condition_start_date", "condition_end_date",
            "condition_type_concept_id", "visit_occurrence_id", "condition record", "ConditionOccurrence",
            circe_attributes=(("VisitType", "visit_type"),), vocabulary_domain="Condition",
            concept_columns=(
                ConceptColumn("condition_status", "condition_status_concept_id", "ConditionStatus"),
            ),
        ),
        DomainTable(
            "drug", "drug_exposure", "drug_exposure_id", "drug_concept_id", "drug_source_concept_id",
            "drug_exposure_start_date", "drug_exposure_end_date", "drug_type_concept_id", "visit_occurrence_id",
            "drug exposure record", "DrugExposure", has_days_supply=True, vocabulary_domain="Drug",
            circe_attributes=(("VisitType", "visit_type"), ("DaysSupply", "days_supply")),
        ),
        DomainTable(
            "procedure", "procedure_occurrence", "procedure_occurrence_id", "procedure_concept_id",
            "procedure_source_concept_id", "procedure_date", None, "procedure_type_concept_id",
            "visit_occurrence_id", "procedure record", "ProcedureOccurrence", vocabulary_domain="Procedure",
            circe_attributes=(("VisitType", "visit_type"),),
        ),
        DomainTable(
            "measurement", "measurement", "measurement_id", "measurement_concept_id",
            "measurement_source_concept_id", "measurement_date", None, "measurement_type_concept_id",
            "visit_occurrence_id", "measurement record", "Measurement", has_value=True, has_range=True,
            vocabulary_domain="Measurement",
            circe_attributes=_VALUED_ATTRIBUTES,
        ),
        DomainTable(
            "observation", "observation", "observation_id", "observation_concept_id",
            "observation_source_concept_id", "observation_date", None, "observation_type_concept_id",
            "visit_occurrence_id", "observation record", "Observation", has_value=True, vocabulary_domain="Observation",
            circe_attributes=_VALUED_ATTRIBUTES,
        ),
        DomainTable(
            "visit", "visit_occurrence", "visit_occurrence_id", "visit_concept_id", "visit_source_concept_id",
            "visit_start_date", "visit_end_date", "visit_type_concept_id", "visit_occurrence_id", "visit record",
            "VisitOccurrence", circe_attributes=(("VisitLength", "duration"),), vocabulary_domain="Visit",
        ),
        DomainTable(
            "device", "device_exposure", "device_exposure_id", "device_concept_id", "device_source_concept_id",
            "device_exposure_start_date", "device_exposure_end_date", "device_type_concept_id",
            "visit_occurrence_id", "device exposure record", "DeviceExposure", vocabulary_domain="Device",
            circe_attributes=(("VisitType", "visit_type"),),
        ),
        DomainTable(
            "death", "death", "person_id", "cause_concept_id", "cause_source_concept_id", "death_date", None,
            "death_type_concept_id", None, "death record", "Death",
        ),
        DomainTable(
            "condition_era", "condition_era", "condition_era_id", "condition_concept_id", None,
            "condition_era_start_date", "condition_era_end_date", None, None, "condition era record", "ConditionEra",
            circe_attributes=(("EraLength", "duration"),),
        ),
        DomainTable(
            "drug_era", "drug_era", "drug_era_id", "drug_concept_id", None, "drug_era_start_date",
            "drug_era_end_date", None, None, "drug era record", "DrugEra",
            circe_attributes=(("EraLength", "duration"),),
        ),
    )
}

# The domains whose concepts have a table of records (`cohortql concepts search --domain`).
CONCEPT_DOMAINS = {word: d for word, d in DOMAINS.items() if d.vocabulary_domain is not None}

# The id column of each table of records (cdm54.sql declares no keys): one value per row.
RECORD_IDS = {
    "observation_period": "observation_period_id",
    **{d.table: d.record_id for d in DOMAINS.values() if d.record_id != "person_id"},
}

GENDER_CONCEPTS = {"female": 8532, "male": 8507}

# Standard visit concepts (domain Visit).
VISIT_CONCEPTS = {
    "inpatient": 9201,
    "outpatient": 9202,
    "emergency": 9203,
    "inpatient_or_emergency": 262,
    "telehealth": 5083,
}

# UCUM unit symbols -> standard unit concept ids (vocabulary UCUM).
UNIT_CONCEPTS = {
    "%": 8554,
    "g/dL": 8713,
    "g/L": 8636,
    "mg/dL": 8840,
    "mmol/L": 8753,
    "mmol/mol": 9579,
    "umol/L": 8749,
    "pg/mL": 8845,
    "ng/mL": 8842,
    "mL/min/{1.73_m2}": 8117,
    "U/L": 8645,
    "10*9/L": 9444,
    "kg": 9529,
    "kg/m2": 9531,
    "mm[Hg]": 8876,
    "/min": 8541,
}

# Source vocabularies whose codes can be mapped to standard concepts ('Maps to').
SOURCE_VOCABULARIES = frozenset(
    {
        "ICD10CM",
        "ICD9CM",
        "ICD10",
        "ICD9Proc",
        "ICD10PCS",
        "CPT4",
        "HCPCS",
        "NDC",
        "LOINC",
        "SNOMED",
        "Read",
        "ATC",
        "OPCS4",
        "RxNorm",
        "OXMIS",
        "CIEL",
    }
)

BREAKDOWNS = ("site", "site_group", "sex", "age5", "age10", "year", "quarter", "month")


@dataclass(frozen=True)
class Concept:
    """A row of the vocabulary's concept table (no person data)."""

    concept_id: int
    name: str
    domain: str
    vocabulary: str
    concept_class: str
    standard: str | None  # 'S' standard, 'C' classification, None non-standard (a source code)
    code: str
    valid_start: str = "1970-01-01"
    valid_end: str = "2099-12-31"
    invalid_reason: str | None = None  # 'D' deleted, 'U' upgraded

    @property
    def standard_text(self) -> str:
        return {"S": "standard", "C": "classification"}.get(self.standard or "", "non-standard")

    @property
    def validity(self) -> str:
        reason = {"D": "deleted", "U": "upgraded"}.get(self.invalid_reason or "", self.invalid_reason)
        return f"invalid ({reason})" if self.invalid_reason else f"valid {self.valid_start} to {self.valid_end}"

    def to_dict(self) -> dict:
        return {"concept_id": self.concept_id, "name": self.name, "domain": self.domain,
                "vocabulary": self.vocabulary, "concept_class": self.concept_class, "code": self.code,
                "standard": self.standard_text, "valid_start_date": self.valid_start,
                "valid_end_date": self.valid_end, "invalid_reason": self.invalid_reason}
