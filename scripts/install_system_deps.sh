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
