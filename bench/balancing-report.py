#!/usr/bin/env python3
"""Summarises the raw TSV of bench/balancing.sh: one table per load.

Input lines: round, load, target, requests_per_s, p50_ms, p99_ms, max_ms, complete, failed (header first).
Per load and target: the median over the rounds and [min-max] of the 2xx answers per second (ab's
requests per second less its failed and non-2xx ones, which ab counts in), of p50, p99 and max, and
the failed requests summed over the rounds.

Usage: balancing-report.py RAW_TSV SUMMARY_TSV
"""
import csv
import statistics
import sys
from collections import defaultdict


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def ok_per_second(row):
    """ab's requests per second counts every completed request; this keeps the 2xx ones."""
    rps, complete, failed = number(row["requests_per_s"]), number(row["complete"]), number(row["failed"])
    if rps is None or not complete:
        return None
    return rps * max(0.0, complete - (failed or 0)) / complete


def spread(values, unit=""):
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:,.0f}{unit}"
    return f"{med:,.0f}{unit} [{min(values):,.0f}–{max(values):,.0f}]"


def main(raw_path, summary_path):
    with open(raw_path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    loads, targets = [], []
    by = defaultdict(list)
    for r in rows:
        if r["load"] not in loads:
            loads.append(r["load"])
        if r["target"] not in targets:
            targets.append(r["target"])
        by[(r["load"], r["target"])].append(r)

    summary = [["load", "target", "median_2xx_per_s", "min_2xx_per_s", "max_2xx_per_s", "median_p50_ms", "median_p99_ms",
                "median_max_ms", "failed"]]
    for load in loads:
        print(f"\n{load}")
        print(f"  {'target':<16} {'2xx/s':>20} {'p50 ms':>20} {'p99 ms':>22} {'max ms':>22} {'failed':>7}")
        lines = ["  | target | 2xx/s | p50 ms | p99 ms | max ms | failed |", "  |---|---:|---:|---:|---:|---:|"]
        for target in targets:
            runs = by.get((load, target), [])
            columns = {key: [v for v in (number(r[key]) for r in runs) if v is not None]
                       for key in ("p50_ms", "p99_ms", "max_ms")}
            columns["requests_per_s"] = [ok_per_second(r) for r in runs if ok_per_second(r) is not None]
            failed = sum(int(number(r["failed"]) or 0) for r in runs)
            rps = columns["requests_per_s"]
            cells = [spread(rps), spread(columns["p50_ms"]), spread(columns["p99_ms"]), spread(columns["max_ms"])]
            print(f"  {target:<16} {cells[0]:>20} {cells[1]:>20} {cells[2]:>22} {cells[3]:>22} {failed:>7}")
            lines.append(f"  | {target} | " + " | ".join(cells) + f" | {failed} |")
            med = lambda key: f"{statistics.median(columns[key]):.1f}" if columns[key] else ""
            summary.append([load, target, med("requests_per_s"), f"{min(rps):.1f}" if rps else "",
                            f"{max(rps):.1f}" if rps else "", med("p50_ms"), med("p99_ms"), med("max_ms"), failed])
        print()
        print("\n".join(lines))
    with open(summary_path, "w", newline="") as f:
        csv.writer(f, delimiter="\t", lineterminator="\n").writerows(summary)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
