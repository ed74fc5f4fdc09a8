"""Facts about the OMOP CDM 5.4 that several stages share: event tables and standard concepts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DomainTable:
    """Where an event domain lives and which optional attributes its rows carry."""

    word: str  # the CohortQL domain word
    table: str
    event_id: str
    concept_id: str
    start_date: str
    end_date: str | None
    has_value: bool = False  # value_as_number, value_as_concept_id, unit_concept_id
    has_visit: bool = True  # visit_occurrence_id
    has_days_supply: bool = False


DOMAINS: dict[str, DomainTable] = {
    d.word: d
    for d in (
        DomainTable(
            "condition",
            "condition_occurrence",
            "condition_occurrence_id",
            "condition_concept_id",
            "condition_start_date",
            "condition_end_date",
        ),
        DomainTable(
            "drug",
            "drug_exposure",
            "drug_exposure_id",
            "drug_concept_id",
            "drug_exposure_start_date",
            "drug_exposure_end_date",
            has_days_supply=True,
        ),
        DomainTable(
            "procedure",
            "procedure_occurrence",
            "procedure_occurrence_id",
            "procedure_concept_id",
            "procedure_date",
            None,
        ),
        DomainTable(
            "measurement",
            "measurement",
            "measurement_id",
            "measurement_concept_id",
            "measurement_date",
            None,
            has_value=True,
        ),
        DomainTable(
            "observation",
            "observation",
            "observation_id",
            "observation_concept_id",
            "observation_date",
            None,
            has_value=True,
        ),
        DomainTable(
            "visit", "visit_occurrence", "visit_occurrence_id", "visit_concept_id", "visit_start_date", "visit_end_date"
        ),
        DomainTable(
            "device",
            "device_exposure",
            "device_exposure_id",
            "device_concept_id",
            "device_exposure_start_date",
            "device_exposure_end_date",
        ),
        # death has no event id in CDM 5.4: a person has at most one death record.
        DomainTable("death", "death", "person_id", "cause_concept_id", "death_date", None, has_visit=False),
        DomainTable(
            "condition_era",
            "condition_era",
            "condition_era_id",
            "condition_concept_id",
            "condition_era_start_date",
            "condition_era_end_date",
            has_visit=False,
        ),
        DomainTable(
            "drug_era",
            "drug_era",
            "drug_era_id",
            "drug_concept_id",
            "drug_era_start_date",
            "drug_era_end_date",
            has_visit=False,
        ),
    )
}

# Domains whose rows are meaningful without a concept set ("any visit", "death").
CONCEPT_SET_OPTIONAL = frozenset({"death", "visit"})

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
