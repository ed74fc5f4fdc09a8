"""The feasibility report's words in English and French, and numbers and dates in each language's way.

Every label and sentence of the report is a key of `MESSAGES`; both languages have every key
(tests/report/test_report_i18n.py checks it). Numbers and dates are formatted by Babel's CLDR
data: 1,234 and 31 December 2025 in English, 1 234 and 31 décembre 2025 in French.
"""

from __future__ import annotations

import datetime

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

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
                           "exécutée (en anglais).",
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
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=pattern, locale=self.code)

    def percent(self, value: float) -> str:
        return format_percent(value, locale=self.code)

    def date(self, value: datetime.date | str | None) -> str:
        if value is None:
            return self("not_given")
        if isinstance(value, str):
            value = datetime.date.fromisoformat(value[:10])
        return format_date(value, "long", locale=self.code)

    def period(self, period: str) -> str:
        """'2025-03' -> Mar 2025 / mars 2025; '2025-Q1' -> Q1 2025 / T1 2025."""
        year, part = period.split("-")
        if part.startswith("Q"):
            return f"{'T' if self.code == 'fr' else 'Q'}{part[1:]} {year}"
        return format_date(datetime.date(int(year), int(part), 1), "MMM yyyy", locale=self.code)
