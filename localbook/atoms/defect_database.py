"""Build the bcc-iron defect databases of chapter 04: relaxed, verified minima and their formation entropies.

Thesis 3.3: clusters V1-V4 and I1-I4 in cubic cells, each unique configuration copied under isotropic strain
(-1 % to +3 %, re-relaxed at the strained cell), plus a "random" set of cells with many Frenkel pairs; every
configuration verified to be a minimum (exactly three zero modes, no negative one) before its harmonic
formation entropy (eq. 3.3) is kept. Here, per potential:

1. ``crystal`` jobs: a random compact cluster of each kind (:func:`localbook.atoms.defects.make_defect`),
   ``tries`` starts per kind and cell size, relaxed by LAMMPS (``minimize``, largest force < ``fmax``);
   unconverged relaxations are counted and dropped. Duplicates within a kind and cell (energies within
   1e-2 eV and equal principal moments of the Wigner-Seitz defect, thesis 3.3.1) are counted and dropped.
2. ``entropy`` jobs: each unique minimum, and for the ``strain_cells`` sizes its copies scaled by
   ``1 + strain`` and re-relaxed (for the kinds of ``strain_tries``, only the minima of the first
   ``strain_tries[kind]`` starts: the strain study needs fewer than the unstrained fits), gets its Hessian
   (the potential's own route: the torch closed forms of the EAM, or LAMMPS' central differences for the
   MEAM), the minimum check and ``S_f`` against the perfect cell at the same strain. A saddle is shaken
   (0.05 A) and relaxed again, at most twice, then counted and dropped. A strained copy whose defect changed
   (other vacant or doubly occupied lattice sites, :func:`localbook.atoms.defects.site_occupancy`) is kept
   and flagged ``changed``.
3. ``random`` jobs: a cluster plus ``frenkel`` random Frenkel pairs in ``random_cells`` cells, relaxed and
   verified the same way.

Every job is seeded from ``(seed, job name)`` alone and writes its own file in ``workdir``: a build can be
stopped (``--max-minutes``) and resumed, or split over processes (``--shard i k``), with the same result. For the
same reason a finished build can be given more starts (``--tries-scale`` with ``--extend``: only the numbers of
starts may change) and computes only the new jobs, with the result of a fresh build of the larger spec.
``assemble`` writes the database (:func:`localbook.data.fe_defects.save_defects`) with the counts of every
rejection, the seeds, the spec and the summed compute time in its ``meta``.

    python -m localbook.atoms.defect_database build --potential MEAM --workdir /tmp/fe-meam --max-minutes 50
    python -m localbook.atoms.defect_database assemble --potential MEAM --workdir /tmp/fe-meam --out fe_defects_MEAM.npz
    python -m localbook.atoms.defect_database build --potential MEAM --workdir /tmp/fe-meam --tries-scale 1.4 --extend

Each configuration's ``info``: ``kind``, ``source`` (crystal / random), ``n_cells``, ``strain``, ``group``
(index of the unstrained parent: all strained copies of one defect share it, for grouped cross-validation),
``energy_ev``, ``formation_energy_ev``, ``entropy_kb`` (eq. 3.3), ``entropy_table_kb`` (tabulated EAMs only:
the interpolated-table route of the audit), ``n_vacancies``, ``n_interstitials``, ``lowest_mode_ev_a2``,
``max_force_ev_a`` (under the Hessian's potential), ``max_displacement_a`` (re-relaxation of a strained copy),
``changed``, ``retries``, ``seed``.
"""
from __future__ import annotations

import argparse
import json
import os
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from localbook.atoms import defects as D

__all__ = ["BuildSpec", "POTENTIALS", "COUNT_FIELDS", "scaled", "routes", "build", "assemble", "job_names", "column",
           "select", "table_by", "subset"]

#: potential -> how it is relaxed and differentiated (see :func:`routes`)
POTENTIALS = ("AM04", "M03", "MEAM")

