#!/usr/bin/env bash
# Every benchmark of issue 8, each figure next to its baseline (run by `make bench` under
# scripts/with-postgres). About 10 minutes on 2 cores, and 7. about 10 more per database; run it on an
# otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
echo "== 1. the core's cost per vote, next to the baseline commit (bench/vote_bench.py)"
$PY bench/vote_bench.py
echo; echo "== 2. button votes over Telegram long polling (bench/telegram_bench.py)"
$PY bench/telegram_bench.py --skip-ptb-broadcast
echo; echo "== 3. Telegram webhook, 32 in flight (bench/webhook_bench.py)"
$PY bench/webhook_bench.py
echo; echo "== 4. 1, 2 and 3 workers on PostgreSQL (bench/workers_bench.py)"
$PY bench/workers_bench.py
echo; echo "== 5. start-up and idle memory (bench/startup_bench.py)"
$PY bench/startup_bench.py
echo; echo "== 6. Matrix command latency next to a bare matrix-nio bot (bench/matrix_bench.py)"
$PY bench/matrix_bench.py
echo; echo "== 7. 10 000 reminders due at once in 2 000 groups: limits, a 429 chat, a SIGKILL (bench/reminders_bench.py)"
$PY bench/reminders_bench.py --ptb-retries 0
