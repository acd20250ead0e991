"""Execute notebooks headless with the tslab kernel (used by scripts/notebooks.sh run).

Fails (exit 1) on the first cell error of any notebook; every notebook is still attempted.
By default the executed outputs are written back into the .ipynb (only when it ran clean);
with --check they go to a temporary directory instead and the sources are left untouched.
"""
from __future__ import annotations

import argparse
import os
import shutil
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


MAX_CODE_LINE = 120  # readable in JupyterLab and on GitHub without horizontal scrolling


def overlong_lines(nb: nbformat.NotebookNode) -> list[str]:
    """Code lines wider than MAX_CODE_LINE, as 'cell N line M (W chars)'."""
    found = []
    for n, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        for m, line in enumerate(cell.source.splitlines()):
            if len(line) > MAX_CODE_LINE:
                found.append(f"code cell {n + 1} line {m + 1} ({len(line)} chars)")
    return found


def run_one(path: Path, out_dir: Path | None, timeout: int, kernel: str) -> tuple[bool, float, Path | None]:
    nb = nbformat.read(path, as_version=4)
    too_wide = overlong_lines(nb)
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
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                t0 = time.monotonic()
                # nbclient records the count only when given one (tslab's replies carry none): In [1], In [2], ...
                client.execute_cell(cell, index, execution_count=done + 1)
                done += 1
                log(f"    [{done}/{len(code_cells)}] {time.monotonic() - t0:5.1f}s  {first_line(cell.source)}")
    except CellTimeoutError as err:
        ok, failure = False, f"cell timed out after {timeout}s: {first_line(str(err))}"
    except CellExecutionError as err:
        ok, failure = False, str(err)
    except DeadKernelError as err:
        ok, failure = False, f"kernel died: {err}"
    elapsed = time.monotonic() - started
    # Kernel metadata as executed (nbclient fills language_info); keep the file stable otherwise.
    nb.metadata.setdefault("kernelspec", {"name": kernel, "display_name": "TypeScript (tslab)", "language": "typescript"})
    if out_dir is None and ok:
        target: Path | None = path
    else:
        target = (out_dir or Path(tempfile.mkdtemp(prefix="rtml-nb-failed-"))) / path.name
    if target is not None:
        nbformat.write(nb, target)
    if not ok:
        log(f"  FAILED {path.name} after {elapsed:.1f}s\n{failure}")
    return ok, elapsed, target


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--check", action="store_true", help="execute into a temp copy; leave the .ipynb untouched")
    ap.add_argument("--out-dir", type=Path, help="with --check: where to write the executed copies")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("NB_CELL_TIMEOUT", "300")), help="per-cell timeout, seconds")
    ap.add_argument("--kernel", default="tslab")
    args = ap.parse_args()

    files = args.files
    if not files:
        root = Path(__file__).resolve().parents[2] / "notebooks"
        files = sorted(p for p in root.glob("*.ipynb") if not p.name.startswith("_"))
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
        log(f"[notebooks] {path.name}: executing (cell timeout {args.timeout}s)")
        ok, elapsed, target = run_one(path, out_dir, args.timeout, args.kernel)
        results.append((path.name, ok, elapsed))
        log(f"[notebooks] {path.name}: {'ok' if ok else 'FAILED'} in {elapsed:.1f}s -> {target}")
    if own_cache:
        shutil.rmtree(os.environ["RTML_NB_CACHE_DIR"], ignore_errors=True)
    failed = [n for n, ok, _ in results if not ok]
    log(f"[notebooks] {len(results) - len(failed)} of {len(results)} ran clean in {time.monotonic() - total0:.1f}s"
        + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
