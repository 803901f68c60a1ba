"""Shared helpers for run.py and load.py: server configs, process control,
/proc accounting, a minimal DNS readiness probe.

Every server is started by us, in the foreground, in its own session (so we
can stop exactly the process group we started), on 127.0.0.1 and a port we
picked, with a config and runtime directory inside a temp dir. Nothing is
installed or started as a system service.
"""

import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
DEFAULT_MERIDIAN = os.path.join(REPO, ".build-release", "release", "meridian")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# ports, /proc

def free_port(used=()):
    """A port that is free for both UDP and TCP on 127.0.0.1."""
    for _ in range(200):
        port = random.randrange(20000, 60000)
        if port in used:
            continue
        try:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, kind)
                try:
                    s.bind(("127.0.0.1", port))
                finally:
                    s.close()
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name, field 3 at index 0."""
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    return data[data.rindex(")") + 2:].split()


def process_tree(root):
    """root and all its descendants (nsd forks its server processes)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(d))[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def cpu_times(root):
    """{pid: (utime_s, stime_s)} for root's process tree.

    /proc/PID/stat utime/stime are the totals of all threads of the process
    (live and exited), in clock ticks."""
    res = {}
    for pid in process_tree(root):
        try:
            f = _stat_fields(pid)
        except OSError:
            continue
        res[pid] = (int(f[11]) / CLK_TCK, int(f[12]) / CLK_TCK)
    return res


def cpu_delta(before, after):
    """Sum of (utime, stime) increases over processes present in both."""
    u = s = 0.0
    for pid, (ua, sa) in after.items():
        ub, sb = before.get(pid, (0.0, 0.0))
        u += ua - ub
        s += sa - sb
    return u, s


def system_busy():
    """(busy_ticks, total_ticks) from /proc/stat, all CPUs."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    total = sum(v[:8])
    return total - idle, total


def memory(root):
    """[(pid, comm, VmRSS kB, VmHWM kB, Pss kB)] for root's process tree.

    Pss (proportional set size, /proc/PID/smaps_rollup) splits pages shared
    between processes (nsd's forked servers share the zone with the main
    process), so summing Pss over the tree does not count them twice."""
    res = []
    for pid in process_tree(root):
        vals = {"Name": "?", "VmRSS": 0, "VmHWM": 0}
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k == "Name":
                        vals["Name"] = v.strip()
                    elif k in ("VmRSS", "VmHWM"):
                        vals[k] = int(v.split()[0])
        except OSError:
            continue
        pss = 0
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss = int(line.split()[1])
        except OSError:
            pass
        res.append((pid, vals["Name"], vals["VmRSS"], vals["VmHWM"], pss))
    return res


# --------------------------------------------------------------------------
# minimal DNS probe (readiness / load time)

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def skip_name(msg, i):
    """The offset just past the (possibly compressed) name at msg[i]."""
    while True:
        n = msg[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += 1 + n


def probe(port, qname, qtype=6, timeout=0.2, dnssec=False):
    """Send one UDP query to 127.0.0.1:port. Returns (rcode, aa, ancount) or None; with dnssec
    (EDNS, 1232 bytes, DO=1), (rcode, aa, ancount, RRSIGs in the answer section)."""
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1 if dnssec else 0)
    for label in qname.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", qtype, 1)
    if dnssec:
        q += b"\x00" + struct.pack(">HHIH", 41, 1232, 0x8000, 0)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q, ("127.0.0.1", port))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = s.recv(65535)
            if len(data) < 12:
                continue
            rid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", data[:12])
            if rid != qid:
                continue
            if not dnssec:
                return flags & 0xF, bool(flags & 0x0400), an
            i = 12
            for _ in range(qd):
                i = skip_name(data, i) + 4
            sigs = 0
            for _ in range(an):
                i = skip_name(data, i)
                t, _, _, rdlen = struct.unpack(">HHIH", data[i:i + 10])
                i += 10 + rdlen
                sigs += t == 46
            return flags & 0xF, bool(flags & 0x0400), an, sigs
    except (OSError, IndexError, struct.error):
        return None
    finally:
        s.close()
    return None


# --------------------------------------------------------------------------
# servers

class Server:
    name = "?"

    def __init__(self, workdir, port, zone, origin, workers=2):
        self.dir = os.path.join(workdir, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port
        self.zone = os.path.abspath(zone)
        self.origin = origin if origin.endswith(".") else origin + "."
        self.workers = workers
        self.proc = None
        self.logfile = os.path.join(self.dir, "server.log")
        self.started_at = None

    def configure(self):
        raise NotImplementedError

    def command(self):
        raise NotImplementedError

    def available(self):
        return shutil.which(self.command()[0]) is not None or os.access(self.command()[0], os.X_OK)

    def start(self):
        self.configure()
        out = open(self.logfile, "ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir, start_new_session=True)
        out.close()
        return self.proc

    def wait_ready(self, timeout=30.0, interval=0.01, signed=False):
        """Poll until the zone's SOA is answered authoritatively (signed: asked with DO=1 and
        answered with its RRSIG). Returns seconds since start() or raises."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s; log:\n%s" % (self.name, self.proc.returncode, self.log_tail()))
            r = probe(self.port, self.origin, 6, timeout=0.05, dnssec=signed)
            ok = r and r[0] == 0 and r[1] and r[2] >= 1 and (not signed or r[3] >= 1)
            if ok:
                return time.monotonic() - self.started_at
            time.sleep(interval)
        raise RuntimeError("%s did not answer %s SOA%s within %.0fs; log:\n%s" % (
            self.name, self.origin, " with its RRSIG" if signed else "", timeout, self.log_tail()))

    def log_tail(self, n=20):
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            pgid = self.proc.pid  # leader of the session we created
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        # Forked children (nsd) live in the same process group; make sure
        # none of them outlives the leader.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc = None


