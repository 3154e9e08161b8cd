#!/usr/bin/env python3
"""Helpers for scripts/bench.sh. Standard library only.

Each subcommand does one measured or polled step and prints its result on stdout (a number or JSON), so the
shell script stays a readable sequence of workloads. Durations come from time.monotonic(); moments the shell compares
with its own clock ($EPOCHREALTIME) are printed as epoch seconds.

  freeport                                  a free TCP port on 127.0.0.1 (closed again; tiny race accepted)
  gen-small DIR N SEED                      N small files of random content under DIR/small/dNN/, manifest DIR/small.manifest
  manifest DIR                              "relpath size sha256" of every file under DIR, sorted
  mkfiles DIR N                             creates N empty files in DIR; prints seconds
  empty-manifest PREFIX N OUT               the manifest of those N empty files, as PREFIX/eNNNNN
  readtree DIR                              reads every file under DIR; prints "files bytes seconds"
  wait-local ROOT MANIFEST TIMEOUT [GO [CAP]]
                                            polls a local folder (rclone's WebDAV backing folder) until it holds every
                                            file of MANIFEST with the right size and SHA-256; prints the epoch time of
                                            the first poll that matched and the count; with CAP, stops after CAP
                                            seconds and prints the time and how many files were durable by then
  wait-scaidrive MOUNT REMOTEDIR MANIFEST TIMEOUT [GO]
                                            polls the daemon's status (control socket, else `scaidrivefs status --json`) until
                                            pending_uploads is 0, then the server (env BENCH_SD_URL, BENCH_SD_TOKEN_FILE, BENCH_SD_SHARE) until
                                            REMOTEDIR holds every file of MANIFEST with the right size and checksum;
                                            prints the epoch time of the poll (status call) that led to the match, and the count.
                                            With GO, both waits start polling only once the file GO exists.
  sd-list URL TOKENFILE SHARE REMOTEDIR     raw HTTP listing of a folder (all pages); prints "entries seconds"
  dav-list URL PATH                         raw WebDAV PROPFIND depth 1; prints "entries seconds"
  sd-find URL TOKENFILE SHARE REMOTEPATH    prints the file object JSON of REMOTEPATH (or exits 1)
  sd-mkdir URL TOKENFILE SHARE NAME         creates a folder at the share root; prints its ID
  curl-config KIND BASE SHARE FOLDER SRC MANIFEST OUT HEADERFILE
                                            a curl config uploading every manifest file as one request each (KIND
                                            webdav: PUT; scaidrive: multipart POST into FOLDER), one connection
  sd-share URL TOKENFILE                    prints the ID of the caller's first share (the personal one on a fresh server)
  rss-sample PIDFILE OUT                    every 0.25 s reads VmHWM/VmRSS of the "label pid" lines of PIDFILE and keeps
                                            the peak per label in OUT (JSON), until killed
  fio-iops JSONFILE                         read IOPS from fio's JSON output
  paired-medians "A1 A2 .." "B1 B2 .."      rounds of two measurements side by side: prints the median of A, the median
                                            of B, then a note with each round's A, B and A/B and the median of the ratios
"""

import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET


def die(msg):
    print(f"benchlib: {msg}", file=sys.stderr)
    sys.exit(1)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def cmd_freeport(_args):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def cmd_gen_small(args):
    root, n, seed = args[0], int(args[1]), int(args[2])
    rng = random.Random(seed)
    base = os.path.join(root, "small")
    per_dir = 100
    lines = []
    for i in range(n):
        d = os.path.join(base, f"d{i // per_dir:02d}")
        os.makedirs(d, exist_ok=True)
        # Sizes of a source tree: mostly a few KiB, some up to 32 KiB.
        size = int(rng.lognormvariate(8.5, 1.0))
        size = max(64, min(size, 32 * 1024))
        data = rng.randbytes(size)
        name = f"f{i:05d}.dat"
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        lines.append(f"small/d{i // per_dir:02d}/{name} {size} {hashlib.sha256(data).hexdigest()}")
    lines.sort()
    with open(os.path.join(root, "small.manifest"), "w") as f:
        f.write("\n".join(lines) + "\n")


def manifest_of(root):
    out = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            out.append(f"{rel} {os.path.getsize(p)} {sha256_file(p)}")
    out.sort()
    return out


