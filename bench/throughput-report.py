#!/usr/bin/env python3
"""Summarises the raw TSV of bench/throughput.sh: one table per case.

Input lines: round, case, target, requests_per_s, p50_us, p99_us, errors (header first).
Per case and target: the median req/s over the rounds and [min-max]; for the latency case
also the median p50/p99. Shepherd's (and the baseline's) ratios against nginx are the median of the per-round
ratios (each round measures all targets back to back, so a ratio within one round is
less noisy than a ratio of medians).

Usage: throughput-report.py RAW_TSV SUMMARY_TSV
"""
import csv
import statistics
import sys
from collections import defaultdict

PROXIES = ("shepherd", "baseline")  # the JVM proxies whose ratios to nginx are printed
REFERENCES = ("nginx-1", "nginx-auto")
# Cases with a stated target for Shepherd's ratio to nginx: case -> (lowest ratio, where it was set).
RATIO_TARGETS = {"ab500": (1.0, "issue 18")}


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def fmt_rps(v):
    return "-" if v is None else f"{v:,.0f}"


def fmt_us(v):
    if v is None:
        return "-"
    return f"{v / 1000:.2f} ms" if v >= 1000 else f"{v:.0f} µs"


def main(raw_path, summary_path):
    rows = load(raw_path)
    cases, targets = [], []
    by = defaultdict(dict)  # (case, target) -> round -> row
    for r in rows:
        if r["case"] not in cases:
            cases.append(r["case"])
        if r["target"] not in targets:
            targets.append(r["target"])
        by[(r["case"], r["target"])][r["round"]] = r

    summary = [["case", "target", "median_rps", "min_rps", "max_rps", "median_p50_us",
                "median_p99_us", "errors", "ratio_vs_nginx_1", "ratio_vs_nginx_auto"]]
    for case in cases:
        print(f"\n{case}")
        header = f"  {'target':<11} {'req/s median':>13} {'[min – max]':>22} {'p50':>9} {'p99':>9} {'errors':>7}"
        print(header)
        for target in targets:
            runs = by.get((case, target), {})
            rps = [v for v in (number(r["requests_per_s"]) for r in runs.values()) if v is not None]
            if not rps:
                print(f"  {target:<11} {'not measured':>13}")
                continue
            p50 = [v for v in (number(r["p50_us"]) for r in runs.values()) if v is not None]
            p99 = [v for v in (number(r["p99_us"]) for r in runs.values()) if v is not None]
            errors = sum(int(number(r["errors"]) or 0) for r in runs.values())
            med50 = statistics.median(p50) if p50 else None
            med99 = statistics.median(p99) if p99 else None
            ratios = []
            if target in PROXIES:
                for ref in REFERENCES:
                    per_round = []
                    for rnd, r in runs.items():
                        other = by.get((case, ref), {}).get(rnd)
                        a, b = number(r["requests_per_s"]), number(other["requests_per_s"]) if other else None
                        if a is not None and b:
                            per_round.append(a / b)
                    ratios.append(statistics.median(per_round) if per_round else None)
            else:
                ratios = [None, None]
            span = f"[{fmt_rps(min(rps))} – {fmt_rps(max(rps))}]"
            print(f"  {target:<11} {fmt_rps(statistics.median(rps)):>13} {span:>22} "
                  f"{fmt_us(med50):>9} {fmt_us(med99):>9} {errors:>7}")
            summary.append([case, target, f"{statistics.median(rps):.1f}", f"{min(rps):.1f}",
                            f"{max(rps):.1f}", "" if med50 is None else f"{med50:.1f}",
                            "" if med99 is None else f"{med99:.1f}", errors]
                           + ["" if x is None else f"{x:.3f}" for x in ratios])
            if case == "lat" and target != "direct" and med50 is not None:
                direct = [v for v in (number(r["p50_us"]) for r in by.get((case, "direct"), {}).values())
                          if v is not None]
                if direct:
                    print(f"  {'':<11} p50 added over direct: {med50 - statistics.median(direct):+.0f} µs")
            if target in PROXIES:
                shown = ", ".join(f"/ {ref} = {'-' if x is None else f'{x:.2f}'}"
                                  for ref, x in zip(REFERENCES, ratios))
                print(f"  {'':<11} {target} {shown}  (median of per-round ratios)")
                if target == "shepherd" and case in RATIO_TARGETS:
                    floor, source = RATIO_TARGETS[case]
                    verdict = ", ".join(f"{ref} {'-' if x is None else 'met' if x >= floor else 'not met'}"
                                        for ref, x in zip(REFERENCES, ratios))
                    print(f"  {'':<11} target ({source}): shepherd / nginx >= {floor:.2f}: {verdict}")
    with open(summary_path, "w", newline="") as f:
        csv.writer(f, delimiter="\t", lineterminator="\n").writerows(summary)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
