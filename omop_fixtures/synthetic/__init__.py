"""Synthetic OMOP CDM 5.4 at hospital scale: deterministic for a seed, generated in SQL by DuckDB.

    from omop_fixtures.synthetic import generate
    generate("cdm.duckdb", persons=100_000, seed=42)    # or "cdm_parquet/" for Parquet files

What the data looks like and how it is made: `people` (persons, observation, diseases),
`visits` (care streams), `events` (records per visit), `eras`, `vocabulary`, `health_system`.
"""

from omop_fixtures.synthetic.generator import DEFAULT_SEED, generate, table_checksums

__all__ = ["DEFAULT_SEED", "generate", "table_checksums"]
