#!/usr/bin/python3
"""Header, EDNS, TSIG and DNS Cookie cases, against the real meridian binary and, where the
behaviour is shared, against Knot and NSD.

- CD is cleared in authoritative answers (RFC 4035 §3.1.6), as Knot and NSD do.
- QCLASS ANY is answered from class IN without AA (RFC 6895 §3.2), as NSD does.
- OPT or TSIG outside the additional section, TSIG not last, two COOKIE options or a COOKIE of a
  length RFC 7873 §5.2.2 forbids: FORMERR.
- REFUSED for a name outside our zones carries EDE 20, Not Authoritative (RFC 8914 §4.21), as Knot
  and NSD send.
- TSIG (RFC 8945) with HMAC-SHA256/384/512: signed answers verified by dnspython and dig -y over
  UDP and TCP; unknown key: NOTAUTH/BADKEY unsigned; wrong secret: NOTAUTH/BADSIG unsigned; clock
  off by more than the fudge: NOTAUTH/BADTIME signed, with the server's time; the same verdicts
  from Knot given the same key.
- Cookies (RFC 7873, RFC 9018): the client cookie echoed with a 16-byte version-1 server cookie;
  with `require: true` a UDP query without a valid server cookie gets BADCOOKIE and a fresh cookie,
  TCP and cookie-less clients are answered; dig +cookie and kdig +cookie end with NOERROR; a server
  cookie made by Knot (mod-cookies) with the same secret is accepted, and one made by Meridian is
  accepted by a second Meridian instance that has the old secret as previous-secret.

Every packet goes to 127.0.0.1 or ::1. Exit status 0 when every check passes.
"""

import base64
import os
import socket
import struct
import subprocess
import sys
import time
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
import suite  # noqa: E402

import dns.edns  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.tsig  # noqa: E402
import dns.tsigkeyring  # noqa: E402

SECRET = base64.b64encode(bytes(range(32))).decode()
KEYS = {
    "hmac-sha256": ("k256.meridian.test.", SECRET),
    "hmac-sha384": ("k384.meridian.test.", base64.b64encode(bytes(range(48))).decode()),
    "hmac-sha512": ("k512.meridian.test.", base64.b64encode(bytes(range(64))).decode()),
}
COOKIE_SECRET = "e5e973e5a6b2a43f48e7dc849e37bfcf"
OTHER_SECRET = "00112233445566778899aabbccddeeff"
NAME = "www.example.org."

