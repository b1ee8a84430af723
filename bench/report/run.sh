#!/usr/bin/env bash
# The transparency report benchmark in one command (see bench/report/README.md): builds the
# release binaries, then `custodian-bench report` generates ROWS requests (default 10 million),
# times custodian import beside the sqlite3 shell's .import and psql's \copy, and a half-year
# report beside the plain GROUP BY, on SQLite and PostgreSQL; results in bench/results/.
# Needs sqlite3 and psql (apt-get install -y sqlite3 postgresql-client) and about 6 GB free in
# TMPDIR (or --dir DIR) for 10 million rows; everything generated is deleted at the end.
# Usage: bench/report/run.sh [ROWS] [more custodian-bench report options]
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-10000000}
shift || true
cargo build --release --bin custodian --bin custodian-bench
target=${CARGO_TARGET_DIR:-target}
exec "$target/release/custodian-bench" report --rows "$rows" --custodian "$target/release/custodian" "$@"
