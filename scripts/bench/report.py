#!/usr/bin/env python3
"""Turns the raw records of one bench run into the markdown table (stdout) and the JSON result files.

  report.py RUN_DIR OUT_DIR [DOC]

RUN_DIR/results.jsonl holds one record per line: {"system", "metric", "value", "unit", "note"?}, where system is
one of scaidrive (our mount or our client library), scaidrive_raw (curl against our server), rclone (rclone mount),
rclone_raw (curl against rclone serve webdav). RUN_DIR/meta.json holds the run's parameters and the machine.
Writes OUT_DIR/<date>.json, OUT_DIR/<date>.md, OUT_DIR/latest.json and OUT_DIR/latest.md. With DOC (a markdown
file), also replaces the text between its "<!-- bench:latest:start -->" and "<!-- bench:latest:end -->" lines with
the table.

Every row is a rate where "higher is better" (MB/s, files/s, entries/s, IOPS) except memory and latency rows,
which are marked "lower is better". Ratios are always ours ÷ other, so on a higher-is-better row a ratio above 1
means ours is faster, and on a lower-is-better row a ratio below 1 means ours uses less.
"""

import json
import os
import sys
from datetime import datetime, timezone

UP, DOWN = "higher", "lower"

# metric id -> (label template, unit, better, target). Target: (against, op, factor): against is "raw" or
# "rclone" (a ratio) or "abs" (the value itself).
METRICS = [
    ("write_close", "{size} sequential write, until close returns", "MB/s", UP, None),
    ("write_durable", "{size} sequential write, until durable on the server", "MB/s", UP, ("rclone", ">=", 1.0)),
    ("small_close", "{small} small files extracted by tar, until tar returns", "files/s", UP, None),
    ("small_durable", "{small} small files extracted by tar, until durable", "files/s", UP, ("rclone", ">=", 2.0)),
    ("empty_create", "{empty} empty files created", "files/s", UP, None),
    ("empty_durable", "{empty} empty files created, until durable", "files/s", UP, None),
    ("ls_cold", "`ls -l` of {empty} entries, cold (after remount)", "entries/s", UP, ("rclone", ">=", 1.0)),
    ("ls_warm", "`ls -l` of {empty} entries, warm", "entries/s", UP, None),
    ("read_cold", "{size} sequential read, cold (page cache dropped, empty driver cache)", "MB/s", UP, ("raw", ">=", 0.9)),
    ("read_cold_rounds", "{size} sequential read, cold, median of {rounds} side-by-side rounds (fresh mount, then curl)", "MB/s", UP, ("raw", ">=", 0.9)),
    ("read_ceiling_rounds", "reference, not ScaiDriveFS: the same {rounds} rounds' cold read through nullfs, a FUSE filesystem in C that answers from memory (FUSE's own ceiling on this machine)", "MB/s", UP, None),
    ("read_cold_direct", "{size} sequential read, cold, with `mount --direct-io` (opt-in: no page cache)", "MB/s", UP, ("raw", ">=", 0.9)),
    ("read_cached", "{size} sequential re-read from the driver's cache (page cache dropped)", "MB/s", UP, None),
    ("small_read", "{small} small files read back (cold)", "files/s", UP, None),
    ("rand4k", "fio random 4 KiB reads, {fio}s on the {size} file (direct I/O, cold driver cache)", "IOPS", UP, ("rclone", ">=", 1.0)),
    ("daemon_rss", "daemon peak RSS (VmHWM) through the whole run", "MiB", DOWN, ("abs", "<=", 300.0)),
    ("server_rss", "server peak RSS (VmHWM) through the whole run", "MiB", DOWN, None),
    ("change_median", "remote change visible in the mount, median of {changes}", "ms", DOWN, None),
    ("change_worst", "remote change visible in the mount, worst of {changes}", "ms", DOWN, None),
    ("client_download", "client library: {size} download (ranged, parallel) vs curl GET", "MB/s", UP, None),
    ("client_download_stream", "client library: {size} download (one stream) vs curl GET", "MB/s", UP, None),
    ("client_upload", "client library: {size} resumable upload (parallel chunks) vs curl -F multipart POST", "MB/s", UP, None),
]

SYSTEMS = [
    ("scaidrive", "ScaiDriveFS"),
    ("scaidrive_raw", "raw HTTP, ScaiDrive server"),
    ("rclone", "rclone mount"),
    ("rclone_raw", "raw HTTP, rclone webdav"),
]


def size_label(mb):
    return f"{mb // 1024} GiB" if mb % 1024 == 0 else f"{mb} MiB"


def fmt(v):
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def check_target(target, values, r_raw, r_rclone):
    if target is None:
        return None, ""
    against, op, factor = target
    got = {"raw": r_raw, "rclone": r_rclone, "abs": values.get("scaidrive")}[against]
    sign = "≥" if op == ">=" else "≤"
    what = f"{sign} {factor:g}" + ("" if against == "abs" else f" × {against}")
    if got is None:
        return None, f"{what}: not measured"
    met = got >= factor if op == ">=" else got <= factor
    return met, f"{what}: {'met' if met else 'NOT met'} ({fmt(got)})"


