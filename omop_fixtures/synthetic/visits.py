"""When and where the patients are seen: the chunk's visits `_v`, one row per visit, from care streams.

Each stream is a kind of care with its own rhythm; its visits carry the events generated later:
| kind | stream | visits |
|---|---|---|
| 0 | background care | ~0.3-2 a year by age and chronic burden, uniform over observed days; 3-9% inpatient |
| 1 | type 2 diabetes follow-up | every 120-240 days from the first coded record |
| 2 | heart failure | first contact (55% an admission), then every 90-180 days, some readmissions |
| 3 | breast cancer | diagnosis, chemotherapy cycles by regimen, follow-up every 180 days |
| 4 | other cancer | 2-5 visits from diagnosis |
| 5 | acute pancreatitis | 1-2 admissions |
| 6 | dialysis | monthly from the start of end-stage renal disease |
| 7 | pregnancy | three antenatal visits and the delivery admission |

visit_occurrence_id = person_id * 1000 + kind offset + k, so ids are unique and stable. A visit is at
the person's home hospital (80%), another hospital of the same group (15%) or any hospital (5%).
Visits never start after the observation end; a stay that outlasts it is cut at it.
"""

from __future__ import annotations

from dataclasses import dataclass

from omop_fixtures.synthetic.randomness import pick

ACUTE_CHILD = [(372328, 25), (4112343, 25), (40481087, 20), (260139, 15), (81151, 10), (439777, 5)]
ACUTE_ADULT = [
    (40481087, 20), (4112343, 14), (260139, 14), (195588, 16), (81151, 10), (439777, 10),
    (196456, 5), (192671, 2), (255848, 9),
]
ACUTE_EMERGENCY = [
    (81151, 25), (255848, 14), (195588, 10), (260139, 10), (192671, 5), (4329847, 5), (381316, 3),
    (4112343, 10), (196456, 8), (439777, 10),
]
ACUTE_INPATIENT = [(255848, 30), (4329847, 12), (381316, 10), (192671, 8), (196456, 10), (439777, 10),
                   (195588, 10), (260139, 10)]


@dataclass(frozen=True)
class Stream:
    kind: int
    offset: int  # visit ids of this stream are person_id * 1000 + offset + k
    where: str  # which persons have the stream
    extra: str  # per-person columns the stream needs
    count: str  # number of visits (k = 0 .. count-1)
    date: str  # visit start date; NULL drops the visit
    visit: str  # visit concept: 9201 inpatient, 9202 outpatient, 9203 emergency


BC_CYCLE_OFFSET = (  # days from treatment start to cycle k - 1 (visit k = 1, 2, ...) of each regimen
    "CASE bc_regimen WHEN 0 THEN 7 * (k - 1) WHEN 1 THEN 21 * (k - 1) WHEN 3 THEN 21 * (k - 1)"
    " ELSE CASE WHEN k <= 4 THEN 21 * (k - 1) ELSE 84 + 7 * (k - 5) END END"
)

STREAMS = (
    Stream(0, 0, "n_bg > 0", "n_bg", "n_bg",
           "od(op_start, p1_end, g_len, floor(u(vid, 100) * obs_days))",
           "CASE WHEN u(vid, 101) < 0.03 + 0.0006 * age THEN 9201"
           " WHEN u(vid, 101) < 0.12 + 0.0006 * age THEN 9203 ELSE 9202 END"),
    Stream(1, 100, "dm_d0 IS NOT NULL", "dm_d0 AS d0, 120 + floor(u(person_id, 88) * 120)::INTEGER AS step",
           "least(40, (op_end - d0) // step + 1)",
           "d0 + k * step + CASE WHEN k > 0 THEN floor(u(vid, 102) * 41)::INTEGER - 20 ELSE 0 END",
           "CASE WHEN u(vid, 103) < 0.06 THEN 9201 ELSE 9202 END"),
    Stream(2, 200, "hf_d0 IS NOT NULL",
           "hf_d0 AS d0, 90 + floor(u(person_id, 89) * 90)::INTEGER AS step, hf_severity",
           "least(30, (op_end - d0) // step + 1)",
           "d0 + k * step + CASE WHEN k > 0 THEN floor(u(vid, 102) * 31)::INTEGER - 15 ELSE 0 END",
           "CASE WHEN k = 0 AND u(vid, 104) < 0.55 THEN 9201"
           " WHEN k > 0 AND u(vid, 104) < 0.12 + 0.05 * greatest(hf_severity, 0) THEN 9201 ELSE 9202 END"),
    Stream(3, 300, "bc_d0 IS NOT NULL",
           "bc_d0 AS d0, bc_d0 + 14 + floor(u(person_id, 93) * 45)::INTEGER AS s, bc_regimen,"
           " CASE bc_regimen WHEN 0 THEN 12 WHEN 1 THEN 4 WHEN 2 THEN 16 WHEN 3 THEN 4 ELSE 0 END AS planned,"
           " u(person_id, 94) AS stop_draw, u(person_id, 95) AS stop_when",
           "30",
           f"CASE WHEN k = 0 THEN d0"
           f" WHEN k <= cycles THEN s + {BC_CYCLE_OFFSET}"
           f" WHEN k >= 20 THEN CASE WHEN bc_regimen = 4 THEN d0 + 60 ELSE s + 200 END + (k - 20) * 180 END",
           "9202"),
    Stream(4, 400, "oc_d0 IS NOT NULL",
           "oc_d0 AS d0, 60 + floor(u(person_id, 96) * 60)::INTEGER AS step",
           "2 + floor(u(person_id, 97) * 4)::INTEGER",
           "d0 + k * step",
           "CASE WHEN k = 0 AND u(vid, 105) < 0.3 THEN 9201 ELSE 9202 END"),
    Stream(5, 420, "panc_d0 IS NOT NULL", "panc_d0 AS d0, 200 + floor(u(person_id, 99) * 400)::INTEGER AS step",
           "1 + (u(person_id, 98) < 0.25)::INTEGER", "d0 + k * step", "9201"),
    Stream(6, 500, "esrd_d0 IS NOT NULL", "esrd_d0 AS d0", "least(40, (op_end - d0) // 30 + 1)", "d0 + 30 * k",
           "9202"),
    Stream(7, 600, "preg_date IS NOT NULL", "preg_date AS d0", "4", "d0 + list_extract([0, 84, 168, 266], k + 1)",
           "CASE WHEN k = 3 THEN 9201 ELSE 9202 END"),
)


