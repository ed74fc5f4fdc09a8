-- Q5 Anemia with a hemoglobin test and no normal hemoglobin value.
-- One row per person with an entry event; one boolean column per rule, in the order written.
WITH first_ever AS (             -- {439777}, no descendants
    SELECT person_id, condition_start_date AS index_date
    FROM (
        SELECT co.*, row_number() OVER (PARTITION BY person_id
                                        ORDER BY condition_start_date, condition_occurrence_id) AS rn
        FROM condition_occurrence co
        WHERE condition_concept_id = 439777
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
       EXISTS (SELECT 1 FROM measurement m
               WHERE m.person_id = e.person_id AND m.measurement_concept_id = 3000963
                 AND m.measurement_date BETWEEN e.index_date - 7 AND e.index_date + 7
                 AND m.measurement_date BETWEEN e.op_start AND e.op_end) AS "Hb tested",
       NOT EXISTS (SELECT 1 FROM measurement m
                   WHERE m.person_id = e.person_id AND m.measurement_concept_id = 3000963
                     AND m.value_as_number >= 13          -- NULL never matches
                     AND m.measurement_date BETWEEN e.index_date - 7 AND e.index_date + 7
                     AND m.measurement_date BETWEEN e.op_start AND e.op_end) AS "no normal Hb"
FROM entry e
ORDER BY e.person_id