#: the fields of a :class:`BuildSpec` that only count starts: a workdir may be extended to other values of them
COUNT_FIELDS = ("tries", "tries_large", "strain_tries", "n_random")


@dataclass
class BuildSpec:
    """What to build (see the module docstring); the defaults are those of the shipped AM04 database (the shipped
    MEAM one: :func:`scaled` by 1.4, the MEAM finding fewer distinct minima per start)."""

    potential: str = "AM04"
    crystal_cells: tuple = (4, 5)
    tries: dict = field(default_factory=lambda: {"V1": 2, "V2": 10, "V3": 20, "V4": 90, "I1": 6, "I2": 40,
                                                 "I3": 110, "I4": 130})
    tries_large: dict = field(default_factory=lambda: {"V4": 12, "I2": 6, "I3": 12, "I4": 12})
    shells: tuple = (1.01, 1.42)
    strain_cells: tuple = (4,)
    strain_tries: dict = field(default_factory=lambda: {"V4": 40, "I2": 30, "I3": 50, "I4": 60})
    strains: tuple = (-0.01, 0.01, 0.02, 0.03)
    random_cells: tuple = (5,)
    n_random: int = 100
    frenkel: tuple = (3, 8)
    seed: int = 0
    fmax: float = 1e-5
    shake: float = 0.05
    retries: int = 2

    def __post_init__(self):
        if self.potential not in POTENTIALS:
            raise ValueError(f"potential {self.potential!r}: choose one of {POTENTIALS}")
        bad = [k for k in {**self.tries, **self.tries_large} if k not in D.KINDS]
        if bad:
            raise ValueError(f"unknown defect kinds {bad}: use {D.KINDS}")
        if any(not -0.1 < e < 0.1 or e == 0 for e in self.strains):
            raise ValueError(f"strains {self.strains}: non-zero isotropic strains between -10 % and 10 % "
                             "(the unstrained configuration is always included)")


def routes(potential: str, device="cpu"):
    """``(relaxer, hessians)`` for ``potential``: the LAMMPS potential that relaxes, and ``{label: potential}``
    whose Hessians give ``entropy_kb`` (label ``""``) and further entropy columns (``"_table"``)."""
    from localbook.atoms.lammps_potential import eam_fs
    if potential == "MEAM":
        from localbook.atoms.meam import load_meam
        meam = load_meam(device=device)
        return meam, {"": meam}
    from localbook.atoms.eam import load_potential
    return eam_fs(potential), {"": load_potential(potential, device=device),
                               "_table": load_potential(potential, device=device, interpolation="table")}


_INFO_KEYS = ("energy_ev", "formation_energy_ev", "entropy_kb", "n_vacancies", "n_interstitials", "lowest_mode_ev_a2",
              "max_force_ev_a", "retries")


def _max_force(potential, atoms) -> float:
    f = potential.forces(atoms)
    return float(np.abs(f.cpu().numpy() if hasattr(f, "cpu") else np.asarray(f)).max())


