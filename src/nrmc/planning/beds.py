"""Bed sizing with Erlang loss (B) and delay (C) models, checked by a SimPy simulation.

Offered load A = admissions per day × mean length of stay (days), in "beds busy on average".

* **Erlang B** (M/G/c/c, patients turned away when full): B(0) = 1,
  B(c) = A·B(c−1) / (c + A·B(c−1)). The textbook closed form A^c/c! / Σ A^k/k! overflows
  floats for A of a few hundred; the recursion stays in [0, 1] and costs O(c). Blocking is
  insensitive to the length-of-stay distribution (only its mean matters).
* **Erlang C** (M/M/c, patients wait for a bed): C = c·B / (c − A(1 − B)) for c > A, else 1.
  Unlike B it assumes exponential stays; :func:`simulate` checks it for lognormal stays.

Occupancy is carried load ÷ beds: A(1 − B)/c for the loss model, A/c for the delay model; the
"85% rule" (Bagust, Place & Posnett 1999, *BMJ* 319:155) is the occupancy above which bed crises
become regular, so results report whether occupancy is at or below 0.85.

>>> round(erlang_b(2, 2), 4), round(erlang_c(2, 3), 4)
(0.4, 0.4444)
>>> s = beds_for_block(3650, 5, 0.01)
>>> s.beds, round(s.occupancy, 3), s.within_85_rule
(64, 0.775, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InvalidInput

OCCUPANCY_RULE = 0.85
DAYS_PER_YEAR = 365.0
# More occupied beds than any province has (the largest has ~650,000 beds in all): a typo or a
# whole country. Planning sizes whole-province catchments, so the bound is not a hospital's;
# at it the Erlang recursion still answers in about a second.
MAX_OFFERED_LOAD = 2_000_000


def _check_load(load: float, servers: int) -> None:
    if not np.isfinite(load) or load < 0:
        raise InvalidInput(f"offered load must be a finite number ≥ 0; got {load}")
    if int(servers) != servers or servers < 0:
        raise InvalidInput(f"servers (beds) must be a whole number ≥ 0; got {servers}")


def erlang_b(load: float, servers: int) -> float:
    """Probability an arrival finds all ``servers`` busy and is lost (Erlang B)."""
    _check_load(load, servers)
    b = 1.0
    for c in range(1, int(servers) + 1):
        b = load * b / (c + load * b)
    return b


def erlang_c(load: float, servers: int) -> float:
    """Probability an arrival has to wait (Erlang C); 1 when load ≥ servers (unstable queue)."""
    _check_load(load, servers)
    if servers == 0 or load >= servers:
        return 1.0
    b = erlang_b(load, servers)
    return servers * b / (servers - load * (1.0 - b))


@dataclass(frozen=True)
class BedSizing:
    """Minimum beds for a target, with the resulting probabilities and occupancy."""

    beds: int
    load: float
    occupancy: float
    wait_probability: float
    block_probability: float
    target: str
    target_value: float

    @property
    def within_85_rule(self) -> bool:
        return self.occupancy <= OCCUPANCY_RULE + 1e-12

    def as_dict(self) -> dict[str, float | int | bool | str]:
        return {"beds": self.beds, "occupancy": self.occupancy,
                "wait_probability": self.wait_probability,
                "block_probability": self.block_probability, "load": self.load,
                "within_85_rule": self.within_85_rule, "target": self.target,
                "target_value": self.target_value}


def offered_load(admissions_per_year: float, mean_los_days: float) -> float:
    """Average number of occupied beds if no one were turned away (Little's law)."""
    for name, value in (("admissions_per_year", admissions_per_year),
                        ("mean_los_days", mean_los_days)):
        if not np.isfinite(value) or value <= 0:
            raise InvalidInput(f"{name} must be a positive number; got {value}")
    load = admissions_per_year / DAYS_PER_YEAR * mean_los_days
    if load > MAX_OFFERED_LOAD:
        # More occupied beds than any hospital has: a typo (20 digits) or a whole country. The
        # Erlang recursion would run for hours; refuse, naming the bound.
        raise InvalidInput(f"admissions_per_year × mean_los_days / {DAYS_PER_YEAR:g} is {load:,.0f} "
                           f"occupied beds; at most {MAX_OFFERED_LOAD:,} can be sized")
    return load


def _check_target(target: float) -> None:
    if not 0 < target < 1:
        raise InvalidInput(f"target probability must be strictly between 0 and 1; got {target}")


def beds_for_block(admissions_per_year: float, mean_los_days: float,
                   target: float) -> BedSizing:
    """Fewest beds with Erlang-B probability of being turned away ≤ ``target``."""
    _check_target(target)
    a = offered_load(admissions_per_year, mean_los_days)
    c, b = 0, 1.0
    while b > target:
        c += 1
        b = a * b / (c + a * b)
    occupancy = a * (1.0 - b) / c
    return BedSizing(c, a, occupancy, erlang_c(a, c), b, "block", target)


def beds_for_wait(admissions_per_year: float, mean_los_days: float,
                  target: float) -> BedSizing:
    """Fewest beds with Erlang-C probability of waiting for a bed ≤ ``target``."""
    _check_target(target)
    a = offered_load(admissions_per_year, mean_los_days)
    c, b = 0, 1.0
    while True:
        c += 1
        b = a * b / (c + a * b)
        if c > a:
            wait = c * b / (c - a * (1.0 - b))
            if wait <= target:
                return BedSizing(c, a, a / c, wait, b, "wait", target)


def beds_for_occupancy(admissions_per_year: float, mean_los_days: float,
                       occupancy: float = OCCUPANCY_RULE) -> BedSizing:
    """Fewest beds at which the Erlang-B carried occupancy A(1 − B(c))/c is ≤ ``occupancy``.

    With too few beds the ward is nearly always full (occupancy → 1) and patients are turned
    away; each added bed lowers the occupancy, so the first bed count at the target is the
    scale a centre needs to run at (by default) the 85 % rule.

    >>> s = beds_for_occupancy(3650, 5)
    >>> s.beds, round(s.occupancy, 3), round(s.block_probability, 3)
    (57, 0.843, 0.039)
    """
    if not 0 < occupancy < 1:
        raise InvalidInput(f"occupancy target must be strictly between 0 and 1; got {occupancy}")
    a = offered_load(admissions_per_year, mean_los_days)
    c, b = 0, 1.0
    while True:
        c += 1
        b = a * b / (c + a * b)
        if a * (1.0 - b) / c <= occupancy:
            return BedSizing(c, a, a * (1.0 - b) / c, erlang_c(a, c), b, "occupancy", occupancy)


@dataclass(frozen=True)
class ScaleCheck:
    """A project's planned beds against the beds its catchment demand needs.

    ``difference`` = planned − needed: positive means over-built by that many beds, negative
    under-built; ``None`` when no planned bed count is recorded.
    """

    planned_beds: int | None
    needed: BedSizing
    admissions_per_year: float
    mean_los_days: float

    @property
    def difference(self) -> int | None:
        return None if self.planned_beds is None else self.planned_beds - self.needed.beds

    @property
    def verdict(self) -> str:
        d = self.difference
        if d is None:
            return "unknown"
        return "over" if d > 0 else "under" if d < 0 else "matched"

    @property
    def planned_occupancy(self) -> float | None:
        """Occupancy the planned beds would run at (Erlang-B carried load ÷ beds)."""
        if not self.planned_beds:
            return None
        c = self.planned_beds
        return self.needed.load * (1.0 - erlang_b(self.needed.load, c)) / c


def check_scale(planned_beds: int | None, admissions_per_year: float, mean_los_days: float,
                occupancy: float = OCCUPANCY_RULE) -> ScaleCheck:
    """Compare ``planned_beds`` with :func:`beds_for_occupancy` for the catchment's demand.

    >>> c = check_scale(80, 3650, 5)
    >>> c.needed.beds, c.difference, c.verdict
    (57, 23, 'over')
    """
    if planned_beds is not None and (int(planned_beds) != planned_beds or planned_beds < 0):
        raise InvalidInput(f"planned beds must be a whole number ≥ 0; got {planned_beds}")
    needed = beds_for_occupancy(admissions_per_year, mean_los_days, occupancy)
    return ScaleCheck(planned_beds, needed, admissions_per_year, mean_los_days)


@dataclass(frozen=True)
class SimulationCheck:
    """Simulated probabilities for a bed count, to compare with the Erlang answer."""

    beds: int
    admissions: int
    block_probability: float
    wait_probability: float
    occupancy: float


def lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    """(mu, sigma) of a lognormal with the given mean and coefficient of variation."""
    sigma2 = np.log1p(cv * cv)
    return float(np.log(mean) - sigma2 / 2), float(np.sqrt(sigma2))


def simulate(admissions_per_year: float, mean_los_days: float, beds: int, *,
             mode: str = "block", los_cv: float = 1.0, years: float = 20.0,
             warmup_years: float = 1.0, seed: int = 0,
             stays: str = "lognormal") -> SimulationCheck:
    """Discrete-event check (SimPy) with Poisson admissions and lognormal length of stay.

    ``mode="block"`` turns patients away when all beds are full (compare with Erlang B, which
    should agree for any stay distribution); ``mode="wait"`` queues them (compare with Erlang C,
    exact for exponential stays: ``stays="exponential"``, the M/M/c queue — lognormal stays
    show how far real, skewed stays drift from it).
    """
    import simpy

    if mode not in {"block", "wait"}:
        raise InvalidInput(f"mode must be 'block' or 'wait'; got {mode!r}")
    if stays not in {"lognormal", "exponential"}:
        raise InvalidInput(f"stays must be 'lognormal' or 'exponential'; got {stays!r}")
    offered_load(admissions_per_year, mean_los_days)
    if int(beds) != beds or beds < 1:
        raise InvalidInput(f"beds must be a whole number ≥ 1; got {beds}")
    rng = np.random.default_rng(seed)
    mu, sigma = lognormal_params(mean_los_days, los_cv)
    rate = admissions_per_year / DAYS_PER_YEAR
    warmup, horizon = warmup_years * DAYS_PER_YEAR, (warmup_years + years) * DAYS_PER_YEAR
    env = simpy.Environment()
    ward = simpy.Resource(env, capacity=int(beds))
    tally = {"arrived": 0, "blocked": 0, "waited": 0, "bed_days": 0.0}

    def stay(los: float, counted: bool):
        with ward.request() as req:
            asked = env.now
            yield req
            if counted and env.now > asked:
                tally["waited"] += 1
            start = env.now
            yield env.timeout(los)
            # bed-days inside the observation window only
            tally["bed_days"] += max(0.0, min(env.now, horizon) - max(start, warmup))

    def arrivals():
        while True:
            yield env.timeout(rng.exponential(1.0 / rate))
            counted = env.now >= warmup
            los = float(rng.lognormal(mu, sigma) if stays == "lognormal"
                        else rng.exponential(mean_los_days))
            if counted:
                tally["arrived"] += 1
            if mode == "block" and ward.count >= ward.capacity:
                if counted:
                    tally["blocked"] += 1
                continue
            env.process(stay(los, counted))

    env.process(arrivals())
    env.run(until=horizon)
    n = max(tally["arrived"], 1)
    return SimulationCheck(int(beds), int(tally["arrived"]), tally["blocked"] / n,
                           tally["waited"] / n, tally["bed_days"] / (beds * (horizon - warmup)))
