"""spark:// URLs become Spark targets (no JVM needed here)."""

from __future__ import annotations

import pytest

from cohortql import pipeline
from cohortql.execute.errors import DatabaseError
from cohortql.execute.runner import explain_cohort
from cohortql.execute.spark import SparkLocation, parse_spark_url
from cohortql.execute.target import resolve_target
from cohortql.render import render
from tests.conftest import EXAMPLES


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("spark://local[*]", SparkLocation("local[*]", None)),
        ("spark://local[4]/data/omop?format=parquet", SparkLocation("local[4]", "/data/omop")),
        ("spark:///data/omop cdm/?format=parquet", SparkLocation(None, "/data/omop cdm")),
        ("spark:///data/omop", SparkLocation(None, "/data/omop")),
        ("spark://", SparkLocation(None, None)),
        ("spark://yarn", SparkLocation("yarn", None)),
        ("spark://master.example.org:7077", SparkLocation("spark://master.example.org:7077", None)),
        (
            "spark://local[*]?spark.sql.shuffle.partitions=64&spark.executor.memory=8g",
            SparkLocation("local[*]", None, (("spark.sql.shuffle.partitions", "64"), ("spark.executor.memory", "8g"))),
        ),
    ],
)
def test_spark_urls(url, location):
    assert parse_spark_url(url) == location


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("spark://local[*]?format=orc", "unsupported CDM format `orc`"),
        ("spark://local[*]?format=parquet", "format=parquet needs a directory"),
        ("spark://local[*]?user=me", "unknown Spark URL option `user`"),
        ("spark:/data", "the Spark URL is not valid"),
    ],
)
def test_bad_spark_urls(url, message):
    with pytest.raises(DatabaseError, match=message):
        parse_spark_url(url)


def test_spark_target_has_no_secrets_in_its_description(tmp_path):
    secret = "AKIA-very-secret"
    target = resolve_target(
        f"spark:///{tmp_path}?format=parquet&spark.hadoop.fs.s3a.secret.key={secret}", timeout_seconds=30
    )
    assert target.dialect == "spark"
    assert target.timeout_seconds == 30
    assert target.description == f"Spark (default master), Parquet CDM at {tmp_path}"
    assert secret not in str(target.to_dict())
    assert parse_spark_url(target.url).parquet_dir == str(tmp_path)


def test_catalog_target_keeps_its_schemas():
    target = resolve_target("spark://local[*]", cdm_schema="omop", vocab_schema="vocab")
    assert (target.dialect, target.cdm_schema, target.vocab_schema) == ("spark", "omop", "vocab")
    assert target.description == "Spark (local[*]), catalog tables"


def test_parquet_directory_has_no_schema(tmp_path):
    with pytest.raises(DatabaseError, match="a Parquet CDM directory has no schemas"):
        resolve_target(f"spark://{tmp_path}?format=parquet", cdm_schema="omop")


def test_no_executed_plan_from_spark():
    """`explain_cohort` (benchmarks, tuning) knows DuckDB's and PostgreSQL's plans only: a clear error, no KeyError."""
    rendered = render(pipeline.compile_source(pipeline.read_source(EXAMPLES[0])).plan, "omop")
    with pytest.raises(DatabaseError, match="no executed plan from spark"):
        explain_cohort(rendered, resolve_target("spark://local[*]", cdm_schema="omop"))
