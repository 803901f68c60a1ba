"""Start knotd, nsd and meridian on loopback ports for the differential and
malformed-packet suites.

Every server listens on 127.0.0.1 and ::1 only, on a free port, with its
configuration and state in a temporary directory that is removed afterwards.
Nothing here sends a packet anywhere but loopback: the zones' name servers are
never contacted (no NOTIFY, no transfers are configured).
"""

import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.query
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
FIXTURE_CONFIG = os.path.join(REPO, "Tests", "Fixtures", "meridian.yaml")

# Started by `swift test` (Foundation's Process), a suite inherits a signal mask with nearly every
# signal blocked (SigBlk in /proc/self/status), and so would every server it starts: nsd and knotd
# then never see the SIGTERM of Server.stop, which waits its 10 s and kills them, once per server
# per run. Children start with nothing blocked.
signal.pthread_sigmask(signal.SIG_SETMASK, set())


class Missing(Exception):
    """A tool the suite needs is not installed: the suite fails, saying which."""


# The Debian package (scripts/install-deps) of each tool the suites run; the Swift side has the
# same table (E2E.debianPackage in Tests/EndToEndTests/Support.swift).
PACKAGES = {
    "dig": "bind9-dnsutils", "kdig": "knot-dnsutils", "knotd": "knot", "kzonecheck": "knot-dnssecutils",
    "nsd": "nsd", "nsd-checkzone": "nsd", "unbound": "unbound", "unbound-checkconf": "unbound", "gdnsd": "gdnsd",
    "dnsperf": "dnsperf", "chromium": "chromium", "curl": "curl", "ip": "iproute2", "mmdblookup": "mmdb-bin",
}


def which(tool, package=None):
    """The path of `tool`; Missing, naming the Debian package to install, when it is not installed.
    Every suite locates its tools here."""
    for d in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/sbin", "/usr/bin", "/sbin"]:
        p = os.path.join(d, tool)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    package = package or PACKAGES.get(tool, tool)
    raise Missing(f"{tool} not found: install the Debian package {package} "
                  f"(apt-get install {package}, or scripts/install-deps)")


def load_zones(config_path):
    """(origin, absolute zone file path) for each zone of a meridian config.

    A deliberately small reader for the `zones:` list (origin/file pairs), so
    the suite needs nothing beyond dnspython.
    """
    base = os.path.dirname(os.path.abspath(config_path))
    zones, cur = [], None
    in_zones = False
    with open(config_path) as f:
        for raw in f:
            line = raw.split("#", 1)[0].rstrip()
            if not line.strip():
                continue
            if not raw.startswith((" ", "-", "\t")):
                in_zones = line.startswith("zones:")
                continue
            if not in_zones:
                continue
            s = line.strip()
            if s.startswith("- "):
                cur = {}
                zones.append(cur)
                s = s[2:].strip()
            if ":" in s and cur is not None:
                k, v = s.split(":", 1)
                cur[k.strip()] = v.strip().strip('"').strip("'")
    out = []
    for z in zones:
        origin = z["origin"] if z["origin"].endswith(".") else z["origin"] + "."
        path = z["file"] if os.path.isabs(z["file"]) else os.path.join(base, z["file"])
        out.append((origin, path))
    return out


