#!/usr/bin/env python3
"""Tables for bench/stall/README.md from the stall.py JSON results that run.sh writes.

    python3 summarize.py RESULTS_DIR RULE...
"""
import gzip
import json
import os
import sys

NOISE_S = 0.1


def load(d, rule, side):
    p = os.path.join(d, f"{rule}.{side}.json")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def where(res, gap):
    """The migration file(s) the gap overlaps."""
    names = []
    for f in res["migration"]["files"]:
        if f.get("skipped"):
            continue
        if f["start_s"] < gap["to_s"] and f["end_s"] > gap["from_s"]:
            names.append(os.path.basename(f["file"])[:4] if len(res["migration"]["files"]) > 1
                         else os.path.basename(f["file"]))
    return "+".join(names) or "-"


def update_stall(d, rule, side, res):
    """Longest gap between completed UPDATEs overlapping the migration (stall.py's write stall counts
    INSERTs too, which row locks never block).  From the --raw-csv file (gzipped by run.sh); None without it."""
    p = os.path.join(d, f"{rule}.{side}.csv.gz")
    if not os.path.exists(p):
        return None
    done, last = [], 0.0
    with gzip.open(p, "rt") as f:
        next(f)
        for line in f:
            op, _sched, _sent, t, err = line.rstrip("\n").split(",", 4)
            last = max(last, float(t))
            if op == "update" and not err:
                done.append(float(t))
    lo, hi = 0.0, res["migration"]["wall_s"]
    pts = sorted(done) + [last]
    best = pts[0] - lo if pts[0] > lo else 0.0
    for p_, q in zip(pts, pts[1:]):
        if p_ >= hi:
            break
        if q > lo:
            best = max(best, q - p_)
    return best


def max_write_ms(res):
    by = res["load"]["windows"]["migration"]["by_op"]
    return max((by[op]["latency_ms"]["max"] or 0) for op in ("update", "insert") if op in by)


def s(x):
    return f"{x:.2f} s"


def main():
    d, rules = sys.argv[1], sys.argv[2:]
    main_rows, detail_rows = [], []
    for rule in rules:
        dr, pl = load(d, rule, "draft"), load(d, rule, "plan")
        if not dr or not pl:
            main_rows.append(f"| {rule} | (not run) | | | | | |")
            continue
        ds, ps = dr["summary"], pl["summary"]
        dw, pw = dr["load"]["longest_stall_during_migration"]["writes"], pl["load"]["longest_stall_during_migration"]["writes"]
        notes = []
        if not ps["migration_ok"]:
            notes.append(f"plan FAILED at {os.path.basename(ps['failed_file'])}")
        if not ds["migration_ok"]:
            notes.append(f"draft FAILED")
        if ps["longest_write_stall_s"] > NOISE_S:
            notes.append(f"**plan beyond noise** (in {where(pl, pw)})")
        if ps["invalid_indexes_left"]:
            notes.append(f"INVALID index left: {', '.join(ps['invalid_indexes_left'])}")
        notes.append(f"max write latency {max_write_ms(dr):.0f} ms / {max_write_ms(pl):.0f} ms")
        main_rows.append(
            f"| {rule} | {s(ds['longest_write_stall_s'])} | {s(ps['longest_write_stall_s'])} | "
            f"{s(ds['longest_read_stall_s'])} | {s(ps['longest_read_stall_s'])} | "
            f"{ds['failed_requests']} / {ps['failed_requests']} | {'; '.join(notes)} |")
        lw_d, lw_p = dr["lock_waits_during_migration"], pl["lock_waits_during_migration"]
        ud, up = update_stall(d, rule, "draft", dr), update_stall(d, rule, "plan", pl)
        us = "-" if ud is None or up is None else f"{ud:.2f} s / {up:.2f} s"
        detail_rows.append(
            f"| {rule} | {ds['migration_wall_s']:.1f} s / {ps['migration_wall_s']:.1f} s | "
            f"{len(pl['migration']['files'])} | "
            f"{ds['p99_ms']:.0f} / {ps['p99_ms']:.0f} | {ds['max_ms']:.0f} / {ps['max_ms']:.0f} | "
            f"{lw_d['load_waiting_max']} / {lw_p['load_waiting_max']} | "
            f"{us} | {where(pl, pw)} |")
    print("| rule | draft write stall | plan write stall | draft read stall | plan read stall | failed (draft/plan) | notes |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(main_rows))
    print()
    print("| rule | migration wall draft / plan | plan steps | p99 latency ms draft / plan | max latency ms draft / plan "
          "| max load sessions waiting on a lock draft / plan | UPDATE-only stall draft / plan | plan's longest write gap in step |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(detail_rows))


if __name__ == "__main__":
    main()
