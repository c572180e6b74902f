#!/usr/bin/env python3
"""Summarises the raw TSV of bench/websocket.sh: one table per case, then the table the README shows.

Input lines: round, case, target, messages_per_s, p50_us, p99_us, errors, proxy_cpu_us,
sleeps_per_message (header first; the last two NA for direct); optionally an idle-tunnel TSV: target, rss_before_kb, rss_after_kb, opened.
Targets: direct, nginx-1, nginx-auto, shepherd, then any shepherd-NAME (SHEPHERD_VARIANTS).
Per case and target: the median round trips per second over the rounds and [min-max], the median
p50 and p99, the median proxy CPU and event-loop sleeps per round trip. Each Shepherd's ratios to nginx are medians of
per-round ratios (each round measures all targets back to back): messages/s (higher is better) and
p99 (lower is better).

Usage: websocket-report.py RAW_TSV SUMMARY_TSV IDLE_TUNNELS [IDLE_TSV]
"""
import csv
import statistics
import sys
from collections import defaultdict

BASE_TARGETS = ("direct", "nginx-1", "nginx-auto", "shepherd")
REFERENCES = ("nginx-1", "nginx-auto")
CASE_NAMES = {"c1": "32 B, 1 connection", "c64": "32 B, 64 connections", "c256": "32 B, 256 connections",
              "4k": "4 KiB, 64 connections"}


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def fmt_rate(v):
    return "-" if v is None else f"{v:,.0f}"


def fmt_us(v):
    if v is None:
        return "-"
    return f"{v / 1000:.2f} ms" if v >= 1000 else f"{v:.0f} µs"


def median_of(runs, column):
    # .get: a TSV of an older run lacks the newer columns.
    values = [v for v in (number(r.get(column)) for r in runs.values()) if v is not None]
    return statistics.median(values) if values else None


def ratio(by, case, target, ref, column):
    per_round = []
    for rnd, row in by.get((case, target), {}).items():
        other = by.get((case, ref), {}).get(rnd)
        a, b = number(row[column]), number(other[column]) if other else None
        if a is not None and b:
            per_round.append(a / b)
    return statistics.median(per_round) if per_round else None