class Knot(Server):
    name = "knotd"

    def configure(self):
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        with open(os.path.join(self.dir, "knot.conf"), "w") as f:
            f.write("""server:
    rundir: "{d}"
    listen: 127.0.0.1@{port}
    udp-workers: {w}
    tcp-workers: {w}
    background-workers: 1
database:
    storage: "{d}/db"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "{d}/db"
    journal-content: none
    zonefile-sync: -1
    zonefile-load: whole
zone:
  - domain: {origin}
    file: "{zone}"
""".format(d=self.dir, port=self.port, w=self.workers, origin=self.origin, zone=self.zone))

    def command(self):
        return ["knotd", "-c", os.path.join(self.dir, "knot.conf")]


class NSD(Server):
    name = "nsd"

    def configure(self):
        with open(os.path.join(self.dir, "nsd.conf"), "w") as f:
            f.write("""server:
    ip-address: 127.0.0.1@{port}
    port: {port}
    do-ip6: no
    server-count: {w}
    reuseport: yes
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    zonelistfile: "{d}/zone.list"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}"
    pidfile: "{d}/nsd.pid"
    verbosity: 1
    hide-version: no
    minimal-responses: yes
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: {origin}
    zonefile: "{zone}"
""".format(d=self.dir, port=self.port, w=self.workers, origin=self.origin, zone=self.zone))

    def command(self):
        # -d: stay in the foreground (it still forks its server processes).
        return ["nsd", "-d", "-c", os.path.join(self.dir, "nsd.conf")]