def _job_seed(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _strain_tag(eps: float) -> str:
    return f"s{round(1000 * eps):+04d}"


def job_names(spec: BuildSpec, stage: str, unique=None) -> list[str]:
    """The jobs of a stage, in a fixed order: ``crystal`` (relaxations), ``entropy`` (needs the ``unique``
    crystal names), ``random``."""
    if stage == "crystal":
        out = []
        for n in spec.crystal_cells:
            tries = spec.tries if n == min(spec.crystal_cells) else spec.tries_large
            out += [f"{k}_n{n}_t{t:04d}" for k in D.KINDS for t in range(tries.get(k, 0))]
        return out
    if stage == "entropy":
        out = []
        for u in unique:
            n, t = int(u.split("_n")[1].split("_")[0]), int(u.split("_t")[1])
            strained = n in spec.strain_cells and t < spec.strain_tries.get(u.split("_")[0], t + 1)
            strains = (0.0, *spec.strains) if strained else (0.0,)
            out += [f"{u}_{_strain_tag(e)}" for e in strains]
        return out
    if stage == "random":
        return [f"random_n{n}_t{t:04d}" for n in spec.random_cells for t in range(spec.n_random)]
    raise ValueError(f"stage {stage!r}: crystal, entropy or random")


class _Builder:
    def __init__(self, spec: BuildSpec, workdir, device="cpu", extend=False):
        self.spec, self.dir = spec, Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        spec_file = self.dir / "spec.json"
        mine = json.dumps(asdict(spec), sort_keys=True, default=list)
        if not spec_file.exists():
            tmp = spec_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(mine)
            tmp.replace(spec_file)   # atomic, and never rewritten: parallel shards read it while others start
        if spec_file.read_text() != mine:
            old, new = json.loads(spec_file.read_text()), json.loads(mine)
            if not (extend and all(old.get(k) == v for k, v in new.items() if k not in COUNT_FIELDS)):
                raise ValueError(f"{self.dir} holds a build of another spec ({spec_file}): use a new workdir"
                                 + ("" if extend else ", or extend=True (--extend) if only the numbers of starts "
                                    f"({', '.join(COUNT_FIELDS)}) differ"))
            tmp = spec_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(mine)      # the finished jobs keep their names and seeds: only new ones will run
            tmp.replace(spec_file)
        self.relaxer, self.hessians = routes(spec.potential, device)
        self.a0 = self._lattice_parameter()
        self._bulk = {}

    # ------------------------------------------------------------------ helpers
    def _lattice_parameter(self) -> float:
        f = self.dir / "a0.json"
        if not f.exists():
            tmp = f.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(D.lattice_parameter(self.relaxer)))
            tmp.replace(f)
        return float(json.loads(f.read_text()))

    def _bulk_eigenvalues(self, label, n, eps):
        """Hessian eigenvalues of the perfect cell (cached in memory and in ``workdir/bulk``)."""
        from localbook.atoms.entropy import hessian_eigenvalues
        key = (label, n, round(eps, 6))
        if key not in self._bulk:
            f = self.dir / "bulk" / f"{label or 'main'}_n{n}_{_strain_tag(eps)}.npy"
            if f.exists():
                self._bulk[key] = np.load(f)
            else:
                ev = hessian_eigenvalues(D.bcc_supercell(self.a0, n, eps), self.hessians[label]).cpu().numpy()
                f.parent.mkdir(exist_ok=True)
                tmp = f.with_suffix(f".{os.getpid()}.tmp.npy")
                np.save(tmp, ev)
                tmp.replace(f)   # atomic: a shard running in parallel never reads a half-written file
                self._bulk[key] = ev
        return self._bulk[key]

    def _save(self, stage, name, atoms, **info):
        f = self.dir / stage / f"{name}.npz"
        f.parent.mkdir(exist_ok=True)
        pos = np.zeros((0, 3)) if atoms is None else atoms.positions
        tmp = f.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, positions=pos, info=json.dumps(info))
        tmp.replace(f)   # atomic: a stopped job leaves no half-written result behind

    def _load(self, stage, name):
        with np.load(self.dir / stage / f"{name}.npz", allow_pickle=False) as z:
            return z["positions"], json.loads(str(z["info"]))

    def _done(self, stage, name) -> bool:
        return (self.dir / stage / f"{name}.npz").exists()

    # ------------------------------------------------------------------ jobs
    def crystal(self, name):
        kind, n, t = name.split("_")[0], int(name.split("_n")[1].split("_")[0]), int(name.split("_t")[1])
        rng = _job_seed(self.spec.seed, name)
        shell = self.spec.shells[t % len(self.spec.shells)]
        start = time.perf_counter()
        at = D.make_defect(kind, self.a0, n, rng, shell=shell)
        at, ok, e = self.relaxer.relax(at, fmax=self.spec.fmax)
        moments = D.defect_moments(at, self.a0, n).tolist() if ok else []
        self._save("crystal", name, at if ok else None, converged=ok, energy=e, moments=moments, shell=shell,
                   seconds=time.perf_counter() - start)

    def _verified(self, at, n, eps, rng):
        """Relax, then Hessians and the minimum check (shaken and relaxed again after a saddle)."""
        from localbook.atoms.entropy import check_minimum, formation_entropy, hessian_eigenvalues
        main = self.hessians[""]
        for attempt in range(self.spec.retries + 1):
            at, ok, e = self.relaxer.relax(at, fmax=self.spec.fmax)
            if not ok:
                return None, dict(reason="unconverged", retries=attempt)
            ev = hessian_eigenvalues(at, main)
            chk = check_minimum(ev, main.zero_tol)
            if chk.is_minimum:
                break
            if attempt == self.spec.retries:
                return None, dict(reason="saddle", n_zero=chk.n_zero, n_negative=chk.n_negative, retries=attempt)
            at = at.copy()
            at.positions += rng.normal(0.0, self.spec.shake, at.positions.shape)
        n_b = 2 * n ** 3
        e_bulk = float(self.relaxer.energy(D.bcc_supercell(self.a0, n, eps)))
        info = dict(energy_ev=e, retries=attempt, lowest_mode_ev_a2=float(ev[3]),
                    formation_energy_ev=e - len(at) / n_b * e_bulk, max_force_ev_a=_max_force(main, at))
        for label, pot in self.hessians.items():
            ev_l = ev if label == "" else hessian_eigenvalues(at, pot)
            ok_l = check_minimum(ev_l, pot.zero_tol).is_minimum
            info[f"entropy{label}_kb"] = (formation_entropy(ev_l, len(at), self._bulk_eigenvalues(label, n, eps), n_b,
                                                            pot.mass, pot.zero_tol) if ok_l else float("nan"))
        vac, inter = D.wigner_seitz(at, self.a0, n, eps)
        info.update(n_vacancies=len(vac), n_interstitials=len(at) - n_b + len(vac),
                    moments=D.defect_moments(at, self.a0, n, eps).tolist())
        return at, info

    def entropy(self, name):
        parent, tag = name.rsplit("_", 1)
        eps = int(tag[1:]) / 1000
        n = int(parent.split("_n")[1].split("_")[0])
        pos, pinfo = self._load("crystal", parent)
        from ase import Atoms
        length = n * self.a0
        at = Atoms("Fe" * len(pos), positions=pos * (1 + eps), cell=np.eye(3) * length * (1 + eps), pbc=True)
        start_pos = at.positions.copy()
        start = time.perf_counter()
        rng = _job_seed(self.spec.seed, name)
        at, info = self._verified(at, n, eps, rng)
        info["seconds"] = time.perf_counter() - start
        if at is not None:
            d = at.positions - start_pos
            d -= length * (1 + eps) * np.round(d / (length * (1 + eps)))
            parent = Atoms("Fe" * len(pos), positions=pos, cell=np.eye(3) * length, pbc=True)
            same = np.array_equal(D.site_occupancy(parent, self.a0, n), D.site_occupancy(at, self.a0, n, eps))
            info.update(max_displacement_a=float(np.sqrt((d ** 2).sum(1)).max()), changed=not same)
        self._save("entropy", name, at, **info)

    def random(self, name):
        n = int(name.split("_n")[1].split("_")[0])
        rng = _job_seed(self.spec.seed, name)
        start = time.perf_counter()
        kind = str(rng.choice(["V", "I"])) + str(int(rng.integers(1, 5)))
        at = D.make_frenkel_pairs(D.make_defect(kind, self.a0, n, rng), int(rng.integers(self.spec.frenkel[0],
                                                                                          self.spec.frenkel[1] + 1)),
                                  rng, self.a0)
        at, info = self._verified(at, n, 0.0, rng)
        info.update(seconds=time.perf_counter() - start, start_kind=kind)
        self._save("random", name, at, **info)

    # ------------------------------------------------------------------ stages
    def unique_crystal(self):
        """Names of the converged, non-duplicate crystal minima; counts of the rejected ones."""
        names = job_names(self.spec, "crystal")
        counts = dict(unconverged=0, duplicate=0)
        groups: dict = {}
        for name in names:
            _, info = self._load("crystal", name)
            if not info["converged"]:
                counts["unconverged"] += 1
                continue
            groups.setdefault(name.rsplit("_t", 1)[0], []).append((name, info))
        unique = []
        for key in sorted(groups):
            members = groups[key]
            dup = D.duplicates([i["energy"] for _, i in members], [i["moments"] for _, i in members])
            counts["duplicate"] += int(dup.sum())
            unique += [m for (m, _), d in zip(members, dup) if not d]
        return unique, counts

    def run(self, max_minutes: float | None, shard=(0, 1), progress=True):
        from tqdm.auto import tqdm
        start = time.perf_counter()
        mine = lambda names: [x for k, x in enumerate(names) if k % shard[1] == shard[0]]  # noqa: E731

        def stage(label, names, fn):
            todo = [x for x in mine(names) if not self._done(label, x)]
            bar = tqdm(todo, desc=f"{self.spec.potential} {label}", disable=not progress, mininterval=30)
            for name in bar:
                if max_minutes is not None and time.perf_counter() - start > 60 * max_minutes:
                    return False
                fn(name)
            return True

        if not stage("crystal", job_names(self.spec, "crystal"), self.crystal):
            return False
        if any(not self._done("crystal", x) for x in job_names(self.spec, "crystal")):
            print("crystal jobs of other shards are not done yet: run again when they are")
            return False
        unique, _ = self.unique_crystal()
        if not stage("entropy", job_names(self.spec, "entropy", unique), self.entropy):
            return False
        return stage("random", job_names(self.spec, "random"), self.random)


