"""Helper of scripts/mutation.sh: module names, the mutmut configuration, the score report.

Usage (scripts/mutation.sh calls it; the paths are the repository's):

    python scripts/mutation/helper.py resolve ARG...        # module names for gradcheck, minigrad/ops/, ...
    python scripts/mutation/helper.py config NAME           # the [tool.mutmut] table for module NAME
    python scripts/mutation/helper.py report NAME WORKDIR   # the score of a finished run in WORKDIR

The score is ``killed / (mutants - known equivalent ones)``, where "killed" counts
mutmut's ``killed`` and ``timeout`` verdicts and the known equivalent mutants are
listed, with a reason each, in scripts/mutation/equivalent.txt. A mutant listed
there that no longer survives is reported as a stale entry: mutmut numbers the
mutants of a function in order, so editing a function renumbers them and the
list must be judged again for that function.
"""

from __future__ import annotations

import fnmatch
import json
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


def report(name: str, workdir: Path) -> int:
    paths: dict[str, str] = {}
    status = verdicts(workdir, paths)
    counts = Counter(status.values())
    equivalent = load_equivalent()
    eq_here = {k: r for k, r in equivalent.items() if k in status and status[k] not in KILLED}
    stale = sorted(k for k in equivalent if k in status and status[k] in KILLED)
    killed = sum(counts[s] for s in KILLED)
    relevant = len(status) - len(eq_here) - counts["skipped"]
    open_ = sorted(k for k, s in status.items() if s not in KILLED and s != "skipped" and k not in eq_here)

    score = 100.0 * killed / relevant if relevant else 100.0
    print(f"== {name}: {killed} killed / {relevant} non-equivalent mutants = {score:.1f}%")
    print(f"   ({len(status)} mutants: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
          + f"; {len(eq_here)} listed as equivalent in scripts/mutation/equivalent.txt)")
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
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
