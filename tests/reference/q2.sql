-- Q2 Recurrent urinary tract infection in women.
-- One row per person with an entry event; one boolean column per rule, in the order written.
WITH uti AS (                    -- {195588, 4116491, 4056621, 198199, each + descendants}
    SELECT descendant_concept_id AS concept_id FROM concept_ancestor
    WHERE ancestor_concept_id IN (195588, 4116491, 4056621, 198199)
    UNION SELECT unnest([195588, 4116491, 4056621, 198199])
),
first_ever AS (
    SELECT person_id, condition_start_date AS index_date
    FROM (
        SELECT co.*, row_number() OVER (PARTITION BY person_id
                                        ORDER BY condition_start_date, condition_occurrence_id) AS rn
        FROM condition_occurrence co
        WHERE condition_concept_id IN (SELECT concept_id FROM uti)
    ) WHERE rn = 1
),
entry AS (                       -- inside an observation period, no further requirement
    SELECT f.person_id, f.index_date,
           op.observation_period_start_date AS op_start, op.observation_period_end_date AS op_end
    FROM first_ever f
    JOIN observation_period op ON op.person_id = f.person_id
     AND f.index_date BETWEEN op.observation_period_start_date AND op.observation_period_end_date
)
SELECT e.person_id, e.index_date,
       p.gender_concept_id = 8532 AS "female",
       (SELECT count(*) FROM condition_occurrence c
        WHERE c.person_id = e.person_id
          AND c.condition_concept_id IN (SELECT concept_id FROM uti)
          AND c.condition_start_date BETWEEN e.index_date + 1 AND e.index_date + 365
          AND c.condition_start_date BETWEEN e.op_start AND e.op_end) >= 2 AS "2+ UTI in next year"
FROM entry e
JOIN person p ON p.person_id = e.person_id
ORDER BY e.person_id
