"""The feasibility report's words in English and French, and numbers and dates in each language's way.

Every label and sentence of the report is a key of `MESSAGES`; both languages have every key
(tests/report/test_report_i18n.py checks it). Numbers and dates are formatted by Babel's CLDR
data: 1,234 and 31 December 2025 in English, 1 234 and 31 décembre 2025 in French.

`EXPLAIN` holds the phrases of the plain-language definition (`cohortql/report/explain.py`) in
both languages the same way: `cohortql explain` is the English, the French report's definition
the French. Babel is imported where a number or a date is formatted (`explain` needs none in English).
"""

from __future__ import annotations

import datetime

LANGUAGES = ("en", "fr")

# The report's words: (key, English, French).
_MESSAGE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("document", "Feasibility report", "Rapport de faisabilité"),
    ("protocol", "Protocol", "Protocole"),
    ("sponsor", "Sponsor", "Promoteur"),
    ("data_source", "Data source", "Source des données"),
    ("data_date", "Data as of", "Données au"),
    ("answered_by", "Answered by", "Calculé sur"),
    ("not_given", "not given", "non renseigné"),
    ("summary", "{final} patients meet every criterion.", "{final} patients remplissent tous les critères."),
    ("summary_small",
     "Fewer than {k} patients meet every criterion; the number is not shown.",
     "Moins de {k} patients remplissent tous les critères ; le nombre n’est pas affiché."),
    ("summary_hidden",
     "At least {k} patients meet every criterion; the exact number is hidden so that no smaller count can be "
     "computed from it.",
     "Au moins {k} patients remplissent tous les critères ; le nombre exact est masqué pour qu’aucun effectif plus "
     "petit ne puisse en être déduit."),
    ("definition", "Definition in plain language", "Définition en langage courant"),
    ("definition_note",
     "The text a data steward reviews, generated from the definition that ran.",
     "Le texte que relit le responsable des données, produit à partir de la définition exécutée."),
    ("attrition", "Attrition", "Attrition"),
    ("attrition_note",
     "Patients remaining after each criterion, in the order written; the last column is how many more would qualify "
     "if only that criterion were dropped.",
     "Patients restants après chaque critère, dans l’ordre écrit ; la dernière colonne indique combien de patients "
     "de plus seraient retenus si seul ce critère était retiré."),
    ("criterion", "Criterion", "Critère"),
    ("persons", "Patients", "Patients"),
    ("gain", "Gain if dropped", "Gain si retiré"),
    ("entry_step", "Entry event", "Événement d’entrée"),
    ("kind_entry", "entry", "entrée"),
    ("kind_include", "include", "inclusion"),
    ("kind_exclude", "exclude", "exclusion"),
    ("by_site", "Final cohort by site", "Cohorte finale par site"),
    ("by_site_group", "Final cohort by site group", "Cohorte finale par groupe de sites"),
    ("site", "Site", "Site"),
    ("site_group", "Site group", "Groupe de sites"),
    ("group_total", "{group}: all sites", "{group} : tous les sites"),
    ("unknown", "unknown", "inconnu"),
    ("total", "Total", "Total"),
    ("by_sex_age", "Final cohort by sex and age band", "Cohorte finale par sexe et tranche d’âge"),
    ("sex", "Sex", "Sexe"),
    ("age", "Age band", "Tranche d’âge"),
    ("age_band", "{low}–{high}", "{low}–{high}"),
    ("female", "Female", "Femmes"),
    ("male", "Male", "Hommes"),
    ("series", "Newly eligible patients over time", "Nouveaux patients éligibles au fil du temps"),
    ("series_note",
     "Patients whose index date falls in the period and who meet every criterion, from {first} to {last}.",
     "Patients dont la date index tombe dans la période et qui remplissent tous les critères, de {first} à {last}."),
    ("series_grain", "Shown by {place} and {period}.", "Présenté par {place} et par {period}."),
    ("series_coarsened",
     "Monthly counts by site would be mostly below the threshold, so the series is shown by {place} and {period}.",
     "Par site et par mois, la plupart des effectifs seraient sous le seuil : la série est présentée par {place} et "
     "par {period}."),
    ("period_month", "month", "mois"),
    ("period_quarter", "quarter", "trimestre"),
    ("place_site", "site", "site"),
    ("place_site_group", "site group", "groupe de sites"),
    ("place_none", "the whole data source", "l’ensemble de la source"),
    ("period", "Period", "Période"),
    ("before", "Before {first}", "Avant {first}"),
    ("rates", "Newly eligible per month", "Nouveaux éligibles par mois"),
    ("rates_note",
     "Observed over the {months} months of the window, and as the model estimates it (borrowing strength across "
     "units).",
     "Observé sur les {months} mois de la période, et estimé par le modèle (qui partage l’information entre unités)."),
    ("unit", "Unit", "Unité"),
    ("observed_rate", "Observed", "Observé"),
    ("estimated_rate", "Estimated", "Estimé"),
    ("pooled_units",
     "Units whose count is suppressed are pooled: {names}.",
     "Les unités dont l’effectif est masqué sont regroupées : {names}."),
    ("forecast", "Recruitment forecast", "Prévision de recrutement"),
    ("forecast_note",
     "Poisson-gamma model (Anisimov and Fedorov, 2007): each unit recruits at its own rate, estimated from the "
     "protected series; {fraction} of newly eligible patients are assumed to enrol.",
     "Modèle Poisson-gamma (Anisimov et Fedorov, 2007) : chaque unité recrute à son propre rythme, estimé à partir "
     "de la série protégée ; {fraction} des nouveaux patients éligibles sont supposés être inclus."),
    ("forecast_expected",
     "Expected enrolment: {rate} patients per month.",
     "Inclusions attendues : {rate} patients par mois."),
    ("forecast_target",
     "Time to enrol {target} patients: median {median} months (80% interval {lo80}–{hi80}, 95% interval "
     "{lo95}–{hi95}).",
     "Délai pour inclure {target} patients : médiane {median} mois (intervalle à 80 % {lo80}–{hi80}, à 95 % "
     "{lo95}–{hi95})."),
    ("forecast_unreached",
     "The target of {target} patients is not reached within 10 years at this rate.",
     "L’objectif de {target} patients n’est pas atteint en 10 ans à ce rythme."),
    ("forecast_none",
     "No forecast: too few newly eligible patients are known in the window.",
     "Pas de prévision : trop peu de nouveaux patients éligibles sont connus sur la période."),
    ("months_from_start", "Months from the start of recruitment", "Mois depuis le début du recrutement"),
    ("enrolled", "Patients enrolled", "Patients inclus"),
    ("expected_curve", "Expected", "Attendu"),
    ("band_80", "80% band", "Bande à 80 %"),
    ("band_95", "95% band", "Bande à 95 %"),
    ("target_line", "Target", "Objectif"),
    ("provenance", "Provenance", "Provenance"),
    ("fingerprint", "Definition fingerprint", "Empreinte de la définition"),
    ("policy", "Disclosure policy", "Règle de confidentialité"),
    ("version", "cohortql version", "Version de cohortql"),
    ("generated", "Generated", "Produit le"),
    ("approval", "Approval", "Approbation"),
    ("approval_stamp",
     "Released as request {request}, approved by {approved_by} on {approved_at}, released by {released_by} on "
     "{released_at} (audit record {seq}).",
     "Diffusé comme demande {request}, approuvé par {approved_by} le {approved_at}, diffusé par {released_by} le "
     "{released_at} (enregistrement d’audit {seq})."),
    ("not_approved",
     "Not an approved release: a working copy for the feasibility team.",
     "Pas une diffusion approuvée : copie de travail pour l’équipe de faisabilité."),
    ("policy_text",
     "counts from {low} to {high} are shown as {mark}",
     "les effectifs de {low} à {high} sont affichés {mark}"),
    ("policy_rounding",
     "the others are rounded to a multiple of {base}",
     "les autres sont arrondis à un multiple de {base}"),
    ("legend_suppressed",
     "hatched: suppressed (below {k} or hidden to protect one)",
     "hachuré : masqué (sous {k}, ou caché pour en protéger un)"),
)


