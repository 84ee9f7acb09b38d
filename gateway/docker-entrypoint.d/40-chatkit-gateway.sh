#!/bin/sh
# Renders the gateway's nginx.conf from gateway/nginx.conf.template before nginx starts.
# The official nginx image's /docker-entrypoint.sh runs /docker-entrypoint.d/*.sh in order
# when the command is `nginx`. Only ${UPPER_CASE} placeholders that are set in the
# environment are substituted, so nginx's own $lower_case variables stay as they are.
set -eu

template="${GATEWAY_TEMPLATE:-/etc/nginx/chatkit/nginx.conf.template}"
out="${GATEWAY_CONFIG:-/tmp/gateway/nginx.conf}"
mkdir -p "$(dirname "$out")" "${NGINX_TEMP_DIR:?set NGINX_TEMP_DIR}"

# GATEWAY_UPSTREAM_RESOLVE=on: nginx re-resolves each upstream's name at run time and
# sends to every address it has (e.g. all replicas of `docker compose up --scale agent=3`,
# through Docker's DNS), instead of the addresses it saw once at start. This needs nginx
# >= 1.27.3 (`resolve` on upstream servers, `resolver` in an upstream block) and a shared
# memory zone per upstream, added here to the upstream's `server` line.
if [ "${GATEWAY_UPSTREAM_RESOLVE:-off}" = "on" ]; then
    resolver="${GATEWAY_RESOLVER:-}"
    if [ -z "$resolver" ]; then
        resolver=$(awk '$1 == "nameserver" { print ($2 ~ ":") ? "[" $2 "]" : $2; exit }' \
            /etc/resolv.conf)
    fi
    valid="${GATEWAY_RESOLVER_VALID:-5s}"
    for name in AUTH CONVERSATIONS AGENT; do
        eval "server=\${${name}_UPSTREAM:?set ${name}_UPSTREAM}"
        zone="$(echo "$name" | tr '[:upper:]' '[:lower:]')_upstream"
        export "${name}_UPSTREAM=${server} resolve; zone ${zone} 64k; resolver ${resolver} valid=${valid} ipv6=off"
    done
fi

# Retry-After for the gateway's own 429s: unless set, the seconds until the bucket of
# AUTH_RATE_LIMIT / SEND_RATE_LIMIT / CHATKIT_RATE_LIMIT (nginx rates: 10r/m, 5r/s) has room again.
retry_after() {
    echo "$1" | awk -F'r/' '$1 > 0 { w = ($2 == "m") ? 60 : 1; s = int((w + $1 - 1) / $1); print (s < 1) ? 1 : s }'
}
: "${AUTH_RETRY_AFTER:=$(retry_after "${AUTH_RATE_LIMIT:-}")}"
: "${SEND_RETRY_AFTER:=$(retry_after "${SEND_RATE_LIMIT:-}")}"
: "${CHATKIT_RETRY_AFTER:=$(retry_after "${CHATKIT_RATE_LIMIT:-}")}"
export AUTH_RETRY_AFTER SEND_RETRY_AFTER CHATKIT_RETRY_AFTER

names=$(env | sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/${\1}/p' | tr '\n' ' ')
envsubst "$names" <"$template" >"$out"

# A placeholder nobody set would reach nginx as text: name them all and stop here.
missing=$(grep -o '\${[A-Z_][A-Z0-9_]*}' "$out" | sort -u | tr '\n' ' ' || true)
if [ -n "$missing" ]; then
    echo "$0: set these variables for the gateway: $missing" >&2
    exit 1
fi
echo "$0: rendered $template to $out" >&2
