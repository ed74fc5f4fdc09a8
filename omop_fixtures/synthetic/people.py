"""Who the patients are: one row per person with demographics, observation, latent diseases and their dates.

The temporary table `_p` holds, for the persons of one chunk, everything the event generators
need. Diseases come from risk models with shared causes, so comorbidities correlate the way
they do in a hospital population: a latent metabolic factor `z` drives obesity, hypertension,
lipids and type 2 diabetes; diabetes and hypertension raise the risk of chronic kidney disease;
all of these raise the risk of coronary disease and heart failure; heart failure raises atrial
fibrillation. Probabilities are per person over the whole record, tuned so that at 100,000
persons each of Q7-Q9 keeps hundreds of patients and every rule removes some.

Time is drawn in *observed days* (day t of the person's observation, skipping a gap) and turned
into calendar dates with `od()`, so disease records fall inside observation unless a generator
puts them elsewhere on purpose (history recorded before the observation start).

Observation: one period from a start between 2006 and mid-2025 (earlier starts more likely) to
2025-12-31, an earlier exit for 22% of persons, death for some; 8% of long records have a gap,
i.e. two observation periods.
"""

from __future__ import annotations

from omop_fixtures.synthetic import vocabulary as voc
from omop_fixtures.synthetic.randomness import pick

T2DM_CODING = [(201826, 45), (4193704, 30), (443732, 5), (voc.T2DM_KIDNEY, 8), (voc.T2DM_NEURO, 7), (voc.T2DM_EYE, 5)]
HF_CODING = [(316139, 40), (319835, 35), (voc.HFREF, 15), (voc.HFPEF, 10)]
OTHER_CANCER_MALE = [(4180790, 35), (443388, 35), (4163261, 25), (voc.MELANOMA, 5)]
OTHER_CANCER_FEMALE = [(4180790, 45), (443388, 40), (voc.MELANOMA, 15)]


def _first_record(flag: str, min_age: int, salt: int) -> str:
    """Observed day of a disease's first record: uniform over the observed days after age `min_age`."""
    tmin = f"greatest(0, birth - op_start + {min_age} * 365)"
    return (
        f"CASE WHEN {flag} AND {tmin} < obs_days"
        f" THEN {tmin} + floor(u(person_id, {salt}) * (obs_days - {tmin}))::INTEGER END"
    )


def _known(t: str) -> str:
    return f"CASE WHEN {t} IS NOT NULL THEN od(op_start, p1_end, g_len, {t}) END"


def _history(flag: str, min_age: int, salt: int) -> str:
    """A date before the observation start (a diagnosis carried into the record), if the person was old enough."""
    date = f"op_start - 30 - floor(u(person_id, {salt}) * 3000)::INTEGER"
    return f"CASE WHEN {flag} AND {date} > birth + {min_age} * 365 THEN {date} END"


