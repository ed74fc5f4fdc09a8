-- cohortql 0.1.0: examples/q8_heart_failure.cohort for duckdb
-- Runs as is: duckdb CDM.duckdb < cohort.sql
-- CDM tables: schema cdm.
CREATE TEMPORARY TABLE cq_codeset_item (codeset_id INTEGER, concept_id BIGINT, descendants BOOLEAN, excluded BOOLEAN);
INSERT INTO cq_codeset_item (
  codeset_id,
  concept_id,
  descendants,
  excluded
)
VALUES
  (0, 316139, TRUE, FALSE),
  (1, 3029187, FALSE, FALSE),
  (2, 4032243, TRUE, FALSE),
  (3, 4299535, TRUE, FALSE);
CREATE TEMPORARY TABLE cq_codeset_source (codeset_id INTEGER, vocabulary_id VARCHAR(20), pattern VARCHAR(255));
-- the resolved concept sets
CREATE TEMPORARY TABLE cq_codeset AS
WITH expanded AS (
  SELECT
    i.codeset_id,
    i.concept_id,
    i.excluded
  FROM cq_codeset_item AS i
  UNION
  SELECT
    i.codeset_id,
    ca.descendant_concept_id AS concept_id,
    i.excluded
  FROM cq_codeset_item AS i
  JOIN "cdm".concept_ancestor AS ca
    ON ca.ancestor_concept_id = i.concept_id
  WHERE
    i.descendants
  UNION
  SELECT
    s.codeset_id,
    cr.concept_id_2 AS concept_id,
    FALSE AS excluded
  FROM cq_codeset_source AS s
  JOIN "cdm".concept AS c
    ON c.vocabulary_id = s.vocabulary_id AND c.concept_code LIKE s.pattern
  JOIN "cdm".concept_relationship AS cr
    ON cr.concept_id_1 = c.concept_id
    AND cr.relationship_id = 'Maps to'
    AND cr.invalid_reason IS NULL
)
SELECT DISTINCT
  kept.codeset_id,
  kept.concept_id
FROM expanded AS kept
WHERE
  NOT kept.excluded
  AND NOT EXISTS(
    SELECT
      1
    FROM expanded AS x
    WHERE
      x.excluded AND x.codeset_id = kept.codeset_id AND x.concept_id = kept.concept_id
  );
