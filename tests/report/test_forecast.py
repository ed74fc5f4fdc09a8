"""The recruitment forecast against the Poisson-gamma model's closed forms and a seeded simulation."""

import math

import numpy as np
import pytest
from scipy import special, stats

from cohortql.report.forecast import Unit, fit_prior, forecast, nb_quantile, nb_sf


@pytest.mark.parametrize(("shape", "q"), [(0.7, 0.3), (5.0, 0.9), (120.5, 0.05), (3000.0, 0.5)])
def test_negative_binomial_quantiles_and_tail_equal_scipy(shape, q):
    for level in (0.025, 0.1, 0.5, 0.9, 0.975):
        assert nb_quantile(shape, q, level) == stats.nbinom.ppf(level, shape, q)
    for n in (1, 2, 10, int(stats.nbinom.mean(shape, q)) + 1):
        assert nb_sf(shape, q, n) == pytest.approx(stats.nbinom.sf(n - 1, shape, q), abs=1e-9)
        # P(N >= n) = I_{1-q}(n, shape): the closed form of the time to reach n
        assert nb_sf(shape, q, n) == pytest.approx(special.betainc(n, shape, 1 - q), abs=1e-9)


def test_prior_by_moments_matches_the_formula():
    counts, months = [12, 30, 7, 51, 22], 36
    rates = np.array(counts) / months
    between = rates.var(ddof=1) - rates.mean() / months
    prior = fit_prior(counts, months)
    assert prior.fitted
    assert prior.shape == pytest.approx(rates.mean() ** 2 / between)
    assert prior.rate == pytest.approx(rates.mean() / between)
    assert not fit_prior([40], months).fitted  # one unit: no variation across units to fit


def test_the_forecast_is_the_closed_form_of_the_pooled_posterior():
    units = [Unit("a", 12), Unit("b", 30), Unit("c", 7), Unit("d", None), Unit("e", None)]
    result = forecast(units, 36, pooled_count=15, enrol_fraction=0.35, target=40)
    prior = fit_prior([12, 30, 7], 36)
    shape = 5 * prior.shape + 12 + 30 + 7 + 15
    rate = (prior.rate + 36) / 0.35
    assert (result.shape, result.rate) == (pytest.approx(shape), pytest.approx(rate))
    for tau, mean, lo, hi in zip(result.horizon, result.expected, *result.bands[0.8], strict=True):
        assert mean == pytest.approx(shape * tau / rate)
        if tau:
            assert lo == stats.nbinom.ppf(0.1, shape, rate / (rate + tau))
            assert hi == stats.nbinom.ppf(0.9, shape, rate / (rate + tau))
    timing = result.time_to_target
    assert timing["mean"] == pytest.approx(40 * rate / (shape - 1))
    for level, tau in [(0.5, timing["median"]), (0.025, timing[0.95][0]), (0.9, timing[0.8][1])]:
        assert special.betainc(40, shape, tau / (rate + tau)) == pytest.approx(level, abs=1e-6)


def test_a_seeded_simulation_of_the_model_agrees():
    rng = np.random.default_rng(18)
    alpha, beta, months, p = 4.0, 8.0, 36, 0.35  # true rates: mean 0.5 a month per site
    true_rates = rng.gamma(alpha, 1 / beta, size=400)
    counts = rng.poisson(true_rates * months)
    prior = fit_prior(list(counts), months)
    assert prior.shape / prior.rate == pytest.approx(alpha / beta, rel=0.05)  # mean rate recovered
    assert prior.shape / prior.rate**2 == pytest.approx(alpha / beta**2, rel=0.3)  # and its spread
    sites = [Unit(str(i), int(n)) for i, n in enumerate(counts[:8])]
    result = forecast(sites, months, None, p, target=60)
    # Draw the total enrolment rate from each site's posterior, then the enrolled count in 12 months.
    draws = 200_000
    posterior = sum(rng.gamma(result.prior.shape + u.count, 1 / (result.prior.rate + months), draws) for u in sites)
    enrolled = rng.poisson(posterior * p * 12)
    at_12 = result.horizon.index(12.0)
    assert enrolled.mean() == pytest.approx(result.expected[at_12], rel=0.01)
    for level, (lower, upper) in result.bands.items():
        tail = (1 - level) / 2
        assert abs(np.quantile(enrolled, tail) - lower[at_12]) <= 1
        assert abs(np.quantile(enrolled, 1 - tail) - upper[at_12]) <= 1
    # Time to the 60th enrolment given the rate is Gamma(60, rate): its median and mean agree.
    times = rng.gamma(60, 1.0, draws) / (posterior * p)
    assert np.median(times) == pytest.approx(result.time_to_target["median"], rel=0.01)
    assert times.mean() == pytest.approx(result.time_to_target["mean"], rel=0.01)


def test_no_forecast_without_a_known_total():
    assert forecast([Unit("a", None), Unit("b", None)], 36, None, 0.35) is None
    assert forecast([Unit("a", 0)], 36, None, 0.35) is None
    with pytest.raises(ValueError):
        forecast([Unit("a", 5)], 36, None, 0.0)
    flat = forecast([Unit("all", 72)], 36, None, 0.5, target=10)
    assert (flat.shape, flat.rate) == (72, 72)  # flat prior: Gamma(n, t / p)
    assert math.isfinite(flat.time_to_target["median"])