def build(spec: BuildSpec, workdir, max_minutes: float | None = None, shard=(0, 1), device="cpu",
          progress=True, extend=False) -> bool:
    """Run (or resume) the jobs of ``spec`` in ``workdir``; True when every job of this shard is done.

    ``extend``: accept a workdir built with other numbers of starts (:data:`COUNT_FIELDS`) and everything else
    equal, and make ``spec`` its spec; the finished jobs are kept (a job depends on its name and the seed only, and
    duplicates are judged against earlier starts only), so the result is that of a fresh build of ``spec``. Not
    while shards of the old spec still run."""
    return _Builder(spec, workdir, device, extend).run(max_minutes, shard, progress)


def assemble(workdir, out=None, command: str = "") -> tuple[list, dict]:
    """Collect a finished build into ``list[ase.Atoms]`` (see the module docstring for ``info``) and its
    ``meta``; with ``out``, write it with :func:`localbook.data.fe_defects.save_defects` (``meta["sha256"]``)."""
    from ase import Atoms
    from localbook import __version__
    from localbook.data.fe_defects import save_defects
    workdir = Path(workdir)
    spec_d = json.loads((workdir / "spec.json").read_text())
    spec = BuildSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec_d.items()})
    b = _Builder.__new__(_Builder)
    b.spec, b.dir = spec, workdir
    a0 = float(json.loads((workdir / "a0.json").read_text()))
    unique, counts = b.unique_crystal()
    counts.update(saddle=0, unconverged_entropy=0, changed_kept=0)
    seconds = sum(b._load("crystal", x)[1]["seconds"] for x in job_names(spec, "crystal"))
    structures, parents = [], {}
    for stage, names in (("entropy", job_names(spec, "entropy", unique)), ("random", job_names(spec, "random"))):
        missing = [x for x in names if not b._done(stage, x)]
        if missing:
            raise RuntimeError(f"{len(missing)} {stage} jobs are not done (e.g. {missing[0]}): run build again")
        for name in names:
            pos, info = b._load(stage, name)
            seconds += info["seconds"]
            if len(pos) == 0:
                counts["saddle" if info["reason"] == "saddle" else "unconverged_entropy"] += 1
                continue
            if stage == "entropy":
                parent, tag = name.rsplit("_", 1)
                kind, n, eps = parent.split("_")[0], int(parent.split("_n")[1].split("_")[0]), int(tag[1:]) / 1000
            else:
                parent, kind, n, eps = name, "random", int(name.split("_n")[1].split("_")[0]), 0.0
            counts["changed_kept"] += int(info.get("changed", False))
            length = n * a0 * (1 + eps)
            at = Atoms("Fe" * len(pos), positions=pos, cell=np.eye(3) * length, pbc=True)
            at.wrap()
            at.info = dict(kind=kind, source="crystal" if stage == "entropy" else "random", n_cells=n, strain=eps,
                           group=parents.setdefault(parent, len(parents)), seed=spec.seed,
                           job=name, max_displacement_a=info.get("max_displacement_a", 0.0),
                           changed=bool(info.get("changed", False)),
                           **{k: info[k] for k in _INFO_KEYS},
                           **({"entropy_table_kb": info["entropy_table_kb"]} if "entropy_table_kb" in info else {}))
            structures.append(at)
    from localbook.atoms.meam import MEAM_POTENTIALS
    from localbook.atoms.eam import POTENTIALS as EAM
    citation = (MEAM_POTENTIALS if spec.potential in MEAM_POTENTIALS else EAM)[spec.potential]["citation"]
    meta = dict(potential=spec.potential, citation=citation, spec=asdict(spec), rejected=counts,
                compute_seconds=round(seconds, 1), command=command, localbook_version=__version__,
                units="A, eV, k_B (entropies), eV/A^2 (modes)")
    if out is not None:
        meta["sha256"] = save_defects(structures, out, meta, a0)
    return structures, meta


