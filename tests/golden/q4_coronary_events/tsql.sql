-- cohortql 0.1.0: examples/q4_coronary_events.cohort for tsql
-- input cq_codeset_item (codeset_id INTEGER, concept_id BIGINT, descendants BOOLEAN, excluded BOOLEAN): 5 rows loaded with bind parameters
--   (0, 317576, False, False)
--   (1, 321042, False, False)
--   (2, 4216130, False, False)
--   (2, 4336464, False, False)
--   (3, 1322184, True, False)
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
--   p0=0, p1=0, p2=0, p3=1825, p4=0, p5=1825, p6=0, p7=1825, p8=40.0, p9=79.0, p10=1, p11=1, p12=1
WITH entry_records AS (
  SELECT
    e.person_id AS person_id,
    e.condition_occurrence_id AS event_id,
    e.condition_start_date AS start_date,
    e.visit_occurrence_id AS visit_occurrence_id,
    COALESCE(DATEDIFF(DAY, e.condition_start_date, e.condition_end_date), 1) AS index_duration,
    CASE WHEN 1 = 1 THEN 1 ELSE 0 END AS attributes_ok,
    ROW_NUMBER() OVER (
      PARTITION BY e.person_id
      ORDER BY CASE WHEN e.condition_start_date IS NULL THEN 1 ELSE 0 END, e.condition_start_date, CASE WHEN e.condition_occurrence_id IS NULL THEN 1 ELSE 0 END, e.condition_occurrence_id
    ) AS ordinal
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
    AND r.ordinal = 1
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
  FROM qualified_entries AS q
  JOIN [cdm].person AS p
    ON p.person_id = q.person_id
), criterion_0 AS (
  SELECT
    ie.entry_id AS entry_id,
    COUNT_BIG(*) AS n
  FROM index_events AS ie
  JOIN [cdm].condition_occurrence AS e
    ON e.person_id = ie.person_id
  JOIN cq_codeset AS e_cs
    ON e_cs.concept_id = e.condition_concept_id AND e_cs.codeset_id = 1
  WHERE
    1 = 1
    AND DATEDIFF(DAY, ie.index_date, e.condition_start_date) >= :p2
    AND DATEDIFF(DAY, ie.index_date, e.condition_start_date) <= :p3
    AND e.condition_start_date >= ie.op_start
    AND e.condition_start_date <= ie.op_end
  GROUP BY
    ie.entry_id
), criterion_1 AS (
  SELECT
    ie.entry_id AS entry_id,
    COUNT_BIG(*) AS n
  FROM index_events AS ie
  JOIN [cdm].procedure_occurrence AS e
    ON e.person_id = ie.person_id
  JOIN cq_codeset AS e_cs
    ON e_cs.concept_id = e.procedure_concept_id AND e_cs.codeset_id = 2
  WHERE
    1 = 1
    AND DATEDIFF(DAY, ie.index_date, e.procedure_date) >= :p4
    AND DATEDIFF(DAY, ie.index_date, e.procedure_date) <= :p5
    AND e.procedure_date >= ie.op_start
    AND e.procedure_date <= ie.op_end
  GROUP BY
    ie.entry_id
), criterion_2 AS (
  SELECT
    ie.entry_id AS entry_id,
    COUNT_BIG(*) AS n
  FROM index_events AS ie
  JOIN [cdm].drug_exposure AS e
    ON e.person_id = ie.person_id
  JOIN cq_codeset AS e_cs
    ON e_cs.concept_id = e.drug_concept_id AND e_cs.codeset_id = 3
  WHERE
    1 = 1
    AND DATEDIFF(DAY, ie.index_date, e.drug_exposure_start_date) >= :p6
    AND DATEDIFF(DAY, ie.index_date, e.drug_exposure_start_date) <= :p7
    AND e.drug_exposure_start_date >= ie.op_start
    AND e.drug_exposure_start_date <= ie.op_end
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
          YEAR(ie.index_date) - ie.year_of_birth >= :p8
          AND YEAR(ie.index_date) - ie.year_of_birth <= :p9
        )
      )
      THEN 1
      ELSE 0
    END AS rule_0,
    CASE
      WHEN (
        (
          COALESCE(c0.n, 0) >= :p10
          OR (
            COALESCE(c1.n, 0) >= :p11 AND COALESCE(c2.n, 0) >= :p12
          )
        )
      )
      THEN 1
      ELSE 0
    END AS rule_1
  FROM index_events AS ie
  LEFT JOIN criterion_0 AS c0
    ON c0.entry_id = ie.entry_id
  LEFT JOIN criterion_1 AS c1
    ON c1.entry_id = ie.entry_id
  LEFT JOIN criterion_2 AS c2
    ON c2.entry_id = ie.entry_id
), masked AS (
  SELECT
    r.*,
    0 + rule_0 * 1 + rule_1 * 2 AS mask,
    0 + rule_0 + rule_1 AS rules_met,
    CASE WHEN rule_0 = 1 THEN 0 WHEN rule_1 = 1 THEN 1 ELSE 0 END AS first_rule_met
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
