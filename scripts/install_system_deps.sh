#!/usr/bin/env bash
# Installs the system packages the stack and its tests use (nginx, headless Chromium)
# when they are missing and we may (root with apt-get); otherwise says what to install.
set -euo pipefail
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ "${1:-}" = "--with-browser" ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  # The README's curl walkthrough runs as a test (tests/e2e/test_walkthrough.py).
  command -v curl >/dev/null 2>&1 || need+=(curl)
  command -v jq >/dev/null 2>&1 || need+=(jq)
  # tests/deploy/test_env_example.py makes the secrets as .env.example says (openssl rand).
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
fi
# `make test` builds examples/nextjs (tests/deploy/test_chatkit_example.py) with Node.js
# 20.9+ and npm, and skips it without npm. Debian's nodejs is new enough from trixie on
# (bookworm's 18 is not): take it from apt only then, else say where to get it.
if [ "${1:-}" = "--with-browser" ] && ! command -v npm >/dev/null 2>&1; then
  node_major=$(apt-cache policy nodejs 2>/dev/null | sed -n 's/^ *Candidate: \([0-9]*\).*/\1/p')
  if [ "${node_major:-0}" -ge 20 ] 2>/dev/null; then
    need+=(nodejs npm)
  else
    echo "note: no npm: the Next.js example build is skipped. Install Node.js 20.9+ (nodejs.org)" >&2
  fi
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "missing: ${need[*]}. Install with: sudo apt-get install ${need[*]} (or brew install nginx)" >&2
  exit 1
fi