def main(raw_path, summary_path, idle_tunnels, idle_path=None):
    with open(raw_path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    cases = list(dict.fromkeys(r["case"] for r in rows))
    variants = [t for t in dict.fromkeys(r["target"] for r in rows) if t not in BASE_TARGETS]
    targets = BASE_TARGETS + tuple(variants)
    shepherds = ("shepherd",) + tuple(variants)
    by = defaultdict(dict)  # (case, target) -> round -> row
    for r in rows:
        by[(r["case"], r["target"])][r["round"]] = r

    summary = [["case", "target", "median_msg_per_s", "min", "max", "median_p50_us", "median_p99_us", "errors",
                "rate_vs_nginx_1", "rate_vs_nginx_auto", "p99_vs_nginx_1", "p99_vs_nginx_auto", "median_proxy_cpu_us",
                "median_sleeps_per_message"]]
    names = [f"Shepherd {v.removeprefix('shepherd-')}" for v in variants]
    markdown = ["| case | direct | nginx 1 process | nginx auto | Shepherd | " + "".join(f"{n} | " for n in names)
                + "Shepherd ÷ nginx 1: msg/s, p99 | " + "".join(f"{n} ÷ nginx 1 | " for n in names)
                + "Shepherd ÷ nginx auto |",
                "|---|" + "---:|" * (6 + 2 * len(variants))]
    cpu_markdown = ["| case | nginx 1 process | nginx auto | Shepherd |" + "".join(f" {n} |" for n in names),
                    "|---|" + "---:|" * (3 + len(variants))]
    for case in cases:
        print(f"\n{case}: {CASE_NAMES.get(case, case)}")
        print(f"  {'target':<11} {'msg/s median':>13} {'[min – max]':>22} {'p50':>9} {'p99':>9} {'errors':>7}"
              f" {'proxy CPU':>10}")
        cells, ratio_cells, cpu_cells = {}, {}, {}
        for target in targets:
            runs = by.get((case, target), {})
            rates = [v for v in (number(r["messages_per_s"]) for r in runs.values()) if v is not None]
            if not rates:
                print(f"  {target:<11} {'not measured':>13}")
                cells[target] = "not measured"
                continue
            p50, p99 = median_of(runs, "p50_us"), median_of(runs, "p99_us")
            cpu = median_of(runs, "proxy_cpu_us") if target != "direct" else None
            sleeps = median_of(runs, "sleeps_per_message") if target != "direct" else None
            errors = sum(int(number(r["errors"]) or 0) for r in runs.values())
            span = f"[{fmt_rate(min(rates))} – {fmt_rate(max(rates))}]"
            cpu_text = "-" if cpu is None else f"{cpu:.1f} µs"
            print(f"  {target:<11} {fmt_rate(statistics.median(rates)):>13} {span:>22} {fmt_us(p50):>9} "
                  f"{fmt_us(p99):>9} {errors:>7} {cpu_text:>10}")
            cells[target] = f"{fmt_rate(statistics.median(rates))} ({fmt_us(p50)} / {fmt_us(p99)})"
            cpu_cells[target] = cpu_text if sleeps is None else f"{cpu_text}, {sleeps:.2f}"
            ratios = [ratio(by, case, target, ref, col) if target in shepherds else None
                      for col in ("messages_per_s", "p99_us") for ref in REFERENCES]
            summary.append([case, target, f"{statistics.median(rates):.1f}", f"{min(rates):.1f}", f"{max(rates):.1f}",
                            "" if p50 is None else f"{p50:.1f}", "" if p99 is None else f"{p99:.1f}", errors]
                           + ["" if x is None else f"{x:.3f}" for x in ratios] + ["" if cpu is None else f"{cpu:.2f}", "" if sleeps is None else f"{sleeps:.4f}"])
            if target in shepherds:
                ratio_cells[target] = [
                    "-" if ratios[i] is None else f"{ratios[i]:.2f}, {'-' if ratios[i + 2] is None else f'{ratios[i + 2]:.2f}'}"
                    for i in range(2)]
                print(f"  {'':<11} {target} ÷ nginx-1: msg/s {ratio_cells[target][0].replace(', ', ', p99 ')}; "
                      f"÷ nginx-auto: msg/s {ratio_cells[target][1].replace(', ', ', p99 ')} (medians of per-round ratios)")
        shown = lambda t, i: ratio_cells.get(t, ["-", "-"])[i]
        markdown.append(f"| {CASE_NAMES.get(case, case)} | " + " | ".join(cells[t] for t in targets)
                        + f" | {shown('shepherd', 0)} | " + "".join(f"{shown(v, 0)} | " for v in variants)
                        + f"{shown('shepherd', 1)} |")
        cpu_markdown.append(f"| {CASE_NAMES.get(case, case)} | "
                            + " | ".join(cpu_cells.get(t, "-") for t in targets if t != "direct") + " |")

    if idle_path:
        print(f"\nIdle tunnels: {int(idle_tunnels):,} WebSockets held open through each proxy; resident memory "
              "before they opened -> after")
        per_100 = {}
        with open(idle_path, newline="") as f:
            for target, before, after, opened in csv.reader(f, delimiter="\t"):
                before_kb, after_kb, opened = float(before), float(after), int(float(opened))
                grown = after_kb - before_kb
                per = opened / (grown / 102400) if grown > 0 and opened > 0 else None
                per_100[target] = per
                what = "master + workers" if target.startswith("nginx") else "master JVM"
                shown = "-" if per is None else f"{per:,.0f} tunnels per 100 MiB"
                print(f"  {target:<11} {before_kb / 1024:7.1f} MiB -> {after_kb / 1024:7.1f} MiB ({what}), "
                      f"{opened:,} opened: {shown} ({grown / max(opened, 1):.1f} KiB per tunnel)")
                summary.append(["idle", target, opened, before, after])
        cell = lambda t: "-" if per_100.get(t) is None else f"{per_100[t]:,.0f}"
        ratio_idle = (f"{per_100['shepherd'] / per_100['nginx-1']:.2f}"
                      if per_100.get("shepherd") and per_100.get("nginx-1") else "-")
        markdown.append(f"| idle tunnels per 100 MiB of RSS | - | {cell('nginx-1')} | - | {cell('shepherd')} | "
                        + "- | " * len(variants) + f"{ratio_idle} | " + "- | " * len(variants) + "- |")

    print("\nFor the README (msg/s: round trips per second; in brackets the round-trip p50 / p99):\n")
    print("\n".join(markdown))
    print("\nThe proxy's CPU time per round trip (nginx: master + workers; Shepherd: the master), then its event "
          "loops' sleeps per round trip, medians:\n")
    print("\n".join(cpu_markdown))
    with open(summary_path, "w", newline="") as f:
        csv.writer(f, delimiter="\t", lineterminator="\n").writerows(summary)


if __name__ == "__main__":
    main(*sys.argv[1:5])
