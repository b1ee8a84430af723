#!/usr/bin/env python3
"""Replays Google's published user data request figures through Custodian (docs/replay.md).

Usage: replay_google.py DATASETS_DIR CUSTODIAN_BIN WORK_DIR
Turns each published row (period, country, legal process: requests, percentage where some data
was produced, accounts) into request records consistent with it, imports them with
`custodian import`, builds every half-year's report with `custodian report`, and checks that
every published figure comes back. Prints each trap it meets and what it did about it. Exits 1
if any figure does not come back or any record is refused.
"""
import csv, json, os, subprocess, sys, time
from collections import defaultdict

data, binary, work = sys.argv[1], sys.argv[2], sys.argv[3]
source = os.path.join(data, "google", "google-global-user-data-requests.csv")
t0 = time.monotonic()
timings = []
notes, skipped = [], []


def lap(what):
    global t0
    now = time.monotonic()
    timings.append(f"{what} {now - t0:.1f} s")
    t0 = now


# Google's legal process -> (Custodian process, category). A category only where one
# country's rows in one half-year would otherwise fall on the same process.
US_PROCESS = {
    "Subpoenas": ("subpoena", None),
    "Search Warrants": ("search_warrant", None),
    "Other Court Orders": ("court_order_other", None),
    "Pen Register Orders": ("pen_register", None),
    "Wiretap Orders": ("wiretap", None),
    # 2012-H2 only, beside subpoenas and search warrants: every other US process together.
    "Other Legal Requests": ("court_order_other", "other_legal"),
}
PROCESS = {
    "Emergency Disclosure Requests": ("emergency", None),
    "Preservation Requests": ("preservation", None),
    "Other Legal Requests": ("foreign_direct", None),
    # Ireland (Google's EU establishment) is split further.
    "Court Orders": ("court_order_other", None),
    "Other Court Orders": ("court_order_other", None),
    "Search Warrants": ("search_warrant", None),
    "Police Requests": ("foreign_direct", "police"),
    "Requests for data of local subsidiary": ("foreign_direct", "local_subsidiary"),
    # Orders under the US CLOUD Act agreements (UK; Australia from 2024).
    "CLOUD ACT - OPOs": ("cloud_act_order", "opo"),
    "CLOUD Act - IPA CDRs": ("cloud_act_order", "ipa_cdr"),
    "CLOUD Act - IPA TIWs": ("cloud_act_order", "ipa_tiw"),
}
CONTENT = {"search_warrant", "wiretap"}


def mapping(country, label):
    if label == "All":
        # The process of an "All" row is not published; checks read only its own row.
        return ("subpoena" if country == "US" else "foreign_direct", "all")
    if country == "US" and label in US_PROCESS:
        return US_PROCESS[label]
    return PROCESS.get(label)


def period_of(ending):
    year, month = ending[:4], ending[5:7]
    return f"{year}-H1" if month == "06" else f"{year}-H2"


def num(s):
    return int(s) if s != "" else None


def rounded_pct(disclosed, received):
    # Half up, as Google rounds: every published row is consistent with it (not with
    # half-to-even, floor or ceiling).
    return (200 * disclosed + received) // (2 * received)


rows = []
spaces = 0
with open(source, newline="", encoding="utf-8") as f:
    for r in csv.DictReader(f):
        clean = {k.strip(): v.strip() for k, v in r.items()}  # trap: trailing spaces
        spaces += sum(1 for k, v in r.items() if v != v.strip() or k != k.strip())
        rows.append(clean)
notes.append(f"{len(rows)} published rows; {spaces} field(s) had surrounding spaces (trimmed)")

names = defaultdict(set)
published = []  # (period, country, label, requests, pct or None, accounts or None)
for r in rows:
    code, label, name = r["CLDR Territory Code"].upper(), r["Legal Process"], r["Country/Region"]
    period = period_of(r["Period Ending"])
    q, pct, acc = num(r["User Data Requests"]), num(r["Percentage disclosed"]), num(r["Accounts"])
    if q is None:
        skipped.append(f"{period} {name} ({code}) {label}: no figures published")
        continue
    if not code:
        skipped.append(f"{period} {name} {label}: {q} request(s) under no ISO 3166 country code")
        continue
    names[code].add(name)
    ending = r["Period Ending"]
    # Before 2010-H2 the percentage column holds 0 for "not reported"; preservation rows
    # leave it blank (nothing is disclosed). Accounts are published from 2011-H1 on.
    if pct is not None and ending < "2010-12-31":
        pct = None
    if ending < "2011-06-30":
        acc = None
    published.append((period, code, label, q, pct, acc))
renamed = {c: sorted(n) for c, n in names.items() if len(n) > 1}
notes.append(f"countries keyed by CLDR code; codes published under more than one name: {renamed or 'none'}")

# Overlaps: a country with an "All" row and per-process rows in the same half-year.
by_pc = defaultdict(list)
for p in published:
    by_pc[(p[0], p[1])].append(p)
replayed, overlap_checks = [], []
for (period, code), group in sorted(by_pc.items()):
    alls = [g for g in group if g[2] == "All"]
    parts = [g for g in group if g[2] != "All"]
    if alls and parts:
        overlap_checks.append((alls[0], parts))
        replayed.extend(parts)
    else:
        replayed.extend(group)
notes.append(f"half-years where a country has both an All row and per-process rows: {len(overlap_checks)} "
             "(the All row is then checked against the sum of the others, which alone are replayed)")

