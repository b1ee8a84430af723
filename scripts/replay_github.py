#!/usr/bin/env python3
"""Replays GitHub's published transparency figures through Custodian (see docs/replay.md).

Usage: replay_github.py DATASETS_DIR CUSTODIAN_BIN WORK_DIR
Turns each published row into request records consistent with it, imports them with
`custodian import`, builds the reports with `custodian report`, and checks that every published
figure comes back. Exits 1 if any figure does not.
"""
import csv, json, os, subprocess, sys
from collections import defaultdict

data, binary, work = sys.argv[1], sys.argv[2], sys.argv[3]
gh = os.path.join(data, "github-transparency")
PROCESS = {
    "criminal or government agency subpoena": "subpoena",
    "criminal court order": "court_order_other",
    "criminal search warrant": "search_warrant",
    "cross-border request": "foreign_direct",
    "civil subpoena": "civil_subpoena",
    "exigent circumstances": "emergency",
}
notes = []

def rows(name):
    with open(os.path.join(gh, name), newline="") as f:
        for r in csv.DictReader(f):
            yield {k.strip(): v.strip() for k, v in r.items()}  # trap: trailing spaces

yearly = {(int(r["year"]), r["type"]): (int(r["count_requests_received"]), int(r["count_disclosed"]))
          for r in rows("requests_received_and_disclosed.csv")}
halves = {(int(r["year"]), int(r["half"]), r["type"]): (int(r["count_requests_received"]), int(r["count_disclosed"]))
          for r in rows("requests_received_and_disclosed_by_calendar_year_half.csv")}
notices = {(int(r["year"]), int(r["half"]), r["type"]): int(r["count"])
           for r in rows("user_notifications_of_legal_request_disclosures_by_calendar_year_half.csv")}

# Per (year, half, type): received, disclosed. Years without half rows go to H1 (checked as a
# year); a half missing beside a published one is the year minus the other half.
cells = {}
skipped = []
for (year, typ), (rec, dis) in yearly.items():
    if dis > rec:
        skipped.append(f"{year} {typ}: {dis} disclosed > {rec} received (not representable as requests)")
        continue
    h = {hh: halves.get((year, hh, typ)) for hh in (1, 2)}
    if h[1] is None and h[2] is None:
        cells[(year, 1, typ)] = (rec, dis)
    else:
        for hh in (1, 2):
            other = h[3 - hh]
            cells[(year, hh, typ)] = h[hh] if h[hh] is not None else (rec - other[0], dis - other[1])
            if h[hh] is None:
                notes.append(f"{year}-H{hh} {typ}: derived as year minus H{3-hh}")

records = []
by_half = defaultdict(list)
for (year, half, typ), (rec, dis) in sorted(cells.items()):
    month = 3 if half == 1 else 9
    for i in range(rec):
        r = {"reference": f"gh-{year}-H{half}-{PROCESS[typ]}-{i}", "received_at": f"{year}-{month:02d}-01",
             "country": "US", "process": PROCESS[typ], "emergency": "false", "accounts": "1",
             "outcome": "full" if i < dis else "none", "disclosed": "non_content" if i < dis else "none",
             "none_reason": "" if i < dis else "no_data", "ndo": "false", "notified": "false", "responded_at": ""}
        records.append(r)
        by_half[(year, half)].append(r)
# Notices, gag orders and exigent circumstances per half-year, on that half's records.
for (year, half, typ), n in notices.items():
    recs = by_half[(year, half)]
    field = {"notification": "notified", "gag order": "ndo", "exigent circumstances": "emergency"}[typ]
    if n > len(recs):
        skipped.append(f"{year}-H{half} {typ}: {n} > {len(recs)} requests")
        continue
    for r in recs[:n]:
        r[field] = "true"

os.makedirs(work, exist_ok=True)
path = os.path.join(work, "github.csv")
with open(path, "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(records[0].keys()))
    w.writeheader()
    w.writerows(records)
env = dict(os.environ, CUSTODIAN_DATA_DIR=os.path.join(work, "data"), CUSTODIAN_LOG="error")
env.pop("CUSTODIAN_DATABASE_URL", None)
subprocess.run([binary, "import", path], env=env, check=True, stdout=subprocess.DEVNULL)

reports = {}
def report(period):
    if period not in reports:
        out = subprocess.run([binary, "report", "--period", period, "--unsigned"], env=env,
                             check=True, capture_output=True, text=True).stdout
        reports[period] = json.loads(out)
    return reports[period]

checked = matched = 0
mismatches = []
def check(what, published, got):
    global checked, matched
    checked += 1
    if published == got:
        matched += 1
    else:
        mismatches.append(f"{what}: published {published}, replayed {got}")

def process_row(rep, process):
    for r in rep["by_process"]:
        if r["process"] == process:
            return r
    return {"received": 0, "full": 0}

for (year, typ), (rec, dis) in sorted(yearly.items()):
    if dis > rec:
        continue
    r = process_row(report(str(year)), PROCESS[typ])
    check(f"{year} {typ} received", rec, r["received"])
    check(f"{year} {typ} disclosed", dis, r["full"])
for (year, half, typ), (rec, dis) in sorted(halves.items()):
    r = process_row(report(f"{year}-H{half}"), PROCESS[typ])
    check(f"{year}-H{half} {typ} received", rec, r["received"])
    check(f"{year}-H{half} {typ} disclosed", dis, r["full"])
for (year, half, typ), n in sorted(notices.items()):
    rep = report(f"{year}-H{half}")
    got = {"notification": rep["notices"]["sent"], "gag order": rep["notices"]["ndo_received"],
           "exigent circumstances": rep["emergency"]["received"]}[typ]
    check(f"{year}-H{half} {typ}", n, got)

for n in notes:
    print(f"note: {n}")
for s in skipped:
    print(f"not replayed (inconsistent in the source): {s}")
for m in mismatches:
    print(f"MISMATCH {m}")
print(f"replay: {checked} figures checked, {matched} matched, {len(mismatches)} mismatched")
sys.exit(1 if mismatches else 0)