def column(structures, key: str) -> np.ndarray:
    """``info[key]`` of every structure as one array (e.g. ``column(db, "entropy_kb")``)."""
    return np.array([s.info[key] for s in structures])


def select(structures, **conditions) -> np.ndarray:
    """Indices of the structures whose ``info`` matches every condition: ``key=value`` (equality) or
    ``key=[v1, v2, ...]`` (membership), e.g. ``select(db, kind=["I2", "I3", "I4", "V4"], strain=0.0, n_cells=4)``."""
    keep = np.ones(len(structures), bool)
    for key, value in conditions.items():
        col = column(structures, key)
        keep &= np.isin(col, value) if isinstance(value, (list, tuple, set, np.ndarray)) else col == value
    return np.flatnonzero(keep)


def table_by(structures, rows: str = "kind", cols: str = "strain", value: str | None = None,
             fmt: str = "{:.2f}") -> tuple[list, list]:
    """A table of the structures by two ``info`` keys: counts (``value=None``, with totals) or the mean of
    ``info[value]`` in each cell (``"-"`` where empty). Returns ``(header, rows)`` for a text table."""
    r, c = column(structures, rows), column(structures, cols)
    r_vals, c_vals = sorted(set(r.tolist()), key=str), sorted(set(c.tolist()))
    label = (lambda v: f"{100 * v:+g} %") if cols == "strain" else str  # noqa: E731
    header = [rows] + [label(v) for v in c_vals] + ([] if value else ["total"])
    v = None if value is None else column(structures, value).astype(float)
    out = []
    for rv in r_vals:
        cells = [(r == rv) & (c == cv) for cv in c_vals]
        if value is None:
            counts = [int(m.sum()) for m in cells]
            out.append([rv] + counts + [sum(counts)])
        else:
            out.append([rv] + [fmt.format(v[m].mean()) if m.any() else "-" for m in cells])
    return header, out


