"""Recruitment forecast: the Poisson-gamma model of Anisimov and Fedorov (2007) on protected counts.

Each recruiting unit i (a site, a site group, or the whole data source) sees newly eligible
patients as a Poisson process of rate lambda_i per month, and the rates vary across units as
Gamma(alpha, beta) (shape, rate). From counts n_i over the same t months, empirical Bayes fits
(alpha, beta) by the method of moments across units, and each unit's posterior is
Gamma(alpha + n_i, beta + t). Enrolling a fraction p of the eligible thins each process, so the
enrolment rate of unit i is Gamma(alpha + n_i, (beta + t) / p). All units share that rate
parameter b, so the total enrolment rate is exactly Gamma(A, b) with A = sum(alpha + n_i), and
the number enrolled by month tau is negative binomial (a Poisson-gamma mixture):

    N(tau) ~ NB(A, q = b / (b + tau)),  E N = A tau / b,  Var N = A tau / b * (1 + tau / b),
    P(time to reach n <= tau) = P(N(tau) >= n),  E[time to reach n] = n b / (A - 1).

Units whose counts were suppressed are pooled: m of them recruit at a Gamma(m alpha, beta) rate,
and their pooled count (derivable from released margins) updates it with the same b. With fewer
than two units with a known count, no prior can be fitted and a flat one is used (alpha = beta = 0).
Only numpy is needed at run time; scipy checks the closed forms in the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Of patients eligible for an available trial, 8.1% of all patients enrolled and 14.8% did not:
# 8.1 / (8.1 + 14.8) = 35% (Unger et al., J Natl Cancer Inst 2019;111(3):245-255). docs/report.md.
DEFAULT_ENROL_FRACTION = 0.35
# No extra-Poisson variation between units (sample variance <= Poisson noise): rates treated as
# equal, a gamma prior this concentrated (coefficient of variation 0.1%).
_MAX_SHAPE = 1e6
BANDS = (0.80, 0.95)


@dataclass(frozen=True)
class Unit:
    """A recruiting unit and its newly eligible count over the window (None when unknown)."""

    name: str
    count: int | None


@dataclass(frozen=True)
class Prior:
    shape: float  # alpha
    rate: float  # beta, per month
    fitted: bool  # False: flat (fewer than two units with a known count)


@dataclass(frozen=True)
class UnitRate:
    name: str
    observed: float  # n_i / t, newly eligible per month
    posterior_mean: float  # (alpha + n_i) / (beta + t), newly eligible per month


@dataclass(frozen=True)
class Forecast:
    months: int  # the window the rates are estimated on
    enrol_fraction: float
    prior: Prior
    shape: float  # A: the total enrolment rate is Gamma(A, rate)
    rate: float  # b
    units: tuple[UnitRate, ...]
    horizon: tuple[float, ...]  # months from start, for the curve
    expected: tuple[float, ...]  # E N(tau)
    bands: dict[float, tuple[tuple[int, ...], tuple[int, ...]]]  # level -> (lower, upper) quantiles
    target: int | None
    time_to_target: dict | None  # {"median", "mean", 0.8: (lo, hi), 0.95: (lo, hi)} in months

    @property
    def monthly_enrolment(self) -> float:
        return self.shape / self.rate


def fit_prior(counts: list[int], months: float) -> Prior:
    """Method of moments across units: mean and variance of the rates, less the Poisson noise."""
    if len(counts) < 2 or months <= 0:
        return Prior(0.0, 0.0, False)
    rates = np.asarray(counts, dtype=float) / months
    mean = float(rates.mean())
    if mean <= 0:
        return Prior(0.0, 0.0, False)
    between = float(rates.var(ddof=1)) - mean / months
    between = max(between, mean * mean / _MAX_SHAPE)
    return Prior(mean * mean / between, mean / between, True)


def nb_quantile(shape: float, q: float, level: float) -> int:
    """The smallest k with P(N <= k) >= level, N ~ NB(shape, q) (failures before `shape` successes)."""
    if shape <= 0 or q >= 1:
        return 0
    mean = shape * (1 - q) / q
    sd = math.sqrt(mean / q)
    top = int(mean + 12 * sd + 20)
    k = np.arange(1, top + 1, dtype=float)
    log_pmf = shape * math.log(q) + np.concatenate(([0.0], np.cumsum(np.log((k - 1 + shape) / k) + math.log1p(-q))))
    cdf = np.cumsum(np.exp(log_pmf))
    return int(min(np.searchsorted(cdf, level - 1e-12), top))


def nb_sf(shape: float, q: float, n: int) -> float:
    """P(N >= n), N ~ NB(shape, q)."""
    if n <= 0:
        return 1.0
    if shape <= 0 or q >= 1:
        return 0.0
    k = np.arange(1, n, dtype=float)
    log_pmf = shape * math.log(q) + np.concatenate(([0.0], np.cumsum(np.log((k - 1 + shape) / k) + math.log1p(-q))))
    return float(max(0.0, 1.0 - np.exp(log_pmf).sum()))


def _time_quantile(shape: float, rate: float, n: int, level: float) -> float:
    """The month tau at which P(N(tau) >= n) = level (bisection; the probability grows with tau)."""
    low, high = 0.0, max(1.0, n * rate / shape)
    while nb_sf(shape, rate / (rate + high), n) < level:
        high *= 2
        if high > 1e6:
            return math.inf
    for _ in range(60):
        middle = (low + high) / 2
        if nb_sf(shape, rate / (rate + middle), n) < level:
            low = middle
        else:
            high = middle
    return high


def forecast(units: list[Unit], months: int, pooled_count: int | None, enrol_fraction: float,
             target: int | None = None) -> Forecast | None:
    """The expected enrolment curve with its bands, and the time to reach `target` (None: no data).

    `pooled_count` is the known total of the units whose own count is unknown (None if none are).
    """
    if not 0 < enrol_fraction <= 1:
        raise ValueError("the enrolment fraction must be in (0, 1]")
    known = [u.count for u in units if u.count is not None]
    hidden = len(units) - len(known)
    if months <= 0 or (hidden and pooled_count is None):
        return None
    prior = fit_prior(known, months)
    total = sum(known) + (pooled_count or 0)
    shape = len(units) * prior.shape + total
    if shape <= 0:
        return None
    rate = (prior.rate + months) / enrol_fraction
    rates = tuple(
        UnitRate(u.name, u.count / months, (prior.shape + u.count) / (prior.rate + months))
        for u in units if u.count is not None
    )
    timing = None
    end = 24.0
    if target:
        timing = {"median": _time_quantile(shape, rate, target, 0.5),
                  "mean": target * rate / (shape - 1) if shape > 1 else math.inf}
        for level in BANDS:
            tail = (1 - level) / 2
            timing[level] = (_time_quantile(shape, rate, target, tail), _time_quantile(shape, rate, target, 1 - tail))
        upper = timing[BANDS[-1]][1]
        end = min(120.0, max(end, math.ceil(upper * 1.1))) if math.isfinite(upper) else 120.0
    horizon = tuple(float(x) for x in np.linspace(0, end, int(end) + 1))
    expected = tuple(shape * tau / rate for tau in horizon)
    bands = {}
    for level in BANDS:
        tail = (1 - level) / 2
        q = [rate / (rate + tau) for tau in horizon]
        lower = tuple(nb_quantile(shape, x, tail) for x in q)
        bands[level] = (lower, tuple(nb_quantile(shape, x, 1 - tail) for x in q))
    return Forecast(months, enrol_fraction, prior, shape, rate, rates, horizon, expected, bands, target, timing)
