"""Deterministic pseudo-randomness inside DuckDB SQL: every draw is a hash of (row key, salt, seed).

No random generator state exists, so the result does not depend on the order rows are produced,
on the number of threads or on the chunking: the same seed gives the same data. Each use site
has its own salt (an integer literal) so that draws are independent.

Macros (temporary, per connection):
- `u(key, salt)`: uniform in [0, 1) from the top 53 bits of `hash(key, salt, seed)`;
- `v(key, salt)`: a second, independent uniform (a fourth hash argument);
- `nrm(key, salt)`: standard normal (Box-Muller on u and v);
- `sig(x)`: the logistic function, for risk models;
- `od(op_start, p1_end, gap, t)`: the calendar date of observed day `t` of a person whose
  observation has a gap of `gap` days after `p1_end` (observed days skip the gap).
"""

from __future__ import annotations

import duckdb


def install_macros(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    seed = int(seed)  # spliced as a literal: only an int can get here
    con.execute(f"CREATE OR REPLACE TEMP MACRO u(k, s) AS ((hash(k, s, {seed}) >> 11)::DOUBLE / 9007199254740992.0)")
    con.execute(
        f"CREATE OR REPLACE TEMP MACRO v(k, s) AS ((hash(k, s, {seed}, 7) >> 11)::DOUBLE / 9007199254740992.0)"
    )
    con.execute("CREATE OR REPLACE TEMP MACRO nrm(k, s) AS (sqrt(-2 * ln(1 - u(k, s))) * cos(2 * pi() * v(k, s)))")
    con.execute("CREATE OR REPLACE TEMP MACRO sig(x) AS (1 / (1 + exp(-(x))))")
    con.execute(
        "CREATE OR REPLACE TEMP MACRO od(s, p1, g, t) AS"
        " (s + t::INTEGER + CASE WHEN s + t::INTEGER > p1 THEN g ELSE 0 END)"
    )


def pick(choices: list[tuple[int, int]], key: str, salt: int) -> str:
    """SQL choosing one id of `choices` [(id, integer weight)] with probability proportional to its weight.

    `key` is a SQL expression (a row key); ids and weights are ints from this package, never user text.
    """
    slots = [int(cid) for cid, weight in choices for _ in range(int(weight))]
    return f"list_extract([{', '.join(map(str, slots))}], 1 + floor(u({key}, {int(salt)}) * {len(slots)})::INTEGER)"
