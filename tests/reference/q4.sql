-- Q4 Coronary disease followed by an event or a revascularisation with clopidogrel.
-- One row per person with an entry event; one boolean column per rule, in the order written.
WITH clopidogrel AS (            -- {1322184 + descendants}
    SELECT descendant_concept_id AS concept_id FROM concept_ancestor WHERE ancestor_concept_id = 1322184
    UNION SELECT 1322184
),
first_ever AS (                  -- {317576}, no descendants
    SELECT person_id, condition_start_date AS index_date
    FROM (
        SELECT co.*, row_number() OVER (PARTITION BY person_id
                                        ORDER BY condition_start_date, condition_occurrence_id) AS rn
        FROM condition_occurrence co
        WHERE condition_concept_id = 317576
    ) WHERE rn = 1
),
entry AS (                       -- inside an observation period, no further requirement
    SELECT f.person_id, f.index_date,
           op.observation_period_start_date AS op_start, op.observation_period_end_date AS op_end
    FROM first_ever f
    JOIN observation_period op ON op.person_id = f.person_id
     AND f.index_date BETWEEN op.observation_period_start_date AND op.observation_period_end_date
),
parts AS (                       -- the three leaves, all in [index, index+1825] and in the period
    SELECT e.*,
           EXISTS (SELECT 1 FROM condition_occurrence c
                   WHERE c.person_id = e.person_id AND c.condition_concept_id = 321042
                     AND c.condition_start_date BETWEEN e.index_date AND e.index_date + 1825
                     AND c.condition_start_date BETWEEN e.op_start AND e.op_end) AS cardiac_arrest,
           EXISTS (SELECT 1 FROM procedure_occurrence pr
                   WHERE pr.person_id = e.person_id AND pr.procedure_concept_id IN (4216130, 4336464)
                     AND pr.procedure_date BETWEEN e.index_date AND e.index_date + 1825
                     AND pr.procedure_date BETWEEN e.op_start AND e.op_end) AS revascularisation,
           EXISTS (SELECT 1 FROM drug_exposure d
                   WHERE d.person_id = e.person_id
                     AND d.drug_concept_id IN (SELECT concept_id FROM clopidogrel)
                     AND d.drug_exposure_start_date BETWEEN e.index_date AND e.index_date + 1825
                     AND d.drug_exposure_start_date BETWEEN e.op_start AND e.op_end) AS on_clopidogrel
    FROM entry e
)
SELECT x.person_id, x.index_date,
       year(x.index_date) - p.year_of_birth BETWEEN 40 AND 79 AS "age 40-79",
       x.cardiac_arrest OR (x.revascularisation AND x.on_clopidogrel) AS "event or revascularisation"
FROM parts x
JOIN person p ON p.person_id = x.person_id
ORDER BY x.person_id