def cmd_manifest(args):
    for line in manifest_of(args[0]):
        print(line)


def read_manifest(path):
    entries = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                entries[parts[0]] = (int(parts[1]), parts[2])
    return entries


def cmd_mkfiles(args):
    d, n = args[0], int(args[1])
    os.makedirs(d, exist_ok=True)
    t0 = time.monotonic()
    for i in range(n):
        fd = os.open(os.path.join(d, f"e{i:05d}"), os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644)
        os.close(fd)
    print(f"{time.monotonic() - t0:.6f}")


def cmd_empty_manifest(args):
    prefix, n, out = args[0], int(args[1]), args[2]
    empty = hashlib.sha256(b"").hexdigest()
    with open(out, "w") as f:
        f.writelines(f"{prefix}/e{i:05d} 0 {empty}\n" for i in range(n))


def cmd_readtree(args):
    t0 = time.monotonic()
    files = 0
    total = 0
    for dirpath, _dirs, names in os.walk(args[0]):
        for name in sorted(names):
            with open(os.path.join(dirpath, name), "rb") as f:
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    total += len(b)
            files += 1
    print(f"{files} {total} {time.monotonic() - t0:.6f}")


# ---- local folder (rclone's WebDAV backing folder) -------------------------------------------------

def local_count(root, manifest, hashed):
    """How many manifest entries the folder holds with the right size and SHA-256. Sizes are cheap; a file is hashed
    once its size matches, and remembered once its hash did."""
    ok = 0
    for rel, (size, sha) in manifest.items():
        if rel in hashed:
            ok += 1
            continue
        path = os.path.join(root, rel)
        try:
            if os.path.getsize(path) != size:
                continue
            if sha256_file(path) != sha:
                continue
        except OSError:
            continue
        hashed.add(rel)
        ok += 1
    return ok


def wait_for_go(args, index, timeout):
    """The optional go file: the waiter starts before the workload (so it is warm) and polls once it appears."""
    if len(args) > index:
        deadline = time.monotonic() + timeout
        while not os.path.exists(args[index]):
            if time.monotonic() > deadline:
                die("the go file never appeared")
            time.sleep(0.005)


def cmd_wait_local(args):
    root, manifest, timeout = args[0], read_manifest(args[1]), float(args[2])
    cap = float(args[4]) if len(args) > 4 and float(args[4]) > 0 else None
    wait_for_go(args, 3, timeout)
    t0 = time.monotonic()
    hashed = set()
    while True:
        t = time.monotonic()
        wall = time.time()
        # The moment of durability is the poll at which everything matched; hashing after the sizes matched only
        # confirms it.
        ok = local_count(root, manifest, hashed)
        if ok == len(manifest):
            print(f"{wall:.6f} {ok}")
            return
        if cap is not None and t - t0 > cap:
            # Bounded wait: report how many were durable by now, so a rate can still be given.
            print(f"{wall:.6f} {ok}")
            return
        if t - t0 > timeout:
            die(f"timeout: {root} holds {ok} of the {len(manifest)} expected files after {timeout}s")
        time.sleep(0.05)


# ---- ScaiDrive server (raw HTTP) ------------------------------------------------------------------

