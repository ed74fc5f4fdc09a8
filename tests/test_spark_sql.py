"""The Spark SQL of every example is accepted and runs on a real local Spark session (empty CDM)."""

from __future__ import annotations

import pytest
import sqlglot

from cohortql import pipeline
from cohortql.render import render
from cohortql.transpile import transpile
from omop_fixtures import ddl_statements
from tests.conftest import EXAMPLES, REPO


@pytest.fixture(scope="module")
def empty_spark_cdm(spark):
    spark.sql("CREATE DATABASE IF NOT EXISTS empty_cdm")
    for statement in ddl_statements():
        ddl = sqlglot.transpile(statement, read="postgres", write="spark")[0]
        spark.sql(ddl.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS empty_cdm.", 1))
    return spark


def _spark_type(sql_type: str) -> str:
    return "STRING" if sql_type.startswith("VARCHAR") else sql_type


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_spark_sql_runs(example, empty_spark_cdm):
    spark = empty_spark_cdm
    compiled = pipeline.compile_source(pipeline.read_source(example.relative_to(REPO)))
    rendered = render(compiled.plan, "empty_cdm")
    for table in rendered.inputs:
        schema = ", ".join(f"{name} {_spark_type(kind)}" for name, kind in table.columns)
        spark.createDataFrame(list(table.rows), schema=schema).createOrReplaceTempView(table.name)
    codesets = spark.sql(transpile(rendered.codesets.sql, "spark"), args=rendered.codesets.params or None)
    codesets.createOrReplaceTempView("cq_codeset")
    rows = spark.sql(transpile(rendered.cohort.sql, "spark"), args=rendered.cohort.params).collect()
    assert rows == []
