"""OMOP CDM fixtures: DDL, tiny hand-made CDM, synthetic generator."""

from pathlib import Path

# The id column of each table of records (cdm54.sql declares no keys): one value per row.
RECORD_IDS = {
    "observation_period": "observation_period_id",
    "visit_occurrence": "visit_occurrence_id",
    "condition_occurrence": "condition_occurrence_id",
    "drug_exposure": "drug_exposure_id",
    "procedure_occurrence": "procedure_occurrence_id",
    "measurement": "measurement_id",
    "observation": "observation_id",
    "device_exposure": "device_exposure_id",
    "condition_era": "condition_era_id",
    "drug_era": "drug_era_id",
}


def ddl_statements() -> list[str]:
    """The CREATE TABLE statements of cdm54.sql, one per item, without `--` comment lines."""
    text = Path(__file__).with_name("cdm54.sql").read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [statement.strip() for statement in code.split(";") if statement.strip()]
