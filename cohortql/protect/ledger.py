"""Releases checked together: the atoms that earlier releases and a new one define, the intruder's
bounds on them, and the cells of the new release to hide (complementary suppression against the ledger).

Each release is protected on its own by `decide()`; together, releases leak (two definitions one
rule apart, the same cohort by age5 and by age10). Every released cell is a set of persons; the
*atoms* are the persons grouped by which block of every release they belong to (the block of a
release is the finest group its artifact describes; "not in the release" is a block too). Every
cell of every release is then a union of atoms, so the public structure across releases (nested
age bands, a site inside its group, one definition's cohort inside another's) is carried by the
atoms themselves, as `artifact.py` does for one release.

The intruder holds every release on the same CDM and solves, for every sensitive quantity (an
atom, or a cell of any release, whose true size is small), the linear programs of
docs/disclosure.md over the atom sizes: (1) from the released numbers alone its range is at
least k wide; (2) with the marks read too, its range covers every small value the marks alone
allow. Only atoms that hold persons are variables (the intruder is told that every other
combination is empty), which makes the intruder stronger, never weaker: a conservative check.

A quantity the earlier releases already narrowed is not the new release's doing; the new release
must not narrow anything further. When it would, cells of the new release are hidden (cheapest
first, as complementary suppression does), and when hiding cannot help, the release is refused
with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from cohortql.protect.artifact import Status
from cohortql.protect.intervals import IntruderModelError, _stdout_silenced
from cohortql.protect.policy import DisclosurePolicy

_TOLERANCE = 1e-6
_MAX_TRIALS = 12  # cells of the new release tried per step, cheapest first
_CERTIFY_ROUNDS = 12  # rounds of joint solves that clear many quantities at once before one-by-one solves


@dataclass(frozen=True)
class LedgerCell:
    """One count of a release: the blocks it adds up, how it was released, and what hiding it costs."""

    keys: tuple[str, ...]
    blocks: frozenset[int]  # indices into the release's blocks
    status: Status
    shown: int | None  # the number released (rounded when the policy rounds); None for marks and derived
    cost: int


@dataclass(frozen=True)
class LedgerRelease:
    """A release as the ledger sees it: its cells and, for every person in it, the block they are in.

    `persons` (sorted ids) and `block_of` stay in the process that checks; they are never stored.
    """

    label: str
    policy: DisclosurePolicy
    cells: tuple[LedgerCell, ...]
    block_names: tuple[str, ...]  # for messages: what each block is
    persons: np.ndarray
    block_of: np.ndarray  # int64, parallel to `persons`


@dataclass(frozen=True)
class LedgerVerdict:
    hide: frozenset[str]  # keys of the new release's counts to hide further (shown as >=k)
    interacting: tuple[str, ...]  # earlier releases sharing persons with the new one
    problems: tuple[str, ...] = ()  # what hiding could not protect: the release must be refused
    # already narrowed by the earlier releases alone (of the quantities the new release bears on)
    narrowed_before: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


class _Atoms:
    """Persons grouped by their block in every release; each cell as the atoms it covers."""

    def __init__(self, releases: Sequence[LedgerRelease]):
        universe = np.unique(np.concatenate([r.persons for r in releases])) if releases else np.zeros(0, np.int64)
        code = np.zeros(len(universe), dtype=np.int64)
        for release in releases:
            where = np.searchsorted(universe, release.persons)
            width = len(release.block_names) + 1
            _, split = np.unique(code[where] * width + release.block_of, return_inverse=True)
            code[where] = split.reshape(-1) + code.max(initial=0) + 1  # a fresh id per (old atom, block)
        _, code = np.unique(code, return_inverse=True)
        code = code.reshape(-1)
        self.count = int(code.max(initial=-1)) + 1
        self.sizes = np.bincount(code, minlength=self.count).astype(np.int64)
        self.block: list[np.ndarray] = []  # per release: each atom's block there, -1 when not in it
        self._grouped: list[tuple[np.ndarray, np.ndarray]] = []  # per release: atoms sorted by block, starts
        for release in releases:
            blocks = np.full(self.count, -1, dtype=np.int64)
            blocks[code[np.searchsorted(universe, release.persons)]] = release.block_of
            self.block.append(blocks)
            order = np.argsort(blocks, kind="stable")
            starts = np.searchsorted(blocks[order], np.arange(len(release.block_names) + 1))
            self._grouped.append((order, starts))

    def of(self, release_index: int, blocks: frozenset[int]) -> np.ndarray:
        order, starts = self._grouped[release_index]
        parts = [order[starts[b]:starts[b + 1]] for b in sorted(blocks)]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


@dataclass
class _Row:
    release: int
    cell: int
    atoms: np.ndarray
    value: int  # true size


class _Program:
    """The intruder's linear program: a column per atom (0..M), a row per shown cell of every release."""

    def __init__(self, columns: int, rows: list[_Row], upper: float):
        import highspy

        with _stdout_silenced():
            self._highs = highspy.Highs()
            self._highs.setOptionValue("output_flag", False)
        self._inf = highspy.kHighsInf
        self._status = highspy.HighsModelStatus
        self.columns = columns
        self._highs.addVars(columns, np.zeros(columns), np.full(columns, upper))
        if rows:
            starts = np.cumsum([0] + [len(r.atoms) for r in rows[:-1]]).astype(np.int32)
            indices = np.concatenate([r.atoms for r in rows]).astype(np.int32)
            free = np.full(len(rows), self._inf)
            self._highs.addRows(len(rows), -free, free, len(indices), starts, indices, np.ones(len(indices)))
        self._rows = len(rows)
        self._bounds = None

    def solve(self, objective: np.ndarray, bounds: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """An optimal point minimising `objective` under `bounds` (the atom sizes)."""
        highs = self._highs
        if self._bounds is not bounds and self._rows:
            lower, upper = (np.clip(b, -self._inf, self._inf) for b in bounds)
            highs.changeRowsBounds(self._rows, np.arange(self._rows, dtype=np.int32), lower, upper)
            self._bounds = bounds
        highs.changeColsCost(self.columns, np.arange(self.columns, dtype=np.int32), objective)
        highs.run()
        if highs.getModelStatus() != self._status.kOptimal:
            highs.clearSolver()  # a warm start gone wrong: solve again from scratch
            highs.run()
        status = highs.getModelStatus()
        if status != self._status.kOptimal:  # never infeasible: the true sizes are a solution
            raise IntruderModelError(f"the ledger's linear program failed: {highs.modelStatusToString(status)}")
        return np.asarray(highs.getSolution().col_value)


class LedgerCheck:
    """The new release (last) against every earlier one: which quantities it would narrow."""

    def __init__(self, releases: Sequence[LedgerRelease], policy: DisclosurePolicy):
        self.releases = list(releases)
        self.policy = policy
        self.atoms = _Atoms(self.releases)
        self.rows: list[_Row] = []
        self.quantities: list[tuple[str, np.ndarray, int]] = []  # (description, atoms, true value)
        self._build()
        upper = 10.0 * max(int(self.atoms.sizes.sum()), 100)  # an a-priori bound: keeps every program bounded
        self.program = _Program(self.atoms.count, self.rows, upper)
        self._bounds_cache: dict = {}

    # ---- model ---------------------------------------------------------------------------

    def _build(self) -> None:
        k = self.policy.threshold
        seen: set[bytes] = set()
        for r, release in enumerate(self.releases):
            for c, cell in enumerate(release.cells):
                atoms = self.atoms.of(r, cell.blocks)
                value = int(self.atoms.sizes[atoms].sum())
                if cell.status is not Status.DERIVED:
                    self.rows.append(_Row(r, c, atoms, value))
                derived_counts = cell.status is not Status.DERIVED or release.policy.attrition_differences
                if derived_counts and self.policy.is_small(value) and len(atoms):
                    self._sensitive(f"{release.label}: {cell.keys[0]}", atoms, value, seen)
        for atom in np.flatnonzero((self.atoms.sizes > 0) & (self.atoms.sizes < k)):
            self._sensitive(self._describe_atom(int(atom)), np.array([atom]), int(self.atoms.sizes[atom]), seen)

    def _sensitive(self, description: str, atoms: np.ndarray, value: int, seen: set[bytes]) -> None:
        signature = np.sort(atoms).tobytes()
        if signature not in seen:
            seen.add(signature)
            self.quantities.append((description, atoms, value))

    def _describe_atom(self, atom: int) -> str:
        parts = [
            f"{release.label} {release.block_names[int(self.atoms.block[r][atom])]}"
            for r, release in enumerate(self.releases) if self.atoms.block[r][atom] >= 0
        ]
        return "the persons in " + " and in ".join(parts) + ", and in no other of these releases"

    def _bounds(self, statuses: tuple[tuple[Status, ...], ...], knowledge: str, releases: int):
        """Row bounds: what the first `releases` releases tell under `knowledge`; later rows are free."""
        key = (statuses, knowledge, releases)
        if key in self._bounds_cache:
            return self._bounds_cache[key]
        lower = np.full(len(self.rows), -np.inf)
        upper = np.full(len(self.rows), np.inf)
        for i, row in enumerate(self.rows):
            if row.release >= releases:
                continue
            release = self.releases[row.release]
            policy, cell = release.policy, release.cells[row.cell]
            status = statuses[row.release][row.cell]
            k, lowest = policy.threshold, policy.lowest_small
            if knowledge == "classes":
                if policy.is_small(row.value):
                    lower[i], upper[i] = lowest, k - 1
                elif row.value == 0:
                    lower[i] = upper[i] = 0
                else:
                    lower[i] = k
            elif status is Status.RELEASED:
                half = (policy.rounding_base or 0) / 2 if cell.shown else 0
                lower[i], upper[i] = cell.shown - half, cell.shown + half
            elif knowledge == "marks" and status is Status.PRIMARY:
                lower[i], upper[i] = lowest, k - 1
            elif knowledge == "marks" and status is Status.COMPLEMENTARY:
                lower[i] = k
        self._bounds_cache[key] = (lower, upper)
        return lower, upper

    def _range(self, q: int, bounds, reach: _Reach | None = None) -> tuple[float, float]:
        """The lowest and highest size of quantity q under `bounds`; both points go into `reach`."""
        atoms = self.quantities[q][1]
        objective = np.zeros(self.atoms.count)
        objective[atoms] = 1.0
        ends = []
        for sign in (1.0, -1.0):
            point = self.program.solve(sign * objective, bounds)
            ends.append(float(point[atoms].sum()))
            if reach is not None:
                reach.see(point)
        return ends[0], ends[1]

    # ---- protection level ------------------------------------------------------------------

    def shortfalls(self, indices: list[int], statuses, releases: int) -> dict[int, float]:
        """How far each quantity is from its protection level (0: protected), knowing `releases` releases."""
        exact = self.exact_shortfalls(self.undecided(indices, statuses, releases), statuses, releases)
        return {q: exact.get(q, 0.0) for q in indices}

    def undecided(self, indices: list[int], statuses, releases: int) -> list[int]:
        """The quantities that joint solves cannot prove protected, knowing `releases` releases."""
        numbers = self._bounds(statuses, "numbers", releases)
        marks = self._bounds(statuses, "marks", releases)
        return self._certified(indices, numbers, marks)

    def exact_shortfalls(self, indices: list[int], statuses, releases: int) -> dict[int, float]:
        """Each quantity's shortfall from its own solves, knowing `releases` releases.

        One knowledge after another, quantity after quantity: each solve changes only the objective,
        so HiGHS starts from the last basis. Every point solved for one quantity may already show
        a later one's range wide enough (two atoms of one cell: the lowest of one is the highest of
        the other); a part of the shortfall that the points seen prove to be 0 is not solved for.
        """
        k, lowest = self.policy.threshold, self.policy.lowest_small
        shortfall = dict.fromkeys(indices, 0.0)
        bounds = self._bounds(statuses, "numbers", releases)
        reach = _Reach(self.quantities, indices)
        for i, q in enumerate(indices):
            if reach.high[i] - reach.low[i] < k - _TOLERANCE:
                low, high = self._range(q, bounds, reach)
                shortfall[q] += max(0.0, k - (high - low))
        bounds = self._bounds(statuses, "marks", releases)
        reach = _Reach(self.quantities, indices)
        uncovered = []
        for i, q in enumerate(indices):
            if reach.low[i] <= lowest + _TOLERANCE and reach.high[i] >= k - 1 - _TOLERANCE:
                continue
            m_low, m_high = self._range(q, bounds, reach)
            if m_low > lowest + _TOLERANCE or m_high < k - 1 - _TOLERANCE:
                uncovered.append((q, m_low, m_high))
        # The marks leave a small range uncovered: it must cover what the classes alone allow.
        bounds = self._bounds(statuses, "classes", releases)
        for q, m_low, m_high in uncovered:
            c_low, c_high = self._range(q, bounds)
            target_low, target_high = max(c_low, lowest), min(c_high, k - 1)
            shortfall[q] += max(0.0, m_low - target_low) + max(0.0, target_high - m_high)
        return {q: value if value > _TOLERANCE else 0.0 for q, value in shortfall.items()}

    def _certified(self, indices: list[int], numbers, marks) -> list[int]:
        """Quantities joint solves cannot clear: feasible points far enough apart prove the rest protected.

        Every feasible point the rounds find counts for every quantity: a quantity is clear once the
        points seen (and the truth) span at least k under the numbers and its small range under the
        marks. The first round pushes all pending quantities up and then down together; later rounds
        push a random half up and the other half down, which separates quantities that trade off
        against each other (two atoms adding up to one released cell: pushed together, neither moves).
        """
        k, lowest = self.policy.threshold, self.policy.lowest_small
        if len(indices) <= 2:  # joint rounds would cost as many solves as the quantities' own
            return list(indices)
        reach = {name: _Reach(self.quantities, indices) for name in ("numbers", "marks")}
        pending = np.ones(len(indices), dtype=bool)
        rng = np.random.default_rng(0)  # the same rounds every run: a check that can be repeated
        for round_ in range(_CERTIFY_ROUNDS):
            signs = np.ones(len(indices)) if round_ == 0 else rng.choice((-1.0, 1.0), len(indices))
            objective = np.zeros(self.atoms.count)
            for i in np.flatnonzero(pending):
                objective[self.quantities[indices[i]][1]] += signs[i]
            for name, bounds in (("numbers", numbers), ("marks", marks)):
                reach[name].see(self.program.solve(objective, bounds))
                reach[name].see(self.program.solve(-objective, bounds))
            wide = reach["numbers"].high - reach["numbers"].low >= k - _TOLERANCE
            covers = (reach["marks"].low <= lowest + _TOLERANCE) & (reach["marks"].high >= k - 1 - _TOLERANCE)
            still = pending & ~(wide & covers)
            if round_ > 0 and still.sum() == pending.sum():  # a random split that clears nothing: close calls
                break
            pending = still
            if not pending.any():
                break
        return [q for q, open_ in zip(indices, pending, strict=True) if open_]


class _Reach:
    """The lowest and highest size of some quantities at the feasible points seen so far (the truth first)."""

    def __init__(self, quantities: list[tuple[str, np.ndarray, int]], indices: list[int]):
        atoms = [quantities[q][1] for q in indices]
        self._entries = np.concatenate(atoms) if atoms else np.zeros(0, dtype=np.int64)
        self._owner = np.repeat(np.arange(len(indices)), [len(a) for a in atoms])
        truth = np.array([quantities[q][2] for q in indices], dtype=float)
        self.low, self.high = truth.copy(), truth.copy()

    def see(self, point: np.ndarray) -> None:
        sums = np.bincount(self._owner, weights=point[self._entries], minlength=len(self.low))
        np.minimum(self.low, sums, out=self.low)
        np.maximum(self.high, sums, out=self.high)


def check_release(new: LedgerRelease, earlier: Sequence[LedgerRelease], policy: DisclosurePolicy) -> LedgerVerdict:
    """What of `new` to hide so that, with every earlier release, it narrows no small quantity further."""
    overlapping = [r for r in earlier if len(np.intersect1d(r.persons, new.persons, assume_unique=True))]
    interacting = tuple(r.label for r in overlapping)
    if not overlapping:
        return LedgerVerdict(frozenset(), interacting)
    releases = [*overlapping, new]
    check = LedgerCheck(releases, policy)
    statuses = [tuple(c.status for c in r.cells) for r in releases]
    everything = list(range(len(check.quantities)))
    known = tuple(statuses)  # the earlier releases' statuses are fixed: `before` holds for every trial
    before: dict[int, float] = {}  # quantity -> its shortfall from the earlier releases alone

    def violations(current, among: Iterable[int] = everything) -> dict[int, float]:
        """The quantities (of `among`) `current` narrows further than the earlier releases alone do.

        Only a quantity the joint solves cannot prove protected can be one.
        """
        current = tuple(current)
        pending = check.undecided(list(among), current, len(releases))
        before.update(check.exact_shortfalls([q for q in pending if q not in before], known, len(overlapping)))
        after = check.exact_shortfalls(pending, current, len(releases))
        return {q: s for q, s in after.items() if s > before[q] + _TOLERANCE}

    found = violations(statuses)
    hidden: set[int] = set()
    while found:
        q = next(iter(found))
        choice = _complement(check, new, statuses, q, found[q] - before[q], before[q])
        if choice is None:
            refusal = _refusal(check, found, overlapping)
            return LedgerVerdict(frozenset(), interacting, refusal, _narrowed(check, before))
        hidden.add(choice)
        cells = list(statuses[-1])
        cells[choice] = Status.COMPLEMENTARY
        statuses[-1] = tuple(cells)
        # Hiding a cell tells the intruder less, so what was protected stays so: the quantities still
        # found first, then (once they are clear) all of them, which settles any exception.
        found = violations(statuses, among=found) or violations(statuses)
    for c in sorted(hidden, key=lambda c: (-new.cells[c].cost, -(new.cells[c].shown or 0))):  # release again
        cells = list(statuses[-1])
        cells[c] = Status.RELEASED
        trial = [*statuses[:-1], tuple(cells)]
        if not violations(trial):
            statuses, hidden = trial, hidden - {c}
    hide = frozenset(key for c in hidden for key in new.cells[c].keys)
    return LedgerVerdict(hide, interacting, (), _narrowed(check, before))


def _narrowed(check: LedgerCheck, before: dict[int, float]) -> tuple[str, ...]:
    return tuple(check.quantities[q][0] for q, shortfall in sorted(before.items()) if shortfall)


def _complement(check: LedgerCheck, new: LedgerRelease, statuses, q: int, excess: float, baseline: float):
    """The cell of the new release whose hiding removes most of quantity q's excess shortfall per cost."""
    atoms = set(check.quantities[q][1].tolist())
    last = len(check.releases) - 1
    candidates = []
    for c, cell in enumerate(new.cells):
        if statuses[last][c] is not Status.RELEASED or not cell.shown:
            continue
        overlap = bool(atoms & set(check.atoms.of(last, cell.blocks).tolist()))
        candidates.append((not overlap, cell.cost, cell.shown, c))
    best, best_score = None, None
    for _no_overlap, cost, shown, c in sorted(candidates)[:_MAX_TRIALS]:
        trial = list(statuses)
        cells = list(trial[last])
        cells[c] = Status.COMPLEMENTARY
        trial[last] = tuple(cells)
        remaining = check.shortfalls([q], tuple(trial), len(check.releases))[q] - baseline
        removed = excess - max(remaining, 0.0)
        if removed <= _TOLERANCE:
            continue
        score = (cost * excess / removed, shown)
        if best_score is None or score < best_score:
            best, best_score = c, score
        if remaining <= _TOLERANCE:
            break
    if best is None and candidates:  # no single cell helps alone (two must go): the cheapest related one first
        best = min(candidates)[3]
    return best


def _refusal(check: LedgerCheck, found: dict[int, float], overlapping: Sequence[LedgerRelease]) -> tuple[str, ...]:
    labels = ", ".join(r.label for r in overlapping)
    return tuple(
        f"{check.quantities[q][0]}: together with {labels}, this release would narrow it below the protection "
        "level, and hiding more of its cells does not prevent it"
        for q in found
    )
