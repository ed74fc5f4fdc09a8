"""The vocabulary rows the synthetic CDM uses: concepts, their hierarchy, ICD10CM source codes and 'Maps to'.

A hand-made subset of the OHDSI standardized vocabularies. Every concept id the example cohorts
q7-q9 name is here with its true domain, and the hierarchy their `with descendants` implies
(e.g. 201826 Type 2 diabetes mellitus > 443732 Disorder due to type 2 diabetes mellitus > ...).
Ids, names and codes come from the OHDSI vocabularies: those also in Eunomia were copied from
it, the others were written from memory of Athena and may differ in small details. Where no real
id was known, the concept has a local id (2,000,000,000 and up, the range OMOP reserves for
site-specific concepts) and vocabulary `Synthetic`; ICD10CM source codes keep their real codes
and vocabulary `ICD10CM` (so `source ICD10CM "E11%"` works) with local ids.

`concept_ancestor` is the transitive closure of the `IS_A` edges, with a self row for every
standard and classification concept, as in the real vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass

from cohortql.omop import UNIT_CONCEPTS


@dataclass(frozen=True)
class Concept:
    concept_id: int
    name: str
    domain: str
    vocabulary: str
    concept_class: str
    standard: str | None  # 'S' standard, 'C' classification, None for source codes
    code: str


def _concepts(domain: str, vocabulary: str, concept_class: str, standard: str | None, rows) -> list[Concept]:
    return [Concept(cid, name, domain, vocabulary, concept_class, standard, code) for cid, name, code in rows]


def _local(domain: str, concept_class: str, rows) -> list[Concept]:
    return [
        Concept(cid, name, domain, "Synthetic", concept_class, "S", f"SYN{cid - 2_000_000_000}") for cid, name in rows
    ]


_UNIT_NAMES = {
    "%": "percent",
    "g/dL": "gram per deciliter",
    "mg/dL": "milligram per deciliter",
    "mmol/L": "millimole per liter",
    "mmol/mol": "millimole per mole",
    "pg/mL": "picogram per milliliter",
    "mL/min/{1.73_m2}": "milliliter per minute per 1.73 square meter",
    "kg/m2": "kilogram per square meter",
    "mm[Hg]": "millimeter mercury column",
}

# Local ids, grouped by hundreds per domain so they stay readable in query results.
HFREF, HFPEF = 2_000_000_101, 2_000_000_102
T2DM_KIDNEY, T2DM_NEURO, T2DM_EYE = 2_000_000_111, 2_000_000_112, 2_000_000_113
BREAST_UOQ, BREAST_DUCTAL = 2_000_000_121, 2_000_000_122
MELANOMA = 2_000_000_123
PANC_BILIARY, PANC_ALCOHOL = 2_000_000_131, 2_000_000_132
TWIN_PREGNANCY = 2_000_000_141
CONGENITAL_HEART = 2_000_000_151

METFORMIN_500, METFORMIN_ER_500 = 2_000_000_201, 40163924
INSULIN_GLARGINE_INJ, INSULIN_REGULAR_INJ, INSULIN_ASPART_INJ = 2_000_000_202, 2_000_000_203, 2_000_000_204
PACLITAXEL_INJ, PACLITAXEL_PROTEIN_BOUND = 2_000_000_205, 2_000_000_206
DOCETAXEL_INJ, DOXORUBICIN_INJ, CYCLOPHOSPHAMIDE_INJ = 2_000_000_207, 2_000_000_208, 2_000_000_209
TRASTUZUMAB_INJ, TAMOXIFEN_TAB, LETROZOLE_TAB = 2_000_000_210, 2_000_000_211, 2_000_000_212
LISINOPRIL_TAB, FUROSEMIDE_TAB, METOPROLOL_TAB = 2_000_000_213, 2_000_000_214, 2_000_000_215
CARVEDILOL_TAB, SPIRONOLACTONE_TAB, EMPAGLIFLOZIN_TAB = 2_000_000_216, 2_000_000_217, 2_000_000_218
WARFARIN_TAB, LEVOTHYROXINE_TAB, ONDANSETRON_TAB = 2_000_000_219, 2_000_000_220, 2_000_000_221
ASPIRIN_TAB, IBUPROFEN_TAB = 2_000_000_222, 2_000_000_223
ATC_A10AB, ATC_A10AE, ATC_A10B, ATC_A10BA02 = 2_000_000_251, 2_000_000_252, 2_000_000_253, 2_000_000_254

PERITONEAL_DIALYSIS, ECHOCARDIOGRAPHY = 2_000_000_301, 2_000_000_302

ROUTE_INTRAVENOUS = 4171047

CONCEPTS: list[Concept] = [
    Concept(0, "No matching concept", "Metadata", "None", "Undefined", None, "No matching concept"),
    *_concepts("Gender", "Gender", "Gender", "S", [(8507, "MALE", "M"), (8532, "FEMALE", "F")]),
    *_concepts(
        "Race",
        "Race",
        "Race",
        "S",
        [(8527, "White", "5"), (8516, "Black or African American", "3"), (8515, "Asian", "2")],
    ),
    *_concepts(
        "Ethnicity",
        "Ethnicity",
        "Ethnicity",
        "S",
        [(38003563, "Hispanic or Latino", "Hispanic"), (38003564, "Not Hispanic or Latino", "Not Hispanic")],
    ),
    *_concepts(
        "Visit",
        "Visit",
        "Visit",
        "S",
        [
            (9201, "Inpatient Visit", "IP"),
            (9202, "Outpatient Visit", "OP"),
            (9203, "Emergency Room Visit", "ER"),
            (262, "Emergency Room and Inpatient Visit", "ERIP"),
        ],
    ),
    Concept(8717, "Inpatient Hospital", "Visit", "Place of Service", "Place of Service", "S", "21"),
    *_concepts(
        "Type Concept",
        "Type Concept",
        "Type Concept",
        "S",
        [(32817, "EHR", "OMOP4976890"), (32838, "EHR prescription", "OMOP4976911"), (32856, "Lab", "OMOP4976929")],
    ),
    Concept(ROUTE_INTRAVENOUS, "Intravenous", "Route", "SNOMED", "Qualifier Value", "S", "47625008"),
    *_concepts(
        "Unit",
        "UCUM",
        "Unit",
        "S",
        [(concept_id, _UNIT_NAMES.get(symbol, symbol), symbol) for symbol, concept_id in sorted(UNIT_CONCEPTS.items())],
    ),
    # Conditions (SNOMED)
    *_concepts(
        "Condition",
        "SNOMED",
        "Clinical Finding",
        "S",
        [
            (201820, "Diabetes mellitus", "73211009"),
            (201826, "Type 2 diabetes mellitus", "44054006"),
            (201254, "Type 1 diabetes mellitus", "46635009"),
            (4193704, "Type 2 diabetes mellitus without complication", "313436004"),
            (443732, "Disorder due to type 2 diabetes mellitus", "422014003"),
            (316139, "Heart failure", "84114007"),
            (319835, "Congestive heart failure", "42343007"),
            (443392, "Malignant neoplastic disease", "363346000"),
            (4112853, "Malignant tumor of breast", "254837009"),
            (4180790, "Malignant tumor of colon", "363406005"),
            (443388, "Malignant tumor of lung", "363358000"),
            (4163261, "Malignant tumor of prostate", "399068003"),
            (199074, "Acute pancreatitis", "197456007"),
            (4299535, "Pregnant", "77386006"),
            (46271022, "Chronic kidney disease", "709044004"),
            (193782, "End-stage renal disease", "46177005"),
            (316866, "Hypertensive disorder", "38341003"),
            (320128, "Essential hypertension", "59621000"),
            (432867, "Hyperlipidemia", "55822004"),
            (433736, "Obesity", "414916001"),
            (255573, "Chronic obstructive lung disease", "13645005"),
            (440383, "Depressive disorder", "35489007"),
            (313217, "Atrial fibrillation", "49436004"),
            (317576, "Coronary arteriosclerosis", "53741008"),
            (4329847, "Myocardial infarction", "22298006"),
            (381316, "Cerebrovascular accident", "230690007"),
            (317009, "Asthma", "195967001"),
            (80180, "Osteoarthritis", "396275006"),
            (140673, "Hypothyroidism", "40930008"),
            (195588, "Cystitis", "38822007"),
            (255848, "Pneumonia", "233604007"),
            (260139, "Acute bronchitis", "10509002"),
            (4283893, "Sinusitis", "36971009"),
            (40481087, "Viral sinusitis", "444814009"),
            (4112343, "Acute viral pharyngitis", "195662009"),
            (439777, "Anemia", "271737000"),
            (81151, "Sprain of ankle", "44465007"),
            (196456, "Gallstone", "235919008"),
            (372328, "Otitis media", "65363002"),
            (192671, "Gastrointestinal hemorrhage", "74474003"),
        ],
    ),
    *_local(
        "Condition",
        "Clinical Finding",
        [
            (HFREF, "Heart failure with reduced ejection fraction"),
            (HFPEF, "Heart failure with preserved ejection fraction"),
            (T2DM_KIDNEY, "Disorder of kidney due to type 2 diabetes mellitus"),
            (T2DM_NEURO, "Neuropathy due to type 2 diabetes mellitus"),
            (T2DM_EYE, "Retinopathy due to type 2 diabetes mellitus"),
            (BREAST_UOQ, "Malignant neoplasm of upper outer quadrant of female breast"),
            (BREAST_DUCTAL, "Infiltrating duct carcinoma of breast"),
            (MELANOMA, "Malignant melanoma of skin"),
            (PANC_BILIARY, "Acute biliary pancreatitis"),
            (PANC_ALCOHOL, "Alcohol-induced acute pancreatitis"),
            (TWIN_PREGNANCY, "Twin pregnancy"),
            (CONGENITAL_HEART, "Congenital heart disease"),
        ],
    ),
    # Drugs: RxNorm ingredients, clinical drugs, ATC classes
    *_concepts(
        "Drug",
        "RxNorm",
        "Ingredient",
        "S",
        [
            (1503297, "metformin", "6809"),
            (1596977, "insulin, regular, human", "253182"),
            (1502905, "insulin glargine", "274783"),
            (1567198, "insulin aspart, human", "51428"),
            (1378382, "paclitaxel", "56946"),
            (1315942, "docetaxel", "72962"),
            (1338512, "doxorubicin", "3639"),
            (1310317, "cyclophosphamide", "3002"),
            (1387104, "trastuzumab", "224905"),
            (1436678, "tamoxifen", "10324"),
            (1315946, "letrozole", "72965"),
            (1308216, "lisinopril", "29046"),
            (956874, "furosemide", "4603"),
            (1307046, "metoprolol", "6918"),
            (1346823, "carvedilol", "20352"),
            (970250, "spironolactone", "9997"),
            (45774751, "empagliflozin", "1545653"),
            (1545958, "atorvastatin", "83367"),
            (1539403, "Simvastatin", "36567"),
            (1332418, "Amlodipine", "17767"),
            (1125315, "Acetaminophen", "161"),
            (1713332, "Amoxicillin", "723"),
            (1112807, "Aspirin", "1191"),
            (1310149, "Warfarin", "11289"),
            (1154343, "Albuterol", "435"),
            (1501700, "levothyroxine", "10582"),
            (1177480, "Ibuprofen", "5640"),
            (920293, "Nitrofurantoin", "7454"),
            (1000560, "Ondansetron", "26225"),
        ],
    ),
    *_concepts(
        "Drug",
        "RxNorm",
        "Clinical Drug",
        "S",
        [
            (METFORMIN_ER_500, "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet", "860975"),
            (1545959, "atorvastatin 80 MG Oral Tablet", "259255"),
            (1539411, "Simvastatin 20 MG Oral Tablet", "312961"),
            (1332419, "Amlodipine 5 MG Oral Tablet", "197361"),
            (1127433, "Acetaminophen 325 MG Oral Tablet", "313782"),
            (19073188, "Amoxicillin 500 MG Oral Tablet", "308192"),
            (920334, "NITROFURANTOIN, MACROCRYSTALS 50 MG Oral Capsule", "311995"),
        ],
    ),
    Concept(1154615, "200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "Drug", "RxNorm",
            "Quant Clinical Drug", "S", "745679"),
    *_local(
        "Drug",
        "Clinical Drug",
        [
            (METFORMIN_500, "metformin hydrochloride 500 MG Oral Tablet"),
            (INSULIN_GLARGINE_INJ, "insulin glargine 100 UNT/ML Injectable Solution"),
            (INSULIN_REGULAR_INJ, "insulin, regular, human 100 UNT/ML Injectable Solution"),
            (INSULIN_ASPART_INJ, "insulin aspart 100 UNT/ML Injectable Solution"),
            (PACLITAXEL_INJ, "paclitaxel 6 MG/ML Injectable Solution"),
            (PACLITAXEL_PROTEIN_BOUND, "paclitaxel protein-bound 100 MG Injectable Suspension"),
            (DOCETAXEL_INJ, "docetaxel 20 MG/ML Injectable Solution"),
            (DOXORUBICIN_INJ, "doxorubicin hydrochloride 2 MG/ML Injectable Solution"),
            (CYCLOPHOSPHAMIDE_INJ, "cyclophosphamide 500 MG Injection"),
            (TRASTUZUMAB_INJ, "trastuzumab 150 MG Injection"),
            (TAMOXIFEN_TAB, "tamoxifen 20 MG Oral Tablet"),
            (LETROZOLE_TAB, "letrozole 2.5 MG Oral Tablet"),
            (LISINOPRIL_TAB, "lisinopril 10 MG Oral Tablet"),
            (FUROSEMIDE_TAB, "furosemide 40 MG Oral Tablet"),
            (METOPROLOL_TAB, "24 HR metoprolol succinate 50 MG Extended Release Oral Tablet"),
            (CARVEDILOL_TAB, "carvedilol 12.5 MG Oral Tablet"),
            (SPIRONOLACTONE_TAB, "spironolactone 25 MG Oral Tablet"),
            (EMPAGLIFLOZIN_TAB, "empagliflozin 10 MG Oral Tablet"),
            (WARFARIN_TAB, "warfarin sodium 5 MG Oral Tablet"),
            (LEVOTHYROXINE_TAB, "levothyroxine sodium 0.1 MG Oral Tablet"),
            (ONDANSETRON_TAB, "ondansetron 8 MG Oral Tablet"),
            (ASPIRIN_TAB, "aspirin 81 MG Oral Tablet"),
            (IBUPROFEN_TAB, "ibuprofen 400 MG Oral Tablet"),
        ],
    ),
    Concept(21600712, "DRUGS USED IN DIABETES", "Drug", "ATC", "ATC 2nd", "C", "A10"),
    Concept(21600713, "INSULINS AND ANALOGUES", "Drug", "ATC", "ATC 3rd", "C", "A10A"),
    Concept(ATC_A10AB, "Insulins and analogues for injection, fast-acting", "Drug", "ATC", "ATC 4th", "C", "A10AB"),
    Concept(ATC_A10AE, "Insulins and analogues for injection, long-acting", "Drug", "ATC", "ATC 4th", "C", "A10AE"),
    Concept(ATC_A10B, "BLOOD GLUCOSE LOWERING DRUGS, EXCL. INSULINS", "Drug", "ATC", "ATC 3rd", "C", "A10B"),
    Concept(ATC_A10BA02, "metformin", "Drug", "ATC", "ATC 5th", "C", "A10BA02"),
    # Measurements (LOINC)
    *_concepts(
        "Measurement",
        "LOINC",
        "Lab Test",
        "S",
        [
            (3004410, "Hemoglobin A1c/Hemoglobin.total in Blood", "4548-4"),
            (3049187, "Glomerular filtration rate/1.73 sq M.predicted (CKD-EPI)", "62238-1"),
            (3029187, "NT-proBNP [Mass/volume] in Serum or Plasma", "33762-6"),
            (3000963, "Hemoglobin", "718-7"),
            (3016723, "Creatinine serum/plasma", "2160-0"),
            (3004501, "Glucose lab", "2345-7"),
            (3023103, "Potassium serum/plasma", "2823-3"),
        ],
    ),
    *_concepts(
        "Measurement",
        "LOINC",
        "Clinical Observation",
        "S",
        [
            (3004249, "Systolic blood pressure", "8480-6"),
            (3012888, "Diastolic blood pressure", "8462-4"),
            (3038553, "Body mass index (BMI) [Ratio]", "39156-5"),
        ],
    ),
    # Procedures (SNOMED)
    *_concepts(
        "Procedure",
        "SNOMED",
        "Procedure",
        "S",
        [
            (4032243, "Dialysis procedure", "108241001"),
            (4146536, "Hemodialysis", "302497006"),
            (4324693, "Mammography", "71651007"),
            (4249893, "Colonoscopy", "73761001"),
            (4273629, "Chemotherapy", "367336001"),
            (4163872, "Plain chest X-ray", "399208008"),
            (4163951, "Electrocardiographic procedure", "29303009"),
            (4218408, "Collection of blood specimen for laboratory", "82078001"),
            (4216130, "Percutaneous coronary intervention", "415070008"),
            (4195803, "Bone density scan", "312681000"),
        ],
    ),
    *_local(
        "Procedure",
        "Procedure",
        [(PERITONEAL_DIALYSIS, "Peritoneal dialysis"), (ECHOCARDIOGRAPHY, "Transthoracic echocardiography")],
    ),
    # Observations (SNOMED, from Eunomia)
    *_concepts(
        "Observation",
        "SNOMED",
        "Clinical Finding",
        "S",
        [(4240902, "Allergy to peanuts", "91935009"), (4102123, "Latex allergy", "300916003")],
    ),
    Concept(
        4163874, "History of myocardial infarction", "Observation", "SNOMED", "Context-dependent", "S", "399211009"
    ),
]

# (parent, child) IS_A edges; concept_ancestor is their transitive closure.
IS_A: list[tuple[int, int]] = [
    (201820, 201826),
    (201820, 201254),
    (201826, 4193704),
    (201826, 443732),
    (443732, T2DM_KIDNEY),
    (443732, T2DM_NEURO),
    (443732, T2DM_EYE),
    (316139, 319835),
    (316139, HFREF),
    (316139, HFPEF),
    (443392, 4112853),
    (443392, 4180790),
    (443392, 443388),
    (443392, 4163261),
    (443392, MELANOMA),
    (4112853, BREAST_UOQ),
    (4112853, BREAST_DUCTAL),
    (199074, PANC_BILIARY),
    (199074, PANC_ALCOHOL),
    (4299535, TWIN_PREGNANCY),
    (46271022, 193782),
    (316866, 320128),
    (4283893, 40481087),
    # ATC classes > RxNorm ingredients > clinical drugs
    (21600712, 21600713),
    (21600712, ATC_A10B),
    (21600713, ATC_A10AB),
    (21600713, ATC_A10AE),
    (ATC_A10AB, 1596977),
    (ATC_A10AB, 1567198),
    (ATC_A10AE, 1502905),
    (ATC_A10B, ATC_A10BA02),
    (ATC_A10BA02, 1503297),
    (1503297, METFORMIN_500),
    (1503297, METFORMIN_ER_500),
    (1502905, INSULIN_GLARGINE_INJ),
    (1596977, INSULIN_REGULAR_INJ),
    (1567198, INSULIN_ASPART_INJ),
    (1378382, PACLITAXEL_INJ),
    (1378382, PACLITAXEL_PROTEIN_BOUND),
    (1315942, DOCETAXEL_INJ),
    (1338512, DOXORUBICIN_INJ),
    (1310317, CYCLOPHOSPHAMIDE_INJ),
    (1387104, TRASTUZUMAB_INJ),
    (1436678, TAMOXIFEN_TAB),
    (1315946, LETROZOLE_TAB),
    (1308216, LISINOPRIL_TAB),
    (956874, FUROSEMIDE_TAB),
    (1307046, METOPROLOL_TAB),
    (1346823, CARVEDILOL_TAB),
    (970250, SPIRONOLACTONE_TAB),
    (45774751, EMPAGLIFLOZIN_TAB),
    (1310149, WARFARIN_TAB),
    (1501700, LEVOTHYROXINE_TAB),
    (1000560, ONDANSETRON_TAB),
    (1112807, ASPIRIN_TAB),
    (1177480, IBUPROFEN_TAB),
    (1545958, 1545959),
    (1539403, 1539411),
    (1332418, 1332419),
    (1125315, 1127433),
    (1713332, 19073188),
    (920293, 920334),
    (1154343, 1154615),
    # procedures
    (4032243, 4146536),
    (4032243, PERITONEAL_DIALYSIS),
]

# ICD10CM source codes and the standard condition each maps to ('Maps to').
_ICD10CM = [
    ("E11", "Type 2 diabetes mellitus", 201826),
    ("E11.9", "Type 2 diabetes mellitus without complications", 4193704),
    ("E11.65", "Type 2 diabetes mellitus with hyperglycemia", 201826),
    ("E11.8", "Type 2 diabetes mellitus with unspecified complications", 443732),
    ("E11.21", "Type 2 diabetes mellitus with diabetic nephropathy", T2DM_KIDNEY),
    ("E11.40", "Type 2 diabetes mellitus with diabetic neuropathy, unspecified", T2DM_NEURO),
    ("E11.319", "Type 2 diabetes mellitus with unspecified diabetic retinopathy without macular edema", T2DM_EYE),
    ("E10.9", "Type 1 diabetes mellitus without complications", 201254),
    ("I50.9", "Heart failure, unspecified", 316139),
    ("I50.1", "Left ventricular failure, unspecified", 319835),
    ("I50.20", "Unspecified systolic (congestive) heart failure", HFREF),
    ("I50.30", "Unspecified diastolic (congestive) heart failure", HFPEF),
    ("C50.911", "Malignant neoplasm of unspecified site of right female breast", 4112853),
    ("C50.411", "Malignant neoplasm of upper-outer quadrant of right female breast", BREAST_UOQ),
    ("C50.919", "Malignant neoplasm of unspecified site of unspecified female breast", BREAST_DUCTAL),
    ("C18.9", "Malignant neoplasm of colon, unspecified", 4180790),
    ("C34.90", "Malignant neoplasm of unspecified part of unspecified bronchus or lung", 443388),
    ("C61", "Malignant neoplasm of prostate", 4163261),
    ("C43.9", "Malignant melanoma of skin, unspecified", MELANOMA),
    ("K85.90", "Acute pancreatitis without necrosis or infection, unspecified", 199074),
    ("K85.10", "Biliary acute pancreatitis without necrosis or infection", PANC_BILIARY),
    ("K85.20", "Alcohol induced acute pancreatitis without necrosis or infection", PANC_ALCOHOL),
    ("Z33.1", "Pregnant state, incidental", 4299535),
    ("O30.009", "Twin pregnancy, unspecified number of placenta and amniotic sacs", TWIN_PREGNANCY),
    ("N18.9", "Chronic kidney disease, unspecified", 46271022),
    ("N18.6", "End stage renal disease", 193782),
    ("I10", "Essential (primary) hypertension", 320128),
    ("E78.5", "Hyperlipidemia, unspecified", 432867),
    ("E66.9", "Obesity, unspecified", 433736),
    ("J44.9", "Chronic obstructive pulmonary disease, unspecified", 255573),
    ("F32.9", "Major depressive disorder, single episode, unspecified", 440383),
    ("I48.91", "Unspecified atrial fibrillation", 313217),
    ("I25.10", "Atherosclerotic heart disease of native coronary artery without angina pectoris", 317576),
    ("I21.9", "Acute myocardial infarction, unspecified", 4329847),
    ("I63.9", "Cerebral infarction, unspecified", 381316),
    ("J45.909", "Unspecified asthma, uncomplicated", 317009),
    ("M19.90", "Unspecified osteoarthritis, unspecified site", 80180),
    ("E03.9", "Hypothyroidism, unspecified", 140673),
    ("N30.90", "Cystitis, unspecified without hematuria", 195588),
    ("J18.9", "Pneumonia, unspecified organism", 255848),
    ("J20.9", "Acute bronchitis, unspecified", 260139),
    ("J01.90", "Acute sinusitis, unspecified", 40481087),
    ("J02.9", "Acute pharyngitis, unspecified", 4112343),
    ("D64.9", "Anemia, unspecified", 439777),
    ("S93.409A", "Sprain of unspecified ligament of unspecified ankle, initial encounter", 81151),
    ("K80.20", "Calculus of gallbladder without cholecystitis without obstruction", 196456),
    ("H66.90", "Otitis media, unspecified, unspecified ear", 372328),
    ("K92.2", "Gastrointestinal hemorrhage, unspecified", 192671),
    ("Q24.9", "Congenital malformation of heart, unspecified", CONGENITAL_HEART),
]
_ICD10CM_IDS = {"K92.2": 35208414}  # the one real ICD10CM id known here (from Eunomia)


def icd10cm_concepts() -> list[tuple[Concept, int]]:
    """(ICD10CM source concept, standard concept it maps to), with local ids where the real one is unknown."""
    rows = []
    for n, (code, name, target) in enumerate(_ICD10CM):
        concept_id = _ICD10CM_IDS.get(code, 2_000_001_001 + n)
        concept_class = "3-char nonbill code" if len(code) == 3 else "4-char billing code"
        rows.append((Concept(concept_id, name, "Condition", "ICD10CM", concept_class, None, code), target))
    return rows


def source_codes() -> list[tuple[int, int, str]]:
    """(standard concept, its ICD10CM source concept id, source code): the code an ETL would have coded from.

    The first listed code of each standard concept; the other codes are in the vocabulary only.
    """
    seen: dict[int, tuple[int, int, str]] = {}
    for concept, target in icd10cm_concepts():
        if target not in seen and len(concept.code) > 3:
            seen[target] = (target, concept.concept_id, concept.code)
    return list(seen.values())


VOCABULARIES = [  # (vocabulary_id, name, vocabulary_concept_id), ids as in the OHDSI vocabulary table
    ("None", "OMOP Standardized Vocabularies", 44819096),
    ("SNOMED", "Systematic Nomenclature of Medicine - Clinical Terms (IHTSDO)", 44819097),
    ("ICD10CM", "International Classification of Diseases, Tenth Revision, Clinical Modification (NCHS)", 44819098),
    ("LOINC", "Logical Observation Identifiers Names and Codes (Regenstrief Institute)", 44819102),
    ("RxNorm", "RxNorm (NLM)", 44819104),
    ("UCUM", "Unified Code for Units of Measure (Regenstrief Institute)", 44819107),
    ("Gender", "OMOP Gender", 44819108),
    ("Race", "Race and Ethnicity Code Set (USBC)", 44819109),
    ("Place of Service", "Place of Service Codes for Professional Claims (CMS)", 44819110),
    ("ATC", "WHO Anatomic Therapeutic Chemical Classification", 44819117),
    ("Visit", "OMOP Visit", 44819119),
    ("Ethnicity", "OMOP Ethnicity", 44819134),
    ("Type Concept", "OMOP Type Concept", 0),
    ("Synthetic", "cohortql synthetic local concepts (ids >= 2,000,000,000)", 0),
]


def all_concepts() -> list[Concept]:
    return CONCEPTS + [concept for concept, _ in icd10cm_concepts()]


def ancestors() -> list[tuple[int, int, int, int]]:
    """concept_ancestor rows (ancestor, descendant, min levels, max levels): closure of IS_A plus self rows."""
    children: dict[int, list[int]] = {}
    for parent, child in IS_A:
        children.setdefault(parent, []).append(child)
    rows = []
    for concept in all_concepts():
        if concept.standard not in ("S", "C"):
            continue
        levels: dict[int, list[int]] = {concept.concept_id: [0]}
        frontier = [(concept.concept_id, 0)]
        while frontier:
            node, depth = frontier.pop()
            for child in children.get(node, []):
                levels.setdefault(child, []).append(depth + 1)
                frontier.append((child, depth + 1))
        rows += [(concept.concept_id, d, min(ls), max(ls)) for d, ls in sorted(levels.items())]
    return rows


def relationships() -> list[tuple[int, int, str]]:
    """concept_relationship rows: 'Maps to' / 'Mapped from' (source codes, and standard concepts to themselves),
    'Is a' / 'Subsumes' for the hierarchy."""
    rows = []
    for concept in all_concepts():
        if concept.standard == "S":
            cid = concept.concept_id
            rows += [(cid, cid, "Maps to"), (cid, cid, "Mapped from")]
    for concept, target in icd10cm_concepts():
        rows += [(concept.concept_id, target, "Maps to"), (target, concept.concept_id, "Mapped from")]
    for parent, child in IS_A:
        rows += [(child, parent, "Is a"), (parent, child, "Subsumes")]
    return rows


def check() -> None:
    """Fail loudly on a broken table: duplicate ids, edges or mappings to unknown concepts."""
    ids = [c.concept_id for c in all_concepts()]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate concept ids: {sorted(duplicates)}")
    known = set(ids)
    missing = {i for edge in IS_A for i in edge if i not in known}
    missing |= {target for _, target in icd10cm_concepts() if target not in known}
    if missing:
        raise ValueError(f"hierarchy or mapping names unknown concepts: {sorted(missing)}")
