#!/usr/bin/python3
"""Zones signed elsewhere, served by meridian as they are, through real validators.

Tests/Fixtures/dnssec/example.com.zone (without its service names: nothing routes here) is
signed by ldns-signzone with a KSK and a ZSK made by ldns-keygen, three ways: with NSEC, with
NSEC3 (1 iteration, a salt) and with NSEC3 opt-out. Each signed file is served by its own
meridian, with no dnssec: settings (its RRSIGs, NSEC and NSEC3 are the zone's data), with a
validating Unbound (trust anchor: ldns-keygen's DS of the KSK) and delv in front of it.

The cases, by group (one per way of signing, `nsec`, `nsec3`, `optout`, and `checks`):
  nsec, nsec3, optout   every name of the corpus through delv and through Unbound: data, CNAME
            chains, DNAME, wildcard answers and wildcard NODATA, NODATA, NXDOMAIN (a real
            NXDOMAIN: the zone's own chain proves it), an empty non-terminal, DS and the proof
            of no DS, SOA and DNSKEY, and names not in the corpus; DO=0 gets no DNSSEC record;
  checks    a zone whose signatures have expired makes Unbound answer SERVFAIL (the
            validator is validating what meridian serves), and `meridian check` warns about
            it and about signatures that expire within a week, with the file and line; a
            service name in such a zone is refused (meridian holds no key to sign its answers).

    presigned_unbound.py --meridian .build/debug/meridian [--group GROUP] [-k PATTERN]
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import dns.flags
import dns.rcode

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dnssec_unbound as du  # noqa: E402
from dnssec_unbound import ZONE, ZONE_FILE, answered, ask, bogus, delv, fqdn, of_type, servers, start_unbound, suite, which  # noqa: E402
from servers import Missing, default_meridian, free_port  # noqa: E402

# The corpus of the online-signing suite without the routed names, and what differs when the
# zone proves denial itself: an NSEC query has an answer only where the chain has an NSEC.
ROUTED = {"geo", "weighted", "down"}
NAMES = [n for n in du.NAMES if n[0] not in ROUTED and n[1] != "NSEC"] + [
    ("ns1", "A", "data", "192.0.2.53"),
    ("new", "A", "nodata", None),             # an empty non-terminal made by x.new
    ("wild", "TXT", "nodata", None),          # the wildcard's parent, an empty non-terminal
    ("x.block.wild", "A", "nxname", None),    # below the name that blocks the wildcard
    ("mail", "MX", "nodata", None),
]
# The zone-file text without the routed names (none have records) is the fixture itself.
WAYS = {
    "nsec": [],
    "nsec3": ["-n", "-s", "abcd", "-t", "1"],
    "optout": ["-n", "-p", "-s", "abcd", "-t", "1"],
}
# RFC 5155 §9.2: "The Opt-Out bit ... indicates that the NSEC3 RR may cover unsigned
# delegations." An answer whose proof is an NSEC3 covering the next closer name (NXDOMAIN §7.2.2,
# wildcard NODATA §7.2.5, a wildcard answer §7.2.6) proves nothing secure when that NSEC3 has the
# Opt-Out bit (ldns-signzone -p sets it on every NSEC3): the name could be below an unsigned
# delegation. Validators answer those as insecure (no AD), never bogus: what is checked for them
# in the opt-out zone is the right RCODE and data without SERVFAIL. Meridian sends the proofs
# §7.2 asks for, which the other two ways of signing validate as secure.
WILDCARD = {("any.wild", "A"), ("deep.any.wild", "TXT"), ("any.wild", "MX")}


def opt_out_insecure(way, label, rdtype, kind):
    return way == "optout" and (kind == "nxname" or (label, rdtype) in WILDCARD)


class Signed:
    """The fixture signed by ldns-signzone one way, with its keys and the KSK's DS."""

    def __init__(self, way, expiration=None, inception=None):
        self.dir = tempfile.mkdtemp(prefix=f"meridian-presigned-{way}-")
        keygen, signzone = which("ldns-keygen", "ldnsutils"), which("ldns-signzone", "ldnsutils")
        names = []
        for extra in (["-k"], []):
            r = subprocess.run([keygen, "-a", "ECDSAP256SHA256", *extra, ZONE], cwd=self.dir, capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                raise RuntimeError(f"ldns-keygen: {r.stderr}")
            names.append(r.stdout.strip())
        self.zone = os.path.join(self.dir, "example.com.zone")
        shutil.copyfile(ZONE_FILE, self.zone)
        times = (["-e", expiration] if expiration else []) + (["-i", inception] if inception else [])
        r = subprocess.run([signzone, *WAYS[way], *times, "-f", self.zone + ".signed", self.zone, *names],
                           cwd=self.dir, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"ldns-signzone {WAYS[way]}: {r.stderr}")
        with open(os.path.join(self.dir, names[0] + ".ds")) as f:
            self.ds = next(line for line in f if " DS " in line or "\tDS\t" in line).strip()
        with open(os.path.join(self.dir, names[0] + ".key")) as f:
            record = next(line for line in f if line.strip() and not line.startswith(";")).split(";")[0].split()
        self.anchor = os.path.join(self.dir, "delv-anchor.conf")
        with open(self.anchor, "w") as f:
            f.write(f'trust-anchors {{ {ZONE} static-key {record[3]} {record[4]} {record[5]} "{"".join(record[6:])}"; }};\n')

    def stop(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def start_meridian(binary, signed):
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="meridian-presigned-")
    shutil.copyfile(signed.zone + ".signed", os.path.join(tmp, "example.com.zone"))
    with open(os.path.join(tmp, "meridian.yaml"), "w") as f:
        f.write(f'listen: ["127.0.0.1:{port}"]\nworkers: 1\nzones:\n  - origin: {ZONE}\n    file: example.com.zone\n')
    return servers.launch("meridian", tmp, port, [binary, "serve", "--config", os.path.join(tmp, "meridian.yaml")], [ZONE],
                          timeout=60, cwd=tmp)


def unseen_names(way):
    """Names and types the corpus does not have, drawn afresh each run (the seed is printed)."""
    seed = int(time.time())
    rng = random.Random(seed)
    labels = ["www", "mail", "wild", "b.ent", "new", "old", "nope", "zz", "a", "0", "-x"]
    out = []
    for _ in range(12):
        name = ".".join(rng.choice(["q", "r9", "zz", "m-1", "a"]) + str(rng.randrange(100)) for _ in range(rng.randrange(1, 3)))
        out.append((f"{name}.{rng.choice(labels)}", rng.choice(["A", "AAAA", "TXT", "MX"])))
    return seed, out


def sections(message):
    """The answer and authority sections as sets of records in text, for comparing servers."""
    return [sorted(rr for rrset in section for rr in rrset.to_text().splitlines()) for section in (message.answer, message.authority)]


def corpus_cases(way):
    def delv_case(label, rdtype, kind, want):
        def case(check, fx):
            name = fqdn(label)
            out = (lambda r: r.stdout + r.stderr)(delv(fx.meridian(way).port, fx.signed(way).anchor, name, rdtype))
            if opt_out_insecure(way, label, rdtype, kind) and kind == "data":
                check("; unsigned answer" in out and (not want or want in out), f"delv {name} {rdtype}: insecure (opt-out):\n{out}")
            elif kind == "data":
                check("; fully validated" in out and (not want or want in out), f"delv {name} {rdtype}: fully validated:\n{out}")
            else:
                check("negative response, fully validated" in out, f"delv {name} {rdtype}: a validated negative answer:\n{out}")
                check(("nxdomain" in out) == (kind == "nxname"), f"delv {name} {rdtype}: NXDOMAIN only for a name that does not exist:\n{out}")
        return case

    def unbound_case(label, rdtype, kind, want):
        def case(check, fx):
            name = fqdn(label)
            r = ask(fx.unbound(way).port, name, rdtype)
            secure = not opt_out_insecure(way, label, rdtype, kind)
            if kind == "nxname":
                check(r.rcode() == dns.rcode.NXDOMAIN and (bool(r.flags & dns.flags.AD) or not secure),
                      f"a{' validated' if secure else 'n'} NXDOMAIN: {name} {rdtype}:\n{r}")
            else:
                answered(check, r, name, rdtype, kind, want, validated=secure)

        return case

    def unseen(check, fx):
        seed, names = unseen_names(way)
        for label, rdtype in names:
            name = fqdn(label)
            r = ask(fx.unbound(way).port, name, rdtype)
            direct = ask(fx.meridian(way).port, name, rdtype)
            check(r.rcode() == direct.rcode() and r.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN),
                  f"seed {seed}: {name} {rdtype}: the validator's answer, {dns.rcode.to_text(r.rcode())}, is meridian's:\n{r}\n{direct}")
            # Every unseen name is an NXDOMAIN or a wildcard's: insecure, not bogus, with opt-out.
            if way != "optout":
                check(bool(r.flags & dns.flags.AD), f"seed {seed}: {name} {rdtype}: AD set:\n{r}")

    def same_as_nsd(check, fx):
        seed, unseen = unseen_names(way)
        nsd = fx.nsd(way)
        for label, rdtype in [(n[0], n[1]) for n in NAMES] + unseen + [("unsigned", "A"), ("x.unsigned", "AAAA"), ("secure", "A")]:
            name = fqdn(label)
            ours, theirs = ask(fx.meridian(way).port, name, rdtype), ask(nsd.port, name, rdtype)
            if label.endswith(".old") and theirs.rcode() == dns.rcode.NXDOMAIN:
                # A name below the DNAME whose substitution does not exist: NSD 4.6 proves only that no
                # wildcard matches the new name, not that the name itself does not exist. RFC 4035
                # §3.1.3.2 asks for both: "An NSEC RR proving that there is no exact match for
                # <SNAME, SCLASS>. An NSEC RR proving that the zone contains no RRsets that would
                # match <SNAME, SCLASS> via wildcard name expansion." Meridian sends both (delv and
                # Unbound validate them above); NSD's records must be among Meridian's.
                mine, nsds = sections(ours), sections(theirs)
                check(ours.rcode() == theirs.rcode() and mine[0] == nsds[0] and set(nsds[1]) <= set(mine[1]),
                      f"seed {seed}: {name} {rdtype}: NSD's answer is within meridian's:\n{ours}\n--- NSD:\n{theirs}")
                continue
            check(ours.rcode() == theirs.rcode() and sections(ours) == sections(theirs),
                  f"seed {seed}: {name} {rdtype}: meridian's answer and authority are NSD's:\n{ours}\n--- NSD:\n{theirs}")

    def do_zero(check, fx):
        for label, rdtype in [("www", "A"), ("nope", "A"), ("any.wild", "A"), ("unsigned", "DS")]:
            r = ask(fx.meridian(way).port, fqdn(label), rdtype, do=False)
            kinds = {rrset.rdtype for section in (r.answer, r.authority) for rrset in section}
            check(not kinds & {46, 47, 50}, f"DO=0 {label} {rdtype}: no RRSIG, NSEC or NSEC3:\n{r}")

    C = suite.Case
    return ([C(way, f"delv {fqdn(l)} {t}", delv_case(l, t, k, w)) for l, t, k, w in NAMES]
            + [C(way, f"unbound {fqdn(l)} {t}", unbound_case(l, t, k, w)) for l, t, k, w in NAMES]
            + [C(way, "names the corpus does not have: the validator's answer is meridian's, validated", unseen),
               C(way, "DO=0: no DNSSEC records", do_zero),
               C(way, "DO=1 answers are NSD's (RCODE, answer and authority sections as sets of records)", same_as_nsd)])


