"""What is recorded at each visit: conditions, drugs, measurements, procedures and observations.

Every visit offers a list of candidate records (`unnest` of a list of structs), each with its own
probability; a hash draw keyed by the record id keeps or drops it. Candidates depend on the
visit's stream (kind), its type and the person's diseases, so a diabetes follow-up carries a
diabetes diagnosis, an HbA1c and often an eGFR; a chemotherapy cycle carries the regimen's drugs;
a background visit carries the acute problem of the day and some of the person's known chronic
problems with their usual drugs.

Record ids: person_id * 100000 + (visit id - person_id * 1000) * 20 + slot for records of a
visit; person_id * 100000 + 20000 + n for records without a visit (pharmacy dispensings, history
carried in from before the observation start).
"""

from __future__ import annotations

import re

from omop_fixtures.synthetic import vocabulary as voc
from omop_fixtures.synthetic.people import HF_CODING, T2DM_CODING
from omop_fixtures.synthetic.randomness import pick

BREAST_CODING = [(4112853, 60), (voc.BREAST_UOQ, 25), (voc.BREAST_DUCTAL, 15)]
PANC_CODING = [(199074, 70), (voc.PANC_BILIARY, 20), (voc.PANC_ALCOHOL, 10)]
PREGNANCY_CODING = [(4299535, 95), (voc.TWIN_PREGNANCY, 5)]
DIALYSIS_CODING = [(4146536, 85), (voc.PERITONEAL_DIALYSIS, 12), (4032243, 3)]
METFORMIN_PRODUCTS = [(voc.METFORMIN_500, 60), (voc.METFORMIN_ER_500, 40)]
INSULIN_PRODUCTS = [(voc.INSULIN_GLARGINE_INJ, 60), (voc.INSULIN_REGULAR_INJ, 25), (voc.INSULIN_ASPART_INJ, 15)]
PACLITAXEL_PRODUCTS = [(voc.PACLITAXEL_INJ, 85), (voc.PACLITAXEL_PROTEIN_BOUND, 15)]

EVENT_ID = "person_id * 100000 + (vid - person_id * 1000) * 20 + slot"
NO_VISIT_ID = "person_id * 100000 + 20000 + slot"


def _candidates(kind: int, items: list[str], where: str = "TRUE") -> str:
    """Rows (person_id, vid, kind, k, d, visit_concept_id, x) for each candidate struct of each visit of `kind`."""
    listed = ", ".join(items)
    person = " JOIN _p AS p USING (person_id)" if re.search(r"\bp\.", listed + where) else ""  # only when used
    return f"""
  SELECT v.person_id, v.vid, v.kind, v.k, v.d, v.visit_concept_id, unnest([{listed}]) AS x
  FROM _v AS v{person}
  WHERE v.kind = {kind} AND {where}"""


# Conditions ------------------------------------------------------------------------------------

