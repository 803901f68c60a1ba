#!/usr/bin/env python3
"""Generate a dnsperf query file from a zone written by gen-zone.py (deterministic).

Mix (by weight, per query drawn with a seeded RNG):
  80%  existing names:  A 60%, AAAA 20% (hosts that have that type)
  10%  NXDOMAIN:        random labels under the apex 8%, labels below an
                        existing host 2% (nxdomain below a leaf)
  10%  other:           MX 2%, TXT 1.5%, A at a CNAME owner (chain followed
                        in zone) 2%, NS at the apex 0.5%, SOA at the apex
                        0.5%, referrals (A below a delegation) 1.5%,
                        wildcard matches 1.5%, NODATA (MX at a host without
                        MX) 0.5%

The query file is one "name TYPE" per line, as dnsperf reads it.

With --sample FILE it also writes a stratified sample (the first few queries
of each category, in file order) with the expected outcome, which run.py uses
for its dig sanity check:  category qname qtype rcode aa answer-type
"""

import argparse
import random
import sys

MIX = [
    # category, weight (percent), qtype, expected rcode, aa, answer-type
    ("a",        60.0, "A",    "NOERROR",  1, "A"),
    ("aaaa",     20.0, "AAAA", "NOERROR",  1, "AAAA"),
    ("nx",        8.0, "A",    "NXDOMAIN", 1, "-"),
    ("nx-below",  2.0, "AAAA", "NXDOMAIN", 1, "-"),
    ("mx",        2.0, "MX",   "NOERROR",  1, "MX"),
    ("txt",       1.5, "TXT",  "NOERROR",  1, "TXT"),
    ("cname",     2.0, "A",    "NOERROR",  1, "CNAME"),
    ("ns",        0.5, "NS",   "NOERROR",  1, "NS"),
    ("soa",       0.5, "SOA",  "NOERROR",  1, "SOA"),
    ("referral",  1.5, "A",    "NOERROR",  0, "-"),
    ("wildcard",  1.5, "A",    "NOERROR",  1, "A"),
    ("nodata",    0.5, "MX",   "NOERROR",  1, "-"),
]


def read_zone(path):
    """Return (origin, {owner: set(types)}) from a one-record-per-line zone."""
    types = {}
    origin = None
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith(";") or line.startswith("$"):
                continue
            parts = line.split(None, 4)
            owner, rtype = parts[0].lower(), parts[3].upper()
            types.setdefault(owner, set()).add(rtype)
            if rtype == "SOA":
                origin = owner
    if origin is None:
        sys.exit("gen-queries: no SOA in %s" % path)
    return origin, types


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("zone", help="zone file written by gen-zone.py")
    ap.add_argument("-n", "--count", type=int, default=100000, help="number of queries (default 100000; dnsperf loops over the file)")
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("-o", "--output", default="-")
    ap.add_argument("--sample", help="also write a sample with expected outcomes for the sanity check")
    ap.add_argument("--sample-per-category", type=int, default=12)
    args = ap.parse_args()

    origin, types = read_zone(args.zone)
    deleg = sorted(o for o, t in types.items() if "NS" in t and o != origin)
    deleg_set = set(deleg)

    def below_delegation(name):
        labels = name.split(".")
        for k in range(1, len(labels)):
            if ".".join(labels[k:]) in deleg_set:
                return True
        return False

    # Every existing name and every ancestor (empty non-terminals) up to the apex.
    exists = set()
    for o in types:
        labels = o.split(".")
        for k in range(len(labels)):
            exists.add(".".join(labels[k:]))

    plain = sorted(o for o, t in types.items()
                   if not o.startswith("*.") and o not in deleg_set and not below_delegation(o))
    with_type = {t: [o for o in plain if t in types[o]] for t in ("A", "AAAA", "MX", "TXT", "CNAME")}
    hosts_no_mx = [o for o in plain if "A" in types[o] and "MX" not in types[o] and "CNAME" not in types[o]]
    wild_parents = sorted(o[2:] for o in types if o.startswith("*."))
    rnd = random.Random(args.seed)

    def fresh(suffix):
        while True:
            name = "%s%x.%s" % (rnd.choice(("nx", "nope", "missing", "q")), rnd.getrandbits(32), suffix)
            if name not in exists:
                return name

    def qname_for(cat):
        if cat == "a":
            return rnd.choice(with_type["A"])
        if cat == "aaaa":
            return rnd.choice(with_type["AAAA"])
        if cat == "nx":
            return fresh(origin)
        if cat == "nx-below":
            return fresh(rnd.choice(with_type["A"]))
        if cat == "mx":
            return rnd.choice(with_type["MX"])
        if cat == "txt":
            return rnd.choice(with_type["TXT"])
        if cat == "cname":
            return rnd.choice(with_type["CNAME"])
        if cat in ("ns", "soa"):
            return origin
        if cat == "referral":
            d = rnd.choice(deleg)
            return rnd.choice(("www.", "", "mail.", "a.b.")) + d
        if cat == "wildcard":
            return "%s%d.%s" % (rnd.choice(("w", "any", "x")), rnd.randrange(1000000), rnd.choice(wild_parents))
        if cat == "nodata":
            return rnd.choice(hosts_no_mx)
        raise ValueError(cat)

    cats = [m[0] for m in MIX]
    weights = [m[1] for m in MIX]
    info = {m[0]: m for m in MIX}
    sample = {c: [] for c in cats}
    out = sys.stdout if args.output == "-" else open(args.output, "w")
    counts = {c: 0 for c in cats}
    for _ in range(args.count):
        cat = rnd.choices(cats, weights)[0]
        qname = qname_for(cat)
        qtype = info[cat][2]
        out.write("%s %s\n" % (qname, qtype))
        counts[cat] += 1
        if len(sample[cat]) < args.sample_per_category and (qname, qtype) not in sample[cat]:
            sample[cat].append((qname, qtype))
    if out is not sys.stdout:
        out.close()
    if args.sample:
        with open(args.sample, "w") as f:
            f.write("# category qname qtype rcode aa answer-type\n")
            for cat in cats:
                _, _, _, rcode, aa, atype = info[cat]
                for qname, qtype in sample[cat]:
                    f.write("%s %s %s %s %d %s\n" % (cat, qname, qtype, rcode, aa, atype))
    print("gen-queries: %d queries: %s" % (args.count, ", ".join(
        "%s %.1f%%" % (c, 100.0 * counts[c] / max(1, args.count)) for c in cats)), file=sys.stderr)


if __name__ == "__main__":
    main()