def udp(server, wire, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(wire, (server.host, server.port))
        return s.recvfrom(65535)[0]
    except socket.timeout:
        return None
    finally:
        s.close()


def header(flags=0x0100, qd=1, an=0, ns=0, ar=0, qid=0x4d52):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def question(name=NAME, qtype=1, qclass=1):
    return dns.name.from_text(name).to_wire() + struct.pack("!HH", qtype, qclass)


def opt(options=b"", payload=1232):
    return b"\x00" + struct.pack("!HHIH", 41, payload, 0, len(options)) + options


def cookie_of(m):
    for o in m.options:
        if o.otype == 10:
            return o.to_wire() if hasattr(o, "to_wire") else o.data
    return None


def cookie_option(client, server=b""):
    return struct.pack("!HH", 10, len(client) + len(server)) + client + server


# ---------------------------------------------------------------- header and EDNS

def cd_cleared(check, fx):
    cd = header(flags=0x0110) + question()
    for s in (fx.mer, fx.knot, fx.nsd):
        r = udp(s, cd)
        check(r is not None and (struct.unpack("!H", r[2:4])[0] & 0x0010) == 0, f"{s.name}: CD cleared in the answer")


def qclass_any(check, fx):
    anyclass = header() + question(qclass=255)
    r = dns.message.from_wire(udp(fx.mer, anyclass))
    n = dns.message.from_wire(udp(fx.nsd, anyclass))
    check(r.rcode() == 0 and not (r.flags & dns.flags.AA) and r.answer and r.answer[0].rdclass == 1,
          "QCLASS ANY: NOERROR, class IN records, AA clear")
    check([str(x) for x in r.answer] == [str(x) for x in n.answer] and r.flags == n.flags,
          "QCLASS ANY: same answer and flags as NSD")


def tsig_not_last():
    m = dns.message.make_query(NAME, "A")
    m.use_tsig(dns.tsigkeyring.from_text({KEYS["hmac-sha256"][0]: SECRET}), keyname=KEYS["hmac-sha256"][0])
    w = bytearray(m.to_wire())
    w[10:12] = struct.pack("!H", struct.unpack("!H", w[10:12])[0] + 1)
    return bytes(w) + b"\x00" + struct.pack("!HHIH", 1, 1, 0, 4) + bytes([192, 0, 2, 1])


FORMERR_CASES = {
    "OPT in the answer section": lambda: header(an=1) + question() + opt(),
    "OPT in the authority section": lambda: header(ns=1) + question() + opt(),
    "TSIG not the last record": tsig_not_last,
    "two COOKIE options": lambda: header(ar=1) + question() + opt(cookie_option(b"A" * 8) + cookie_option(b"B" * 8)),
    "COOKIE of 5 bytes": lambda: header(ar=1) + question() + opt(struct.pack("!HH", 10, 5) + b"x" * 5),
    "COOKIE of 12 bytes": lambda: header(ar=1) + question() + opt(cookie_option(b"A" * 8, b"B" * 4)),
    "COOKIE of 41 bytes": lambda: header(ar=1) + question() + opt(cookie_option(b"A" * 8, b"B" * 33)),
}


def formerr(what):
    def case(check, fx):
        r = udp(fx.mer, FORMERR_CASES[what]())
        check(r is not None and r[3] & 0xF == 1, f"{what}: FORMERR")
        check(fx.mer.alive(), f"{what}: still serving")
    return case


def refused_ede(check, fx):
    refused = header(ar=1) + question("nowhere.invalid.") + opt()
    for s in (fx.mer, fx.knot, fx.nsd):
        m = dns.message.from_wire(udp(s, refused))
        codes = [o.code for o in m.options if o.otype == 15]
        check(m.rcode() == dns.rcode.REFUSED and codes == [20], f"{s.name}: REFUSED with EDE 20 (got {codes})")


# ---------------------------------------------------------------- TSIG

def signed_query(algorithm, keyname, secret, tcp=False):
    keyring = dns.tsigkeyring.from_text({keyname: secret})
    m = dns.message.make_query(NAME, "A", use_edns=0)
    m.use_tsig(keyring, keyname=keyname, algorithm=algorithm)
    return m, keyring


def tsig_error(server, m, keyring, tcp=False):
    """The TSIG error of the response, after dnspython verified it: 0 means signed and valid."""
    try:
        if tcp:
            r = dns.query.tcp(m, server.host, port=server.port, timeout=3)
        else:
            r = dns.query.udp(m, server.host, port=server.port, timeout=3)
    except dns.tsig.PeerBadKey:
        return "BADKEY"
    except dns.tsig.PeerBadSignature:
        return "BADSIG"
    except dns.tsig.PeerBadTime:
        return "BADTIME"
    except dns.tsig.BadSignature:
        return "response MAC wrong"
    r_ok = r.had_tsig and r.rcode() == 0 and len(r.answer) == 1
    return 0 if r_ok else f"rcode {r.rcode()} had_tsig {r.had_tsig}"


def tsig_signed(algorithm, tcp):
    def case(check, fx):
        keyname, secret = KEYS[algorithm]
        m, kr = signed_query(algorithm, keyname, secret)
        got = tsig_error(fx.mer, m, kr, tcp)
        check(got == 0, f"TSIG {algorithm} over {'TCP' if tcp else 'UDP'}: signed answer verified ({got})")
    return case


def tsig_bad_key(check, fx):
    for s in (fx.mer, fx.knot):
        m, kr = signed_query("hmac-sha256", "unknown.meridian.test.", SECRET)
        check(tsig_error(s, m, kr) == "BADKEY", f"{s.name}: unknown key is NOTAUTH/BADKEY")


def tsig_bad_secret(check, fx):
    for s in (fx.mer, fx.knot):
        m, kr = signed_query("hmac-sha256", KEYS["hmac-sha256"][0], base64.b64encode(b"wrong" * 8).decode())
        got = tsig_error(s, m, kr)
        check(got == "BADSIG", f"{s.name}: wrong secret is NOTAUTH/BADSIG ({got})")


def tsig_bad_algorithm(check, fx):
    for s in (fx.mer, fx.knot):
        m, kr = signed_query("hmac-sha512", KEYS["hmac-sha256"][0], SECRET)
        check(tsig_error(s, m, kr) == "BADKEY", f"{s.name}: right name, wrong algorithm is BADKEY")


def tsig_bad_time(check, fx):
    for s in (fx.mer, fx.knot):
        m, kr = signed_query("hmac-sha256", *KEYS["hmac-sha256"])
        with mock.patch("time.time", return_value=time.time() - 3600):
            wire = m.to_wire()
        r = udp(s, wire)
        parsed = None
        try:
            parsed = dns.message.from_wire(r, keyring=kr, request_mac=m.mac)
        except dns.tsig.PeerBadTime:
            parsed = "BADTIME"
        except dns.tsig.PeerError as e:
            parsed = repr(e)
        check(parsed == "BADTIME", f"{s.name}: an hour of clock skew is NOTAUTH/BADTIME, signed ({parsed})")
        check(r is not None and r[3] & 0xF == 9, f"{s.name}: BADTIME with RCODE NOTAUTH")


def tsig_dig(check, fx):
    keyname, secret = KEYS["hmac-sha384"]
    out = subprocess.run([fx.dig, "@127.0.0.1", "-p", str(fx.mer.port), "-y", f"hmac-sha384:{keyname}:{secret}",
                          NAME, "A", "+tcp"], capture_output=True, text=True, timeout=20)
    out2 = subprocess.run([fx.dig, "@127.0.0.1", "-p", str(fx.mer.port), "-y", f"hmac-sha384:{keyname}:{secret}",
                           NAME, "A"], capture_output=True, text=True, timeout=20)
    for o, t in ((out, "TCP"), (out2, "UDP")):
        check("status: NOERROR" in o.stdout and "TSIG PSEUDOSECTION" in o.stdout and "fail" not in (o.stdout + o.stderr).lower(),
              f"dig -y over {t} verifies the signed answer:\n{o.stdout[-400:]}{o.stderr[-200:]}")


# ---------------------------------------------------------------- cookies

CLIENT = bytes.fromhex("2464c4abcf10c957")


def query_with_cookie(server, client, server_cookie=b"", tcp=False):
    m = dns.message.make_query(NAME, "A", use_edns=0, options=[dns.edns.GenericOption(10, client + server_cookie)])
    wire = m.to_wire()
    if tcp:
        r = dns.query.tcp(m, server.host, port=server.port, timeout=3)
        return r, r.to_wire()
    raw = udp(server, wire)
    return dns.message.from_wire(raw), raw


def cookie_echoed(check, fx):
    r, _ = query_with_cookie(fx.mer, CLIENT)
    c = cookie_of(r)
    check(c is not None and len(c) == 24 and c[:8] == CLIENT and c[8] == 1 and c[9:12] == b"\x00\x00\x00",
          "client cookie echoed with a version-1 RFC 9018 server cookie")
    check(r.rcode() == 0 and len(r.answer) == 1, "not required: answered with only a client cookie")


def cookie_rotation(check, fx):
    c = cookie_of(query_with_cookie(fx.mer, CLIENT)[0])
    # Rotation: the strict instance has this secret as previous-secret and accepts the cookie.
    r, _ = query_with_cookie(fx.strict, CLIENT, c[8:])
    check(r.rcode() == 0 and len(r.answer) == 1, "a cookie made with the previous secret is accepted after rotation")


def cookie_required(check, fx):
    strict = fx.strict
    r, raw = query_with_cookie(strict, CLIENT)
    check(r.rcode() == dns.rcode.BADCOOKIE and not r.answer, f"required: client cookie only is BADCOOKIE ({dns.rcode.to_text(r.rcode())})")
    fresh = cookie_of(r)
    check(fresh is not None and len(fresh) == 24 and fresh[:8] == CLIENT, "BADCOOKIE carries a fresh server cookie")
    r, _ = query_with_cookie(strict, CLIENT, fresh[8:])
    check(r.rcode() == 0 and len(r.answer) == 1, "required: the returned server cookie is accepted")
    r, _ = query_with_cookie(strict, bytes.fromhex("1111111111111111"), fresh[8:])
    check(r.rcode() == dns.rcode.BADCOOKIE, "required: a server cookie made for another client cookie is BADCOOKIE")


def cookie_required_tcp(check, fx):
    r, _ = query_with_cookie(fx.strict, CLIENT, tcp=True)
    check(r.rcode() == 0 and len(r.answer) == 1, "required: TCP is answered without a server cookie")
    r = dns.query.udp(dns.message.make_query(NAME, "A"), fx.strict.host, port=fx.strict.port, timeout=3)
    check(r.rcode() == 0 and len(r.answer) == 1, "required: a client without cookies is answered")


def cookie_tools(check, fx):
    for tool, args in ((fx.dig, ["+cookie"]), (fx.kdig, ["+cookie"])):
        o = subprocess.run([tool, "@127.0.0.1", "-p", str(fx.strict.port), NAME, "A"] + args,
                           capture_output=True, text=True, timeout=20)
        check("NOERROR" in o.stdout and "192.0.2.80" in o.stdout and "COOKIE" in o.stdout,
              f"{os.path.basename(tool)} +cookie against require: true ends NOERROR:\n{o.stdout[-500:]}")


def cookie_knot(check, fx):
    # Interoperable cookies: Knot's mod-cookies with the same secret makes cookies Meridian accepts.
    r, _ = query_with_cookie(fx.knot, CLIENT)
    kc = cookie_of(r)
    check(kc is not None and len(kc) == 24, f"knot returned a 16-byte server cookie ({kc.hex() if kc else None})")
    if kc is not None:
        r, _ = query_with_cookie(fx.strict, CLIENT, kc[8:])
        check(r.rcode() == 0 and len(r.answer) == 1, "a server cookie made by Knot with the shared secret is accepted")


C = suite.Case
CASES = (
    [C("header", "CD cleared", cd_cleared), C("header", "QCLASS ANY", qclass_any)]
    + [C("header", f"{what}: FORMERR", formerr(what)) for what in FORMERR_CASES]
    + [C("header", "REFUSED with EDE 20", refused_ede)]
    + [C("tsig", f"{alg} over {'TCP' if tcp else 'UDP'}", tsig_signed(alg, tcp)) for alg in KEYS for tcp in (False, True)]
    + [C("tsig", "unknown key", tsig_bad_key), C("tsig", "wrong secret", tsig_bad_secret),
       C("tsig", "wrong algorithm", tsig_bad_algorithm), C("tsig", "clock skew", tsig_bad_time),
       C("tsig", "dig -y", tsig_dig)]
    + [C("cookie", "echoed", cookie_echoed), C("cookie", "rotation", cookie_rotation),
       C("cookie", "required", cookie_required), C("cookie", "required: TCP and cookie-less", cookie_required_tcp),
       C("cookie", "dig and kdig", cookie_tools), C("cookie", "Knot's cookie", cookie_knot)]
)


def start_knot_with(zones, extra):
    """Knot with extra configuration lines appended after the default template and zones."""
    orig = servers._launch

    def launch(name, tmp, port, zs, conf_name, lines, command):
        # The template's module line belongs inside the template, before "zone:".
        i = lines.index("zone:")
        lines = lines[:i] + extra["template"] + lines[i:] + extra["after"]
        lines = extra["before"] + lines
        return orig(name, tmp, port, zs, conf_name, lines, command)

    with mock.patch.object(servers, "_launch", launch):
        return servers.start_knot(zones)


def main():
    args = suite.parser(__doc__.split("\n\n")[0]).parse_args()
    meridian = args.meridian or servers.default_meridian()
    zones = servers.load_zones(servers.FIXTURE_CONFIG)
    keys_yaml = "tsig-keys:\n" + "".join(
        f"  - name: {name}\n    algorithm: {alg}\n    secret: {secret}\n" for alg, (name, secret) in KEYS.items())
    knot_keys = ["key:"] + sum(([f"  - id: {name}", f"    algorithm: {alg}", f"    secret: {secret}"]
                                for alg, (name, secret) in KEYS.items()), [])
    fx = suite.Fixtures(
        dig=lambda: servers.which("dig", "bind9-dnsutils"),
        kdig=lambda: servers.which("kdig", "knot-dnsutils"),
        mer=lambda: servers.start_meridian(meridian, zones, extra_yaml=keys_yaml + f"cookies:\n  secret: {COOKIE_SECRET}\n"),
        strict=lambda: servers.start_meridian(meridian, zones, extra_yaml=(
            f"cookies:\n  secret: {OTHER_SECRET}\n  previous-secret: {COOKIE_SECRET}\n  require: true\n")),
        knot=lambda: start_knot_with(zones, {
            "before": knot_keys + ["acl:", "  - id: signed", "    key: [" + ", ".join(n for n, _ in KEYS.values()) + "]",
                                   "    action: transfer",
                                   "mod-cookies:", "  - id: shared", f"    secret: 0x{COOKIE_SECRET}"],
            # Knot checks TSIG only with keys an ACL names.
            "template": ["    global-module: mod-cookies/shared", "    acl: signed"],
            "after": [],
        }),
        nsd=lambda: servers.start_nsd(zones),
    )

    def after(check, fx):
        check(all(s.alive() for s in fx.started() if hasattr(s, "alive")), "every server still running")

    return suite.run("security", CASES, args, fx, after)


if __name__ == "__main__":
    sys.exit(main())
