"""Execute notebooks headless with the tslab kernel (used by scripts/notebooks.sh run).

Fails (exit 1) on the first cell error of any notebook; every notebook is still attempted.
By default the executed outputs are written back into the .ipynb (only when it ran clean);
with --check they go to a temporary directory instead and the sources are left untouched.

Workshop labs (metadata rtml.workshop == "lab", generated from their solutions by workshop/tools/build-labs.ts)
are run the other way round while untouched (code cells as its solution generates them): every cell tagged
"checkpoint" must FAIL with the checkpoint's own error (workshop/lib/checkpoint.ts), so no checkpoint passes
vacuously; every other cell must run clean; they are never written back (committed without outputs). A lab whose
code a learner has filled in is an ordinary notebook: its checkpoints must pass, its outputs are kept (also when it
fails, and then the failing checkpoint's list of checks is printed).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def first_line(src: str) -> str:
    for line in src.splitlines():
        if line.strip():
            return line.strip()[:70]
    return ""


ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT_FAILED = "CHECKPOINT FAILED"  # the error workshop/lib/checkpoint.ts throws

MAX_CODE_LINE = 120  # readable in JupyterLab and on GitHub without horizontal scrolling


def overlong_lines(nb: nbformat.NotebookNode) -> list[str]:
    """Code lines wider than MAX_CODE_LINE, as 'cell N line M (W chars)'."""
    found = []
    for n, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        for m, line in enumerate(cell.source.splitlines()):
            if len(line) > MAX_CODE_LINE:
                found.append(f"code cell {n + 1} line {m + 1} ({len(line)} chars)")
    return found


def is_lab(nb: nbformat.NotebookNode) -> bool:
    return nb.metadata.get("rtml", {}).get("workshop") == "lab"


def is_untouched_lab(path: Path, nb: nbformat.NotebookNode) -> bool:
    """A workshop lab whose code cells are still those its solution generates: nobody filled it in (wherever it
    lies, committed or not); workshop/tools/build-labs.ts decides, so the generation rule lives in one place."""
    if not is_lab(nb):
        return False
    tool = ROOT / "workshop" / "tools" / "build-labs.ts"
    try:
        answer = subprocess.run(["npx", "--no-install", "tsx", str(tool), "--untouched", str(path)], cwd=ROOT,
                                capture_output=True, text=True)
    except OSError as err:
        raise SystemExit(f"cannot run {tool.relative_to(ROOT)} to tell an untouched lab from a filled-in one: {err}")
    if answer.returncode not in (0, 1):
        raise SystemExit(f"{tool.relative_to(ROOT)} --untouched {path.name} failed: {answer.stderr.strip()}")
    return answer.returncode == 0


def is_checkpoint(cell: nbformat.NotebookNode) -> bool:
    return "checkpoint" in cell.metadata.get("tags", [])


def execute_lab_checkpoint(client: NotebookClient, cell, index: int, count: int) -> str:
    """Runs a checkpoint cell of an untouched lab: '' when it failed as it must, else what went wrong."""
    try:
        client.execute_cell(cell, index, execution_count=count)
    except CellExecutionError as err:
        return "" if CHECKPOINT_FAILED in str(err) else f"checkpoint cell {count} failed with another error: {err}"
    return f"checkpoint cell {count} PASSED on the untouched lab: it checks nothing the participant has to do"


def run_one(path: Path, out_dir: Path | None, timeout: int, kernel: str) -> tuple[bool, float, Path | None]:
    nb = nbformat.read(path, as_version=4)
    lab = is_untouched_lab(path, nb)
    filled_in_lab = is_lab(nb) and not lab
    if lab and out_dir is None:
        out_dir = Path(tempfile.mkdtemp(prefix="rtml-lab-"))  # labs are committed clean: never written back
    # The width rule is for what the repository commits; a learner's filled-in lab is theirs.
    too_wide = [] if filled_in_lab else overlong_lines(nb)
    if too_wide:
        log(f"  FAILED {path.name}: code lines wider than {MAX_CODE_LINE} characters, wrap them: {'; '.join(too_wide)}")
        return False, 0.0, None
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel,
        allow_errors=False,
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    started = time.monotonic()
    ok = True
    failure = ""
    done = 0
    cell = None
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                t0 = time.monotonic()
                if lab and is_checkpoint(cell):
                    problem = execute_lab_checkpoint(client, cell, index, done + 1)
                    if problem:
                        raise CellExecutionError(problem, "", "")
                    note = "  (checkpoint failed, as it must untouched)"
                else:
                    # nbclient records the count only when given one (tslab's replies carry none): In [1], In [2], ...
                    client.execute_cell(cell, index, execution_count=done + 1)
                    note = ""
                done += 1
                log(f"    [{done}/{len(code_cells)}] {time.monotonic() - t0:5.1f}s  {first_line(cell.source)}{note}")
    except CellTimeoutError as err:
        ok, failure = False, f"cell timed out after {timeout}s: {first_line(str(err))}"
    except CellExecutionError as err:
        # A checkpoint's own list of checks says more than the cell's source and stack trace.
        ok, failure = False, (CHECKPOINT_FAILED in str(err) and checkpoint_summary(cell)) or str(err)
    except DeadKernelError as err:
        ok, failure = False, f"kernel died: {err}"
    elapsed = time.monotonic() - started
    # Kernel metadata as executed (nbclient fills language_info); keep the file stable otherwise.
    nb.metadata.setdefault("kernelspec", {"name": kernel, "display_name": "TypeScript (tslab)", "language": "typescript"})
    if lab and ok and not any(is_checkpoint(c) for c in code_cells):
        ok, failure = False, "a lab without a cell tagged checkpoint"
    if out_dir is None and (ok or filled_in_lab):  # a learner's lab keeps its outputs, failed or not
        target: Path | None = path
    else:
        target = (out_dir or Path(tempfile.mkdtemp(prefix="rtml-nb-failed-"))) / path.name
    if target is not None:
        nbformat.write(nb, target)
    if not ok:
        log(f"  FAILED {path.name} after {elapsed:.1f}s\n{failure}")
    elif lab:
        log(f"  {path.name} is untouched (its code is what its solution generates): its checkpoints failed, as they"
            " must; fill in its TODO cells and run it again")
    return ok, elapsed, target


def checkpoint_summary(cell: nbformat.NotebookNode | None) -> str:
    """The ✅/❌ list a checkpoint cell displayed before it failed (workshop/lib/checkpoint.ts)."""
    shown = [o.get("data", {}).get("text/markdown", "") for o in (cell.outputs if cell else [])]
    return "\n".join(text if isinstance(text, str) else "".join(text) for text in shown if text)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--check", action="store_true", help="execute into a temp copy; leave the .ipynb untouched")
    ap.add_argument("--out-dir", type=Path, help="with --check: where to write the executed copies")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("NB_CELL_TIMEOUT", "300")), help="per-cell timeout, seconds")
    ap.add_argument("--kernel", default="tslab")
    ap.add_argument("--results", type=Path, help="write {numPassedTests, numFailedTests} (one per notebook) as JSON")
    args = ap.parse_args()

    files = args.files
    if not files:
        # The notebooks, then the workshop's solutions, then its untouched labs (which reuse the solutions' cached
        # scenario results: one cache directory per invocation). Labs are `workshop/labs/NN-*.ipynb`, generated
        # from `NN-*.solution.ipynb` beside them (workshop/tools/build-labs.ts).
        labs = sorted((ROOT / "workshop" / "labs").glob("*.ipynb"))
        files = (sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if not p.name.startswith("_"))
                 + [p for p in labs if p.name.endswith(".solution.ipynb")]
                 + [p for p in labs if not p.name.endswith(".solution.ipynb")])
    if not files:
        log("no notebooks found")
        return 1
    out_dir = None
    if args.check:
        out_dir = args.out_dir or Path(tempfile.mkdtemp(prefix="rtml-nb-"))
        out_dir.mkdir(parents=True, exist_ok=True)

    # Notebooks 01-03 share one fraud-scenario run (notebooks/lib/scenario.ts): a fresh cache directory per
    # invocation, so the first of them (in file order: 01) runs the scenario and the others reuse its result.
    own_cache = "RTML_NB_CACHE_DIR" not in os.environ
    if own_cache:
        os.environ["RTML_NB_CACHE_DIR"] = tempfile.mkdtemp(prefix="rtml-nb-cache-")

    results = []
    total0 = time.monotonic()
    for path in files:
        path = path.resolve()
        name = path.name
        log(f"[notebooks] {name}: executing (cell timeout {args.timeout}s)")
        ok, elapsed, target = run_one(path, out_dir, args.timeout, args.kernel)
        results.append((name, ok, elapsed))
        log(f"[notebooks] {name}: {'ok' if ok else 'FAILED'} in {elapsed:.1f}s -> {target}")
    if own_cache:
        shutil.rmtree(os.environ["RTML_NB_CACHE_DIR"], ignore_errors=True)
    failed = [n for n, ok, _ in results if not ok]
    if args.results:
        counts = {"numPassedTests": len(results) - len(failed), "numFailedTests": len(failed)}
        args.results.write_text(json.dumps(counts))
    log(f"[notebooks] {len(results) - len(failed)} of {len(results)} ran clean in {time.monotonic() - total0:.1f}s"
        + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
