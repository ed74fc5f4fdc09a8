"""Spark, the engine interface on a Spark session: a catalog database or a directory of Parquet tables.

The same statements as on the SQLAlchemy engines, in the same order: the input rows become
temporary views, the concept sets are materialised once as the cached view `cq_codeset`, and
the one-pass query runs with bind parameters. Only its result (counts by rule mask and strata)
is collected to the driver. Nothing is ever written to the CDM: temporary views and the cache
of one session are all cohortql creates. Ctrl-C and the time limit cancel the run's job group.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlglot
from sqlglot import exp

from cohortql.execute import progress
from cohortql.execute.cancel import Cancellable
from cohortql.execute.engine import EngineSettings, check_schemas
from cohortql.execute.errors import DatabaseError, out_of_time
from cohortql.execute.spark_url import SparkLocation, parse_spark_url
from cohortql.execute.target import Target
from cohortql.fixtures import ddl_statements
from cohortql.render import SqlStatement, TempTable
from cohortql.transpile import transpile
from cohortql.transpile.transpiler import CANONICAL

_TABLE_NAME = re.compile(r"CREATE TABLE (\w+)", re.IGNORECASE)
_QUIET_LOG = (Path(__file__).parent / "spark_log4j2.properties").as_uri()


SETTINGS = EngineSettings(
    dialect="spark", no_explain_hint="Spark shows each query's plan in its web UI", nulls_first=True  # ASC NULLS FIRST
)


class SparkEngine:
    """The engine interface on a Spark session; Ctrl-C and the time limit cancel the run's job group."""

    settings = SETTINGS

    @contextmanager
    def connect(self, target: Target, cancellable: Cancellable) -> Iterator[SparkRun]:
        location = parse_spark_url(target.url)
        session = _new_session(location)
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException

        run = SparkRun(session, location)
        with _job_group(session, target.timeout_seconds, cancellable) as expired:
            try:
                check_schemas(target, session.catalog.databaseExists, noun="database",
                              hint="check --cdm-schema / --vocab-schema")
                yield run
            except (PySparkException, Py4JError) as error:
                if expired.is_set():
                    raise out_of_time(target.timeout_seconds) from None
                raise _explain(error, target.cdm_schema) from None
            finally:
                run.release()


class SparkRun:
    """An `EngineSession` on a fresh Spark session: temporary views and cached frames only."""

    def __init__(self, session, location: SparkLocation):
        self._session = session
        self._location = location
        self._cached: list = []
        self._registered: set[str] = set()


    def stage_inputs(self, tables: Sequence[TempTable]) -> None:
        for table in tables:
            schema = ", ".join(f"{name} {_spark_type(kind)}" for name, kind in table.columns)
            self._session.createDataFrame(list(table.rows), schema=schema).createOrReplaceTempView(table.name)

    def stage_concept_sets(self, codesets: SqlStatement) -> None:
        # cq_codeset is small: cached, Spark knows its size and broadcasts it to every join
        _cache_view(self._session, "cq_codeset", self._query(codesets), self._cached)

    def start_reading(self) -> None:
        """Nothing to switch: cohortql only creates temporary views and never writes through Spark."""

    def fetch(self, statement: SqlStatement) -> list[tuple]:
        return [tuple(row) for row in self._query(statement).collect()]

    def explain(self, statement: SqlStatement) -> str:
        raise SETTINGS.no_executed_plan()

    def release(self) -> None:
        for frame in self._cached:
            frame.unpersist()

    def _query(self, statement: SqlStatement):
        if self._location.parquet_dir:
            self._register_parquet(_tables_read(statement) - self._registered)
        return _query(self._session, statement, self._cached)

    def _register_parquet(self, tables: set[str]) -> None:
        """Each CDM table the query reads, `root/<table>.parquet` (a file, or a directory as Spark
        writes them) or `root/<table>/`, as a view. Spark resolves `root`: on a cluster, in its file system.
        """
        from pyspark.errors import AnalysisException

        root = self._location.parquet_dir
        for table in (t for t in cdm_tables() if t in tables):
            for path in (f"{root}/{table}.parquet", f"{root}/{table}"):
                try:
                    frame = self._session.read.parquet(path)
                except AnalysisException as error:
                    if "PATH_NOT_FOUND" in str(error) or "Path does not exist" in str(error):
                        continue
                    raise
                frame.createOrReplaceTempView(table)
                self._registered.add(table)
                break
        missing = sorted(tables & set(cdm_tables()) - self._registered)
        if missing and not self._registered:
            raise DatabaseError(
                f"no OMOP tables in the Parquet directory {root}",
                "expected one Parquet file (person.parquet) or directory (person/) per table;"
                " `cohortql fixtures generate --out DIR/` writes one",
            )
        if missing:
            raise DatabaseError(
                f"a CDM table is missing in the Parquet directory {root}: {', '.join(missing)}",
                f"expected {missing[0]}.parquet or {missing[0]}/;"
                " `cohortql load SOURCE --parquet DIR` writes every table",
            )