def persons_sql(lo: int, hi: int) -> str:
    """CREATE the chunk's person table `_p` for person ids lo..hi-1."""
    chronic = ",\n      ".join(
        f"{{'slot': {slot}, 'concept': {concept}::BIGINT, 'known': {known}, 'drug': {drug}::BIGINT}}"
        for slot, (concept, known, drug) in enumerate([
            ("320128", "kd_htn", pick([(voc.LISINOPRIL_TAB, 1), (1332419, 1)], "person_id", 90)),
            ("432867", "kd_hld", pick([(1545959, 3), (1539411, 2)], "person_id", 91)),
            ("t2dm_code", "dm_d0", "NULL"),
            ("CASE WHEN esrd THEN 193782 ELSE 46271022 END", "kd_ckd", "NULL"),
            ("317576", "kd_cad", str(voc.ASPIRIN_TAB)),
            ("255573", "kd_copd", "1154615"),
            ("317009", "kd_asthma", "1154615"),
            ("313217", "kd_af", str(voc.WARFARIN_TAB)),
            ("hf_code", "hf_d0", str(voc.FUROSEMIDE_TAB)),
            ("440383", "kd_dep", "NULL"),
            ("140673", "kd_thyroid", str(voc.LEVOTHYROXINE_TAB)),
            ("80180", "kd_oa", pick([(voc.IBUPROFEN_TAB, 1), (1127433, 1)], "person_id", 92)),
            ("433736", "kd_obese", "NULL"),
            (str(voc.CONGENITAL_HEART), "CASE WHEN hf_congenital THEN hf_d0 END", "NULL"),
        ], start=1)
    )
    return f"""
CREATE OR REPLACE TEMP TABLE _p AS
WITH a AS (
  SELECT i AS person_id,
    u(i, 1) < 0.52 AS female,
    least(95, floor(96 * pow(u(i, 2), 0.85)))::INTEGER AS age,
    nrm(i, 3) AS z,
    1 + floor(u(i, 4) * 12)::INTEGER AS month_of_birth,
    1 + floor(u(i, 5) * 28)::INTEGER AS day_of_birth
  FROM range({int(lo)}, {int(hi)}) AS t(i)
),
b AS (
  SELECT a.*, make_date(2025 - age, month_of_birth, day_of_birth) AS birth,
    age >= 18 AND u(person_id, 20) < sig(-1.4 + 1.2 * z) AS obese
  FROM a
),
c AS (
  SELECT b.*,
    age >= 25 AND u(person_id, 21) < sig(-5.2 + 0.07 * age + 0.6 * z + 0.5 * obese::INTEGER) AS htn,
    age >= 25 AND u(person_id, 22) < sig(-4.6 + 0.055 * age + 0.5 * z) AS hld,
    age >= 15 AND u(person_id, 23) < sig(-6.3 + 0.055 * age + 0.8 * z + 0.7 * obese::INTEGER) AS t2dm,
    age >= 40 AND u(person_id, 27) < sig(-5.0 + 0.035 * age) AS copd,
    u(person_id, 28) < 0.07 AS asthma,
    age >= 12 AND u(person_id, 29) < 0.08 + 0.05 * female::INTEGER AS dep,
    age >= 20 AND u(person_id, 30) < 0.02 + 0.05 * female::INTEGER AS thyroid,
    age >= 40 AND u(person_id, 31) < sig(-5.0 + 0.06 * age) AS oa,
    age >= 20 AND u(person_id, 32) < 0.04 + 0.03 * female::INTEGER + 0.02 * obese::INTEGER AS gallstone,
    age < 25 AND u(person_id, 34) < 0.004 AS hf_congenital,
    (female AND age >= 16 AND u(person_id, 36) < sig(-4.9 + 0.04 * age))
      OR (NOT female AND age >= 30 AND u(person_id, 36) < 0.002) AS bc,
    age >= 30 AND u(person_id, 37) < sig(-6.3 + 0.05 * age) AS oc,
    female AND u(person_id, 39) < 0.35 AS preg_wanted
  FROM b
),
d AS (
  SELECT c.*,
    age >= 30 AND u(person_id, 24) < sig(-6.2 + 0.05 * age + 1.3 * t2dm::INTEGER + 0.8 * htn::INTEGER) AS ckd,
    age >= 35 AND u(person_id, 26) < sig(-6.8 + 0.06 * age + 0.7 * t2dm::INTEGER + 0.6 * htn::INTEGER
      + 0.5 * hld::INTEGER + 0.4 * (NOT female)::INTEGER) AS cad,
    age >= 18 AND u(person_id, 38) < 0.004 + 0.012 * t2dm::INTEGER + 0.02 * gallstone::INTEGER AS panc
  FROM c
),
e AS (
  SELECT d.*,
    ckd AND u(person_id, 25) < 0.10 AS esrd,
    age >= 30 AND u(person_id, 33) < sig(-8.0 + 0.06 * age + 0.8 * t2dm::INTEGER + 0.7 * htn::INTEGER
      + 1.0 * cad::INTEGER + 0.9 * ckd::INTEGER) AS hf_chronic
  FROM d
),
f AS (
  SELECT e.*,
    age >= 40 AND u(person_id, 35) < sig(-7.2 + 0.065 * age + 1.2 * hf_chronic::INTEGER) AS af,
    greatest(birth, DATE '2006-01-01') AS first_possible
  FROM e
),
g AS (
  SELECT f.*,
    first_possible + floor(pow(u(person_id, 10), 1.3) * greatest(DATE '2025-06-30' - first_possible, 0))::INTEGER
      AS op_start
  FROM f
),
h AS (
  SELECT g.*,
    CASE WHEN u(person_id, 11) < 0.22
      THEN least(DATE '2025-12-31',
        op_start + 180 + floor(u(person_id, 12) * greatest(DATE '2025-12-31' - op_start - 180, 0))::INTEGER)
      ELSE DATE '2025-12-31' END AS natural_end
  FROM g
),
i AS (
  SELECT h.*,
    natural_end - op_start > 60 AND u(person_id, 13) < least(0.8,
      0.00001 * exp(0.095 * age) * (natural_end - op_start) / 365.25
      + 0.10 * hf_chronic::INTEGER + 0.08 * oc::INTEGER + 0.04 * bc::INTEGER + 0.10 * esrd::INTEGER) AS dead
  FROM h
),
j AS (
  SELECT i.*,
    CASE WHEN dead THEN op_start + 30 + floor(sqrt(u(person_id, 14)) * (natural_end - op_start - 30))::INTEGER
      ELSE natural_end END AS op_end
  FROM i
),
k AS (
  SELECT j.*,
    CASE WHEN op_end - op_start > 1500 AND u(person_id, 15) < 0.08
      THEN 60 + floor(u(person_id, 16) * 600)::INTEGER ELSE 0 END AS g_len
  FROM j
),
l AS (
  SELECT k.*,
    CASE WHEN g_len > 0
      THEN op_start + floor((op_end - op_start - g_len) * (0.2 + 0.6 * u(person_id, 17)))::INTEGER
      ELSE op_end END AS p1_end,
    op_end - op_start + 1 - g_len AS obs_days
  FROM k
),
m AS (
  SELECT l.*,
    {_first_record('t2dm', 15, 50)} AS t_dm,
    {_first_record('hf_chronic', 30, 51)} AS t_hf,
    {_first_record('hf_congenital', 0, 52)} AS t_hf_congenital,
    {_first_record('bc', 16, 53)} AS t_bc,
    {_first_record('oc AND u(person_id, 63) >= 0.3', 30, 54)} AS t_oc,
    {_history('oc AND (u(person_id, 63) < 0.3 OR u(person_id, 64) < 0.15)', 20, 55)} AS oc_hist,
    {_first_record('panc AND u(person_id, 65) >= 0.3', 18, 56)} AS t_panc,
    {_history('panc AND u(person_id, 65) < 0.3', 18, 57)} AS panc_hist,
    {_first_record('esrd AND u(person_id, 66) >= 0.2', 30, 58)} AS t_esrd,
    {_history('esrd AND u(person_id, 66) < 0.2', 25, 59)} AS dial_hist,
    {_first_record('htn', 25, 40)} AS t_htn,
    {_first_record('hld', 25, 41)} AS t_hld,
    {_first_record('ckd AND NOT esrd', 30, 42)} AS t_ckd,
    {_first_record('cad', 35, 43)} AS t_cad,
    {_first_record('copd', 40, 44)} AS t_copd,
    {_first_record('asthma', 2, 45)} AS t_asthma,
    {_first_record('af', 40, 46)} AS t_af,
    {_first_record('dep', 12, 47)} AS t_dep,
    {_first_record('thyroid', 20, 48)} AS t_thyroid,
    {_first_record('oa', 40, 49)} AS t_oa,
    {_first_record('obese', 18, 19)} AS t_obese,
    greatest(op_start, birth + 16 * 365) AS preg_lo,
    least(op_end, birth + 44 * 365) - 280 AS preg_hi
  FROM l
),
n AS (
  SELECT m.*,
    CASE WHEN preg_wanted AND preg_hi > preg_lo
      THEN preg_lo + floor(u(person_id, 67) * (preg_hi - preg_lo))::INTEGER END AS preg_date,
    {_known('t_dm')} AS dm_d0,
    {_known('t_bc')} AS bc_d0,
    {_known('t_oc')} AS oc_d0,
    {_known('t_panc')} AS panc_d0,
    {_known('t_esrd')} AS esrd_d0,
    {_known('t_htn')} AS kd_htn,
    {_known('t_hld')} AS kd_hld,
    CASE WHEN t_ckd IS NOT NULL THEN od(op_start, p1_end, g_len, t_ckd)
      WHEN t_esrd IS NOT NULL THEN od(op_start, p1_end, g_len, t_esrd) END AS kd_ckd,
    {_known('t_cad')} AS kd_cad,
    {_known('t_copd')} AS kd_copd,
    {_known('t_asthma')} AS kd_asthma,
    {_known('t_af')} AS kd_af,
    {_known('t_dep')} AS kd_dep,
    {_known('t_thyroid')} AS kd_thyroid,
    {_known('t_oa')} AS kd_oa,
    {_known('t_obese')} AS kd_obese
  FROM m
),
o AS (
  SELECT n.*,
    preg_date IS NOT NULL AND u(person_id, 70) < 0.02 AS hf_peripartum
  FROM n
),
q AS (
  SELECT o.*,
    CASE
      WHEN hf_peripartum AND preg_date + 200 <= op_end
        THEN least(op_end, preg_date + 200 + floor(u(person_id, 71) * 160)::INTEGER)
      WHEN t_hf IS NOT NULL THEN od(op_start, p1_end, g_len, t_hf)
      WHEN t_hf_congenital IS NOT NULL THEN od(op_start, p1_end, g_len, t_hf_congenital)
    END AS hf_d0,
    {pick(T2DM_CODING, 'person_id', 72)} AS t2dm_code,
    {pick(HF_CODING, 'person_id', 73)} AS hf_code,
    CASE WHEN female THEN {pick(OTHER_CANCER_FEMALE, 'person_id', 74)}
      ELSE {pick(OTHER_CANCER_MALE, 'person_id', 74)} END AS oc_code,
    -- type 2 diabetes treatment, in days relative to the first coded record (may precede it)
    CASE WHEN u(person_id, 75) < 0.85 THEN -400 + floor(u(person_id, 76) * 600)::INTEGER END AS met_offset,
    CASE WHEN u(person_id, 77) < 0.12 THEN 365 + floor(u(person_id, 78) * 1800)::INTEGER END AS met_duration,
    CASE WHEN u(person_id, 79) < 0.2 THEN -200 + floor(u(person_id, 80) * 3000)::INTEGER END AS ins_offset,
    -- breast cancer: 0 weekly paclitaxel x12, 1 three-weekly paclitaxel x4, 2 AC x4 then weekly
    -- paclitaxel x12, 3 docetaxel + cyclophosphamide x4, 4 endocrine therapy only
    {pick([(0, 35), (1, 15), (2, 22), (3, 13), (4, 15)], 'person_id', 81)} AS bc_regimen,
    u(person_id, 82) < 0.2 AS bc_her2,
    u(person_id, 83) < 0.7 AS bc_hormone,
    nrm(person_id, 84) AS hf_severity,
    greatest(4, 100 - 0.6 * greatest(age - 30, 0) - 35 * ckd::INTEGER - 45 * esrd::INTEGER
      + 12 * nrm(person_id, 85)) AS egfr_base
  FROM o
),
r AS (
  SELECT q.*,
    list_filter([
      {chronic}
    ], lambda x: x.known IS NOT NULL) AS chronic,
    0.2 + 0.006 * age + 0.15 * (htn::INTEGER + hld::INTEGER + t2dm::INTEGER + ckd::INTEGER + cad::INTEGER
      + copd::INTEGER + asthma::INTEGER + af::INTEGER + (hf_d0 IS NOT NULL)::INTEGER) AS visit_rate
  FROM q
)
SELECT r.*,
  least(60, floor(obs_days / 365.25 * visit_rate * (0.4 + 1.2 * u(person_id, 86))))::INTEGER AS n_bg,
  hb.care_site_id AS home_site, hb.location_id AS home_group
FROM r
JOIN _home_bucket AS hb ON hb.b = floor(u(person_id, 6) * 1000)::INTEGER
"""


