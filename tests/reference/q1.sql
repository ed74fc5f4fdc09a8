-- Q1 GI bleeding after recent NSAID use, no prior peptic ulcer.
-- One row per person with an entry event; one boolean column per rule, in the order written.
WITH gi_hemorrhage AS (          -- {192671 + descendants}
    SELECT descendant_concept_id AS concept_id FROM concept_ancestor WHERE ancestor_concept_id = 192671
    UNION SELECT 192671
),
nsaid AS (                       -- {celecoxib, diclofenac, ibuprofen, naproxen, each + descendants}
    SELECT descendant_concept_id AS concept_id FROM concept_ancestor
    WHERE ancestor_concept_id IN (1118084, 1124300, 1177480, 1115008)
    UNION SELECT unnest([1118084, 1124300, 1177480, 1115008])
),
first_ever AS (                  -- earliest record of the set, ties by lowest id, before any test
    SELECT person_id, condition_start_date AS index_date
    FROM (
        SELECT co.*, row_number() OVER (PARTITION BY person_id
                                        ORDER BY condition_start_date, condition_occurrence_id) AS rn
        FROM condition_occurrence co
        WHERE condition_concept_id IN (SELECT concept_id FROM gi_hemorrhage)
    ) WHERE rn = 1
),
entry AS (                       -- inside an observation period with 365 days before index
    SELECT f.person_id, f.index_date,
           op.observation_period_start_date AS op_start, op.observation_period_end_date AS op_end
    FROM first_ever f
    JOIN observation_period op ON op.person_id = f.person_id
     AND f.index_date BETWEEN op.observation_period_start_date AND op.observation_period_end_date
    WHERE op.observation_period_start_date + 365 <= f.index_date
)
SELECT e.person_id, e.index_date,
       year(e.index_date) - p.year_of_birth BETWEEN 35 AND 45 AS "age 35-45",
       EXISTS (SELECT 1 FROM drug_exposure d
               WHERE d.person_id = e.person_id
                 AND d.drug_concept_id IN (SELECT concept_id FROM nsaid)
                 AND d.drug_exposure_start_date BETWEEN e.index_date - 60 AND e.index_date - 1
                 AND d.drug_exposure_start_date BETWEEN e.op_start AND e.op_end) AS "recent NSAID",
       NOT EXISTS (SELECT 1 FROM condition_occurrence c
                   WHERE c.person_id = e.person_id
                     AND c.condition_concept_id = 4027663
                     AND c.condition_start_date BETWEEN e.op_start AND e.index_date - 1
                  ) AS "no prior peptic ulcer"
FROM entry e
JOIN person p ON p.person_id = e.person_id
ORDER BY e.person_id