def conditions_sql() -> str:
    """CREATE `_co`: the chunk's condition records (kept for condition_era)."""

    def c(slot: int, concept: str, p: str) -> str:
        return f"{{'slot': {slot}, 'concept': ({concept})::BIGINT, 'p': ({p})::DOUBLE}}"

    parts = [
        _candidates(0, [c(0, "v.acute", "1")], "v.acute IS NOT NULL"),
        # known chronic problems, each recorded at 30% of background visits
        """
  SELECT person_id, vid, 0 AS kind, k, d, visit_concept_id,
    {'slot': x.slot, 'concept': x.concept, 'p': 0.3::DOUBLE} AS x
  FROM (
    SELECT v.person_id, v.vid, v.k, v.d, v.visit_concept_id, unnest(p.chronic) AS x
    FROM _v AS v JOIN _p AS p USING (person_id) WHERE v.kind = 0
  ) WHERE d >= x.known""",
        _candidates(1, [c(0, pick(T2DM_CODING, "v.vid", 202), "1"),
                        c(1, "CASE WHEN p.esrd THEN 193782 ELSE 46271022 END", "(p.kd_ckd <= v.d)::INTEGER * 0.3")]),
        _candidates(2, [c(0, pick(HF_CODING, "v.vid", 204), "1")]),
        _candidates(3, [c(0, pick(BREAST_CODING, "v.person_id", 205),
                          "CASE WHEN v.k = 0 OR v.k >= 20 THEN 1 ELSE 0.5 END")]),
        _candidates(4, [c(0, "p.oc_code", "1")]),
        _candidates(5, [c(0, pick(PANC_CODING, "v.vid", 206), "1")]),
        _candidates(6, [c(0, "193782", "0.5")]),
        _candidates(7, [c(0, pick(PREGNANCY_CODING, "v.person_id", 207), "1")]),
    ]
    visit_rows = "\n  UNION ALL\n  ".join(
        f"SELECT person_id, vid, x.slot, x.concept, d, x.p, kind FROM ({part})" for part in parts
    )
    return f"""
CREATE OR REPLACE TEMP TABLE _co AS
WITH r AS ({visit_rows}
)
SELECT person_id, {EVENT_ID} AS id, concept AS concept_id, d AS start_date,
  CASE WHEN kind = 0 AND slot = 0 THEN d + 7 + floor(u(vid, 200) * 8)::INTEGER END AS end_date, vid
FROM (SELECT person_id, vid, slot, concept, d, p, kind FROM r)
WHERE concept IS NOT NULL
  AND (p >= 1 OR u({EVENT_ID}, 201) < p)
UNION ALL
SELECT person_id, person_id * 100000 + 20001, oc_code, oc_hist, NULL, NULL FROM _p WHERE oc_hist IS NOT NULL
UNION ALL
SELECT person_id, person_id * 100000 + 20002, {pick(PANC_CODING, "person_id", 208)}, panc_hist, NULL, NULL
FROM _p WHERE panc_hist IS NOT NULL
"""


CONDITION_INSERT = """
INSERT INTO condition_occurrence
SELECT c.id, c.person_id, c.concept_id, c.start_date, NULL, c.end_date, NULL, 32817, NULL, NULL, NULL,
  c.vid, NULL, s.source_value, coalesce(s.source_concept_id, 0), NULL
FROM _co AS c LEFT JOIN _source_code AS s ON s.concept_id = c.concept_id
"""


# Drugs -----------------------------------------------------------------------------------------