def main():
    run_dir, out_dir = sys.argv[1], sys.argv[2]
    with open(os.path.join(run_dir, "meta.json")) as f:
        meta = json.load(f)
    records = []
    path = os.path.join(run_dir, "results.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]

    by_key = {}
    notes_by_key = {}
    for r in records:
        by_key[(r["metric"], r["system"])] = r.get("value")
        if r.get("note"):
            notes_by_key.setdefault(r["metric"], []).append(f"{r['system']}: {r['note']}")

    p = meta.get("params", {})
    fill = {
        "size": size_label(int(p.get("size_mb", 1024))),
        "small": f"{int(p.get('small_files', 2000)):,}",
        "empty": f"{int(p.get('empty_files', 10000)):,}",
        "fio": p.get("fio_seconds", 20),
        "changes": p.get("changes", 100),
        "rounds": p.get("read_rounds", 5),
    }

    rows = []
    for metric, label, unit, better, target in METRICS:
        values = {s: by_key.get((metric, s)) for s, _ in SYSTEMS}
        if all(v is None for v in values.values()) and metric not in notes_by_key:
            continue
        r_raw = ratio(values["scaidrive"], values["scaidrive_raw"])
        r_rclone = ratio(values["scaidrive"], values["rclone"])
        met, target_text = check_target(target, values, r_raw, r_rclone)
        rows.append({
            "metric": metric, "label": label.format(**fill), "unit": unit, "better": better,
            "values": values, "ratio_vs_raw": r_raw, "ratio_vs_rclone": r_rclone,
            "target": target_text, "target_met": met, "notes": notes_by_key.get(metric, []),
        })

    started = meta.get("started", datetime.now(timezone.utc).isoformat())
    result = {"date": started, "machine": meta.get("machine", {}), "params": p, "notes": meta.get("notes", []),
              "duration_s": meta.get("duration_s"), "side_durations": meta.get("side_durations", []), "rows": rows}

    lines = []
    m = meta.get("machine", {})
    lines.append(f"### Bench run {started[:19].replace('T', ' ')} UTC{' (quick)' if p.get('quick') else ''}")
    lines.append("")
    lines.append(f"Machine: {m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('mem_gib', '?')} GiB, "
                 f"kernel {m.get('kernel', '?')}; {m.get('rclone', 'rclone ?')}; commit {m.get('commit', '?')}.")
    if "duration_s" in meta:
        sides = ", ".join(meta.get("side_durations", []))
        lines.append("")
        lines.append(f"The run took {meta['duration_s'] // 60} min {meta['duration_s'] % 60} s{f' ({sides})' if sides else ''}.")
    lines.append("")
    lines.append("Ratios are ours ÷ other. On ↑ rows (higher is better) a ratio above 1 means ScaiDriveFS is ahead; "
                 "on ↓ rows (lower is better) a ratio below 1 means ScaiDriveFS is ahead.")
    lines.append("")
    head = ["workload", "unit", "better"] + [name for _, name in SYSTEMS] + ["ours ÷ raw", "ours ÷ rclone", "target"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for row in rows:
        cells = [row["label"], row["unit"], "↑" if row["better"] == UP else "↓"]
        cells += [fmt(row["values"][s]) for s, _ in SYSTEMS]
        cells += [fmt(row["ratio_vs_raw"]), fmt(row["ratio_vs_rclone"]), row["target"]]
        lines.append("| " + " | ".join(cells) + " |")
    notes = list(meta.get("notes", []))
    for row in rows:
        notes += [f"{row['metric']}: {n}" for n in row["notes"]]
    if notes:
        lines.append("")
        lines.append("Notes:")
        lines += [f"- {n}" for n in notes]
    md = "\n".join(lines) + "\n"

    os.makedirs(out_dir, exist_ok=True)
    stamp = started[:19].replace(":", "").replace("-", "")
    for name in (f"{stamp}.json", "latest.json"):
        with open(os.path.join(out_dir, name), "w") as f:
            json.dump(result, f, indent=2)
    for name in (f"{stamp}.md", "latest.md"):
        with open(os.path.join(out_dir, name), "w") as f:
            f.write(md)
    if len(sys.argv) > 3:
        update_doc(sys.argv[3], md)
    sys.stdout.write(md)


START, END = "<!-- bench:latest:start -->", "<!-- bench:latest:end -->"


def update_doc(path, md):
    with open(path) as f:
        text = f.read()
    if START not in text or END not in text:
        print(f"report.py: {path} has no {START} ... {END} block; not updated", file=sys.stderr)
        return
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w") as f:
        f.write(head + START + "\n" + md + END + tail)


if __name__ == "__main__":
    main()