def subset(structures, max_configs: int, seed: int = 0) -> np.ndarray:
    """Indices (sorted) of at most ``max_configs`` structures made of whole groups (a defect with all its
    strained copies), drawn in proportion from every stratum ``(kind, source, n_cells, copies per group)`` with
    at least one group each, seeded: a smaller database with the same make-up, for quick runs."""
    if max_configs < 1:
        raise ValueError(f"max_configs={max_configs} must be positive")
    if max_configs >= len(structures):
        return np.arange(len(structures))
    group = column(structures, "group")
    members: dict = {}
    for i, g in enumerate(group.tolist()):
        members.setdefault(g, []).append(i)
    strata: dict = {}
    for g, rows in members.items():
        info = structures[rows[0]].info
        strata.setdefault((info["kind"], info["source"], info["n_cells"], len(rows)), []).append(g)
    rng = np.random.default_rng(seed)
    chosen = []
    for key in sorted(strata, key=str):
        groups = [strata[key][k] for k in rng.permutation(len(strata[key]))]
        size = len(members[groups[0]])
        share = max(1, int(round(max_configs * len(groups) * size / len(structures) / size)))
        chosen += [i for g in groups[:share] for i in members[g]]
    chosen = np.sort(np.array(chosen))
    if len(chosen) > max_configs:      # rounding and the one-group minimum can overshoot: drop whole groups
        drop = rng.permutation(np.unique(group[chosen]))
        keep_groups = set(np.unique(group[chosen]).tolist())
        for g in drop:
            if sum(len(members[k]) for k in keep_groups) <= max_configs:
                break
            keep_groups.discard(int(g))
        chosen = np.array(sorted(i for g in keep_groups for i in members[g]))
    return chosen