def drugs_sql() -> str:
    """CREATE `_de`: the chunk's drug exposures (kept for drug_era)."""

    def d(slot: int, concept: str, p: str, days: str, route: str = "NULL") -> str:
        return (
            f"{{'slot': {slot}, 'concept': ({concept})::BIGINT, 'p': ({p})::DOUBLE, 'days': ({days})::INTEGER,"
            f" 'route': ({route})::BIGINT}}"
        )

    iv = str(voc.ROUTE_INTRAVENOUS)
    acute_drug = (
        f"CASE v.acute WHEN 195588 THEN 920334 WHEN 81151 THEN {voc.IBUPROFEN_TAB}"
        f" WHEN 255848 THEN 19073188 WHEN 260139 THEN 19073188 WHEN 40481087 THEN 19073188"
        f" WHEN 4112343 THEN 19073188 WHEN 372328 THEN 19073188 END"
    )
    cycle = "v.k BETWEEN 1 AND 16"
    main_chemo = (
        f"CASE WHEN NOT ({cycle}) THEN NULL WHEN p.bc_regimen IN (0, 1) OR (p.bc_regimen = 2 AND v.k > 4)"
        f" THEN {pick(PACLITAXEL_PRODUCTS, 'v.person_id', 223)}"
        f" WHEN p.bc_regimen = 2 THEN {voc.DOXORUBICIN_INJ} WHEN p.bc_regimen = 3 THEN {voc.DOCETAXEL_INJ} END"
    )
    parts = [
        _candidates(0, [d(0, acute_drug, "0.7", "CASE WHEN v.acute = 195588 THEN 7 ELSE 10 END")],
                    "v.acute IS NOT NULL"),
        """
  SELECT person_id, vid, 0 AS kind, k, d, visit_concept_id,
    {'slot': x.slot, 'concept': x.drug, 'p': 0.4::DOUBLE,
      'days': (CASE WHEN u(vid * 20 + x.slot, 221) < 0.3 THEN 30 ELSE 90 END)::INTEGER, 'route': NULL::BIGINT} AS x
  FROM (
    SELECT v.person_id, v.vid, v.k, v.d, v.visit_concept_id, unnest(p.chronic) AS x
    FROM _v AS v JOIN _p AS p USING (person_id) WHERE v.kind = 0
  ) WHERE d >= x.known AND x.drug IS NOT NULL""",
        _candidates(2, [
            d(1, str(voc.FUROSEMIDE_TAB), "0.7", "90"),
            d(2, pick([(voc.CARVEDILOL_TAB, 1), (voc.METOPROLOL_TAB, 1)], "v.person_id", 224), "0.6", "90"),
            d(3, str(voc.LISINOPRIL_TAB), "0.35", "90"),
            d(4, str(voc.SPIRONOLACTONE_TAB), "0.3", "90"),
            d(5, str(voc.EMPAGLIFLOZIN_TAB), "CASE WHEN p.t2dm THEN 0.15 ELSE 0.05 END", "90"),
        ]),
        _candidates(3, [
            d(0, main_chemo, "1", "1", iv),
            d(1, f"CASE WHEN {cycle} AND ((p.bc_regimen = 2 AND v.k <= 4) OR p.bc_regimen = 3)"
                 f" THEN {voc.CYCLOPHOSPHAMIDE_INJ} END", "1", "1", iv),
            d(2, f"CASE WHEN {cycle} AND p.bc_her2 THEN {voc.TRASTUZUMAB_INJ} END", "1", "1", iv),
            d(3, f"CASE WHEN {cycle} THEN {voc.ONDANSETRON_TAB} END", "0.7", "3"),
            d(4, f"CASE WHEN v.k >= 20 AND p.bc_hormone THEN"
                 f" CASE WHEN p.age < 50 THEN {voc.TAMOXIFEN_TAB} ELSE {voc.LETROZOLE_TAB} END END", "0.9", "180"),
        ]),
    ]
    visit_rows = "\n  UNION ALL\n  ".join(
        f"SELECT person_id, vid, x.slot, x.concept, d, x.p, x.days, x.route FROM ({part})" for part in parts
    )
    # pharmacy dispensings of diabetes drugs, every 90 (metformin) or 60 (insulin) observed days
    metformin = """
    SELECT person_id, 0 AS slot0, greatest(t_dm + met_offset, 0) AS t0,
      CASE WHEN met_duration IS NULL THEN obs_days - 1 ELSE least(obs_days - 1, t_dm + met_offset + met_duration) END
        AS t1, 90 AS step, 80 AS most
    FROM _p WHERE t_dm IS NOT NULL AND met_offset IS NOT NULL"""
    insulin = """
    SELECT person_id, 100, greatest(t_dm + ins_offset, 0), obs_days - 1, 60, 100
    FROM _p WHERE t_dm IS NOT NULL AND ins_offset IS NOT NULL"""
    return f"""
CREATE OR REPLACE TEMP TABLE _de AS
WITH r AS ({visit_rows}
),
dispensing AS (
  SELECT s.person_id, s.slot0 + k AS slot, s.slot0,
    od(p.op_start, p.p1_end, p.g_len, s.t0 + k * s.step) AS d, s.step AS days
  FROM (
    SELECT *, unnest(range(CASE WHEN t1 >= t0 THEN least(most, (t1 - t0) // step + 1) ELSE 0 END)) AS k
    FROM ({metformin}
      UNION ALL{insulin})
  ) AS s JOIN _p AS p USING (person_id)
)
SELECT person_id, {EVENT_ID} AS id, concept AS concept_id, d AS start_date, days, route, vid, 32838 AS type_id
FROM r
WHERE concept IS NOT NULL AND (p >= 1 OR u({EVENT_ID}, 222) < p)
UNION ALL
SELECT person_id, {NO_VISIT_ID}, CASE WHEN slot0 = 0 THEN {pick(METFORMIN_PRODUCTS, 'person_id', 225)}
  ELSE {pick(INSULIN_PRODUCTS, 'person_id', 226)} END, d, days, NULL, NULL, 32838
FROM dispensing
"""


