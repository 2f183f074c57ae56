#!/usr/bin/env bash
# tests/soak.sh [MINUTES] — SIPREC calls with RTP for MINUTES (default 2) against one rtprec:
# 0 failed calls, every recording complete, no RSS growth past SOAK_RSS_MB (32), no fd growth.
# Env: SOAK_CPS (4 calls/s), SOAK_RSS_MB, RTPREC_BIN (default build/app/rtprec).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export SOAK_MINUTES=${1:-2}
export RTPREC_BIN=${RTPREC_BIN:-$ROOT/build/app/rtprec}
export RTPREC_TEST_TIMEOUT=$(((${SOAK_MINUTES%.*} + 5) * 60))
exec /usr/bin/python3 -m pytest -p no:cacheprovider -q -s tests/integration/test_soak.py
