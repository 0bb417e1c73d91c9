"""MkDocs hook: the kernel pages' compiler explorer, compile report and tiling diagrams.

At build time (no GPU needed) every kernel of ``minigrad.kernels.compile.KERNELS`` is
compiled for sm_80 (A100) and sm_90 (H100) in float16 and float32, and assembled with
``ptxas -v``. Two worker processes (this file run as a script, one per architecture)
do it in parallel with a throw-away Triton cache, so every build compiles afresh and
leaves nothing behind (about 20-40 s on two cores). The results fill placeholders:

* ``<!-- compiler-explorer: NAME -->`` (``docs/kernels/*.md``): excerpts of what kernel
  NAME compiles to, Triton IR and PTX for both architectures, tensor-core instructions
  (``mma.sync``, ``wgmma``) highlighted, and its registers / spills / shared memory;
* ``<!-- kernel-compile-report -->`` (``docs/benchmarks/index.md``): the full table.

The tiling diagrams ``kernels/figures/*.svg`` are drawn with matplotlib at build time and
added to the site as generated files (never written to ``docs/``). Without Triton the
placeholders become a note saying how to install it.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.kernel_explorer")

ROOT = Path(__file__).resolve().parent.parent
CAPS = (80, 90)
DTYPES = ("float16", "float32")
EXPLORER = re.compile(r"<!-- compiler-explorer: (\w+) -->")
REPORT = "<!-- kernel-compile-report -->"
TENSOR_CORE = r"\b(mma\.sync|wgmma\.mma_async)\b"
WORKER_TIMEOUT_S = 300
LINE_WIDTH = 100


# --------------------------------------------------------------------------------------
# Worker: compile for one architecture (runs in its own process, never interpreting)
# --------------------------------------------------------------------------------------


def _worker(cap: int) -> None:
    """Print one JSON list: every kernel compiled for sm_<cap>, with its ptxas report."""
    import minigrad.kernels.compile as kc

    cases = [(name, dtype, cap) for name in kc.KERNELS for dtype in DTYPES]
    out = []
    for ck in kc.compile_many(cases):
        ptxas = ck.ptxas()
        keep_text = ck.dtype == "float16"  # the pages show the fp16 code only
        out.append({"name": ck.name, "dtype": ck.dtype, "arch": ck.arch, "cap": ck.cap,
                    "registers": ptxas["registers"], "spills": ptxas["spill_stores"] + ptxas["spill_loads"],
                    "shared": ck.shared, "num_warps": ck.num_warps, **ck.mma_counts(),
                    "constexprs": {k: v for k, v in ck.constexprs.items() if k.startswith("BLOCK")},
                    "ttir": ck.ttir if keep_text else "", "ttgir": ck.ttgir if keep_text else "",
                    "ptx": ck.ptx if keep_text else ""})
    print(json.dumps(out))


def compile_all() -> list[dict]:
    """Every kernel x architecture x dtype, compiled in two parallel worker processes."""
    with tempfile.TemporaryDirectory(prefix="minigrad-docs-triton-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
        env["TRITON_CACHE_DIR"] = cache  # cache-free: every build compiles from source

        def run(cap):
            result = subprocess.run([sys.executable, __file__, str(cap)], env=env, cwd=ROOT,
                                    capture_output=True, text=True, timeout=WORKER_TIMEOUT_S)
            if result.returncode != 0:
                from mkdocs.exceptions import PluginError

                raise PluginError(f"kernel compilation for sm_{cap} failed:\n{result.stderr[-4000:]}")
            return json.loads(result.stdout.strip().splitlines()[-1])

        with ThreadPoolExecutor(max_workers=len(CAPS)) as pool:
            return [row for rows in pool.map(run, CAPS) for row in rows]


# --------------------------------------------------------------------------------------
# Excerpts
# --------------------------------------------------------------------------------------


def _clean(line: str) -> str:
    """Drop MLIR source locations, shorten very long register lists."""
    line = re.sub(r"\s+loc\(#loc\d*\)", "", line.rstrip()).replace("\t", "    ")
    return line if len(line) <= LINE_WIDTH else line[:LINE_WIDTH] + " ..."


def window(text: str, pattern: str, before: int = 4, after: int = 6) -> tuple[list[str], list[int]]:
    """Lines around the first match of ``pattern``, and the (1-based) lines that match."""
    lines = [line for line in text.splitlines() if line.strip() and "inline asm" not in line]
    hits = [i for i, line in enumerate(lines) if re.search(pattern, line)]
    if not hits:
        return [], []
    lo, hi = max(hits[0] - before, 0), min(hits[0] + after + 1, len(lines))
    shown = [_clean(line) for line in lines[lo:hi]]
    return shown, [i + 1 for i, line in enumerate(lines[lo:hi]) if re.search(pattern, line)]


def matching_lines(text: str, pattern: str, limit: int = 12) -> list[str]:
    return [_clean(line).strip() for line in text.splitlines() if re.search(pattern, line)][:limit]


def code_block(lines: list[str], language: str, title: str, highlight=(), indent: str = "    ") -> str:
    if not lines:
        return ""
    options = f' title="{title}"' + (f' hl_lines="{" ".join(map(str, highlight))}"' if highlight else "")
    body = "\n".join(indent + line for line in lines)
    return f"{indent}```{language}{options}\n{body}\n{indent}```\n"


def count(text: str, instruction: str) -> int:
    # instructions may be predicated: "@%p1 ld.global.v4.b32 ..."
    return len(re.findall(rf"^\s*(?:@!?%\w+\s+)?{re.escape(instruction)}\b", text, re.M))


# What each kernel's excerpt centres on: tensor-core kernels on their mma, the others on
# their characteristic instructions (exp2 and the warp shuffles of the row reductions).
FOCUS = {
    "matmul": TENSOR_CORE,
    "attention_fwd": TENSOR_CORE,
    "attention_bwd_dkdv": TENSOR_CORE,
    "attention_bwd_dq": TENSOR_CORE,
}
DEFAULT_FOCUS = r"\b(ex2\.approx|shfl\.sync)"
TTIR_FOCUS = r"\b(tt\.dot|tt\.reduce|math\.exp2?|tt\.load|scf\.for)\b"
BLOCK_ORDER = ("BLOCK_M", "BLOCK_N", "BLOCK_K", "BLOCK_D", "BLOCK")
TTGIR_FOCUS = (r'^#(mma|shared|blocked)|"tt\.reduce"|ttg\.local_alloc|ttng\.warp_group_dot\b|= tt\.dot\b'
               r"|ttg\.async_copy_global_to_local")
INSTRUCTIONS = ("mma.sync", "wgmma.mma_async", "ldmatrix", "cp.async.cg", "ld.global", "st.global",
                "ex2.approx", "shfl.sync", "bar.sync")


def explorer_markdown(name: str, rows: list[dict]) -> str:
    fp16 = {r["cap"]: r for r in rows if r["name"] == name and r["dtype"] == "float16"}
    if not fp16:
        raise KeyError(f"compiler explorer: no compiled kernel named {name!r}")
    parts = [_summary_table([r for r in rows if r["name"] == name])]
    counts = ["| instruction (fp16 PTX) | " + " | ".join(fp16[c]["arch"] for c in CAPS) + " |",
              "| --- |" + " ---: |" * len(CAPS)]
    for ins in INSTRUCTIONS:
        values = [count(fp16[c]["ptx"], ins) for c in CAPS]
        if any(values):
            counts.append(f"| `{ins}` | " + " | ".join(map(str, values)) + " |")
    parts.append("\n".join(counts) + "\n")
    ttir = matching_lines(fp16[CAPS[0]]["ttir"], TTIR_FOCUS)
    parts.append('??? example "Triton IR (TTIR, the same for every GPU)"\n\n'
                 + code_block(ttir, "mlir", f"{name}: TTIR, matching lines"))
    for cap in CAPS:
        row = fp16[cap]
        ttgir = matching_lines(row["ttgir"], TTGIR_FOCUS, limit=10)
        ptx, marked = window(row["ptx"], FOCUS.get(name, DEFAULT_FOCUS))
        label = "tensor-core instructions highlighted" if name in FOCUS else "exp2 and shuffles highlighted"
        parts.append(f'??? example "{row["arch"]}: TTGIR (layouts, shared memory) and PTX ({label})"\n\n'
                     + code_block(ttgir, "mlir", f"{name}: TTGIR for {row['arch']}, matching lines")
                     + "\n" + code_block(ptx, "nasm", f"{name}: PTX for {row['arch']}", marked))
    return "\n".join(parts)


def _summary_table(rows: list[dict]) -> str:
    lines = ["| kernel | arch | dtype | tile (BLOCK_*) | warps | registers | spills | shared memory | "
             "`mma.sync` | `wgmma` |",
             "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    first_seen = {}
    for r in rows:
        first_seen.setdefault(r["name"], len(first_seen))
    for r in sorted(rows, key=lambda r: (first_seen[r["name"]], r["cap"], r["dtype"])):
        blocks = r["constexprs"]
        tile = " ".join(f"{n.removeprefix('BLOCK_')}={blocks[n]}" for n in BLOCK_ORDER if n in blocks)
        lines.append(f"| {r['name']} | {r['arch']} | {r['dtype']} | {tile} | {r['num_warps']} | "
                     f"{r['registers']} | {r['spills']} | {_size(r['shared'])} | "
                     f"{r['mma.sync']} | {r['wgmma']} |")
    return "\n".join(lines) + "\n"


def _size(nbytes: int) -> str:
    return f"{nbytes} B" if nbytes < 1024 else f"{nbytes / 1024:.1f} KiB"


def report_markdown(rows: list[dict]) -> str:
    return (_summary_table(rows) + "\n*Tile*: the block sizes of the default config (`M=` for "
            "`BLOCK_M` and so on; the softmax kernels have a single `BLOCK`).\n")


# --------------------------------------------------------------------------------------
# Tiling diagrams (SVG, drawn at build time)
# --------------------------------------------------------------------------------------


def _svg(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


def _grouped_tile(pid, num_pid_m, num_pid_n, group_m):
    """The matmul kernel's program -> tile mapping (kernels/matmul.py)."""
    num_pid_in_group = group_m * num_pid_n
    first_pid_m = (pid // num_pid_in_group) * group_m
    group_size_m = min(num_pid_m - first_pid_m, group_m)
    return first_pid_m + (pid % num_pid_in_group) % group_size_m, (pid % num_pid_in_group) // group_size_m


def matmul_diagram(plt) -> bytes:
    tiles_m, tiles_n, group = 6, 8, 2
    fig, ax = plt.subplots(figsize=(6.5, 4.6))
    colors = plt.get_cmap("Pastel1").colors
    for pid in range(tiles_m * tiles_n):
        m, n = _grouped_tile(pid, tiles_m, tiles_n, group)
        ax.add_patch(plt.Rectangle((n, m), 1, 1, facecolor=colors[m // group % len(colors)], edgecolor="0.4"))
        ax.text(n + 0.5, m + 0.5, str(pid), ha="center", va="center", fontsize=9)
    path = [_grouped_tile(p, tiles_m, tiles_n, group) for p in range(2 * group + 1)]
    ax.plot([n + 0.5 for _, n in path], [m + 0.5 for m, _ in path], color="tab:red", lw=1.2, alpha=0.7)
    ax.set(xlim=(0, tiles_n), ylim=(tiles_m, 0), aspect="equal", xticks=[], yticks=[],
           title=f"C in BLOCK_M × BLOCK_N tiles: program id in grouped order (GROUP_M = {group})")
    ax.set_xlabel("tile column pid_n  (each tile reads a BLOCK_K-wide column panel of B)")
    ax.set_ylabel("tile row pid_m  (a row panel of A)")
    return _svg(fig)


def softmax_diagram(plt) -> bytes:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 4.2), gridspec_kw={"height_ratios": [3, 1.3]})
    n, block = 11, 16
    for row in range(4):
        for lane in range(block):
            real = lane < n
            top.add_patch(plt.Rectangle((lane, row), 1, 1, facecolor="tab:blue" if real else "0.9",
                                        alpha=0.35 + 0.15 * row if real else 1, edgecolor="white",
                                        hatch=None if real else "///"))
        top.text(-0.4, row + 0.5, f"program {row}", ha="right", va="center", fontsize=9)
    top.text(n + (block - n) / 2, -0.3, "masked lanes load -inf", ha="center", fontsize=8)
    top.set(xlim=(-4, block), ylim=(4, -0.8), aspect="equal", xticks=[], yticks=[],
            title=f"one row per program: n = {n} columns in a BLOCK = {block} lane block")
    top.axis("off")
    chunks = 4
    for c in range(chunks):
        bottom.add_patch(plt.Rectangle((c * 4, 0), 4, 1, facecolor=plt.get_cmap("Blues")(0.3 + 0.15 * c),
                                       edgecolor="0.3"))
        bottom.text(c * 4 + 2, 0.5, f"chunk {c}", ha="center", va="center", fontsize=8)
    bottom.set(xlim=(-4, block), ylim=(1.2, -0.6), xticks=[], yticks=[],
               title="rows longer than 4096: chunks; pass 1 keeps (m, s), pass 2 writes y")
    bottom.axis("off")
    return _svg(fig)


def attention_diagram(plt) -> bytes:
    blocks = 6
    fig, ax = plt.subplots(figsize=(5.6, 5.0))
    for i in range(blocks):  # query block = one program
        for j in range(blocks):  # key/value block = one loop iteration
            if j > i:
                style = {"facecolor": "0.93", "hatch": None}
            elif j == i:
                style = {"facecolor": "tab:orange", "hatch": "\\\\"}
            else:
                style = {"facecolor": "tab:orange", "hatch": None}
            ax.add_patch(plt.Rectangle((j, i), 1, 1, edgecolor="white", alpha=0.75, **style))
            if j <= i:
                ax.text(j + 0.5, i + 0.5, str(j), ha="center", va="center", fontsize=8)
        ax.text(-0.2, i + 0.5, f"program {i}", ha="right", va="center", fontsize=8)
    ax.annotate("", xy=(blocks - 0.2, 0.5), xytext=(1.2, 0.5),
                arrowprops={"arrowstyle": "->", "color": "0.5"})
    ax.text(blocks / 2 + 0.6, 0.3, "skipped: above the diagonal", ha="center", fontsize=8, color="0.4")
    ax.set(xlim=(-2.6, blocks), ylim=(blocks, 0), aspect="equal", xticks=[], yticks=[],
           title="causal flash attention: a program owns BLOCK_M queries\n"
                 "and streams key/value blocks 0..i (diagonal block masked)")
    ax.set_xlabel("key/value block (BLOCK_N keys): one step of the online softmax")
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    return _svg(fig)


DIAGRAMS = {"matmul_tiles": matmul_diagram, "softmax_rows": softmax_diagram,
            "attention_blocks": attention_diagram}


# --------------------------------------------------------------------------------------
# MkDocs events
# --------------------------------------------------------------------------------------

_rows: list[dict] | None = None
_missing = ("!!! note \"Generated when Triton is installed\"\n"
            "    The compiler output is generated at docs build time by Triton; install it with "
            "`pip install 'minigrad-edu[kernels]'` and rebuild.\n")


def on_pre_build(config):
    global _rows
    if importlib.util.find_spec("triton") is None:
        log.warning("triton is not installed: the kernel pages show no compiler output")
        _rows = None
        return
    log.info("compiling the Triton kernels for sm_80 and sm_90 (compiler explorer)")
    _rows = compile_all()


def on_files(files, config):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from mkdocs.structure.files import File

    with plt.rc_context({"svg.hashsalt": "minigrad", "svg.fonttype": "none"}):
        for name, draw in DIAGRAMS.items():
            files.append(File.generated(config, f"kernels/figures/{name}.svg", content=draw(plt)))
            plt.close("all")
    return files


def on_page_markdown(markdown, page, config, files):
    if REPORT not in markdown and not EXPLORER.search(markdown):
        return markdown
    if _rows is None:
        return EXPLORER.sub(_missing, markdown.replace(REPORT, _missing))
    markdown = markdown.replace(REPORT, report_markdown(_rows))
    return EXPLORER.sub(lambda m: explorer_markdown(m[1], _rows), markdown)


if __name__ == "__main__":
    _worker(int(sys.argv[1]))
