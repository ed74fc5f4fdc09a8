-- cohortql 0.1.0: examples/q8_heart_failure.cohort for tsql
-- input cq_codeset_item (codeset_id INTEGER, concept_id BIGINT, descendants BOOLEAN, excluded BOOLEAN): 4 rows loaded with bind parameters
--   (0, 316139, True, False)
--   (1, 3029187, False, False)
--   (2, 4032243, True, False)
--   (3, 4299535, True, False)
-- input cq_codeset_source (codeset_id INTEGER, vocabulary_id VARCHAR(20), pattern VARCHAR(255)): 0 rows loaded with bind parameters
-- resolved concept sets, materialised as temporary table cq_codeset
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
  JOIN [cdm].concept_ancestor AS ca
    ON ca.ancestor_concept_id = i.concept_id
  WHERE
    i.descendants <> 0
  UNION
  SELECT
    s.codeset_id,
    cr.concept_id_2 AS concept_id,
    0 AS excluded
  FROM cq_codeset_source AS s
  JOIN [cdm].concept AS c
    ON c.vocabulary_id = s.vocabulary_id AND c.concept_code LIKE s.pattern
  JOIN [cdm].concept_relationship AS cr
    ON cr.concept_id_1 = c.concept_id
    AND cr.relationship_id = 'Maps to'
    AND cr.invalid_reason IS NULL
)
SELECT DISTINCT
  kept.codeset_id,
  kept.concept_id
FROM expanded AS kept
WHERE
  NOT kept.excluded <> 0
  AND NOT EXISTS(
    SELECT
      1
    FROM expanded AS x
    WHERE
      x.excluded <> 0
      AND x.codeset_id = kept.codeset_id
      AND x.concept_id = kept.concept_id
  );
