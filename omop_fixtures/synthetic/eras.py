"""condition_era and drug_era derived from the chunk's records, with the OHDSI 30-day persistence window.

The logic of the OHDSI era scripts, simplified:
- a condition record lasts from its start to its end date, or one day when it has none; a drug
  exposure lasts from its start to its end date (start + days supply - 1), and drug eras are
  built per RxNorm ingredient (the exposure's ingredient ancestor in concept_ancestor);
- records of the same person and concept (ingredient) are merged into one era while the next
  one starts no more than 30 days after the latest end so far;
- era start = first start, era end = latest end, count = records merged;
- drug_era.gap_days = era length minus the days covered by its exposures (overlaps counted
  once only approximately: days supplied are summed, so overlapping supplies can hide a gap; the
  value is clamped at 0). The official script computes uncovered days exactly.
Era ids are person_id * 10000 + the era's rank within the person.
"""

from __future__ import annotations

PERSISTENCE_DAYS = 30


def _eras(records: str) -> str:
    """Eras from `records` (person_id, concept_id, s, e, days)."""
    return f"""
WITH c AS ({records}),
o AS (
  SELECT *, max(e) OVER (PARTITION BY person_id, concept_id ORDER BY s, e
                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
  FROM c
),
g AS (
  SELECT *, sum(CASE WHEN prev_end IS NULL OR s > prev_end + {PERSISTENCE_DAYS} THEN 1 ELSE 0 END)
      OVER (PARTITION BY person_id, concept_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS era
  FROM o
),
eras AS (
  SELECT person_id, concept_id, min(s) AS s, max(e) AS e, count(*) AS n, sum(days) AS covered
  FROM g GROUP BY person_id, concept_id, era
)
SELECT person_id * 10000 + row_number() OVER (PARTITION BY person_id ORDER BY concept_id, s) AS era_id,
  person_id, concept_id, s, e, n, covered
FROM eras"""


CONDITION_ERA_INSERT = f"""
INSERT INTO condition_era
SELECT era_id, person_id, concept_id, s, e, n FROM ({_eras(
    "SELECT person_id, concept_id, start_date AS s, coalesce(end_date, start_date + 1) AS e, 1 AS days FROM _co"
)})
"""

DRUG_ERA_INSERT = f"""
INSERT INTO drug_era
SELECT era_id, person_id, concept_id, s, e, n, greatest(0, (e - s) + 1 - covered) FROM ({_eras(
    "SELECT d.person_id, i.ingredient_concept_id AS concept_id, d.start_date AS s,"
    " d.start_date + d.days - 1 AS e, d.days FROM _de AS d"
    " JOIN _ingredient AS i ON i.drug_concept_id = d.concept_id"
)})
"""