# Records.
cells = {}  # (period, code, process, category) -> published row
unmapped = []
os.makedirs(work, exist_ok=True)
path = os.path.join(work, "google.csv")
total = 0
with open(path, "w", newline="") as out:
    out.write("reference,received_at,country,process,category,emergency,accounts,outcome,disclosed,none_reason,ndo,notified\n")
    for row in replayed:
        period, code, label, q, pct, acc = row
        m = mapping(code, label)
        if m is None:
            unmapped.append(f"{period} {code} {label}")
            continue
        process, category = m
        key = (period, code, process, category)
        if key in cells:
            unmapped.append(f"{period} {code} {label}: falls on the same row as {cells[key][2]}")
            continue
        cells[key] = row
        if pct is None or q == 0 or process == "preservation":
            disclosed = 0  # not reported, or nothing disclosed: no disclosure is invented
        else:
            # The counts that round to the published percentage: 100 d / q in [pct - 0.5,
            # pct + 0.5); the middle one is taken.
            lo = max(0, -(-(2 * pct - 1) * q // 200))
            hi = min(q, -(-(2 * pct + 1) * q // 200) - 1)
            if lo > hi or rounded_pct(lo, q) != pct or rounded_pct(hi, q) != pct:
                unmapped.append(f"{period} {code} {label}: no count of {q} rounds to {pct} %")
                continue
            disclosed = (lo + hi) // 2
        accounts = acc if acc is not None else 0
        year, half = period.split("-")
        first_month = 1 if half == "H1" else 7
        kind = "content" if process in CONTENT else "non_content"
        emergency = "true" if process == "emergency" else "false"
        slug = label.lower().replace(" ", "-")
        cat = category or ""
        for i in range(q):
            a = accounts // q + (1 if i < accounts % q else 0)
            day = f"{year}-{first_month + i % 6:02d}-{1 + (i // 6) % 28:02d}"
            if i < disclosed:
                tail = f"full,{kind},"
            else:
                tail = "none,none,no_data"
            out.write(f"g-{period}-{code}-{slug}-{i},{day},{code},{process},{cat},{emergency},{a},{tail},false,false\n")
        total += q
if unmapped:
    for u in unmapped:
        print(f"UNMAPPED {u}")
    sys.exit(1)
lap(f"generating {total} records")

env = dict(os.environ, CUSTODIAN_DATA_DIR=os.path.join(work, "data"), CUSTODIAN_LOG="error")
env.pop("CUSTODIAN_DATABASE_URL", None)
imp = subprocess.run([binary, "import", path], env=env, capture_output=True, text=True)
summary = imp.stdout.strip().splitlines()[0] if imp.stdout.strip() else imp.stderr.strip()
if imp.returncode != 0 or f"imported {total}," not in summary:
    print(imp.stdout[-3000:], imp.stderr[-3000:])
    print(f"replay: the import did not take every record ({summary})")
    sys.exit(1)
lap(f"custodian import ({summary})")
os.remove(path)

reports = {}
for period in sorted({k[0] for k in cells}):
    out = subprocess.run([binary, "report", "--period", period, "--unsigned"], env=env,
                         check=True, capture_output=True, text=True).stdout
    reports[period] = json.loads(out)
lap(f"custodian report, {len(reports)} half-years")

checked = matched = 0
mismatches = []


def check(what, want, got):
    global checked, matched
    checked += 1
    if want == got:
        matched += 1
    else:
        mismatches.append(f"{what}: published {want}, replayed {got}")


def cp_row(period, code, process, category):
    for r in reports[period]["by_country_process"]:
        if (r["country"], r["process"], r.get("category")) == (code, process, category):
            return r
    return {"received": 0, "disclosed": 0, "accounts": 0}


for (period, code, process, category), (_, _, label, q, pct, acc) in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3] or "")):
    r = cp_row(period, code, process, category)
    what = f"{period} {code} {label}"
    check(f"{what} requests", q, r["received"])
    if pct is not None and q > 0 and process != "preservation":
        check(f"{what} % some data produced", pct, rounded_pct(r["disclosed"], r["received"]) if r["received"] else None)
    if acc is not None:
        check(f"{what} accounts", acc, r["accounts"])
for (all_row, parts) in overlap_checks:
    period, code, _, q, pct, acc = all_row
    rows_ = [cp_row(period, code, *mapping(code, p[2])) for p in parts]
    rec = sum(r["received"] for r in rows_)
    check(f"{period} {code} All requests (sum of its processes)", q, rec)
    if pct is not None and rec:
        check(f"{period} {code} All % (sum of its processes)", pct, rounded_pct(sum(r["disclosed"] for r in rows_), rec))
    if acc is not None:
        check(f"{period} {code} All accounts (sum of its processes)", acc, sum(r["accounts"] for r in rows_))
# Per half-year totals: the report's total equals the sum of the replayed rows.
for period, rep in sorted(reports.items()):
    want = sum(row[3] for k, row in cells.items() if k[0] == period)
    check(f"{period} total requests", want, rep["totals"]["received"])
lap(f"checking {checked} figures")

# The latest half-year's report, signed, verified against the log and the imported rows.
latest = max(reports)
signed = os.path.join(work, "latest.json")
subprocess.run([binary, "report", "--period", latest, "--out", signed], env=env, check=True,
               capture_output=True)
ver = subprocess.run([binary, "audit", "verify-report", signed], env=env, capture_output=True, text=True)
verified = ver.returncode == 0
lap(f"custodian audit verify-report {latest}: {ver.stdout.strip()}")

for n in notes:
    print(f"note: {n}")
for s in skipped:
    print(f"not replayed: {s}")
for m in mismatches:
    print(f"MISMATCH {m}")
for t in timings:
    print(f"time: {t}")
if not verified:
    print(f"VERIFY-REPORT FAILED: {ver.stdout} {ver.stderr}")
print(f"replay (Google): {checked} figures checked, {matched} matched, {len(mismatches)} mismatched")
sys.exit(1 if mismatches or not verified else 0)