def _ephemeral_range():
    """net.ipv4.ip_local_port_range, or Linux's default."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


_issued = set()
# Its own generator: a script that seeds the module-level one must not make every run pick the same ports.
_ports = random.SystemRandom()


def free_port():
    """A port free for UDP and TCP on 127.0.0.1 and ::1, not handed out before by this process,
    outside the ephemeral range that clients (dig, dnsperf, dnspython) take source ports from: a
    client whose source port is a server port nobody holds at that moment receives its own query."""
    low, high = _ephemeral_range()
    candidates = (10000, low - 1) if low > 12000 else (high + 1, 65535) if high < 63000 else (1024, max(1024, low - 1))
    for _ in range(200):
        port = _ports.randint(*candidates)
        if port in _issued:
            continue
        _issued.add(port)
        ok = True
        for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            for typ in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                t = socket.socket(fam, typ)
                try:
                    t.bind((addr, port))
                except OSError:
                    ok = False
                finally:
                    t.close()
        if ok:
            return port
    raise RuntimeError("no free loopback port")


class Server:
    """A running name server: name, host, port, process, temp dir."""

    def __init__(self, name, port, proc, tmp, log):
        self.name, self.port, self.proc, self.tmp, self.log = name, port, proc, tmp, log
        self.host = "127.0.0.1"
        self.host6 = "::1"

    def alive(self):
        return self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def wait_ready(server, origin, timeout=20.0):
    """Wait until the server answers SOA for origin with rcode NOERROR over UDP and TCP (an answer
    from its cache will do for a resolver)."""
    deadline = time.time() + timeout
    q = dns.message.make_query(origin, "SOA")
    last = None
    while time.time() < deadline:
        if not server.alive():
            raise RuntimeError(f"{server.name} exited with status {server.proc.returncode}:\n{server.log_text()}")
        try:
            r = dns.query.udp(q, server.host, port=server.port, timeout=0.5)
            if r.rcode() == 0 and r.answer:
                r = dns.query.tcp(q, server.host, port=server.port, timeout=1.0)
                if r.rcode() == 0 and r.answer:
                    return
            last = f"rcode {r.rcode()}"
        except Exception as e:  # not up yet
            last = repr(e)
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not answer SOA {origin} within {timeout}s ({last}):\n{server.log_text()}")


def _zone_copy(tmp, zones):
    d = os.path.join(tmp, "zones")
    os.makedirs(d)
    out = []
    for origin, path in zones:
        dst = os.path.join(d, origin + "zone")
        shutil.copyfile(path, dst)
        out.append((origin, dst))
    return d, out


def launch(name, tmp, port, argv, origins, timeout=20.0, cwd=None):
    """Starts a server (output to <name>.out in tmp) and waits until it answers SOA for every
    origin; stops it (and removes tmp) if it does not."""
    log = os.path.join(tmp, name + ".out")
    try:
        proc = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=cwd)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    s = Server(name, port, proc, tmp, log)
    try:
        for origin in origins:
            wait_ready(s, origin, timeout)
    except Exception:
        s.stop()
        raise
    return s


def _launch(name, tmp, port, zones, conf_name, conf_lines, command):
    """Writes the configuration, starts the daemon and waits until it answers for every zone."""
    conf = os.path.join(tmp, conf_name)
    with open(conf, "w") as f:
        f.write("\n".join(conf_lines) + "\n")
    return launch(name, tmp, port, command(conf), [origin for origin, _ in zones])


def udp_raw(server, wire, timeout=3):
    """The response datagram to `wire` sent to the server's 127.0.0.1 port (socket.timeout if none)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(wire, (server.host, server.port))
        data, _ = s.recvfrom(65535)
        return data
    finally:
        s.close()


def tcp_raw(server, wire, timeout=5):
    """The response to `wire` sent framed over one TCP connection to the server's 127.0.0.1 port."""
    s = socket.create_connection((server.host, server.port), timeout=timeout)
    try:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        head = recv_exact(s, 2)
        data = recv_exact(s, struct.unpack("!H", head)[0]) if head else None
        if data is None:
            raise ConnectionError("the TCP connection closed before a whole response")
        return data
    finally:
        s.close()


def recv_exact(s, n):
    """n bytes from a stream socket, or None when it closes first."""
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def start_knot(zones, port=None):
    knotd = which("knotd", "knot")
    port = port or free_port()
    tmp = tempfile.mkdtemp(prefix="meridian-knot-")
    zdir, zs = _zone_copy(tmp, zones)
    lines = [
        "server:",
        f"    rundir: {tmp}",
        f"    listen: [ 127.0.0.1@{port}, ::1@{port} ]",
        "    udp-workers: 1",
        "    tcp-workers: 1",
        "    background-workers: 1",
        "database:",
        f"    storage: {tmp}/db",
        "log:",
        "  - target: stderr",
        "    any: warning",
        "template:",
        "  - id: default",
        f"    storage: {zdir}",
        "    zonefile-sync: -1",
        "    zonefile-load: whole",
        "    journal-content: none",
        "zone:",
    ]
    for origin, path in zs:
        lines += [f"  - domain: {origin}", f"    file: {path}"]
    return _launch("knot", tmp, port, zones, "knot.conf", lines, lambda conf: [knotd, "-c", conf])