def scaled(scale: float, **kw) -> BuildSpec:
    """The default :class:`BuildSpec` (with ``kw``) with every number of starts (:data:`COUNT_FIELDS`) multiplied
    by ``scale`` and rounded (at least one): ``--tries-scale``."""
    if scale != 1.0:
        base = BuildSpec()
        kw["tries"] = {k: max(1, round(v * scale)) for k, v in base.tries.items()}
        kw["tries_large"] = {k: max(1, round(v * scale)) for k, v in base.tries_large.items()}
        kw["n_random"] = max(1, round(base.n_random * scale))
        kw["strain_tries"] = {k: max(1, round(v * scale)) for k, v in base.strain_tries.items()}
    return BuildSpec(**kw)


def _spec_from_args(a) -> BuildSpec:
    return scaled(a.tries_scale, potential=a.potential, seed=a.seed)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m localbook.atoms.defect_database",
                                 description="Build a bcc-Fe defect database with harmonic formation entropies.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("build", "assemble"):
        p = sub.add_parser(name)
        p.add_argument("--potential", default="AM04", choices=POTENTIALS)
        p.add_argument("--workdir", required=True, type=Path)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--tries-scale", type=float, default=1.0,
                       help="scale every number of random starts (e.g. 0.1 for a small estimate build)")
    b = sub.choices["build"]
    b.add_argument("--max-minutes", type=float, default=None, help="start no new job after this many minutes")
    b.add_argument("--shard", type=int, nargs=2, default=[0, 1], metavar=("INDEX", "COUNT"))
    b.add_argument("--device", default="cpu")
    b.add_argument("--no-progress", action="store_true")
    b.add_argument("--extend", action="store_true",
                   help="add starts to a build in WORKDIR made with another --tries-scale (finished jobs are kept)")
    sub.choices["assemble"].add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    spec = _spec_from_args(a)
    t0 = time.perf_counter()
    if a.cmd == "build":
        done = build(spec, a.workdir, a.max_minutes, tuple(a.shard), a.device, not a.no_progress, a.extend)
        print(f"{'complete' if done else 'incomplete (run the same command again)'} after "
              f"{time.perf_counter() - t0:.0f} s")
    else:
        import sys
        structures, meta = assemble(a.workdir, a.out, command=" ".join(["python -m localbook.atoms.defect_database",
                                                                         *sys.argv[1:]]))
        print(f"{len(structures)} minima -> {a.out} sha256 {meta['sha256']}; rejected {meta['rejected']}; "
              f"compute {meta['compute_seconds']:.0f} s")


if __name__ == "__main__":
    main()
