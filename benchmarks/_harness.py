"""The one benchmark harness: netchain and its peer, each in its own process, side by side.

NumPy and PyTorch (and NumPy and SciPy's separate OpenBLAS builds) slow each other when both
run in one process, because each library's idle BLAS threads spin. So every measurement runs
in a fresh subprocess that imports only one side, and the two sides alternate A B A B over
several rounds; the table reports median times and the median of the per-round ratios.

A benchmark script lists :class:`Case` objects and calls :func:`main`::

    CASES = [Case("digits / k-NN", ours=knn_ours, peer=knn_peer)]
    if __name__ == "__main__":
        main(CASES, peer_name="scikit-learn")

Each side is a function of no arguments that does its own setup, times only the work being
compared (use :func:`best_of` or :func:`median_time`), and returns ``{"seconds": float}`` plus
optional ``"quality"`` (a float such as an accuracy) to print beside the times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

THREADS = "2"


@dataclass
class Case:
    """One row of a benchmark table."""

    name: str
    ours: Callable[[], dict]
    peer: Callable[[], dict]


def median_time(fn: Callable[[], object], *, repeats: int = 20, warmup: int = 3) -> float:
    """Median wall time of ``fn()`` in seconds after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _worker(cases: list[Case], side: str, name: str) -> None:
    case = next(c for c in cases if c.name == name)
    result = (case.ours if side == "ours" else case.peer)()
    print("RESULT " + json.dumps(result), flush=True)


def _spawn(script: str, side: str, name: str, extra: list[str]) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = THREADS
    env.setdefault("PYTHONHASHSEED", "0")
    cmd = [sys.executable, script, "--worker", side, "--case", name, *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"{side} worker for {name!r} failed:\n{proc.stdout}\n{proc.stderr}")


def _fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def main(cases: list[Case], *, peer_name: str, description: str = "") -> None:
    """Run the cases (or one worker, when called with ``--worker``) and print the table."""
    parser = argparse.ArgumentParser(description=description or __doc__.splitlines()[0])
    parser.add_argument("--worker", choices=["ours", "peer"], help=argparse.SUPPRESS)
    parser.add_argument("--case", help="run only the cases whose name contains this text")
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds per case (default 3)")
    args = parser.parse_args()
    if args.worker:
        _worker(cases, args.worker, args.case)
        return
    script = os.path.abspath(sys.argv[0])
    selected = [c for c in cases if not args.case or args.case in c.name]
    header = f"| case | netchain | {peer_name} | ratio netchain / {peer_name} | quality (netchain / {peer_name}) |"
    print(header)
    print("| --- | --- | --- | --- | --- |")
    for case in selected:
        ours_t, peer_t, ratios, quality = [], [], [], ("", "")
        for r in range(args.rounds):
            order = ("ours", "peer") if r % 2 == 0 else ("peer", "ours")
            res = {side: _spawn(script, side, case.name, []) for side in order}
            ours_t.append(res["ours"]["seconds"])
            peer_t.append(res["peer"]["seconds"])
            ratios.append(res["ours"]["seconds"] / res["peer"]["seconds"])
            quality = (res["ours"].get("quality", ""), res["peer"].get("quality", ""))
        q = ""
        if quality != ("", ""):
            q = " / ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in quality)
        print(
            f"| {case.name} | {_fmt_time(statistics.median(ours_t))} | "
            f"{_fmt_time(statistics.median(peer_t))} | {statistics.median(ratios):.2f} | {q} |",
            flush=True,
        )