def start_nsd(zones, port=None):
    nsd = which("nsd", "nsd")
    port = port or free_port()
    tmp = tempfile.mkdtemp(prefix="meridian-nsd-")
    zdir, zs = _zone_copy(tmp, zones)
    lines = [
        "server:",
        f"    ip-address: 127.0.0.1@{port}",
        f"    ip-address: ::1@{port}",
        f"    port: {port}",
        "    server-count: 1",
        '    username: ""',
        '    chroot: ""',
        f"    zonesdir: {zdir}",
        '    database: ""',
        f"    zonelistfile: {tmp}/zone.list",
        f"    pidfile: {tmp}/nsd.pid",
        f"    xfrdfile: {tmp}/xfrd.state",
        f"    xfrdir: {tmp}",
        f"    logfile: {tmp}/nsd.log",
        "    verbosity: 1",
        # Debian's nsd rate-limits by default; the corpus would trip it.
        "    rrl-ratelimit: 0",
        "    minimal-responses: yes",
        "    hide-version: yes",
        "    hide-identity: yes",
        "remote-control:",
        "    control-enable: no",
    ]
    for origin, path in zs:
        lines += ["zone:", f"    name: {origin}", f"    zonefile: {path}"]
    return _launch("nsd", tmp, port, zones, "nsd.conf", lines, lambda conf: [nsd, "-d", "-c", conf])


def start_meridian(binary, zones, port=None, extra_yaml=""):
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        raise Missing(f"meridian binary not found at {binary}: run `swift build` first")
    port = port or free_port()
    tmp = tempfile.mkdtemp(prefix="meridian-mer-")
    zdir, zs = _zone_copy(tmp, zones)
    lines = [f'listen: ["127.0.0.1:{port}", "[::1]:{port}"]', "workers: 1"]
    if extra_yaml:
        lines.append(extra_yaml.rstrip())
    lines.append("zones:")
    for origin, path in zs:
        lines += [f"  - origin: {origin}", f"    file: zones/{os.path.basename(path)}"]
    return _launch("meridian", tmp, port, zones, "meridian.yaml", lines, lambda conf: [binary, "serve", "--config", conf])


def default_meridian():
    for p in (os.path.join(REPO, ".build", "debug", "meridian"),
              os.path.join(REPO, ".build-e2e", "debug", "meridian")):
        if os.path.isfile(p):
            return p
    return os.path.join(REPO, ".build", "debug", "meridian")


def eprint(*a):
    print(*a, file=sys.stderr, flush=True)


def unbound_config(tmp, port, stubs, modules, outgoing="127.0.0.1", extra=()):
    """The config of an Unbound on 127.0.0.1@port for the resolver suites: one thread, no IPv6,
    a fake root on loopback (so nothing leaves the machine), ECS sent to the stub zones' servers
    (the client's own option when it sends one, else its address as a /24), `stubs` a list of
    (zone, port of its server on 127.0.0.1), `modules` the module-config, `extra` more server:
    lines. Returns the config file's path."""
    lines = [
        "server:",
        f"    interface: 127.0.0.1@{port}",
        "    interface-automatic: no",
        "    do-ip6: no",
        '    username: ""',
        '    chroot: ""',
        f'    directory: "{tmp}"',
        f'    pidfile: "{tmp}/unbound.pid"',
        '    logfile: ""',
        "    use-syslog: no",
        "    verbosity: 1",
        "    num-threads: 1",
        "    so-reuseport: no",
        "    access-control: 127.0.0.0/8 allow",
        f'    module-config: "{modules}"',
        f"    outgoing-interface: {outgoing}",
        "    do-not-query-localhost: no",
        f'    root-hints: "{tmp}/root.hints"',
        "    qname-minimisation: no",
        "    prefetch: no",
        "    send-client-subnet: 127.0.0.1",
        "    max-client-subnet-ipv4: 24",
    ] + [f"    {e}" for e in extra]
    for zone, upstream in stubs:
        lines += ["stub-zone:", f'    name: "{zone}"', f"    stub-addr: 127.0.0.1@{upstream}"]
    lines += ["remote-control:", "    control-enable: no"]
    with open(os.path.join(tmp, "root.hints"), "w") as f:
        f.write(". 3600000 NS fake-root.\nfake-root. 3600000 A 127.0.0.254\n")
    conf = os.path.join(tmp, "unbound.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return conf