class Gdnsd(Server):
    name = "gdnsd"

    def configure(self):
        cdir = os.path.join(self.dir, "etc")
        os.makedirs(os.path.join(cdir, "zones"), exist_ok=True)
        with open(os.path.join(cdir, "config"), "w") as f:
            f.write("""options => {{
    listen => [ 127.0.0.1 ]
    dns_port => {port}
    udp_threads => {w}
    tcp_threads => {w}
    experimental_no_chain => false
    run_dir => {d}/run
    state_dir => {d}/state
}}
""".format(d=self.dir, port=self.port, w=self.workers))
        target = os.path.join(cdir, "zones", self.origin.rstrip("."))
        if os.path.lexists(target):
            os.unlink(target)
        os.symlink(self.zone, target)

    def command(self):
        return ["gdnsd", "-c", os.path.join(self.dir, "etc"), "start"]


class Meridian(Server):
    name = "meridian"
    binary = DEFAULT_MERIDIAN
    # Extra top-level YAML for this server only (run.py --meridian-yaml), e.g. a rate-limit section
    # to measure its cost against the baseline.
    extra_yaml = ""

    def configure(self):
        with open(os.path.join(self.dir, "meridian.yaml"), "w") as f:
            f.write("""listen: ["127.0.0.1:{port}"]
workers: {w}
{extra}zones:
  - origin: {origin}
    file: {zone}
""".format(port=self.port, w=self.workers, origin=self.origin, zone=self.zone,
           extra=(self.extra_yaml.rstrip() + "\n") if self.extra_yaml else ""))

    def command(self):
        return [self.binary, "serve", "--config", os.path.join(self.dir, "meridian.yaml")]

    def available(self):
        return os.access(self.binary, os.X_OK)


def git_revision():
    """Short HEAD of the repository, '+dirty' if Sources/ has uncommitted changes
    (the meridian binary may have been built from them)."""
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "Sources", "Package.swift"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def binary_age(path):
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(path)))
    except OSError:
        return "?"


class MeridianBaseline(Meridian):
    """An earlier meridian binary (run.py --baseline), measured like a peer: before/after ratios."""
    name = "baseline"
    binary = ""
    extra_yaml = ""  # never the extra settings of --meridian-yaml: an older binary may not know them


SERVERS = {"meridian": Meridian, "knotd": Knot, "nsd": NSD, "gdnsd": Gdnsd, "baseline": MeridianBaseline}


class Workdir:
    """Temp dir for configs and runtime state, removed on exit."""

    def __init__(self, keep=False):
        self.path = tempfile.mkdtemp(prefix="meridian-bench-")
        self.keep = keep

    def cleanup(self):
        if self.path and not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)
        self.path = None


def server_version(name):
    """The version a server prints of itself (meridian, baseline, knotd, nsd, gdnsd, pdns)."""
    cmd = {"knotd": ["knotd", "--version"], "nsd": ["nsd", "-v"], "gdnsd": ["gdnsd", "-h"],
           "pdns": ["pdns_server", "--version"], "meridian": [Meridian.binary, "--version"],
           "baseline": [MeridianBaseline.binary, "--version"]}[name]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        txt = p.stdout + p.stderr
        v = re.search(r"(?:[Vv]ersion:?|Authoritative Server) ?([\w.\-]+)", txt)
        return v.group(1) if v else txt.strip().splitlines()[0][:60]
    except Exception as e:  # noqa: BLE001
        return "? (%s)" % e


def stop_servers(servers, outdir, work):
    """Saves the last 200 log lines of each server as server-NAME.log in outdir, stops them all
    and removes the work directory."""
    for s in servers:
        try:
            with open(os.path.join(outdir, "server-%s.log" % s.name), "w") as f:
                f.write(s.log_tail(200))
        except OSError:
            pass
        s.stop()
    work.cleanup()


def link_latest(outdir, latest):
    """Points the symbolic link `latest` at the run directory `outdir` (a sibling)."""
    try:
        if os.path.islink(latest):
            os.unlink(latest)
        os.symlink(os.path.basename(outdir), latest)
    except OSError:
        pass


def install_signal_handlers():
    """Turn SIGTERM/SIGHUP into SystemExit so finally: blocks stop the daemons."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)