PERSON_INSERT = """
INSERT INTO person
SELECT person_id, CASE WHEN female THEN 8532 ELSE 8507 END, 2025 - age, month_of_birth, day_of_birth,
  NULL,
  CASE WHEN u(person_id, 7) < 0.70 THEN 8527 WHEN u(person_id, 7) < 0.85 THEN 8516
       WHEN u(person_id, 7) < 0.93 THEN 8515 ELSE 0 END,
  CASE WHEN u(person_id, 8) < 0.12 THEN 38003563 ELSE 38003564 END,
  NULL, NULL, home_site, 'P' || person_id, CASE WHEN female THEN 'F' ELSE 'M' END, 0,
  NULL, 0, NULL, 0
FROM _p
"""

OBSERVATION_PERIOD_INSERT = """
INSERT INTO observation_period
SELECT person_id * 10 + 1, person_id, op_start, p1_end, 32817 FROM _p
UNION ALL
SELECT person_id * 10 + 2, person_id, p1_end + g_len + 1, op_end, 32817 FROM _p WHERE g_len > 0
"""

DEATH_INSERT = """
INSERT INTO death
SELECT person_id, op_end, NULL, 32817,
  CASE WHEN hf_d0 IS NOT NULL AND u(person_id, 87) < 0.5 THEN hf_code
       WHEN oc_d0 IS NOT NULL AND u(person_id, 87) < 0.8 THEN oc_code
       WHEN bc_d0 IS NOT NULL THEN 4112853
       ELSE 0 END,
  NULL, 0
FROM _p WHERE dead
"""