ENGINE = SparkEngine()


def _query(session, statement: SqlStatement, cached: list):
    """The statement as a DataFrame; each of its WITH queries first becomes a temporary view,
    cached when it is read more than once.

    Spark inlines a WITH query wherever it is read and does not use cached data inside one: the
    cached cq_codeset would be recomputed at every join, and `index_events` (two window functions,
    one a global sort) for every criterion. As views, the cache is used, `index_events` is
    computed once, and every criterion joins the very same entry ids.
    """
    tree = sqlglot.parse_one(statement.sql, read=CANONICAL)
    with_ = tree.args.get("with_")
    if with_:
        reads = Counter(table.name for table in tree.find_all(exp.Table) if not table.db)
        for cte in with_.expressions:
            frame = _frame(session, cte.this, statement.params)
            if reads[cte.alias] > 1:
                _cache_view(session, cte.alias, frame, cached)
            else:
                frame.createOrReplaceTempView(cte.alias)
        tree.set("with_", None)
    return _frame(session, tree, statement.params)


def _frame(session, select: exp.Expression, params: dict):
    return session.sql(transpile(select.sql(dialect=CANONICAL), "spark"), args=params or None)


def _cache_view(session, name: str, frame, cached: list) -> None:
    frame = frame.cache()
    cached.append(frame)
    frame.count()  # materialised now, so the next statement sees its true size
    frame.createOrReplaceTempView(name)


def _tables_read(statement: SqlStatement) -> set[str]:
    """The unqualified tables the statement reads (a Parquet CDM's tables are unqualified views)."""
    tree = sqlglot.parse_one(statement.sql, read=CANONICAL)
    return {table.name for table in tree.find_all(exp.Table) if not table.db}


