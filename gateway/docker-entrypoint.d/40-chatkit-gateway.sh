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

fail() {
    echo "$0: $*" >&2
    exit 1
}

# Every gateway setting that is unset or empty takes its default from defaults.env, the
# one place the defaults are defined (devstack reads the same file for `make run`).
defaults="${GATEWAY_DEFAULTS:-/etc/nginx/chatkit/defaults.env}"
while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in '' | '#'*) continue ;; esac
    name="${line%%=*}"
    case "$name" in '' | *[!A-Z0-9_]*) fail "$defaults: not NAME=VALUE: $line" ;; esac
    eval "current=\${$name:-}"
    [ -n "$current" ] || export "$name=${line#*=}"
done <"$defaults"

whole_number() {
    eval "value=\${$1:-}"
    case "$value" in '' | *[!0-9]*) fail "$1=$value: expected a whole number" ;; esac
}
for name in CONN_PER_ADDRESS CONN_PER_USER HSTS_MAX_AGE ATTACHMENT_MAX_BYTES; do whole_number "$name"; done
case "${LOG_FORMAT:-}" in text | json) ;; *) fail "LOG_FORMAT=${LOG_FORMAT:-}: expected text or json" ;; esac

# Retry-After for the gateway's own 429s: unless set, the seconds until the bucket of
# <ZONE>_RATE_LIMIT (nginx rates: 10r/m, 5r/s) has room again.
retry_after() {
    echo "$1" | awk -F'r/' '$1 > 0 { w = ($2 == "m") ? 60 : 1; s = int((w + $1 - 1) / $1); print (s < 1) ? 1 : s }'
}
for zone in AUTH SESSION SEND CHATKIT CHAT; do
    eval "rate=\${${zone}_RATE_LIMIT:-}; given=\${${zone}_RETRY_AFTER:-}"
    case "$rate" in [1-9]*r/[sm]) ;; *) fail "${zone}_RATE_LIMIT=$rate: expected a rate like 10r/m or 5r/s" ;; esac
    whole_number "${zone}_RATE_BURST"
    export "${zone}_RETRY_AFTER=${given:-$(retry_after "$rate")}"
done

# Trusted proxies in front (REAL_IP_FROM, addresses or CIDRs): the client address comes
# from their X-Forwarded-For. Empty: the peer's address is the client's.
REAL_IP_DIRECTIVES="# REAL_IP_FROM is empty: no proxy in front is trusted"
if [ -n "$(echo "$REAL_IP_FROM" | tr ',' ' ' | tr -d ' ')" ]; then
    REAL_IP_DIRECTIVES=""
    for source in $(echo "$REAL_IP_FROM" | tr ',' ' '); do
        case "$source" in *[!0-9A-Fa-f.:/]*) fail "REAL_IP_FROM: $source is not an address or CIDR" ;; esac
        REAL_IP_DIRECTIVES="${REAL_IP_DIRECTIVES}set_real_ip_from $source; "
    done
    REAL_IP_DIRECTIVES="${REAL_IP_DIRECTIVES}real_ip_header X-Forwarded-For; real_ip_recursive on;"
fi
export REAL_IP_DIRECTIVES

names=$(env | sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/${\1}/p' | tr '\n' ' ')
envsubst "$names" <"$template" >"$out"

# A placeholder nobody set would reach nginx as text: name them all and stop here.
missing=$(grep -o '\${[A-Z_][A-Z0-9_]*}' "$out" | sort -u | tr '\n' ' ' || true)
if [ -n "$missing" ]; then
    echo "$0: set these variables for the gateway: $missing" >&2
    exit 1
fi
echo "$0: rendered $template to $out" >&2
