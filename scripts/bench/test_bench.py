#!/usr/bin/env python3
"""Checks of the bench helpers that need no mount or server: the report's ratios and targets, the durability
count of a local folder, the curl config for raw uploads, the control-socket path.

  python3 scripts/bench/test_bench.py
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402


def write_run(run_dir, records, params=None):
    with open(os.path.join(run_dir, "meta.json"), "w") as f:
        json.dump({"started": "2026-01-02T03:04:05Z", "machine": {"cpu": "test", "cores": 2},
                   "params": params or {"size_mb": 1024, "small_files": 2000, "empty_files": 10000},
                   "notes": ["a note"]}, f)
    with open(os.path.join(run_dir, "results.jsonl"), "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def rec(system, metric, value, unit="MB/s", note=None):
    r = {"system": system, "metric": metric, "value": value, "unit": unit}
    if note:
        r["note"] = note
    return r


class ReportTests(unittest.TestCase):
    def run_report(self, records):
        with tempfile.TemporaryDirectory() as run, tempfile.TemporaryDirectory() as out:
            write_run(run, records)
            md = subprocess.run([sys.executable, os.path.join(HERE, "report.py"), run, out],
                                check=True, capture_output=True, text=True).stdout
            with open(os.path.join(out, "latest.json")) as f:
                latest = json.load(f)
            self.assertTrue(os.path.exists(os.path.join(out, "20260102T030405.json")))
            self.assertTrue(os.path.exists(os.path.join(out, "latest.md")))
            return md, {row["metric"]: row for row in latest["rows"]}

    def test_ratios_are_ours_over_other_and_targets_are_checked(self):
        md, rows = self.run_report([
            rec("scaidrive", "read_cold", 450.0), rec("scaidrive_raw", "read_cold", 500.0), rec("rclone", "read_cold", 80.0),
            rec("scaidrive", "rand4k", 900.0, "IOPS"), rec("rclone", "rand4k", 1000.0, "IOPS"),
            rec("scaidrive", "daemon_rss", 120.0, "MiB"), rec("rclone", "daemon_rss", 1300.0, "MiB"),
        ])
        read = rows["read_cold"]
        self.assertAlmostEqual(read["ratio_vs_raw"], 0.9)
        self.assertAlmostEqual(read["ratio_vs_rclone"], 450 / 80)
        self.assertTrue(read["target_met"])  # 0.9 >= 0.9
        self.assertFalse(rows["rand4k"]["target_met"])  # 0.9 < 1 x rclone
        self.assertEqual(rows["daemon_rss"]["better"], "lower")
        self.assertTrue(rows["daemon_rss"]["target_met"])  # 120 <= 300
        self.assertIn("1 GiB sequential read, cold", md)
        self.assertIn("NOT met (0.90)", md)
        self.assertIn("- a note", md)

    def test_missing_figures_are_na_and_unmeasured_targets_say_so(self):
        md, rows = self.run_report([rec("rclone", "small_durable", 20.0, "files/s"),
                                    rec("rclone", "change_median", None, "ms", "no change notification")])
        self.assertIsNone(rows["small_durable"]["ratio_vs_rclone"])
        self.assertIsNone(rows["small_durable"]["target_met"])
        self.assertIn("not measured", rows["small_durable"]["target"])
        self.assertIn("change_median: rclone: no change notification", md)
        self.assertNotIn("read_cold", rows)  # rows nobody measured are left out

    def test_daemon_rss_over_target_is_not_met(self):
        _, rows = self.run_report([rec("scaidrive", "daemon_rss", 301.0, "MiB")])
        self.assertFalse(rows["daemon_rss"]["target_met"])


class UpdateDocTests(unittest.TestCase):
    def test_replaces_only_the_marked_block(self):
        import report
        with tempfile.TemporaryDirectory() as tmp:
            doc = os.path.join(tmp, "doc.md")
            with open(doc, "w") as f:
                f.write(f"# title\n{report.START}\nold table\n{report.END}\nafter\n")
            report.update_doc(doc, "| new |\n")
            with open(doc) as f:
                self.assertEqual(f.read(), f"# title\n{report.START}\n| new |\n{report.END}\nafter\n")


class LocalDurabilityTests(unittest.TestCase):
    def test_counts_only_files_with_the_right_size_and_hash(self):
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "d"))
            good, bad = b"hello", b"world"
            with open(os.path.join(root, "d", "a"), "wb") as f:
                f.write(good)
            with open(os.path.join(root, "d", "b"), "wb") as f:
                f.write(bad)  # right size, wrong content
            manifest = {
                "d/a": (5, hashlib.sha256(good).hexdigest()),
                "d/b": (5, hashlib.sha256(b"other").hexdigest()),
                "d/c": (0, hashlib.sha256(b"").hexdigest()),  # missing
            }
            hashed = set()
            self.assertEqual(benchlib.local_count(root, manifest, hashed), 1)
            open(os.path.join(root, "d", "c"), "w").close()
            self.assertEqual(benchlib.local_count(root, manifest, hashed), 2)
            self.assertEqual(hashed, {"d/a", "d/c"})


class CurlConfigTests(unittest.TestCase):
    def test_one_request_per_file_separated_by_next(self):
        with tempfile.TemporaryDirectory() as tmp:
            manifest = os.path.join(tmp, "m")
            with open(manifest, "w") as f:
                f.write("small/d00/f1 3 x\nsmall/d00/f2 4 y\n")
            out = os.path.join(tmp, "cfg")
            benchlib.cmd_curl_config(["scaidrive", "http://h:1/", "shr_1", "fld_2", "/src", manifest, out, "/auth"])
            with open(out) as f:
                text = f.read()
            self.assertEqual(text.count("\nnext\n"), 1)
            self.assertIn('url = "http://h:1/api/v1/files"', text)
            self.assertIn('header = "@/auth"', text)
            self.assertIn('form = "name=small-d00-f2"', text)
            self.assertIn('form = "file=@/src/small/d00/f1;type=application/octet-stream"', text)
            benchlib.cmd_curl_config(["webdav", "http://h:1/", "-", "-", "/src", manifest, out, "-"])
            with open(out) as f:
                self.assertIn('url = "http://h:1/raw-small/small-d00-f1"', f.read())


class ControlSocketTests(unittest.TestCase):
    def test_path_matches_the_cli(self):
        # ScaiDriveFS.Cli UserPaths.ControlSocket: $XDG_RUNTIME_DIR/scaidrivefs/<sha256(full path)[:16]>.sock
        old = os.environ.get("XDG_RUNTIME_DIR")
        os.environ["XDG_RUNTIME_DIR"] = "/run/user/0"
        try:
            expected = hashlib.sha256(b"/mnt/x").hexdigest()[:16]
            self.assertEqual(benchlib.control_socket("/mnt/x/"), f"/run/user/0/scaidrivefs/{expected}.sock")
        finally:
            if old is None:
                del os.environ["XDG_RUNTIME_DIR"]
            else:
                os.environ["XDG_RUNTIME_DIR"] = old


if __name__ == "__main__":
    unittest.main(verbosity=2)