def _by_language(rows: tuple[tuple, ...]) -> dict[str, dict]:
    """{language: {key: text}} from (key, English, French) rows: one row a key, so both languages have every key."""
    return {code: {row[0]: row[column] for row in rows} for column, code in enumerate(LANGUAGES, start=1)}


MESSAGES: dict[str, dict[str, str]] = _by_language(_MESSAGE_ROWS)


class Language:
    """One language's messages and formats."""

    def __init__(self, code: str):
        if code not in LANGUAGES:
            raise ValueError(f"unknown language {code!r}; choose from {', '.join(LANGUAGES)}")
        self.code = code
        self._messages = MESSAGES[code]

    def __call__(self, key: str, **values) -> str:
        return self._messages[key].format(**values)

    def number(self, value: float, decimals: int = 0) -> str:
        from babel.numbers import format_decimal

        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=pattern, locale=self.code)

    def percent(self, value: float) -> str:
        from babel.numbers import format_percent

        return format_percent(value, locale=self.code)

    def date(self, value: datetime.date | str | None) -> str:
        from babel.dates import format_date

        if value is None:
            return self("not_given")
        if isinstance(value, str):
            value = datetime.date.fromisoformat(value[:10])
        return format_date(value, "long", locale=self.code)

    def period(self, period: str) -> str:
        """'2025-03' -> Mar 2025 / mars 2025; '2025-Q1' -> Q1 2025 / T1 2025."""
        from babel.dates import format_date

        year, part = period.split("-")
        if part.startswith("Q"):
            return f"{'T' if self.code == 'fr' else 'Q'}{part[1:]} {year}"
        return format_date(datetime.date(int(year), int(part), 1), "MMM yyyy", locale=self.code)


