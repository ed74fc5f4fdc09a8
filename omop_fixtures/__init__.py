"""OMOP CDM fixtures: DDL, tiny hand-made CDM, synthetic generator."""

from pathlib import Path


def ddl_statements() -> list[str]:
    """The CREATE TABLE statements of cdm54.sql, one per item, without `--` comment lines."""
    text = Path(__file__).with_name("cdm54.sql").read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [statement.strip() for statement in code.split(";") if statement.strip()]