def expired_signatures(check, fx):
    signed = Signed("nsec", expiration="20250101000000", inception="20240101000000")
    meridian = start_meridian(fx.binary, signed)
    unbound = start_unbound(meridian.port, signed.ds, bogus=True)
    try:
        r = ask(meridian.port, "www.example.com.", "A")
        check(bool(of_type(r, "RRSIG")), f"meridian serves the expired signatures as they are:\n{r}")
        bogus(check, ask(unbound.port, "www.example.com.", "A"), "signatures that expired on 2025-01-01")
        check(meridian.alive(), "meridian still running")
        warned = [line for line in meridian.log_text().splitlines() if "expired at 2025-01-01 00:00:00 UTC" in line]
        check(bool(warned), f"meridian serve warns about the expired signatures:\n{meridian.log_text()[-3000:]}")
    finally:
        unbound.stop()
        meridian.stop()
        signed.stop()


def check_warnings(check, fx):
    soon = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() + 2 * 86400))
    signed = Signed("nsec3", expiration=soon)
    tmp = tempfile.mkdtemp(prefix="meridian-presigned-check-")
    try:
        shutil.copyfile(signed.zone + ".signed", os.path.join(tmp, "example.com.zone"))
        with open(os.path.join(tmp, "meridian.yaml"), "w") as f:
            f.write(f'listen: ["127.0.0.1:{free_port()}"]\nzones:\n  - origin: {ZONE}\n    file: example.com.zone\n')
        r = subprocess.run([fx.binary, "check", "--config", os.path.join(tmp, "meridian.yaml")], capture_output=True, text=True, timeout=60)
        out = r.stdout + r.stderr
        check(r.returncode == 0, f"meridian check accepts the zone (warnings are not errors):\n{out}")
        lines = [line for line in out.splitlines() if ": warning: RRSIG " in line and " expires at " in line]
        check(len(lines) > 3, f"meridian check warns about the signatures expiring in 2 days:\n{out}")
        check(all(line.startswith(os.path.join(tmp, "example.com.zone") + ":") or line.startswith("example.com.zone:") for line in lines),
              f"each warning names the file and line:\n{out}")
        check(any("RRSIG NSEC3 at " in line for line in lines) and any("RRSIG SOA at example.com." in line for line in lines),
              f"NSEC3 and SOA signatures among them:\n{out}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        signed.stop()


def service_name_refused(check, fx):
    signed = Signed("nsec")
    tmp = tempfile.mkdtemp(prefix="meridian-presigned-service-")
    try:
        shutil.copyfile(signed.zone + ".signed", os.path.join(tmp, "example.com.zone"))
        config = os.path.join(tmp, "meridian.yaml")
        with open(config, "w") as f:
            f.write(f'listen: ["127.0.0.1:{free_port()}"]\nzones:\n  - origin: {ZONE}\n    file: example.com.zone\n'
                    "datacenters:\n  iad: { addresses: [192.0.2.1] }\n"
                    "services:\n  geo.example.com.: { policy: round-robin, datacenters: [iad], ttl: 60 }\n")
        r = subprocess.run([fx.binary, "check", "--config", config], capture_output=True, text=True, timeout=60)
        out = r.stdout + r.stderr
        check(r.returncode != 0, f"meridian check refuses a service name in a zone signed elsewhere:\n{out}")
        check(f"{config}:8: services.geo.example.com.: zone example.com. is signed elsewhere" in out,
              f"with the config line and the reason:\n{out}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        signed.stop()


CASES = (corpus_cases("nsec") + corpus_cases("nsec3") + corpus_cases("optout")
         + [suite.Case("checks", "expired signatures: served as they are, Unbound answers SERVFAIL, meridian warns", expired_signatures),
            suite.Case("checks", "meridian check warns about signatures expiring within a week, with file and line", check_warnings),
            suite.Case("checks", "a service name in a zone signed elsewhere is refused: its routed answers could not be signed", service_name_refused)])


def main():
    ap = suite.parser(__doc__.split("\n")[0])
    args = ap.parse_args()
    binary = os.path.abspath(args.meridian or default_meridian())
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        raise Missing(f"meridian binary not found at {binary}: run `swift build` first")
    signed, meridians, unbounds, nsds = {}, {}, {}, {}

    def get_signed(way):
        if way not in signed:
            signed[way] = Signed(way)
        return signed[way]

    def get_meridian(way):
        if way not in meridians:
            meridians[way] = start_meridian(binary, get_signed(way))
        return meridians[way]

    def get_nsd(way):
        if way not in nsds:
            nsds[way] = servers.start_nsd([(ZONE, get_signed(way).zone + ".signed")])
        return nsds[way]

    def get_unbound(way):
        if way not in unbounds:
            unbounds[way] = start_unbound(get_meridian(way).port, get_signed(way).ds)
        return unbounds[way]

    class Fixtures:
        def stop(self):
            pass  # the servers are stopped below, once the report is written

    fx = Fixtures()
    fx.binary = binary
    fx.signed, fx.meridian, fx.unbound, fx.nsd = get_signed, get_meridian, get_unbound, get_nsd

    def after(check, fx):
        for way, m in meridians.items():
            check(m.alive(), f"meridian ({way}) still running" + ("" if m.alive() else ":\n" + m.log_text()))

    try:
        return suite.run("presigned_unbound", CASES, args, fx, after)
    finally:
        for s in list(unbounds.values()) + list(nsds.values()) + list(meridians.values()) + list(signed.values()):
            s.stop()


if __name__ == "__main__":
    sys.exit(main())