def _new_session(location: SparkLocation):
    """A fresh session on the (possibly shared) Spark context: its own temporary views and settings."""
    # pyspark warns about the pandas version when it starts; cohortql moves no data through pandas.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise DatabaseError("Spark support is not installed", "pip install 'cohortql[spark]'") from None
    options = {"spark.app.name": "cohortql"}
    if location.master:
        options["spark.master"] = location.master
    # A console progress bar would interleave with the report on the terminal.
    options["spark.ui.showConsoleProgress"] = "false"
    # A JVM started here logs errors only (its start-up notices would bury the report); the
    # URL's own spark.driver.extraJavaOptions, applied below, takes precedence.
    options["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={_QUIET_LOG}"
    options.update(location.conf)
    builder = SparkSession.builder
    for key, value in options.items():
        builder = builder.config(key, value)
    from py4j.protocol import Py4JError
    from pyspark import SparkContext
    from pyspark.errors import PySparkException

    # No context yet: this process starts the JVM. (getActiveSession() is per thread, and this
    # runs in the query's worker thread.)
    created = SparkContext._active_spark_context is None
    try:
        if SparkContext._gateway is None:
            _start_jvm(options)
        base = builder.getOrCreate()
    except (PySparkException, Py4JError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else error.__class__.__name__
        raise DatabaseError(
            f"cannot start a Spark session: {first_line}", "check JAVA_HOME (Java 17 or 21) and the spark:// URL"
        ) from None
    if created:
        base.sparkContext.setLogLevel("ERROR")
    _quiet_python_logs()
    session = base.newSession()
    for key, value in location.conf:
        if session.conf.isModifiable(key):
            session.conf.set(key, value)
    return session


def _start_jvm(options: dict[str, str]) -> None:
    """Start the JVM as pyspark would (spark-submit with these settings), its standard error relayed
    to ours less one line: Java's `WARNING: Using incubator modules: jdk.incubator.vector`, printed
    at every start because Spark always adds that module, and no setting turns it off."""
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    reading, writing = os.pipe()

    def relay() -> None:
        with os.fdopen(reading, "rb") as jvm_errors:
            for line in jvm_errors:
                if not line.startswith(b"WARNING: Using incubator modules"):
                    os.write(2, line)

    threading.Thread(target=relay, name="cohortql-jvm-stderr", daemon=True).start()
    try:
        gateway = launch_gateway(SparkConf().setAll(options.items()), popen_kwargs={"stderr": writing})
    finally:
        os.close(writing)  # the JVM holds its own copy
    SparkContext._ensure_initialized(gateway=gateway)  # what SparkContext(gateway=...) does first


def _quiet_python_logs() -> None:
    """pyspark logs every failed query to standard error as a JSON record with the Java stack;
    cohortql reports the failure itself, in one line (`_explain`)."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


class _JobGroup:
    """The Spark jobs of one run (started from this thread), cancelled together."""

    def __init__(self, context):
        self._context = context
        self.id = f"cohortql-{uuid.uuid4().hex}"

    def cancel(self) -> None:
        self._context.cancelJobGroup(self.id)


@contextmanager
def _job_group(session, seconds: int, cancellable: Cancellable) -> Iterator[threading.Event]:
    """The run's jobs as one group, cancelled on Ctrl-C and after `seconds`; the event says it expired.

    Cancelling a job group stops only the jobs running at that moment, so once the time is up
    the group is cancelled again every 0.2 s until the run gives up: a job started in between
    (the run may be between two jobs when the time comes) is stopped too. Ctrl-C repeats its
    cancel the same way (`cancel.py`).
    """
    context = session.sparkContext
    group = _JobGroup(context)
    context.setJobGroup(group.id, "cohortql cohort", interruptOnCancel=True)
    cancellable.watch(group)
    expired = threading.Event()
    finished = threading.Event()

    def watch() -> None:
        if finished.wait(seconds):
            return
        expired.set()
        while not finished.is_set():
            group.cancel()
            finished.wait(0.2)

    watcher = threading.Thread(target=watch, name="cohortql-spark-time-limit", daemon=True)
    watcher.start()
    try:
        with progress.reporting(lambda: _running_stages(context, group.id)):
            yield expired
    finally:
        finished.set()
        watcher.join()
        for key in ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel"):
            context.setLocalProperty(key, None)  # later jobs of this thread are not ours


def _running_stages(context, group_id: str) -> str | None:
    """The run's active stages and their tasks (`stage 4: 37/200 tasks`), for progress on a terminal."""
    tracker = context.statusTracker()
    ours = set(tracker.getJobIdsForGroup(group_id))
    stage_ids = {stage for job in ours if (info := tracker.getJobInfo(job)) for stage in info.stageIds}
    stages = [info for s in sorted(tracker.getActiveStageIds()) if s in stage_ids and (info := tracker.getStageInfo(s))]
    if not stages:
        return None
    names = ", ".join(str(stage.stageId) for stage in stages)
    done = sum(stage.numCompletedTasks for stage in stages)
    total = sum(stage.numTasks for stage in stages)
    return f"stage{'s' if len(stages) > 1 else ''} {names}: {done}/{total} tasks"


def cdm_tables() -> list[str]:
    """The OMOP tables cohortql may read (those of cohortql/fixtures/cdm54.sql)."""
    return [_TABLE_NAME.search(statement)[1].lower() for statement in ddl_statements()]


def _spark_type(sql_type: str) -> str:
    # A Spark DataFrame schema has no VARCHAR(n) (only tables do): text is STRING.
    return "STRING" if sql_type.upper().startswith("VARCHAR") else sql_type


def _explain(error: BaseException, schema: str | None) -> DatabaseError:
    """A Spark error as one line a person can act on (Spark names its error classes in brackets)."""
    text = str(error)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), error.__class__.__name__)
    where = f" in database `{schema}`" if schema else ""
    if "TABLE_OR_VIEW_NOT_FOUND" in text:
        name = re.search(r"`[^ ]*`", first_line)
        return DatabaseError(
            f"a CDM table is missing{where}: {name[0] if name else first_line}",
            "check --cdm-schema / --vocab-schema: that database holds the CDM tables cohortql reads",
        )
    if "SCHEMA_NOT_FOUND" in text:
        name = re.search(r"`[^ ]*`", first_line)
        return DatabaseError(
            f"database not found: {name[0] if name else schema}", "check --cdm-schema / --vocab-schema"
        )
    if "PATH_NOT_FOUND" in text:
        return DatabaseError("a CDM path does not exist", first_line)
    if "Connection refused" in text or "Failed to connect to master" in text:
        return DatabaseError("cannot reach the Spark master", "check the host and port of the spark:// URL")
    return DatabaseError(f"Spark refused the query: {first_line}", None)
