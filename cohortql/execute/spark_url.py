"""spark:// URLs: where the Spark session comes from and where it finds the CDM (no Spark needed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from cohortql.execute.errors import DatabaseError

_URL = re.compile(r"spark://(?P<master>[^/?]*)(?P<path>/[^?]*)?(?:\?(?P<query>.*))?", re.DOTALL)
URL_HINT = "use spark://local[*] (CDM in a catalog database: --cdm-schema), spark:///path/to/omop?format=parquet"


@dataclass(frozen=True)
class SparkLocation:
    """Where the Spark session comes from and where it finds the CDM, parsed from a spark:// URL."""

    master: str | None  # None: whatever spark-submit or an active session configured
    parquet_dir: str | None  # None: tables of the session catalog (--cdm-schema names the database)
    conf: tuple[tuple[str, str], ...] = ()  # spark.* settings for the session

    def describe(self) -> str:
        """For users: never the settings, which may hold storage keys."""
        engine = f"Spark ({self.master or 'default master'})"
        return f"{engine}, Parquet CDM at {self.parquet_dir}" if self.parquet_dir else f"{engine}, catalog tables"


def parse_spark_url(text: str) -> SparkLocation:
    """`spark://MASTER[/PATH][?format=parquet&spark.x=y]`.

    MASTER is `local`, `local[N]`, `local[*]` or `yarn` as they are, another `host:port` a
    standalone master (`spark://host:port`), empty the session spark-submit configured. A PATH
    is a directory of Parquet tables (`format=parquet`, the only format, may be left out).
    """
    match = _URL.fullmatch(text.strip())
    if not match:
        raise DatabaseError("the Spark URL is not valid", URL_HINT)
    master = unquote(match["master"]) or None
    if master and not (master.startswith("local") or master == "yarn"):
        master = f"spark://{master}"
    path = unquote(match["path"] or "").strip("/")
    path = f"/{path}" if path else None  # spark:////data (SQLAlchemy's absolute form) is /data too
    fmt = None
    conf = []
    for key, value in parse_qsl(match["query"] or "", keep_blank_values=True):
        if key == "format":
            fmt = value
        elif key.startswith("spark."):
            conf.append((key, value))
        else:
            raise DatabaseError(f"unknown Spark URL option `{key}`", "options: format=parquet and spark.* settings")
    if fmt not in (None, "parquet"):
        raise DatabaseError(f"unsupported CDM format `{fmt}`", "a CDM directory holds Parquet tables: ?format=parquet")
    if fmt and not path:
        raise DatabaseError("format=parquet needs a directory", "spark:///path/to/omop?format=parquet")
    return SparkLocation(master, path, tuple(conf))