DRUG_INSERT = """
INSERT INTO drug_exposure
SELECT id, person_id, concept_id, start_date, NULL, start_date + days - 1, NULL, NULL, type_id, NULL,
  0, days, days, NULL, route, NULL, NULL, vid, NULL, NULL, 0, NULL, NULL
FROM _de
"""


# Measurements ----------------------------------------------------------------------------------

# mtype: (concept, unit concept, unit symbol, range low, range high, decimals)
MEASURES = {
    1: (3004249, 8876, "mm[Hg]", 90, 140, 0),
    2: (3012888, 8876, "mm[Hg]", 60, 90, 0),
    3: (3038553, 9531, "kg/m2", 18.5, 25, 1),
    4: (3000963, 8713, "g/dL", 12, 17.5, 1),
    5: (3016723, 8840, "mg/dL", 0.6, 1.3, 2),
    6: (3049187, 8117, "mL/min/{1.73_m2}", 60, None, 0),
    7: (3004501, 8840, "mg/dL", 70, 99, 0),
    8: (3023103, 8753, "mmol/L", 3.5, 5.1, 1),
    9: (3004410, 8554, "%", 4.0, 5.6, 1),
    10: (3029187, 8845, "pg/mL", 0, 125, 0),
}
HBA1C_MMOL_MOL = 9579

# mean and standard deviation of each measurement, from the person (p) and the visit (v)
_MEAN = {
    1: "118 + 0.35 * greatest(p.age - 30, 0) + 12 * p.htn::INTEGER",
    2: "74 + 6 * p.htn::INTEGER",
    3: "25.5 + 6 * p.obese::INTEGER + 1.5 * p.z",
    4: "CASE WHEN p.female THEN 12.9 ELSE 14.6 END - 1.3 * p.ckd::INTEGER - 1.0 * p.esrd::INTEGER"
       " - 0.9 * (m.kind = 3)::INTEGER",
    5: "0.8 + 0.25 * (NOT p.female)::INTEGER + 1.1 * p.ckd::INTEGER + 5 * p.esrd::INTEGER",
    6: "p.egfr_base",
    7: "92 + 65 * (p.dm_d0 <= m.d)::INTEGER",
    8: "4.2 + 0.4 * p.ckd::INTEGER",
    9: "CASE WHEN m.kind = 1 AND m.k = 0 THEN 8.3 WHEN m.kind = 1 OR p.dm_d0 <= m.d THEN 7.6 ELSE 5.4 END",
    10: "exp(ln(1500) + 0.45 * p.hf_severity + 0.8 * nrm(m.id, 233))",
}
_SD = {1: "8", 2: "7", 3: "3", 4: "1.1", 5: "0.15", 6: "6", 7: "15", 8: "0.35",
       9: "CASE WHEN m.kind = 1 AND m.k = 0 THEN 1.4 WHEN m.kind = 1 OR p.dm_d0 <= m.d THEN 1.1 ELSE 0.35 END",
       10: "0"}
_NULL_SHARE = {4: 0.04, 6: 0.03, 9: 0.03, 10: 0.04}
_LOINC = {c.concept_id: c.code for c in voc.CONCEPTS if c.vocabulary == "LOINC"}