def _stream_sql(s: Stream) -> str:
    # bc stream: cycles actually given (12% stop after the first, 8% somewhere in between)
    cycles = (
        ", CASE WHEN planned = 0 THEN 0 WHEN stop_draw < 0.12 THEN 1"
        " WHEN stop_draw < 0.20 THEN 1 + floor(stop_when * (planned - 1))::INTEGER ELSE planned END AS cycles"
        if s.kind == 3
        else ""
    )
    return f"""
  SELECT person_id, {s.kind} AS kind, k, vid, op_end, age, home_site, home_group,
    ({s.date})::DATE AS d, {s.visit} AS visit_concept_id
  FROM (
    SELECT * EXCLUDE (k0), k0::INTEGER AS k, person_id * 1000 + {s.offset} + k0 AS vid
    FROM (
      SELECT *, unnest(range(({s.count})::BIGINT)) AS k0
      FROM (
        SELECT person_id, op_start, op_end, p1_end, g_len, obs_days, age, home_site, home_group, {s.extra}{cycles}
        FROM (SELECT * FROM _p WHERE {s.where})
      )
    )
  )"""


def visits_sql() -> str:
    """CREATE the chunk's visit table `_v` (needs `_p` and the site bucket tables)."""
    streams = "\n  UNION ALL".join(_stream_sql(s) for s in STREAMS)
    acute = (
        f"CASE WHEN kind <> 0 THEN NULL"
        f" WHEN visit_concept_id = 9201 AND u(vid, 107) < 0.9 THEN {pick(ACUTE_INPATIENT, 'vid', 108)}"
        f" WHEN visit_concept_id = 9203 AND u(vid, 107) < 0.95 THEN {pick(ACUTE_EMERGENCY, 'vid', 108)}"
        f" WHEN visit_concept_id = 9202 AND u(vid, 107) < 0.4 THEN"
        f" CASE WHEN age < 18 THEN {pick(ACUTE_CHILD, 'vid', 108)} ELSE {pick(ACUTE_ADULT, 'vid', 108)} END END"
    )
    return f"""
CREATE OR REPLACE TEMP TABLE _v AS
WITH streams AS ({streams}
)
SELECT v.person_id, v.kind, v.k, v.vid, v.d, v.visit_concept_id,
  least(v.op_end, CASE v.visit_concept_id
    WHEN 9201 THEN v.d + least(30, 1 + floor(-ln(1 - u(v.vid, 106)) * 4)::INTEGER)
    WHEN 9203 THEN v.d + (u(v.vid, 106) < 0.2)::INTEGER
    ELSE v.d END) AS visit_end_date,
  CASE WHEN u(v.vid, 110) < 0.80 THEN v.home_site
       WHEN u(v.vid, 110) < 0.95 THEN gb.care_site_id
       ELSE hb.care_site_id END AS care_site_id,
  {acute} AS acute
FROM streams AS v
JOIN _group_bucket AS gb ON gb.location_id = v.home_group AND gb.b = floor(u(v.vid, 111) * 100)::INTEGER
JOIN _home_bucket AS hb ON hb.b = floor(u(v.vid, 112) * 1000)::INTEGER
WHERE v.d IS NOT NULL AND v.d <= v.op_end
"""


VISIT_INSERT = """
INSERT INTO visit_occurrence
SELECT vid, person_id, visit_concept_id, d, NULL, visit_end_date, NULL, 32817, NULL, care_site_id,
  CASE visit_concept_id WHEN 9201 THEN 'IP' WHEN 9203 THEN 'ER' ELSE 'OP' END, 0,
  NULL, NULL, NULL, NULL, NULL
FROM _v
"""