# The plain-language definition (cohortql/report/explain.py): phrases with placeholders, and nouns
# as (singular, plural). English is `cohortql explain`'s text, word for word.
_EXPLAIN_ROWS: tuple[tuple[str, str | tuple[str, str], str | tuple[str, str]], ...] = (
    ("meta_title", "Title", "Titre"),
    ("meta_protocol", "Protocol", "Protocole"),
    ("meta_sponsor", "Sponsor", "Promoteur"),
    ("meta_description", "Description", "Description"),
    ("meta_line", "{key}: {value}", "{key} : {value}"),
    ("concept_sets", "Concept sets:", "Ensembles de concepts :"),
    ("codeset_one", "- {name}: {item}", "- {name} : {item}"),
    ("codeset_many", "- {name}:", "- {name} :"),
    ("rules", "Rules, applied in the order written:", "Règles, appliquées dans l’ordre écrit :"),
    ("no_rules",
     "Rules: none; every person with an entry is in the cohort.",
     "Règles : aucune ; toute personne ayant une entrée est dans la cohorte."),
    ("breakdown", "Breakdown: by {by}.", "Ventilation : par {by}."),
    ("no_breakdown", "Breakdown: none.", "Ventilation : aucune."),
    ("by_site", "site", "site"),
    ("by_site_group", "site group", "groupe de sites"),
    ("by_sex", "sex", "sexe"),
    ("by_age5", "5-year age band", "tranche d’âge de 5 ans"),
    ("by_age10", "10-year age band", "tranche d’âge de 10 ans"),
    ("by_year", "calendar year of the index date", "année civile de la date index"),
    ("by_quarter", "calendar quarter of the index date", "trimestre civil de la date index"),
    ("by_month", "calendar month of the index date", "mois civil de la date index"),
    ("and", "and", "et"),
    ("or", "or", "ou"),
    ("labelled", "{id} \"{label}\"", "{id} « {label} »"),
    ("with_descendants", "{name} and its descendants", "{name} et ses descendants"),
    ("without_descendants", "{name} without descendants", "{name} sans ses descendants"),
    ("excluding", "excluding {text}", "sauf {text}"),
    ("source_codes",
     "{vocabulary} codes matching {pattern} mapped to standard concepts",
     "codes {vocabulary} correspondant à {pattern}, rattachés à leurs concepts standard"),
    ("observed_before", "at least {days} of observation before", "au moins {days} d’observation avant"),
    ("observed_after", "at least {days} of observation after", "au moins {days} d’observation après"),
    ("after_too", "at least {days} after", "au moins {days} après"),
    ("observation_period", "an observation period", "une période d’observation"),
    ("observation_spans",
     "an observation period with {spans} {anchor}",
     "une période d’observation avec {spans} {anchor}"),
    ("the_index_date", "the index date", "la date index"),
    ("its_start_date", "its start date", "sa date de début"),
    ("must_lie", "lie in {observation}", "se situer dans {observation}"),
    ("must_be", "be one {attributes}", "être un enregistrement {attributes}"),
    ("must_join", " and must ", " et doit "),
    ("entry_first",
     "Entry: each person's first-ever {what}. The index date is that record's start date. The record must {must}. A "
     "person whose first-ever record fails this does not enter; later records are not tried.",
     "Entrée : pour chaque personne, son tout premier {what}. La date index est la date de début de cet "
     "enregistrement. L’enregistrement doit {must}. Une personne dont le tout premier enregistrement ne remplit pas "
     "ces conditions n’entre pas ; les suivants ne sont pas essayés."),
    ("lying_in", "lying in {observation}", "situé dans {observation}"),
    ("entry_earliest",
     "Entry: each person's earliest {what} {qualifiers}. The index date is that record's start date.",
     "Entrée : pour chaque personne, son plus ancien {what} {qualifiers}. La date index est la date de début de cet "
     "enregistrement."),
    ("entry_all",
     "Entry: every {what} {qualifiers}; a person may enter more than once. The index date is each record's start "
     "date; counts are of persons, using each person's best entry.",
     "Entrée : chaque {what} {qualifiers} ; une personne peut entrer plusieurs fois. La date index est la date de "
     "début de chaque enregistrement ; les effectifs comptent des personnes, chacune par sa meilleure entrée."),
    ("kind_item", "  - a {what}", "  - un {what}"),
    ("each_must_lie", "Each must lie in {observation}.", "Chacun doit se situer dans {observation}."),
    ("kinds_first",
     "Entry: for each kind of record below, each person's first-ever one (later ones are not tried); of those, the "
     "earliest that qualifies. {observed} The index date is its start date.",
     "Entrée : pour chaque type d’enregistrement ci-dessous, le tout premier de chaque personne (les suivants ne "
     "sont pas essayés) ; parmi eux, le plus ancien qui remplit les conditions. {observed} La date index est sa "
     "date de début."),
    ("kinds_earliest",
     "Entry: each person's earliest record of any kind below. {observed} The index date is its start date.",
     "Entrée : pour chaque personne, son plus ancien enregistrement de l’un des types ci-dessous. {observed} La "
     "date index est sa date de début."),
    ("kinds_all",
     "Entry: every record of any kind below; a person may enter more than once. {observed} The index date is each "
     "record's start date; counts are of persons, using each person's best entry.",
     "Entrée : chaque enregistrement de l’un des types ci-dessous ; une personne peut entrer plusieurs fois. "
     "{observed} La date index est la date de début de chaque enregistrement ; les effectifs comptent des "
     "personnes, chacune par sa meilleure entrée."),
    ("rule",
     "Rule {number}, {kind} \"{name}\": {verb} a person who {test}",
     "Règle {number}, {kind} « {name} » : {verb} toute personne qui {test}"),
    ("kind_include", "include", "inclusion"),
    ("kind_exclude", "exclude", "exclusion"),
    ("keep", "keep", "garder"),
    ("remove", "remove", "retirer"),
    ("all_of", "meets all of the following:", "remplit toutes les conditions suivantes :"),
    ("any_of", "meets any of the following:", "remplit au moins une des conditions suivantes :"),
    ("at_least_of", "meets at least {count} of the following:", "remplit au moins {count} des conditions suivantes :"),
    ("not", "does not meet the following:", "ne remplit pas la condition suivante :"),
    ("has_none", "has no {records}", "n’a aucun {records}"),
    ("has_on_days",
     "has {records} on {amount} {days}, {qualifiers}",
     "a des {records} sur {amount} {days}, {qualifiers}"),
    ("has", "has {amount} {records}", "a {amount} {records}"),
    ("aged_between", "is aged {low} to {high} {rule}", "a de {low} à {high} ans {rule}"),
    ("aged", "is {bounds} {rule}", "{bounds} {rule}"),
    ("age_rule",
     "at the index date (year of index minus year of birth)",
     "à la date index (année de la date index moins année de naissance)"),
    ("age_>=", "aged {} or older", "a {} ans ou plus"),
    ("age_>", "older than {}", "a plus de {} ans"),
    ("age_<=", "aged {} or younger", "a {} ans ou moins"),
    ("age_<", "younger than {}", "a moins de {} ans"),
    ("age_=", "aged exactly {}", "a exactement {} ans"),
    ("age_!=", "not aged {}", "n’a pas {} ans"),
    ("sex_named",
     "is recorded as {name} (gender concept {id})",
     "est enregistrée de sexe {name} (concept de genre {id})"),
    ("sex_other", "has gender {id}", "a le genre {id}"),
    ("sex_female", "female", "féminin"),
    ("sex_male", "male", "masculin"),
    ("index_between",
     "has an index date between {low} and {high} (both included)",
     "a une date index comprise entre le {low} et le {high} (inclus)"),
    ("index_bounds", "has an index date {bounds}", "a une date index {bounds}"),
    ("date_>=", "on or after {}", "le {} ou après"),
    ("date_>", "after {}", "après le {}"),
    ("date_<=", "on or before {}", "le {} ou avant"),
    ("date_<", "before {}", "avant le {}"),
    ("date_=", "on {}", "le {}"),
    ("date_!=", "not on {}", "autre que le {}"),
    ("amount_>=", "at least {}", "au moins {}"),
    ("amount_>", "more than {}", "plus de {}"),
    ("amount_<=", "at most {}", "au plus {}"),
    ("amount_<", "less than {}", "moins de {}"),
    ("amount_=", "exactly {}", "exactement {}"),
    ("amount_!=", "other than {}", "autre que {}"),
    ("between", "between {low} and {high}", "entre {low} et {high}"),
    ("between_value", "{amount}", "comprise {amount}"),
    ("of_amount", "of {amount}", "de {amount}"),
    ("dated", "dated", "daté"),
    ("with_start_date", "with start date", "commençant"),
    ("with_end_date", "with end date", "finissant"),
    ("with_end_date_next_day", "with end date (the day after its date)", "finissant (le lendemain de sa date)"),
    ("and_window", "and {window}", "et {window}"),
    ("first_ever",
     "the person's first-ever one of the concept set (later ones are not tried)",
     "le tout premier de la personne dans l’ensemble de concepts (les suivants ne sont pas essayés)"),
    ("the_index_end", "the index record's end date", "la date de fin de l’entrée"),
    ("the_record_end", "the {noun}'s end date", "la date de fin de cet {noun}"),
    ("qualify",
     "Qualifying entries, tested before the rules (the attrition starts with them){kept}: an entry event qualifies "
     "when the person {test}",
     "Entrées retenues, testées avant les règles (l’attrition part d’elles){kept} : une entrée est retenue quand la "
     "personne {test}"),
    ("qualify_earliest",
     "; each person's earliest qualifying event is kept (the lowest record id on a tie)",
     " ; la plus ancienne entrée retenue de chaque personne est gardée (à égalité, le plus petit identifiant)"),
    ("of_any_concept", " of any concept", " de n’importe quel concept"),
    ("in_concept_set", " in concept set {name}", " de l’ensemble de concepts {name}"),
    ("value",
     "with a value {amount} (a record with no value never matches)",
     "avec une valeur {amount} (un enregistrement sans valeur ne correspond jamais)"),
    ("value_set", "with a value in concept set {name}", "avec une valeur de l’ensemble de concepts {name}"),
    ("source_set",
     "recorded from a source concept in concept set {name}",
     "enregistré à partir d’un concept source de l’ensemble de concepts {name}"),
    ("nested",
     "[each such record lies in an observation period and {test}]",
     "[chacun de ces enregistrements se situe dans une période d’observation et {test}]"),
    ("the_index_period", "the index's observation period", "la période d’observation de l’entrée"),
    ("the_record_date", "the {noun}'s date", "la date de cet {noun}"),
    ("the_record_period", "the {noun}'s observation period", "la période d’observation de cet {noun}"),
    ("record_age_rule", "at {date} (its year minus year of birth)", "à {date} (son année moins année de naissance)"),
    ("unit_named", "{symbol} (concept {id})", "{symbol} (concept {id})"),
    ("concept", "concept {id}", "concept {id}"),
    ("unit", "with unit {units}", "avec l’unité {units}"),
    ("visit_named", "{name} (concept {id})", "{name} (concept {id})"),
    ("visit_type", "visit type", "type de visite"),
    ("visit_inpatient", "inpatient", "hospitalisation"),
    ("visit_outpatient", "outpatient", "consultation externe"),
    ("visit_emergency", "emergency", "urgences"),
    ("visit_inpatient_or_emergency", "inpatient or emergency", "hospitalisation ou urgences"),
    ("visit_telehealth", "telehealth", "téléconsultation"),
    ("of_type", "of type {visits}", "de type {visits}"),
    ("during_visit", "recorded during a visit of type {visits}", "enregistré lors d’une visite de type {visits}"),
    ("lasting",
     "lasting {amount} (end date minus start date)",
     "d’une durée de {amount} (date de fin moins date de début)"),
    ("days_supply", "with a days supply {amount}", "avec une durée de traitement délivrée {amount}"),
    ("concept_filter", "with {attribute} concept {ids}", "avec le concept de {attribute} {ids}"),
    ("attribute_condition_status", "condition status", "statut du diagnostic"),
    ("attribute_record_type", "record type", "type d’enregistrement"),
    ("day", ("day", "days"), ("jour", "jours")),
    ("distinct_day", ("distinct day", "distinct days"), ("jour distinct", "jours distincts")),
    ("days_unit", " days", " jours"),
    ("offset", "{days} {direction} {date}", "{days} {direction} {date}"),
    ("before", "before", "avant"),
    ("after", "after", "après"),
    ("on_index", "on {date}", "le jour de {date}"),
    ("exactly", "exactly {offset}", "exactement {offset}"),
    ("index_to", "from {date} to {days} after", "de {date} à {days} après"),
    ("to_index", "from {days} before to {date}", "de {days} avant à {date}"),
    ("span", "from {days} {direction} to {offset}", "de {days} {direction} à {offset}"),
    ("inside", ", inside {period}", ", dans {period}"),
    ("ignoring", ", ignoring observation periods", ", sans tenir compte des périodes d’observation"),
    ("any_time_inside", "at any time in {period}", "à tout moment de {period}"),
    ("any_time", "at any time", "à tout moment"),
    ("before_inside",
     "any time before {date} (from the start of the observation period to 1 day before)",
     "à tout moment avant {date} (du début de la période d’observation à 1 jour avant)"),
    ("start_to",
     "from the start of the observation period to {offset}",
     "du début de la période d’observation à {offset}"),
    ("after_inside",
     "any time after {date} (from 1 day after to the end of the observation period)",
     "à tout moment après {date} (de 1 jour après à la fin de la période d’observation)"),
    ("to_end",
     "from {offset} to the end of the observation period",
     "de {offset} à la fin de la période d’observation"),
    ("any_before", "any time before {date}", "à tout moment avant {date}"),
    ("up_to", "any time up to {offset}", "à tout moment jusqu’à {offset}"),
    ("any_after", "any time after {date}", "à tout moment après {date}"),
    ("from_on", "any time from {offset} on", "à tout moment à partir de {offset}"),
)
EXPLAIN: dict[str, dict[str, str | tuple[str, str]]] = _by_language(_EXPLAIN_ROWS)

# Domain nouns of the French definition (English: cohortql.omop's `noun`), singular and plural.
EXPLAIN_NOUNS_FR = {
    "condition": "diagnostic", "drug": "exposition médicamenteuse", "procedure": "acte", "measurement": "mesure",
    "observation": "observation", "visit": "visite", "device": "dispositif médical", "death": "décès",
    "condition_era": "épisode de diagnostic", "drug_era": "épisode médicamenteux",
}
