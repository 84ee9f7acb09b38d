#!/usr/bin/env sh
# Writes .env for docker compose from .env.example, with the required secrets filled in:
# a random Postgres password, a fresh Ed25519 token-signing key and the agent's client
# secret (its service identity at auth) (needs openssl).
#   deploy/generate-env.sh [path]     (default: .env at the repository root; never overwrites)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/.env"}
if [ -e "$out" ]; then
    echo "$out exists: not overwriting it (delete it first to start over)" >&2
    exit 1
fi
command -v openssl >/dev/null 2>&1 || { echo "openssl is needed to make the secrets" >&2; exit 1; }

password=$(openssl rand -hex 24)
client_secret=$(openssl rand -hex 32)
# One line: the PEM's newlines written as \n (auth reads them back), single-quoted so
# compose takes the value literally.
key=$(openssl genpkey -algorithm ed25519 | awk '{ printf "%s\\n", $0 }')

umask 077
# awk reads the values from its environment: no escaping rules apply to them there.
PASSWORD=$password KEY=$key CLIENT_SECRET=$client_secret awk '
    /^POSTGRES_PASSWORD=/ { print "POSTGRES_PASSWORD=" ENVIRON["PASSWORD"]; next }
    /^AGENT_CLIENT_SECRET=/ { print "AGENT_CLIENT_SECRET=" ENVIRON["CLIENT_SECRET"]; next }
    /^JWT_PRIVATE_KEYS=/ { print "JWT_PRIVATE_KEYS=\047" ENVIRON["KEY"] "\047"; next }
    { print }
' "$root/.env.example" >"$out"
echo "wrote $out (keep it secret; it is git-ignored)" >&2