def measurements_sql() -> str:
    """INSERT the chunk's measurements."""

    def m(mtype: int, p: str) -> str:
        return f"{{'slot': {mtype}, 'p': ({p})::DOUBLE}}"

    by_type = "CASE v.visit_concept_id WHEN 9201 THEN {ip} WHEN 9203 THEN {er} ELSE {op} END"
    parts = [
        _candidates(0, [
            m(1, by_type.format(ip=0.9, er=0.9, op=0.4)),
            m(2, by_type.format(ip=0.9, er=0.9, op=0.4)),
            m(3, by_type.format(ip=0.1, er=0, op=0.15)),
            m(4, by_type.format(ip=0.9, er=0.5, op=0.15)),
            m(5, by_type.format(ip=0.9, er=0.5, op=0.15)),
            m(6, f"(p.age >= 18)::INTEGER * {by_type.format(ip=0.6, er=0.25, op=0.1)}"),
            m(7, by_type.format(ip=0.8, er=0.5, op=0.15)),
            m(8, by_type.format(ip=0.8, er=0.4, op=0.05)),
            m(9, "CASE WHEN p.dm_d0 <= v.d THEN 0.3 WHEN p.age >= 18 THEN 0.03 ELSE 0 END"),
        ]),
        _candidates(1, [m(9, "CASE WHEN v.k = 0 THEN 0.95 ELSE 0.8 END"),
                        m(6, "CASE WHEN v.k = 0 THEN 0.8 ELSE 0.55 END"), m(7, "0.5"), m(5, "0.4")]),
        _candidates(2, [m(10, "CASE WHEN v.visit_concept_id = 9201 THEN 0.95 ELSE 0.5 END"), m(5, "0.6"), m(8, "0.6")]),
        _candidates(3, [m(4, "CASE WHEN v.k BETWEEN 1 AND 16 THEN 0.8 ELSE 0.2 END")]),
        _candidates(6, [m(4, "0.6"), m(5, "0.7"), m(8, "0.8")]),
        _candidates(7, [m(4, "0.5")]),
    ]
    rows = "\n  UNION ALL\n  ".join(f"SELECT person_id, vid, kind, k, d, x.slot, x.p FROM ({part})" for part in parts)
    mean = " ".join(f"WHEN {t} THEN {e}" for t, e in _MEAN.items())
    sd = " ".join(f"WHEN {t} THEN {e}" for t, e in _SD.items())
    nulls = " ".join(f"WHEN {t} THEN {share}" for t, share in _NULL_SHARE.items())
    spec = ", ".join(
        f"({t}, {c}, {unit}, '{sym}', {lo}, {'NULL' if hi is None else hi}, {dec}, '{_LOINC[c]}')"
        for t, (c, unit, sym, lo, hi, dec) in MEASURES.items()
    )
    return f"""
INSERT INTO measurement
WITH r AS ({rows}
),
m AS (
  SELECT person_id, vid, kind, k, d, slot AS mtype, {EVENT_ID} AS id
  FROM r WHERE p > 0 AND u({EVENT_ID}, 230) < p
),
spec AS (
  SELECT * FROM (VALUES {spec}) AS s(mtype, concept_id, unit_concept_id, unit_source, range_low, range_high,
    decimals, loinc)
),
val AS (
  SELECT m.*, s.concept_id, s.unit_concept_id, s.unit_source, s.range_low, s.range_high, s.loinc,
    CASE WHEN u(m.id, 231) < CASE m.mtype {nulls} ELSE 0.01 END THEN NULL
      ELSE round(greatest(CASE m.mtype {mean} END + (CASE m.mtype {sd} END) * nrm(m.id, 232),
                          CASE m.mtype WHEN 3 THEN 14 WHEN 6 THEN 3 ELSE 0.1 END), s.decimals) END AS value,
    m.mtype = 9 AND u(m.id, 234) < 0.06 AS in_mmol_mol
  FROM m JOIN _p AS p USING (person_id) JOIN spec AS s USING (mtype)
)
SELECT id, person_id, concept_id, d, NULL, NULL, 32856, NULL,
  CASE WHEN in_mmol_mol THEN round(value * 10.929 - 23.5) ELSE value END, NULL,
  CASE WHEN in_mmol_mol THEN {HBA1C_MMOL_MOL} ELSE unit_concept_id END,
  CASE WHEN in_mmol_mol THEN 20 ELSE range_low END, CASE WHEN in_mmol_mol THEN 38 ELSE range_high END,
  NULL, vid, NULL, loinc, 0, CASE WHEN in_mmol_mol THEN 'mmol/mol' ELSE unit_source END, 0,
  NULL, NULL, NULL
FROM val
"""


# Procedures and observations -------------------------------------------------------------------