class Sd:
    def __init__(self, url, token_file, share=None):
        self.url = url.rstrip("/")
        # utf-8-sig: the local server writes its token file with a byte-order mark.
        with open(token_file, encoding="utf-8-sig") as f:
            self.token = f.read().strip()
        self.share = share

    def get(self, path, query=None):
        q = "?" + urllib.parse.urlencode(query) if query else ""
        req = urllib.request.Request(self.url + path + q, headers={"Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)

    def children(self, folder_id):
        items = []
        offset = 0
        while True:
            page = self.get(f"/api/v1/folders/{folder_id}/children",
                            {"share_id": self.share, "limit": 5000, "offset": offset})
            batch = page.get("items", [])
            items.extend(batch)
            offset += len(batch)
            if not batch or offset >= page.get("total", offset):
                return items

    def resolve_folder(self, remote_dir):
        folder = "root"
        for part in [p for p in remote_dir.split("/") if p]:
            match = [i for i in self.children(folder) if i.get("type") == "folder" and i.get("name") == part]
            if not match:
                return None
            folder = match[0]["id"]
        return folder

    def tree(self, folder_id, prefix=""):
        """relpath -> (size, checksum) of every file below folder_id."""
        out = {}
        for item in self.children(folder_id):
            rel = prefix + item["name"]
            if item.get("type") == "folder":
                out.update(self.tree(item["id"], rel + "/"))
            else:
                out[rel] = (int(item.get("size", -1)), item.get("checksum_sha256"))
        return out


def sd_from_env():
    return Sd(os.environ["BENCH_SD_URL"], os.environ["BENCH_SD_TOKEN_FILE"], os.environ["BENCH_SD_SHARE"])


def control_socket(mount):
    """Where the daemon of MOUNT listens (ScaiDriveFS.Cli UserPaths.ControlSocket): asking it directly costs a
    millisecond, where starting `scaidrivefs status` costs a .NET start."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        base = os.path.join(runtime, "scaidrivefs")
    else:
        import getpass
        import tempfile
        base = os.path.join(tempfile.gettempdir(), f"scaidrivefs-{getpass.getuser()}")
    key = os.path.abspath(mount).rstrip("/")
    return os.path.join(base, hashlib.sha256(key.encode()).hexdigest()[:16] + ".sock")


def pending_uploads(mount):
    path = control_socket(mount)
    if os.path.exists(path):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(10)
                s.connect(path)
                s.sendall(b'{"command":"status"}\n')
                data = b""
                while not data.endswith(b"\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            return int(json.loads(data).get("pending_uploads", -1))
        except (OSError, ValueError):
            pass
    cli = os.environ.get("BENCH_SD_CLI", "scaidrivefs").split()
    r = subprocess.run(cli + ["status", mount, "--json"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return None
    try:
        return int(json.loads(r.stdout).get("pending_uploads", -1))
    except ValueError:
        return None


def cmd_wait_scaidrive(args):
    mount, remote_dir, manifest, timeout = args[0], args[1], read_manifest(args[2]), float(args[3])
    sd = sd_from_env()
    wait_for_go(args, 4, timeout)
    t0 = time.monotonic()
    while True:
        t = time.monotonic()
        wall = time.time()
        if pending_uploads(mount) == 0:
            folder = sd.resolve_folder(remote_dir)
            if folder is not None:
                # Manifest paths are relative to the mount root; the tree is relative to remote_dir.
                prefix = remote_dir.strip("/") + "/" if remote_dir.strip("/") else ""
                have = {prefix + k: v for k, v in sd.tree(folder).items()}
                if all(have.get(rel, (None, None))[0] == size and
                       (have[rel][1] in (None, sha) or size == 0) for rel, (size, sha) in manifest.items()):
                    print(f"{wall:.6f} {len(manifest)}")
                    return
        if t - t0 > timeout:
            die(f"timeout: the server does not hold the {len(manifest)} expected files of {remote_dir} after {timeout}s")
        time.sleep(0.1)


def cmd_sd_list(args):
    sd = Sd(args[0], args[1], args[2])
    folder = sd.resolve_folder(args[3])
    if folder is None:
        die(f"no folder {args[3]}")
    t0 = time.monotonic()
    n = len(sd.children(folder))
    print(f"{n} {time.monotonic() - t0:.6f}")


def cmd_sd_find(args):
    sd = Sd(args[0], args[1], args[2])
    parent, _, name = args[3].strip("/").rpartition("/")
    folder = sd.resolve_folder(parent)
    if folder is None:
        sys.exit(1)
    for item in sd.children(folder):
        if item.get("name") == name and item.get("type") != "folder":
            print(json.dumps(item))
            return
    sys.exit(1)


def cmd_sd_share(args):
    sd = Sd(args[0], args[1])
    shares = sd.get("/api/v1/users/me/shares")
    items = shares.get("shares", shares.get("items", [])) if isinstance(shares, dict) else shares
    if not items:
        die("the server lists no share for this token")
    print(items[0]["id"])


def cmd_sd_mkdir(args):
    sd = Sd(args[0], args[1], args[2])
    body = json.dumps({"share_id": sd.share, "name": args[3]}).encode()
    req = urllib.request.Request(sd.url + "/api/v1/folders", data=body, method="POST",
                                 headers={"Authorization": "Bearer " + sd.token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        print(json.load(r)["id"])


def cmd_curl_config(args):
    """One curl config that uploads every file of a manifest as its own request, flattened into one remote folder:
    webdav: PUT BASE/raw-small/NAME; scaidrive: multipart POST BASE/api/v1/files into folder FOLDER_ID."""
    kind, base, share, folder, src, manifest, out, header = args[:8]
    base = base.rstrip("/")
    blocks = []
    for rel in sorted(read_manifest(manifest)):
        name = rel.replace("/", "-")
        path = os.path.join(src, rel)
        lines = ['output = "/dev/null"', 'write-out = "%{http_code}\\n"']
        if kind == "webdav":
            lines += [f'url = "{base}/raw-small/{name}"', f'upload-file = "{path}"']
        else:
            lines += [f'url = "{base}/api/v1/files"', f'header = "@{header}"', f'form = "share_id={share}"',
                      f'form = "folder_id={folder}"', f'form = "name={name}"',
                      f'form = "file=@{path};type=application/octet-stream"']
        blocks.append("\n".join(lines))
    with open(out, "w") as f:
        f.write("\nnext\n".join(blocks) + "\n")


def cmd_dav_list(args):
    url = args[0].rstrip("/") + "/" + args[1].strip("/") + "/"
    t0 = time.monotonic()
    req = urllib.request.Request(url, method="PROPFIND", headers={"Depth": "1"})
    with urllib.request.urlopen(req, timeout=120) as r:
        body = r.read()
    n = len(ET.fromstring(body).findall("{DAV:}response")) - 1  # the folder itself is one response
    print(f"{n} {time.monotonic() - t0:.6f}")


# ---- memory ---------------------------------------------------------------------------------------

def read_status_kb(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def cmd_rss_sample(args):
    pidfile, out_path = args[0], args[1]
    peaks = {}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while True:
        try:
            with open(pidfile) as f:
                pids = [line.split() for line in f if len(line.split()) == 2]
        except OSError:
            pids = []
        for label, pid in pids:
            s = read_status_kb(pid)
            if not s:
                continue
            p = peaks.setdefault(label, {"hwm_kb": 0, "rss_kb": 0})
            p["hwm_kb"] = max(p["hwm_kb"], s.get("VmHWM", 0))
            p["rss_kb"] = max(p["rss_kb"], s.get("VmRSS", 0))
        tmp = out_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(peaks, f)
        os.replace(tmp, out_path)
        if stop:
            return
        time.sleep(0.25)


def cmd_fio_iops(args):
    with open(args[0]) as f:
        text = f.read()
    # fio may print warnings before the JSON document.
    j = json.loads(text[text.index("{"):])
    print(f"{sum(job['read']['iops'] for job in j['jobs']):.1f}")


def cmd_paired_medians(args):
    import statistics
    a = [float(x) for x in args[0].split()]
    b = [float(x) for x in args[1].split()]
    if not a or len(a) != len(b):
        die("paired-medians: two lists of the same non-zero length expected")
    ratios = [x / y for x, y in zip(a, b)]
    rounds = "; ".join(f"{x:.0f} vs {y:.0f} MB/s ({r:.2f})" for x, y, r in zip(a, b, ratios))
    print(f"{statistics.median(a):.3f} {statistics.median(b):.3f} rounds (mount vs curl): {rounds}; "
          f"median of the ratios {statistics.median(ratios):.2f}")


COMMANDS = {
    "freeport": cmd_freeport,
    "gen-small": cmd_gen_small,
    "manifest": cmd_manifest,
    "mkfiles": cmd_mkfiles,
    "empty-manifest": cmd_empty_manifest,
    "readtree": cmd_readtree,
    "wait-local": cmd_wait_local,
    "wait-scaidrive": cmd_wait_scaidrive,
    "sd-list": cmd_sd_list,
    "sd-find": cmd_sd_find,
    "sd-share": cmd_sd_share,
    "dav-list": cmd_dav_list,
    "sd-mkdir": cmd_sd_mkdir,
    "curl-config": cmd_curl_config,
    "rss-sample": cmd_rss_sample,
    "fio-iops": cmd_fio_iops,
    "paired-medians": cmd_paired_medians,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        die("usage: benchlib.py " + "|".join(COMMANDS) + " ARGS...")
    COMMANDS[sys.argv[1]](sys.argv[2:])
