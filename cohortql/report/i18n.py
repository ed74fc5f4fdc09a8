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

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "document": "Feasibility report",
        "protocol": "Protocol",
        "sponsor": "Sponsor",
        "data_source": "Data source",
        "data_date": "Data as of",
        "answered_by": "Answered by",
        "not_given": "not given",
        "summary": "{final} patients meet every criterion.",
        "summary_small": "Fewer than {k} patients meet every criterion; the number is not shown.",
        "summary_hidden": "At least {k} patients meet every criterion; the exact number is hidden so that "
                          "no smaller count can be computed from it.",
        "definition": "Definition in plain language",
        "definition_note": "The text a data steward reviews, generated from the definition that ran.",
        "attrition": "Attrition",
        "attrition_note": "Patients remaining after each criterion, in the order written; "
                          "the last column is how many more would qualify if only that criterion were dropped.",
        "criterion": "Criterion",
        "persons": "Patients",
        "gain": "Gain if dropped",
        "entry_step": "Entry event",
        "kind_entry": "entry",
        "kind_include": "include",
        "kind_exclude": "exclude",
        "by_site": "Final cohort by site",
        "by_site_group": "Final cohort by site group",
        "site": "Site",
        "site_group": "Site group",
        "group_total": "{group}: all sites",
        "unknown": "unknown",
        "total": "Total",
        "by_sex_age": "Final cohort by sex and age band",
        "sex": "Sex",
        "age": "Age band",
        "age_band": "{low}–{high}",
        "female": "Female",
        "male": "Male",
        "series": "Newly eligible patients over time",
        "series_note": "Patients whose index date falls in the period and who meet every criterion, "
                       "from {first} to {last}.",
        "series_grain": "Shown by {place} and {period}.",
        "series_coarsened": "Monthly counts by site would be mostly below the threshold, so the series is "
                            "shown by {place} and {period}.",
        "period_month": "month",
        "period_quarter": "quarter",
        "place_site": "site",
        "place_site_group": "site group",
        "place_none": "the whole data source",
        "period": "Period",
        "before": "Before {first}",
        "rates": "Newly eligible per month",
        "rates_note": "Observed over the {months} months of the window, and as the model estimates it "
                      "(borrowing strength across units).",
        "unit": "Unit",
        "observed_rate": "Observed",
        "estimated_rate": "Estimated",
        "pooled_units": "Units whose count is suppressed are pooled: {names}.",
        "forecast": "Recruitment forecast",
        "forecast_note": "Poisson-gamma model (Anisimov and Fedorov, 2007): each unit recruits at its own "
                         "rate, estimated from the protected series; {fraction} of newly eligible patients "
                         "are assumed to enrol.",
        "forecast_expected": "Expected enrolment: {rate} patients per month.",
        "forecast_target": "Time to enrol {target} patients: median {median} months "
                           "(80% interval {lo80}–{hi80}, 95% interval {lo95}–{hi95}).",
        "forecast_unreached": "The target of {target} patients is not reached within 10 years at this rate.",
        "forecast_none": "No forecast: too few newly eligible patients are known in the window.",
        "months_from_start": "Months from the start of recruitment",
        "enrolled": "Patients enrolled",
        "expected_curve": "Expected",
        "band_80": "80% band",
        "band_95": "95% band",
        "target_line": "Target",
        "provenance": "Provenance",
        "fingerprint": "Definition fingerprint",
        "policy": "Disclosure policy",
        "version": "cohortql version",
        "generated": "Generated",
        "approval": "Approval",
        "approval_stamp": "Released as request {request}, approved by {approved_by} on {approved_at}, "
                          "released by {released_by} on {released_at} (audit record {seq}).",
        "not_approved": "Not an approved release: a working copy for the feasibility team.",
        "policy_text": "counts from {low} to {high} are shown as {mark}",
        "policy_rounding": "the others are rounded to a multiple of {base}",
        "legend_suppressed": "hatched: suppressed (below {k} or hidden to protect one)",
    },
    "fr": {
        "document": "Rapport de faisabilité",
        "protocol": "Protocole",
        "sponsor": "Promoteur",
        "data_source": "Source des données",
        "data_date": "Données au",
        "answered_by": "Calculé sur",
        "not_given": "non renseigné",
        "summary": "{final} patients remplissent tous les critères.",
        "summary_small": "Moins de {k} patients remplissent tous les critères ; le nombre n’est pas affiché.",
        "summary_hidden": "Au moins {k} patients remplissent tous les critères ; le nombre exact est masqué pour "
                          "qu’aucun effectif plus petit ne puisse en être déduit.",
        "definition": "Définition en langage courant",
        "definition_note": "Le texte que relit le responsable des données, produit à partir de la définition "
                           "exécutée.",
        "attrition": "Attrition",
        "attrition_note": "Patients restants après chaque critère, dans l’ordre écrit ; la dernière colonne "
                          "indique combien de patients de plus seraient retenus si seul ce critère était retiré.",
        "criterion": "Critère",
        "persons": "Patients",
        "gain": "Gain si retiré",
        "entry_step": "Événement d’entrée",
        "kind_entry": "entrée",
        "kind_include": "inclusion",
        "kind_exclude": "exclusion",
        "by_site": "Cohorte finale par site",
        "by_site_group": "Cohorte finale par groupe de sites",
        "site": "Site",
        "site_group": "Groupe de sites",
        "group_total": "{group} : tous les sites",
        "unknown": "inconnu",
        "total": "Total",
        "by_sex_age": "Cohorte finale par sexe et tranche d’âge",
        "sex": "Sexe",
        "age": "Tranche d’âge",
        "age_band": "{low}–{high}",
        "female": "Femmes",
        "male": "Hommes",
        "series": "Nouveaux patients éligibles au fil du temps",
        "series_note": "Patients dont la date index tombe dans la période et qui remplissent tous les critères, "
                       "de {first} à {last}.",
        "series_grain": "Présenté par {place} et par {period}.",
        "series_coarsened": "Par site et par mois, la plupart des effectifs seraient sous le seuil : la série "
                            "est présentée par {place} et par {period}.",
        "period_month": "mois",
        "period_quarter": "trimestre",
        "place_site": "site",
        "place_site_group": "groupe de sites",
        "place_none": "l’ensemble de la source",
        "period": "Période",
        "before": "Avant {first}",
        "rates": "Nouveaux éligibles par mois",
        "rates_note": "Observé sur les {months} mois de la période, et estimé par le modèle "
                      "(qui partage l’information entre unités).",
        "unit": "Unité",
        "observed_rate": "Observé",
        "estimated_rate": "Estimé",
        "pooled_units": "Les unités dont l’effectif est masqué sont regroupées : {names}.",
        "forecast": "Prévision de recrutement",
        "forecast_note": "Modèle Poisson-gamma (Anisimov et Fedorov, 2007) : chaque unité recrute à son propre "
                         "rythme, estimé à partir de la série protégée ; {fraction} des nouveaux patients "
                         "éligibles sont supposés être inclus.",
        "forecast_expected": "Inclusions attendues : {rate} patients par mois.",
        "forecast_target": "Délai pour inclure {target} patients : médiane {median} mois "
                           "(intervalle à 80 % {lo80}–{hi80}, à 95 % {lo95}–{hi95}).",
        "forecast_unreached": "L’objectif de {target} patients n’est pas atteint en 10 ans à ce rythme.",
        "forecast_none": "Pas de prévision : trop peu de nouveaux patients éligibles sont connus sur la période.",
        "months_from_start": "Mois depuis le début du recrutement",
        "enrolled": "Patients inclus",
        "expected_curve": "Attendu",
        "band_80": "Bande à 80 %",
        "band_95": "Bande à 95 %",
        "target_line": "Objectif",
        "provenance": "Provenance",
        "fingerprint": "Empreinte de la définition",
        "policy": "Règle de confidentialité",
        "version": "Version de cohortql",
        "generated": "Produit le",
        "approval": "Approbation",
        "approval_stamp": "Diffusé comme demande {request}, approuvé par {approved_by} le {approved_at}, "
                          "diffusé par {released_by} le {released_at} (enregistrement d’audit {seq}).",
        "not_approved": "Pas une diffusion approuvée : copie de travail pour l’équipe de faisabilité.",
        "policy_text": "les effectifs de {low} à {high} sont affichés {mark}",
        "policy_rounding": "les autres sont arrondis à un multiple de {base}",
        "legend_suppressed": "hachuré : masqué (sous {k}, ou caché pour en protéger un)",
    },
}


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
EXPLAIN: dict[str, dict[str, str | tuple[str, str]]] = {
    "en": {
        "meta_title": "Title", "meta_protocol": "Protocol", "meta_sponsor": "Sponsor",
        "meta_description": "Description",
        "meta_line": "{key}: {value}",
        "concept_sets": "Concept sets:",
        "codeset_one": "- {name}: {item}",
        "codeset_many": "- {name}:",
        "rules": "Rules, applied in the order written:",
        "no_rules": "Rules: none; every person with an entry is in the cohort.",
        "breakdown": "Breakdown: by {by}.",
        "no_breakdown": "Breakdown: none.",
        "by_site": "site", "by_site_group": "site group", "by_sex": "sex", "by_age5": "5-year age band",
        "by_age10": "10-year age band", "by_year": "calendar year of the index date",
        "by_quarter": "calendar quarter of the index date", "by_month": "calendar month of the index date",
        "and": "and", "or": "or",
        "labelled": '{id} "{label}"',
        "with_descendants": "{name} and its descendants",
        "without_descendants": "{name} without descendants",
        "excluding": "excluding {text}",
        "source_codes": "{vocabulary} codes matching {pattern} mapped to standard concepts",
        "observed_before": "at least {days} of observation before",
        "observed_after": "at least {days} of observation after",
        "after_too": "at least {days} after",
        "observation_period": "an observation period",
        "observation_spans": "an observation period with {spans} {anchor}",
        "the_index_date": "the index date",
        "its_start_date": "its start date",
        "must_lie": "lie in {observation}",
        "must_be": "be one {attributes}",
        "must_join": " and must ",
        "entry_first": "Entry: each person's first-ever {what}. The index date is that record's start date. "
                       "The record must {must}. A person whose first-ever record fails this does not enter; "
                       "later records are not tried.",
        "lying_in": "lying in {observation}",
        "entry_earliest": "Entry: each person's earliest {what} {qualifiers}. The index date is that record's "
                          "start date.",
        "entry_all": "Entry: every {what} {qualifiers}; a person may enter more than once. The index date is each "
                     "record's start date; counts are of persons, using each person's best entry.",
        "kind_item": "  - a {what}",
        "each_must_lie": "Each must lie in {observation}.",
        "kinds_first": "Entry: for each kind of record below, each person's first-ever one (later ones are not "
                       "tried); of those, the earliest that qualifies. {observed} The index date is its start date.",
        "kinds_earliest": "Entry: each person's earliest record of any kind below. {observed} The index date is "
                          "its start date.",
        "kinds_all": "Entry: every record of any kind below; a person may enter more than once. {observed} The "
                     "index date is each record's start date; counts are of persons, using each person's best "
                     "entry.",
        "rule": 'Rule {number}, {kind} "{name}": {verb} a person who {test}',
        "kind_include": "include", "kind_exclude": "exclude", "keep": "keep", "remove": "remove",
        "all_of": "meets all of the following:",
        "any_of": "meets any of the following:",
        "at_least_of": "meets at least {count} of the following:",
        "not": "does not meet the following:",
        "has_none": "has no {records}",
        "has_on_days": "has {records} on {amount} {days}, {qualifiers}",
        "has": "has {amount} {records}",
        "aged_between": "is aged {low} to {high} {rule}",
        "aged": "is {bounds} {rule}",
        "age_rule": "at the index date (year of index minus year of birth)",
        "age_>=": "aged {} or older", "age_>": "older than {}", "age_<=": "aged {} or younger",
        "age_<": "younger than {}", "age_=": "aged exactly {}", "age_!=": "not aged {}",
        "sex_named": "is recorded as {name} (gender concept {id})",
        "sex_other": "has gender {id}",
        "sex_female": "female", "sex_male": "male",
        "index_between": "has an index date between {low} and {high} (both included)",
        "index_bounds": "has an index date {bounds}",
        "date_>=": "on or after {}", "date_>": "after {}", "date_<=": "on or before {}", "date_<": "before {}",
        "date_=": "on {}", "date_!=": "not on {}",
        "amount_>=": "at least {}", "amount_>": "more than {}", "amount_<=": "at most {}", "amount_<": "less than {}",
        "amount_=": "exactly {}", "amount_!=": "other than {}",
        "between": "between {low} and {high}",
        "between_value": "{amount}",
        "of_amount": "of {amount}",
        "dated": "dated", "with_start_date": "with start date", "with_end_date": "with end date",
        "with_end_date_next_day": "with end date (the day after its date)", "and_window": "and {window}",
        "first_ever": "the person's first-ever one of the concept set (later ones are not tried)",
        "the_index_end": "the index record's end date", "the_record_end": "the {noun}'s end date",
        "qualify": "Qualifying entries, tested before the rules (the attrition starts with them){kept}: an entry "
                   "event qualifies when the person {test}",
        "qualify_earliest": "; each person's earliest qualifying event is kept (the lowest record id on a tie)",
        "of_any_concept": " of any concept",
        "in_concept_set": " in concept set {name}",
        "value": "with a value {amount} (a record with no value never matches)",
        "value_set": "with a value in concept set {name}",
        "source_set": "recorded from a source concept in concept set {name}",
        "nested": "[each such record lies in an observation period and {test}]",
        "the_index_period": "the index's observation period",
        "the_record_date": "the {noun}'s date",
        "the_record_period": "the {noun}'s observation period",
        "record_age_rule": "at {date} (its year minus year of birth)",
        "unit_named": "{symbol} (concept {id})", "concept": "concept {id}",
        "unit": "with unit {units}",
        "visit_named": "{name} (concept {id})", "visit_type": "visit type",
        "visit_inpatient": "inpatient", "visit_outpatient": "outpatient", "visit_emergency": "emergency",
        "visit_inpatient_or_emergency": "inpatient or emergency", "visit_telehealth": "telehealth",
        "of_type": "of type {visits}",
        "during_visit": "recorded during a visit of type {visits}",
        "lasting": "lasting {amount} (end date minus start date)",
        "days_supply": "with a days supply {amount}",
        "concept_filter": "with {attribute} concept {ids}",
        "attribute_condition_status": "condition status", "attribute_record_type": "record type",
        "day": ("day", "days"), "distinct_day": ("distinct day", "distinct days"), "days_unit": " days",
        "offset": "{days} {direction} {date}", "before": "before", "after": "after",
        "on_index": "on {date}", "exactly": "exactly {offset}",
        "index_to": "from {date} to {days} after",
        "to_index": "from {days} before to {date}",
        "span": "from {days} {direction} to {offset}",
        "inside": ", inside {period}",
        "ignoring": ", ignoring observation periods",
        "any_time_inside": "at any time in {period}",
        "any_time": "at any time",
        "before_inside": "any time before {date} (from the start of the observation period to 1 day before)",
        "start_to": "from the start of the observation period to {offset}",
        "after_inside": "any time after {date} (from 1 day after to the end of the observation period)",
        "to_end": "from {offset} to the end of the observation period",
        "any_before": "any time before {date}",
        "up_to": "any time up to {offset}",
        "any_after": "any time after {date}",
        "from_on": "any time from {offset} on",
    },
    "fr": {
        "meta_title": "Titre", "meta_protocol": "Protocole", "meta_sponsor": "Promoteur",
        "meta_description": "Description",
        "meta_line": "{key} : {value}",
        "concept_sets": "Ensembles de concepts :",
        "codeset_one": "- {name} : {item}",
        "codeset_many": "- {name} :",
        "rules": "Règles, appliquées dans l’ordre écrit :",
        "no_rules": "Règles : aucune ; toute personne ayant une entrée est dans la cohorte.",
        "breakdown": "Ventilation : par {by}.",
        "no_breakdown": "Ventilation : aucune.",
        "by_site": "site", "by_site_group": "groupe de sites", "by_sex": "sexe",
        "by_age5": "tranche d’âge de 5 ans", "by_age10": "tranche d’âge de 10 ans",
        "by_year": "année civile de la date index", "by_quarter": "trimestre civil de la date index",
        "by_month": "mois civil de la date index",
        "and": "et", "or": "ou",
        "labelled": "{id} « {label} »",
        "with_descendants": "{name} et ses descendants",
        "without_descendants": "{name} sans ses descendants",
        "excluding": "sauf {text}",
        "source_codes": "codes {vocabulary} correspondant à {pattern}, rattachés à leurs concepts standard",
        "observed_before": "au moins {days} d’observation avant",
        "observed_after": "au moins {days} d’observation après",
        "after_too": "au moins {days} après",
        "observation_period": "une période d’observation",
        "observation_spans": "une période d’observation avec {spans} {anchor}",
        "the_index_date": "la date index",
        "its_start_date": "sa date de début",
        "must_lie": "se situer dans {observation}",
        "must_be": "être un enregistrement {attributes}",
        "must_join": " et doit ",
        "entry_first": "Entrée : pour chaque personne, son tout premier {what}. La date index est la date de début "
                       "de cet enregistrement. L’enregistrement doit {must}. Une personne dont le tout premier "
                       "enregistrement ne remplit pas ces conditions n’entre pas ; les suivants ne sont pas essayés.",
        "lying_in": "situé dans {observation}",
        "entry_earliest": "Entrée : pour chaque personne, son plus ancien {what} {qualifiers}. La date index est la "
                          "date de début de cet enregistrement.",
        "entry_all": "Entrée : chaque {what} {qualifiers} ; une personne peut entrer plusieurs fois. La date index "
                     "est la date de début de chaque enregistrement ; les effectifs comptent des personnes, chacune "
                     "par sa meilleure entrée.",
        "kind_item": "  - un {what}",
        "each_must_lie": "Chacun doit se situer dans {observation}.",
        "kinds_first": "Entrée : pour chaque type d’enregistrement ci-dessous, le tout premier de chaque personne "
                       "(les suivants ne sont pas essayés) ; parmi eux, le plus ancien qui remplit les conditions. "
                       "{observed} La date index est sa date de début.",
        "kinds_earliest": "Entrée : pour chaque personne, son plus ancien enregistrement de l’un des types "
                          "ci-dessous. {observed} La date index est sa date de début.",
        "kinds_all": "Entrée : chaque enregistrement de l’un des types ci-dessous ; une personne peut entrer "
                     "plusieurs fois. {observed} La date index est la date de début de chaque enregistrement ; les "
                     "effectifs comptent des personnes, chacune par sa meilleure entrée.",
        "rule": "Règle {number}, {kind} « {name} » : {verb} toute personne qui {test}",
        "kind_include": "inclusion", "kind_exclude": "exclusion", "keep": "garder", "remove": "retirer",
        "all_of": "remplit toutes les conditions suivantes :",
        "any_of": "remplit au moins une des conditions suivantes :",
        "at_least_of": "remplit au moins {count} des conditions suivantes :",
        "not": "ne remplit pas la condition suivante :",
        "has_none": "n’a aucun {records}",
        "has_on_days": "a des {records} sur {amount} {days}, {qualifiers}",
        "has": "a {amount} {records}",
        "aged_between": "a de {low} à {high} ans {rule}",
        "aged": "{bounds} {rule}",
        "age_rule": "à la date index (année de la date index moins année de naissance)",
        "age_>=": "a {} ans ou plus", "age_>": "a plus de {} ans", "age_<=": "a {} ans ou moins",
        "age_<": "a moins de {} ans", "age_=": "a exactement {} ans", "age_!=": "n’a pas {} ans",
        "sex_named": "est enregistrée de sexe {name} (concept de genre {id})",
        "sex_other": "a le genre {id}",
        "sex_female": "féminin", "sex_male": "masculin",
        "index_between": "a une date index comprise entre le {low} et le {high} (inclus)",
        "index_bounds": "a une date index {bounds}",
        "date_>=": "le {} ou après", "date_>": "après le {}", "date_<=": "le {} ou avant", "date_<": "avant le {}",
        "date_=": "le {}", "date_!=": "autre que le {}",
        "amount_>=": "au moins {}", "amount_>": "plus de {}", "amount_<=": "au plus {}", "amount_<": "moins de {}",
        "amount_=": "exactement {}", "amount_!=": "autre que {}",
        "between": "entre {low} et {high}",
        "between_value": "comprise {amount}",
        "of_amount": "de {amount}",
        "dated": "daté", "with_start_date": "commençant", "with_end_date": "finissant",
        "with_end_date_next_day": "finissant (le lendemain de sa date)", "and_window": "et {window}",
        "first_ever": "le tout premier de la personne dans l’ensemble de concepts (les suivants ne sont pas essayés)",
        "the_index_end": "la date de fin de l’entrée", "the_record_end": "la date de fin de cet {noun}",
        "qualify": "Entrées retenues, testées avant les règles (l’attrition part d’elles){kept} : une entrée est "
                   "retenue quand la personne {test}",
        "qualify_earliest": " ; la plus ancienne entrée retenue de chaque personne est gardée (à égalité, le plus "
                            "petit identifiant)",
        "of_any_concept": " de n’importe quel concept",
        "in_concept_set": " de l’ensemble de concepts {name}",
        "value": "avec une valeur {amount} (un enregistrement sans valeur ne correspond jamais)",
        "value_set": "avec une valeur de l’ensemble de concepts {name}",
        "source_set": "enregistré à partir d’un concept source de l’ensemble de concepts {name}",
        "nested": "[chacun de ces enregistrements se situe dans une période d’observation et {test}]",
        "the_index_period": "la période d’observation de l’entrée",
        "the_record_date": "la date de cet {noun}",
        "the_record_period": "la période d’observation de cet {noun}",
        "record_age_rule": "à {date} (son année moins année de naissance)",
        "unit_named": "{symbol} (concept {id})", "concept": "concept {id}",
        "unit": "avec l’unité {units}",
        "visit_named": "{name} (concept {id})", "visit_type": "type de visite",
        "visit_inpatient": "hospitalisation", "visit_outpatient": "consultation externe",
        "visit_emergency": "urgences", "visit_inpatient_or_emergency": "hospitalisation ou urgences",
        "visit_telehealth": "téléconsultation",
        "of_type": "de type {visits}",
        "during_visit": "enregistré lors d’une visite de type {visits}",
        "lasting": "d’une durée de {amount} (date de fin moins date de début)",
        "days_supply": "avec une durée de traitement délivrée {amount}",
        "concept_filter": "avec le concept de {attribute} {ids}",
        "attribute_condition_status": "statut du diagnostic", "attribute_record_type": "type d’enregistrement",
        "day": ("jour", "jours"), "distinct_day": ("jour distinct", "jours distincts"), "days_unit": " jours",
        "offset": "{days} {direction} {date}", "before": "avant", "after": "après",
        "on_index": "le jour de {date}", "exactly": "exactement {offset}",
        "index_to": "de {date} à {days} après",
        "to_index": "de {days} avant à {date}",
        "span": "de {days} {direction} à {offset}",
        "inside": ", dans {period}",
        "ignoring": ", sans tenir compte des périodes d’observation",
        "any_time_inside": "à tout moment de {period}",
        "any_time": "à tout moment",
        "before_inside": "à tout moment avant {date} (du début de la période d’observation à 1 jour avant)",
        "start_to": "du début de la période d’observation à {offset}",
        "after_inside": "à tout moment après {date} (de 1 jour après à la fin de la période d’observation)",
        "to_end": "de {offset} à la fin de la période d’observation",
        "any_before": "à tout moment avant {date}",
        "up_to": "à tout moment jusqu’à {offset}",
        "any_after": "à tout moment après {date}",
        "from_on": "à tout moment à partir de {offset}",
    },
}

# Domain nouns of the French definition (English: cohortql.omop's `noun`), singular and plural.
EXPLAIN_NOUNS_FR = {
    "condition": "diagnostic", "drug": "exposition médicamenteuse", "procedure": "acte", "measurement": "mesure",
    "observation": "observation", "visit": "visite", "device": "dispositif médical", "death": "décès",
    "condition_era": "épisode de diagnostic", "drug_era": "épisode médicamenteux",
}