-- the one-pass cohort query: persons and entries by rule mask and strata
WITH entry_records AS (
  SELECT
    e.person_id,
    e.condition_occurrence_id AS event_id,
    e.condition_start_date AS start_date,
    e.visit_occurrence_id AS visit_occurrence_id,
    COALESCE(DATE_DIFF('DAY', e.condition_start_date, e.condition_end_date), 1) AS index_duration,
    CASE WHEN 1 = 1 THEN 1 ELSE 0 END AS attributes_ok
  FROM "cdm".condition_occurrence AS e
  JOIN cq_codeset AS e_cs
    ON e_cs.concept_id = e.condition_concept_id AND e_cs.codeset_id = 0
), qualified_entries AS (
  SELECT
    r.person_id,
    r.event_id,
    r.start_date AS index_date,
    r.visit_occurrence_id,
    r.index_duration,
    op.observation_period_start_date AS op_start,
    op.observation_period_end_date AS op_end
  FROM entry_records AS r
  JOIN "cdm".observation_period AS op
    ON op.person_id = r.person_id
    AND op.observation_period_start_date <= r.start_date
    AND r.start_date <= op.observation_period_end_date
  WHERE
    r.attributes_ok = 1
    AND DATE_DIFF('DAY', op.observation_period_start_date, r.start_date) >= 365
    AND DATE_DIFF('DAY', r.start_date, op.observation_period_end_date) >= 0
), earliest_entries AS (
  SELECT
    q.*,
    ROW_NUMBER() OVER (PARTITION BY q.person_id ORDER BY q.index_date, q.event_id) AS rank_in_person
  FROM qualified_entries AS q
), index_events AS (
  SELECT
    ROW_NUMBER() OVER (ORDER BY q.person_id, q.index_date, q.event_id) AS entry_id,
    q.person_id,
    q.event_id,
    q.index_date,
    q.index_duration,
    q.op_start,
    q.op_end,
    q.visit_occurrence_id,
    p.year_of_birth,
    p.gender_concept_id,
    p.care_site_id AS person_care_site_id
  FROM earliest_entries AS q
  JOIN "cdm".person AS p
    ON p.person_id = q.person_id
  WHERE
    q.rank_in_person = 1
), criterion_0 AS (
  SELECT
    ie.entry_id,
    COUNT(*) AS n
  FROM index_events AS ie
  JOIN "cdm".condition_occurrence AS e
    ON e.person_id = ie.person_id
  JOIN cq_codeset AS e_cs
    ON e_cs.concept_id = e.condition_concept_id AND e_cs.codeset_id = 0
  JOIN "cdm".visit_occurrence AS e_v
    ON e_v.visit_occurrence_id = e.visit_occurrence_id
  WHERE
    1 = 1
    AND e_v.visit_concept_id IN (9201)
    AND DATE_DIFF('DAY', ie.index_date, e.condition_start_date) >= -365
    AND DATE_DIFF('DAY', ie.index_date, e.condition_start_date) <= 0
    AND e.condition_start_date >= ie.op_start
    AND e.condition_start_date <= ie.op_end
  GROUP BY
    ie.entry_id
), criterion_1 AS (
  SELECT
    ie.entry_id,
    COUNT(*) AS n
  FROM index_events AS ie
  JOIN "cdm".measurement AS e
    ON e.person_id = ie.person_id
  JOIN cq_codeset AS e_cs
    ON e_cs.concept_id = e.measurement_concept_id AND e_cs.codeset_id = 1
  WHERE
    1 = 1
    AND e.value_as_number > 600.0
    AND e.unit_concept_id IN (8845)
    AND DATE_DIFF('DAY', ie.index_date, e.measurement_date) >= -180
    AND DATE_DIFF('DAY', ie.index_date, e.measurement_date) <= 0
    AND e.measurement_date >= ie.op_start
    AND e.measurement_date <= ie.op_end
  GROUP BY
    ie.entry_id
), criterion_2 AS (
  SELECT
    ie.entry_id,
    COUNT(*) AS n
  FROM index_events AS ie
  JOIN "cdm".procedure_occurrence AS e
    ON e.person_id = ie.person_id
  JOIN cq_codeset AS e_cs
    ON e_cs.concept_id = e.procedure_concept_id AND e_cs.codeset_id = 2
  WHERE
    1 = 1 AND DATE_DIFF('DAY', ie.index_date, e.procedure_date) <= -1
  GROUP BY
    ie.entry_id
), criterion_3 AS (
  SELECT
    ie.entry_id,
    COUNT(*) AS n
  FROM index_events AS ie
  JOIN "cdm".condition_occurrence AS e
    ON e.person_id = ie.person_id
  JOIN cq_codeset AS e_cs
    ON e_cs.concept_id = e.condition_concept_id AND e_cs.codeset_id = 3
  WHERE
    1 = 1
    AND DATE_DIFF('DAY', ie.index_date, e.condition_start_date) >= -270
    AND DATE_DIFF('DAY', ie.index_date, e.condition_start_date) <= 270
    AND e.condition_start_date >= ie.op_start
    AND e.condition_start_date <= ie.op_end
  GROUP BY
    ie.entry_id
), rule_results AS (
  SELECT
    ie.person_id,
    ie.index_date,
    ie.event_id,
    CASE
      WHEN (
        (
          YEAR(ie.index_date) - ie.year_of_birth >= 18.0
        )
      )
      THEN 1
      ELSE 0
    END AS rule_0,
    CASE WHEN (
      COALESCE(c0.n, 0) >= 1
    ) THEN 1 ELSE 0 END AS rule_1,
    CASE WHEN (
      COALESCE(c1.n, 0) >= 1
    ) THEN 1 ELSE 0 END AS rule_2,
    CASE WHEN NOT (
      COALESCE(c2.n, 0) >= 1
    ) THEN 1 ELSE 0 END AS rule_3,
    CASE WHEN NOT (
      COALESCE(c3.n, 0) >= 1
    ) THEN 1 ELSE 0 END AS rule_4
  FROM index_events AS ie
  LEFT JOIN criterion_0 AS c0
    ON c0.entry_id = ie.entry_id
  LEFT JOIN criterion_1 AS c1
    ON c1.entry_id = ie.entry_id
  LEFT JOIN criterion_2 AS c2
    ON c2.entry_id = ie.entry_id
  LEFT JOIN criterion_3 AS c3
    ON c3.entry_id = ie.entry_id
), masked AS (
  SELECT
    r.*,
    0 + rule_0 * 1 + rule_1 * 2 + rule_2 * 4 + rule_3 * 8 + rule_4 * 16 AS mask,
    0 + rule_0 + rule_1 + rule_2 + rule_3 + rule_4 AS rules_met,
    CASE
      WHEN rule_0 = 1
      THEN 0
      WHEN rule_1 = 1
      THEN 1
      WHEN rule_2 = 1
      THEN 2
      WHEN rule_3 = 1
      THEN 3
      WHEN rule_4 = 1
      THEN 4
      ELSE 0
    END AS first_rule_met
  FROM rule_results AS r
), best_entries AS (
  SELECT
    m.*,
    ROW_NUMBER() OVER (
      PARTITION BY m.person_id
      ORDER BY m.rules_met DESC, m.first_rule_met, m.index_date, m.event_id
    ) AS rank_in_person,
    COUNT(*) OVER (PARTITION BY m.person_id) AS person_entries
  FROM masked AS m
)
SELECT
  mask,
  COUNT(*) AS persons,
  SUM(person_entries) AS entries
FROM best_entries
WHERE
  rank_in_person = 1
GROUP BY
  mask
ORDER BY
  mask;