def procedures_sql() -> str:
    """INSERT the chunk's procedures."""

    def pr(slot: int, concept: str, p: str) -> str:
        return f"{{'slot': {slot}, 'concept': ({concept})::BIGINT, 'p': ({p})::DOUBLE}}"

    ip, er, op = "(v.visit_concept_id = 9201)", "(v.visit_concept_id = 9203)", "(v.visit_concept_id = 9202)"
    parts = [
        _candidates(0, [
            pr(0, "4163872", f"0.4 * {ip}::INTEGER + 0.25 * {er}::INTEGER"),
            pr(1, "4163951", f"0.5 * {ip}::INTEGER + 0.35 * {er}::INTEGER"),
            pr(2, "4218408", f"0.5 * {ip}::INTEGER + 0.3 * {er}::INTEGER + 0.05 * {op}::INTEGER"),
            pr(3, "4324693", f"0.04 * ({op} AND p.female AND p.age >= 40)::INTEGER"),
            pr(4, "4249893", f"0.015 * ({op} AND p.age >= 50)::INTEGER"),
            pr(5, "4195803", f"0.02 * ({op} AND p.female AND p.age >= 60)::INTEGER"),
            pr(6, "4216130", f"0.15 * ({ip} AND p.kd_cad <= v.d)::INTEGER"),
        ]),
        _candidates(1, [pr(0, "4218408", "0.2")]),
        _candidates(2, [pr(0, str(voc.ECHOCARDIOGRAPHY), "CASE WHEN v.k = 0 THEN 0.85 ELSE 0.1 END"),
                        pr(1, "4163951", f"0.8 * {ip}::INTEGER")]),
        _candidates(3, [pr(0, "4324693", "(v.k = 0)::INTEGER"),
                        pr(1, "4273629", "0.9 * (v.k BETWEEN 1 AND 16)::INTEGER")]),
        _candidates(4, [pr(0, "4249893", "(v.k = 0 AND p.oc_code = 4180790)::INTEGER"),
                        pr(1, "4273629", "0.3 * (v.k > 0)::INTEGER")]),
        _candidates(6, [pr(0, pick(DIALYSIS_CODING, "v.person_id", 240), "1")]),
    ]
    rows = "\n  UNION ALL\n  ".join(f"SELECT person_id, vid, x.slot, x.concept, d, x.p FROM ({part})" for part in parts)
    return f"""
INSERT INTO procedure_occurrence
WITH r AS ({rows}
)
SELECT {EVENT_ID}, person_id, concept, d, NULL, NULL, NULL, 32817, NULL, NULL, NULL, vid, NULL, NULL, 0, NULL
FROM r WHERE p > 0 AND (p >= 1 OR u({EVENT_ID}, 241) < p)
UNION ALL
SELECT person_id * 100000 + 20000 + j, person_id, {pick(DIALYSIS_CODING, 'person_id', 240)}, dial_hist - 60 * j,
  NULL, NULL, NULL, 32817, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL
FROM (SELECT person_id, dial_hist, unnest(range(3))::INTEGER AS j FROM _p WHERE dial_hist IS NOT NULL)
"""


def observations_sql() -> str:
    """INSERT the chunk's observations: allergies and a history of myocardial infarction, noted at one
    background visit per person (its first in id order, a random one in time)."""
    part = _candidates(0, [
        "{'slot': 0, 'concept': 4240902::BIGINT, 'p': 0.02::DOUBLE}",
        "{'slot': 1, 'concept': 4102123::BIGINT, 'p': 0.02::DOUBLE}",
        "{'slot': 2, 'concept': 4163874::BIGINT, 'p': (0.3 * (p.kd_cad <= v.d)::INTEGER)::DOUBLE}",
    ], "v.k = 0")
    return f"""
INSERT INTO observation
SELECT {EVENT_ID}, person_id, concept, d, NULL, 32817, NULL, NULL, NULL, NULL, NULL, NULL, vid, NULL,
  NULL, 0, NULL, NULL, NULL, NULL, NULL
FROM (SELECT person_id, vid, x.slot AS slot, x.concept AS concept, d, x.p AS p FROM ({part}))
WHERE p > 0 AND u({EVENT_ID}, 250) < p
"""