-- the one-pass cohort query; bind parameters:
--   p0=365, p1=0, p2=9201, p3=-365, p4=0, p5=600.0, p6=8845, p7=-180, p8=0, p9=-1, p10=-270, p11=270, p12=18.0, p13=1, p14=1, p15=1, p16=1
WITH entry_records AS (
  SELECT
    e.person_id AS person_id,
    e.condition_occurrence_id AS event_id,
    e.condition_start_date AS start_date,
    e.visit_occurrence_id AS visit_occurrence_id,
    COALESCE(DATEDIFF(DAY, e.condition_start_date, e.condition_end_date), 1) AS index_duration,
    CASE WHEN 1 = 1 THEN 1 ELSE 0 END AS attributes_ok
  FROM [cdm].condition_occurrence AS e
  JOIN cq_codeset AS e_cs
    ON e_cs.concept_id = e.condition_concept_id AND e_cs.codeset_id = 0
), qualified_entries AS (
  SELECT
    r.person_id AS person_id,
    r.event_id AS event_id,
    r.start_date AS index_date,
    r.visit_occurrence_id AS visit_occurrence_id,
    r.index_duration AS index_duration,
    op.observation_period_start_date AS op_start,
    op.observation_period_end_date AS op_end
  FROM entry_records AS r
  JOIN [cdm].observation_period AS op
    ON op.person_id = r.person_id
    AND op.observation_period_start_date <= r.start_date
    AND r.start_date <= op.observation_period_end_date
  WHERE
    r.attributes_ok = 1
    AND DATEDIFF(DAY, op.observation_period_start_date, r.start_date) >= :p0
    AND DATEDIFF(DAY, r.start_date, op.observation_period_end_date) >= :p1
), earliest_entries AS (
  SELECT
    q.*,
    ROW_NUMBER() OVER (
      PARTITION BY q.person_id
      ORDER BY CASE WHEN q.index_date IS NULL THEN 1 ELSE 0 END, q.index_date, CASE WHEN q.event_id IS NULL THEN 1 ELSE 0 END, q.event_id
    ) AS rank_in_person
  FROM qualified_entries AS q
), index_events AS (
  SELECT
    ROW_NUMBER() OVER (
      ORDER BY CASE WHEN q.person_id IS NULL THEN 1 ELSE 0 END, q.person_id, CASE WHEN q.index_date IS NULL THEN 1 ELSE 0 END, q.index_date, CASE WHEN q.event_id IS NULL THEN 1 ELSE 0 END, q.event_id
    ) AS entry_id,
    q.person_id AS person_id,
    q.event_id AS event_id,
    q.index_date AS index_date,
    q.index_duration AS index_duration,
    q.op_start AS op_start,
    q.op_end AS op_end,
    q.visit_occurrence_id AS visit_occurrence_id,
    p.year_of_birth AS year_of_birth,
    p.gender_concept_id AS gender_concept_id,
    p.care_site_id AS person_care_site_id
  FROM earliest_entries AS q
  JOIN [cdm].person AS p
    ON p.person_id = q.person_id
  WHERE
    q.rank_in_person = 1
), criterion_0 AS (
  SELECT
    ie.entry_id AS entry_id,
    COUNT_BIG(*) AS n
  FROM index_events AS ie
  JOIN [cdm].condition_occurrence AS e
    ON e.person_id = ie.person_id
  JOIN cq_codeset AS e_cs
    ON e_cs.concept_id = e.condition_concept_id AND e_cs.codeset_id = 0
  JOIN [cdm].visit_occurrence AS e_v
    ON e_v.visit_occurrence_id = e.visit_occurrence_id
  WHERE
    1 = 1
    AND e_v.visit_concept_id IN (:p2)
    AND DATEDIFF(DAY, ie.index_date, e.condition_start_date) >= :p3
    AND DATEDIFF(DAY, ie.index_date, e.condition_start_date) <= :p4
    AND e.condition_start_date >= ie.op_start
    AND e.condition_start_date <= ie.op_end
  GROUP BY
    ie.entry_id
), criterion_1 AS (
  SELECT
    ie.entry_id AS entry_id,
    COUNT_BIG(*) AS n
  FROM index_events AS ie
  JOIN [cdm].measurement AS e
    ON e.person_id = ie.person_id
  JOIN cq_codeset AS e_cs
    ON e_cs.concept_id = e.measurement_concept_id AND e_cs.codeset_id = 1
  WHERE
    1 = 1
    AND e.value_as_number > :p5
    AND e.unit_concept_id IN (:p6)
    AND DATEDIFF(DAY, ie.index_date, e.measurement_date) >= :p7
    AND DATEDIFF(DAY, ie.index_date, e.measurement_date) <= :p8
    AND e.measurement_date >= ie.op_start
    AND e.measurement_date <= ie.op_end
  GROUP BY
    ie.entry_id
), criterion_2 AS (
  SELECT
    ie.entry_id AS entry_id,
    COUNT_BIG(*) AS n
  FROM index_events AS ie
  JOIN [cdm].procedure_occurrence AS e
    ON e.person_id = ie.person_id
  JOIN cq_codeset AS e_cs
    ON e_cs.concept_id = e.procedure_concept_id AND e_cs.codeset_id = 2
  WHERE
    1 = 1 AND DATEDIFF(DAY, ie.index_date, e.procedure_date) <= :p9
  GROUP BY
    ie.entry_id
), criterion_3 AS (
  SELECT
    ie.entry_id AS entry_id,
    COUNT_BIG(*) AS n
  FROM index_events AS ie
  JOIN [cdm].condition_occurrence AS e
    ON e.person_id = ie.person_id
  JOIN cq_codeset AS e_cs
    ON e_cs.concept_id = e.condition_concept_id AND e_cs.codeset_id = 3
  WHERE
    1 = 1
    AND DATEDIFF(DAY, ie.index_date, e.condition_start_date) >= :p10
    AND DATEDIFF(DAY, ie.index_date, e.condition_start_date) <= :p11
    AND e.condition_start_date >= ie.op_start
    AND e.condition_start_date <= ie.op_end
  GROUP BY
    ie.entry_id
), rule_results AS (
  SELECT
    ie.person_id AS person_id,
    ie.index_date AS index_date,
    ie.event_id AS event_id,
    CASE
      WHEN (
        (
          YEAR(ie.index_date) - ie.year_of_birth >= :p12
        )
      )
      THEN 1
      ELSE 0
    END AS rule_0,
    CASE WHEN (
      COALESCE(c0.n, 0) >= :p13
    ) THEN 1 ELSE 0 END AS rule_1,
    CASE WHEN (
      COALESCE(c1.n, 0) >= :p14
    ) THEN 1 ELSE 0 END AS rule_2,
    CASE WHEN NOT (
      COALESCE(c2.n, 0) >= :p15
    ) THEN 1 ELSE 0 END AS rule_3,
    CASE WHEN NOT (
      COALESCE(c3.n, 0) >= :p16
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
      ORDER BY m.rules_met DESC, CASE WHEN m.first_rule_met IS NULL THEN 1 ELSE 0 END, m.first_rule_met, CASE WHEN m.index_date IS NULL THEN 1 ELSE 0 END, m.index_date, CASE WHEN m.event_id IS NULL THEN 1 ELSE 0 END, m.event_id
    ) AS rank_in_person,
    COUNT_BIG(*) OVER (PARTITION BY m.person_id) AS person_entries
  FROM masked AS m
)
SELECT
  mask,
  COUNT_BIG(*) AS persons,
  SUM(person_entries) AS entries
FROM best_entries
WHERE
  rank_in_person = 1
GROUP BY
  mask
ORDER BY
  CASE WHEN mask IS NULL THEN 1 ELSE 0 END, mask;
