#!/usr/bin/env bash
# Transparency benchmark (SQLite): custodian import vs the sqlite3 shell's .import of the same
# CSV into a plain table; a half-year report from the counters vs a plain GROUP BY.
# Usage: bench/report/run.sh [ROWS] [CUSTODIAN_BIN]   (see bench/report/README.md)
set -euo pipefail
rows=${1:-1000000}
bin=${2:-target/release/custodian}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
csv=$work/requests.csv
python3 - "$rows" "$csv" <<'PY'
import random, sys
n, path = int(sys.argv[1]), sys.argv[2]
random.seed(1)
procs = ["subpoena", "search_warrant", "court_order_other", "court_order_2703d", "emergency",
         "preservation", "epoc", "cloud_act_order", "national_security_letter"]
countries = ["US", "DE", "FR", "GB", "IN", "BR", "JP", "AU", "CA", "IT"]
with open(path, "w") as f:
    f.write("reference,received_at,country,process,emergency,accounts,outcome,disclosed,none_reason,ndo,notified,responded_at\n")
    for i in range(n):
        y = 2020 + i % 6; m = 1 + i % 12; d = 1 + i % 28
        o = random.random()
        if o < 0.5: oc, di, nr = "full", "non_content", ""
        elif o < 0.7: oc, di, nr = "partial", "content", ""
        else: oc, di, nr = "none", "none", random.choice(["rejected", "no_data", "withdrawn"])
        p = random.choice(procs)
        f.write(f"R{i},{y}-{m:02d}-{d:02d},{random.choice(countries)},{p},{str(p=='emergency').lower()},{random.randint(1,3)},{oc},{di},{nr},{str(random.random()<0.2).lower()},{str(random.random()<0.3).lower()},{y}-{m:02d}-{min(d+random.randint(0,20),28):02d}\n")
PY
export CUSTODIAN_DATA_DIR=$work/data CUSTODIAN_LOG=error
t() { local s=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $s" | bc; }
imp=$(t "$bin" import "$csv")
shell=$(t sqlite3 "$work/plain.db" ".mode csv" ".import $csv requests")
"$bin" report --period 2023-H1 --unsigned >/dev/null
rep=$(t "$bin" report --period 2023-H1 --unsigned)
gb=$(t sqlite3 "$work/plain.db" "SELECT process, count(*), sum(outcome='full'), sum(outcome='partial'), sum(outcome='none') FROM requests WHERE received_at >= '2023-01-01' AND received_at < '2023-07-01' GROUP BY process; SELECT country, count(*), sum(disclosed='content'), sum(disclosed='non_content'), sum(none_reason<>'rejected' AND disclosed='none'), sum(none_reason='rejected') FROM requests WHERE received_at >= '2023-01-01' AND received_at < '2023-07-01' AND process NOT IN ('national_security_letter','fisa_order') GROUP BY country;")
echo "rows=$rows custodian_import_s=$imp sqlite3_import_s=$shell report_process_s=$rep (whole CLI run) group_by_s=$gb"
