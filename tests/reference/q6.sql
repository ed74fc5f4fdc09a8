-- Q6 Long sinusitis episode, earliest qualifying era.
-- One row per person with an entry event; one boolean column per rule, in the order written.
WITH sinusitis AS (              -- {4283893 + descendants}
    SELECT descendant_concept_id AS concept_id FROM concept_ancestor WHERE ancestor_concept_id = 4283893
    UNION SELECT 4283893
),
asthma AS (                      -- {317009 + descendants}
    SELECT descendant_concept_id AS concept_id FROM concept_ancestor WHERE ancestor_concept_id = 317009
    UNION SELECT 317009
),
qualifying AS (                  -- era length >= 90 days, in a period with 365 days before index
    SELECT ce.person_id, ce.condition_era_id, ce.condition_era_start_date AS index_date,
           op.observation_period_start_date AS op_start, op.observation_period_end_date AS op_end
    FROM condition_era ce
    JOIN observation_period op ON op.person_id = ce.person_id
     AND ce.condition_era_start_date
         BETWEEN op.observation_period_start_date AND op.observation_period_end_date
    WHERE ce.condition_concept_id IN (SELECT concept_id FROM sinusitis)
      AND ce.condition_era_end_date - ce.condition_era_start_date >= 90
      AND op.observation_period_start_date + 365 <= ce.condition_era_start_date
),
entry AS (                       -- then the earliest survivor, ties by lowest era id
    SELECT * FROM (
        SELECT q.*, row_number() OVER (PARTITION BY person_id
                                       ORDER BY index_date, condition_era_id) AS rn
        FROM qualifying q
    ) WHERE rn = 1
)
SELECT e.person_id, e.index_date,
       year(e.index_date) - p.year_of_birth >= 18 AS "adult",
       NOT EXISTS (SELECT 1 FROM condition_occurrence c
                   WHERE c.person_id = e.person_id
                     AND c.condition_concept_id IN (SELECT concept_id FROM asthma)
                     AND c.condition_start_date BETWEEN e.op_start AND e.index_date - 1
                  ) AS "no prior asthma"
FROM entry e
JOIN person p ON p.person_id = e.person_id
ORDER BY e.person_id
