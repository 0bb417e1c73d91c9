"""Helper of scripts/mutation.sh: module names, the mutmut configuration, the score report.

Usage (scripts/mutation.sh calls it; the paths are the repository's):

    python scripts/mutation/helper.py resolve ARG...        # module names for gradcheck, minigrad/ops/, ...
    python scripts/mutation/helper.py config NAME           # the [tool.mutmut] table for module NAME
    python scripts/mutation/helper.py report NAME WORKDIR   # the score of a finished run in WORKDIR
    python scripts/mutation/helper.py sample WORKDIR N SEED # generate the mutants, draw N of them

The score is ``killed / (mutants - known equivalent ones)``, where "killed" counts
mutmut's ``killed`` and ``timeout`` verdicts and the known equivalent mutants are
listed, with a reason each, in scripts/mutation/equivalent.txt. A mutant listed
there that no longer survives is reported as a stale entry: mutmut numbers the
mutants of a function in order, so editing a function renumbers them and the
list must be judged again for that function.

Sampled mode (``MUTATION_SAMPLE=N``): ``sample`` generates the mutants in WORKDIR
(mutmut's own generation step, without running anything), draws N of them with a
seeded generator, stratified by source file (each file gets its share of N in
proportion to its number of mutants, largest remainders first, then a uniform draw
without replacement inside the file), and writes their names to
``WORKDIR/sample.txt``. ``report`` then scores only those mutants and adds a 95%
Wilson interval, for the module and per file: the sample estimates the score a
full run would give. With proportional allocation the pooled proportion is the
stratified estimate; the interval ignores the finite-population correction
(conservative when the sample is a small part of the mutants).
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import random
import sys
from collections import Counter
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: mutmut itself depends on the `toml` package there
    import toml as tomllib

HERE = Path(__file__).resolve().parent
MODULES_FILE = HERE / "modules.toml"
EQUIVALENT_FILE = HERE / "equivalent.txt"
KILLED = {"killed", "timeout", "caught by type check"}


def load_modules() -> tuple[dict, dict]:
    data = tomllib.loads(MODULES_FILE.read_text())
    return data["common"], data["modules"]


def resolve(args: list[str]) -> list[str]:
    """Map each argument (a module name or a path under minigrad/) to a module name."""
    _, modules = load_modules()
    names = []
    for arg in args:
        if arg in modules:
            names.append(arg)
            continue
        path = arg.rstrip("/")
        probe = [path, path + "/x.py"]  # a folder matches the glob of the files inside it
        found = [n for n, m in modules.items()
                 if any(fnmatch.fnmatch(p, g) for p in probe for g in m["mutate"])]
        if not found:
            known = ", ".join(modules)
            sys.exit(f"mutation.sh: unknown module {arg!r}; expected one of {known} "
                     "or a path they cover (minigrad/tensor.py, minigrad/ops/, ...)")
        names.extend(found)
    return list(dict.fromkeys(names))


def config(name: str) -> str:
    """The [tool.mutmut] TOML table for module ``name`` (JSON lists are TOML arrays)."""
    common, modules = load_modules()
    table = dict(common)
    table["only_mutate"] = modules[name]["mutate"]
    table["pytest_add_cli_args_test_selection"] = modules[name]["tests"]
    lines = ["", "[tool.mutmut]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


def load_equivalent() -> dict[str, str]:
    """``{mutant name: reason}`` from equivalent.txt (``name  # reason`` per line)."""
    out = {}
    if EQUIVALENT_FILE.exists():
        for line in EQUIVALENT_FILE.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, reason = line.partition("#")
            out[name.strip()] = reason.strip()
    return out


def verdicts(workdir: Path, paths: dict | None = None) -> dict[str, str]:
    """``{mutant name: status}`` from mutmut's .meta files under ``workdir/mutants``
    (and, into ``paths``, the source file of each mutant)."""
    from mutmut.stats import status_by_exit_code

    out = {}
    for meta in sorted((workdir / "mutants").rglob("*.py.meta")):
        source = str(meta.relative_to(workdir / "mutants"))[: -len(".meta")]
        for key, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            out[key] = status_by_exit_code[code]
            if paths is not None:
                paths[key] = source
    return out


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval for ``k`` successes out of ``n`` (as fractions)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Split ``n`` draws over strata in proportion to ``sizes`` (largest remainder method)."""
    total = sum(sizes.values())
    n = min(n, total)
    exact = {k: n * v / total for k, v in sizes.items()}
    out = {k: int(x) for k, x in exact.items()}
    rest = sorted(sizes, key=lambda k: (-(exact[k] - out[k]), k))
    for k in rest[: n - sum(out.values())]:
        out[k] += 1
    return out


def generate(workdir: Path) -> None:
    """Create the mutants in ``workdir`` (mutmut's generation step of ``mutmut run``, nothing run)."""
    os.chdir(workdir)
    from mutmut import __main__ as mm
    from mutmut.mutation.trampoline import set_mutant_under_test

    set_mutant_under_test("mutant_generation")
    Path("mutants").mkdir(exist_ok=True)
    mm.copy_src_dir()
    mm.copy_also_copy_files()
    mm.setup_source_paths()
    mm.store_lines_covered_by_tests()
    mm.create_mutants(1)


def sample(workdir: Path, n: int, seed: int) -> int:
    """Generate the mutants, draw ``n`` stratified by file, write ``workdir/sample.txt``."""
    generate(workdir)
    paths: dict[str, str] = {}
    status = verdicts(workdir, paths)
    by_file: dict[str, list[str]] = {}
    for key in sorted(status):
        by_file.setdefault(paths[key], []).append(key)
    quota = allocate({f: len(v) for f, v in by_file.items()}, n)
    rng = random.Random(seed)
    chosen = []
    for f in sorted(by_file):
        chosen += sorted(rng.sample(by_file[f], quota[f]))
    (workdir / "sample.txt").write_text("\n".join(chosen) + "\n", encoding="utf-8")
    print(f"   sample: {len(chosen)} of {len(status)} mutants (seed {seed}, stratified by file)")
    return 0


def read_sample(workdir: Path) -> list[str] | None:
    path = workdir / "sample.txt"
    if not path.exists():
        return None
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def report(name: str, workdir: Path) -> int:
    paths: dict[str, str] = {}
    status = verdicts(workdir, paths)
    population = Counter(paths.values())
    drawn = read_sample(workdir)
    if drawn is not None:
        status = {k: status[k] for k in drawn}
    counts = Counter(status.values())
    equivalent = load_equivalent()
    eq_here = {k: r for k, r in equivalent.items() if k in status and status[k] not in KILLED}
    stale = sorted(k for k in equivalent if k in status and status[k] in KILLED)
    killed = sum(counts[s] for s in KILLED)
    relevant = len(status) - len(eq_here) - counts["skipped"]
    open_ = sorted(k for k, s in status.items() if s not in KILLED and s != "skipped" and k not in eq_here)

    score = 100.0 * killed / relevant if relevant else 100.0
    what = "sampled non-equivalent mutants" if drawn is not None else "non-equivalent mutants"
    print(f"== {name}: {killed} killed / {relevant} {what} = {score:.1f}%")
    print(f"   ({len(status)} mutants: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
          + f"; {len(eq_here)} listed as equivalent in scripts/mutation/equivalent.txt)")
    per_file = {}
    if drawn is not None:
        lo, hi = wilson(killed, relevant)
        print(f"   estimated score {score:.1f}%, 95% Wilson interval [{100 * lo:.1f}%, {100 * hi:.1f}%]"
              f" (sample of {len(drawn)} out of {sum(population.values())} mutants)")
        print(f"   {'file':<40} {'mutants':>7} {'sampled':>7} {'equiv':>5} {'killed':>6}"
              "  score   95% interval")
        for f in sorted(population):
            keys = [k for k in status if paths[k] == f]
            if not keys:
                continue
            k_eq = sum(1 for k in keys if k in eq_here)
            k_skip = sum(1 for k in keys if status[k] == "skipped")
            k_kill = sum(1 for k in keys if status[k] in KILLED)
            n_rel = len(keys) - k_eq - k_skip
            lo, hi = wilson(k_kill, n_rel)
            pct = 100.0 * k_kill / n_rel if n_rel else 100.0
            per_file[f] = {"mutants": population[f], "sampled": len(keys), "equivalent": k_eq,
                           "killed": k_kill, "non_equivalent": n_rel, "score": round(pct, 2),
                           "ci95": [round(100 * lo, 2), round(100 * hi, 2)]}
            print(f"   {f:<40} {population[f]:>7} {len(keys):>7} {k_eq:>5} {k_kill:>6}"
                  f"  {pct:5.1f}%  [{100 * lo:.1f}%, {100 * hi:.1f}%]")
    for k in stale:
        print(f"   stale entry in equivalent.txt (now killed): {k}")

    from mutmut.mutation.diff_apply import get_diff_for_mutant  # slow import: only here

    with open(workdir / "survivors.diff", "w", encoding="utf-8") as out:
        for k in open_:
            out.write(f"# {k}: {status[k]}\n{get_diff_for_mutant(k, path=paths[k])}\n\n")
    if open_:
        print(f"   {len(open_)} not killed (diffs: {workdir / 'survivors.diff'}):")
        for k in open_:
            print(f"     {k}: {status[k]}")
    summary = {"module": name, "killed": killed, "non_equivalent": relevant, "score": round(score, 2),
               "counts": dict(counts), "equivalent": eq_here, "not_killed": open_, "stale": stale}
    if drawn is not None:
        lo, hi = wilson(killed, relevant)
        summary.update(sampled=len(drawn), population=sum(population.values()),
                       ci95=[round(100 * lo, 2), round(100 * hi, 2)], per_file=per_file)
    (workdir / "score.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "resolve":
        _, modules = load_modules()
        print(" ".join(resolve(argv[1:]) if argv[1:] else list(modules)))
        return 0
    if len(argv) == 2 and argv[0] == "config":
        print(config(argv[1]), end="")
        return 0
    if len(argv) == 3 and argv[0] == "report":
        return report(argv[1], Path(argv[2]))
    if len(argv) == 4 and argv[0] == "sample":
        return sample(Path(argv[1]).resolve(), int(argv[2]), int(argv[3]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
