-- cohortql 0.1.0: examples/q1_gi_bleed_nsaid.cohort for spark
-- input cq_codeset_item (codeset_id INTEGER, concept_id BIGINT, descendants BOOLEAN, excluded BOOLEAN): 6 rows loaded with bind parameters
--   (0, 192671, True, False)
--   (1, 1118084, True, False)
--   (1, 1124300, True, False)
--   (1, 1177480, True, False)
--   (1, 1115008, True, False)
--   (2, 4027663, False, False)
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
  JOIN `cdm`.concept_ancestor AS ca
    ON ca.ancestor_concept_id = i.concept_id
  WHERE
    i.descendants
  UNION
  SELECT
    s.codeset_id,
    cr.concept_id_2 AS concept_id,
    FALSE AS excluded
  FROM cq_codeset_source AS s
  JOIN `cdm`.concept AS c
    ON c.vocabulary_id = s.vocabulary_id
    AND c.concept_code LIKE REPLACE(s.pattern, '\\', '\\\\')
  JOIN `cdm`.concept_relationship AS cr
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
-- the one-pass cohort query; bind parameters:
--   p0=365, p1=0, p2=-60, p3=-1, p4=-1, p5=35.0, p6=45.0, p7=1, p8=0
WITH entry_records AS (
  SELECT
    e.person_id,
    e.condition_occurrence_id AS event_id,
    e.condition_start_date AS start_date,
    e.visit_occurrence_id AS visit_occurrence_id,
    COALESCE(DATEDIFF(e.condition_end_date, e.condition_start_date), 1) AS index_duration,
    CASE WHEN 1 = 1 THEN 1 ELSE 0 END AS attributes_ok,
    ROW_NUMBER() OVER (
      PARTITION BY e.person_id
      ORDER BY e.condition_start_date NULLS LAST, e.condition_occurrence_id NULLS LAST
    ) AS ordinal
  FROM `cdm`.condition_occurrence AS e
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
  JOIN `cdm`.observation_period AS op
    ON op.person_id = r.person_id
    AND op.observation_period_start_date <= r.start_date
    AND r.start_date <= op.observation_period_end_date
  WHERE
    r.attributes_ok = 1
    AND DATEDIFF(r.start_date, op.observation_period_start_date) >= :p0
    AND DATEDIFF(op.observation_period_end_date, r.start_date) >= :p1
    AND r.ordinal = 1
), index_events AS (
  SELECT
    ROW_NUMBER() OVER (ORDER BY q.person_id NULLS LAST, q.index_date NULLS LAST, q.event_id NULLS LAST) AS entry_id,
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
  FROM qualified_entries AS q
  JOIN `cdm`.person AS p
    ON p.person_id = q.person_id
), criterion_0 AS (
  SELECT
    ie.entry_id,
    COUNT(*) AS n
  FROM index_events AS ie
  JOIN `cdm`.drug_exposure AS e
    ON e.person_id = ie.person_id
  JOIN cq_codeset AS e_cs
    ON e_cs.concept_id = e.drug_concept_id AND e_cs.codeset_id = 1
  WHERE
    1 = 1
    AND DATEDIFF(e.drug_exposure_start_date, ie.index_date) >= :p2
    AND DATEDIFF(e.drug_exposure_start_date, ie.index_date) <= :p3
    AND e.drug_exposure_start_date >= ie.op_start
    AND e.drug_exposure_start_date <= ie.op_end
  GROUP BY
    ie.entry_id
), criterion_1 AS (
  SELECT
    ie.entry_id,
    COUNT(*) AS n
  FROM index_events AS ie
  JOIN `cdm`.condition_occurrence AS e
    ON e.person_id = ie.person_id
  JOIN cq_codeset AS e_cs
    ON e_cs.concept_id = e.condition_concept_id AND e_cs.codeset_id = 2
  WHERE
    1 = 1
    AND DATEDIFF(e.condition_start_date, ie.index_date) <= :p4
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
          YEAR(ie.index_date) - ie.year_of_birth >= :p5
          AND YEAR(ie.index_date) - ie.year_of_birth <= :p6
        )
      )
      THEN 1
      ELSE 0
    END AS rule_0,
    CASE WHEN (
      COALESCE(c0.n, 0) >= :p7
    ) THEN 1 ELSE 0 END AS rule_1,
    CASE WHEN (
      COALESCE(c1.n, 0) = :p8
    ) THEN 1 ELSE 0 END AS rule_2
  FROM index_events AS ie
  LEFT JOIN criterion_0 AS c0
    ON c0.entry_id = ie.entry_id
  LEFT JOIN criterion_1 AS c1
    ON c1.entry_id = ie.entry_id
), masked AS (
  SELECT
    r.*,
    0 + rule_0 * 1 + rule_1 * 2 + rule_2 * 4 AS mask,
    0 + rule_0 + rule_1 + rule_2 AS rules_met,
    CASE WHEN rule_0 = 1 THEN 0 WHEN rule_1 = 1 THEN 1 WHEN rule_2 = 1 THEN 2 ELSE 0 END AS first_rule_met
  FROM rule_results AS r
), best_entries AS (
  SELECT
    m.*,
    ROW_NUMBER() OVER (
      PARTITION BY m.person_id
      ORDER BY m.rules_met DESC, m.first_rule_met NULLS LAST, m.index_date NULLS LAST, m.event_id NULLS LAST
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
  mask NULLS LAST;
