#!/usr/bin/env bash
# Three tftpd edges on one HTTP origin, on one machine (docs/SCALE-OUT.md):
#
#   bash dist/edge-demo.sh [--clients N] [--size MIB] [--port PORT]
#
# starts nginx on a free loopback port as the origin, serving a temporary
# directory with one generated file of --size MiB (default 8), and three
# edges on 127.0.0.11, 127.0.0.12 and 127.0.0.13, each with a cache of its
# own and `--origin http://127.0.0.1:PORT/`. Then bench/loadgen sends a
# boot storm of --clients downloads (default 60), split across the edges,
# every byte checked against the file, twice: the first storm finds the
# caches empty, the second finds them warm. After each storm it prints the
# transfers each edge served (from its log), the GETs nginx answered (from
# its access log) and the cache lookups each edge counted (from its
# --metrics). Everything it starts is stopped, and the temporary directory
# removed, when it ends, also on Ctrl-C.
#
# Needs: a build (meson setup build && ninja -C build), nginx (Debian's
# nginx-light will do), ss (iproute2). Runs as any user; nginx and the
# edges run as the user who started the script.
#
# Environment (all optional):
#   BUILD_DIR      meson build directory (default: build)
#   TFTPD          the server (default: BUILD_DIR/tftpd/tftpd)
#   LOADGEN        the load generator (default: BUILD_DIR/bench/loadgen)
#   NGINX          nginx (default: /usr/sbin/nginx)
#   STORM_TIMEOUT  seconds one storm may take (default 300)
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$TOP/build}
TFTPD=${TFTPD:-$BUILD_DIR/tftpd/tftpd}
LOADGEN=${LOADGEN:-$BUILD_DIR/bench/loadgen}
NGINX=${NGINX:-/usr/sbin/nginx}
STORM_TIMEOUT=${STORM_TIMEOUT:-300}

CLIENTS=60
SIZE_MIB=8
PORT=
EDGES=(127.0.0.11 127.0.0.12 127.0.0.13)
FILE=image.bin

usage() {
  echo "usage: $0 [--clients N] [--size MIB] [--port PORT]" >&2
  exit 64
}
number() { # option value: a positive decimal
  case $2 in
    '' | *[!0-9]* | 0*) echo "edge-demo: $1: '$2' is not a positive number" >&2; exit 64 ;;
  esac
}
while [ $# -gt 0 ]; do
  case $1 in
    --clients) [ $# -ge 2 ] || usage; number "$1" "$2"; CLIENTS=$2; shift 2 ;;
    --size) [ $# -ge 2 ] || usage; number "$1" "$2"; SIZE_MIB=$2; shift 2 ;;
    --port) [ $# -ge 2 ] || usage; number "$1" "$2"; PORT=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
  esac
done
[ "$CLIENTS" -ge ${#EDGES[@]} ] || { echo "edge-demo: --clients must be at least ${#EDGES[@]}" >&2; exit 64; }

for exe in "$TFTPD" "$LOADGEN" "$NGINX"; do
  if [ ! -x "$exe" ]; then
    echo "edge-demo: $exe not found (build with: meson setup build && ninja -C build;" \
      "nginx: apt-get install nginx-light; or set TFTPD, LOADGEN, NGINX)" >&2
    exit 1
  fi
done
command -v ss >/dev/null || { echo "edge-demo: ss not found (apt-get install iproute2)" >&2; exit 1; }

# ---- processes and cleanup ------------------------------------------------

PIDS=()   # what this script started, stopped in reverse order
T=
stop() { # pid: TERM, up to 5 s, then KILL; only a child of this script
  local pid=$1 i
  [ "$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$$" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  trap - EXIT INT TERM
  local i workers=
  # nginx's workers are its children: noted before the master goes.
  [ -n "${NGINX_PID:-}" ] && workers=$(ps -o pid= --ppid "$NGINX_PID" 2>/dev/null || true)
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    stop "${PIDS[i]}"
  done
  for i in $workers; do
    if [ "$(ps -o comm= -p "$i" 2>/dev/null)" = nginx ]; then
      kill -KILL "$i" 2>/dev/null || true
    fi
  done
  if [ -n "$T" ]; then rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

T=$(mktemp -d "${TMPDIR:-/tmp}/edge-demo.XXXXXX")

# A port nothing uses, on any address, for TCP or UDP (t or u).
port_free() { # proto port
  [ -z "$(ss -Han"$1" "sport = :$2" 2>/dev/null)" ]
}
free_port() { # proto
  local i p
  for i in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    if port_free "$1" "$p"; then
      echo "$p"
      return 0
    fi
  done
  echo "edge-demo: no free port found" >&2
  return 1
}
# Wait up to 10 s for a listening socket: proto addr:port pid log.
wait_listen() {
  local i
  for i in $(seq 100); do
    [ -n "$(ss -Hln"$1" "src $2" 2>/dev/null)" ] && return 0
    if ! kill -0 "$3" 2>/dev/null; then
      echo "edge-demo: the process for $2 exited:" >&2
      tail -n 20 "$4" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "edge-demo: nothing listens on $2 after 10 s:" >&2
  tail -n 20 "$4" >&2
  exit 1
}

# ---- the origin -----------------------------------------------------------

mkdir -p "$T/origin" "$T/nginx"
head -c $((SIZE_MIB << 20)) /dev/urandom > "$T/origin/$FILE"
HTTP_PORT=$(free_port t)
user_line=
[ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"
cat > "$T/nginx/nginx.conf" <<EOF
$user_line
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 512; }
http {
    log_format demo '\$request_method \$status \$body_bytes_sent \$uri';
    access_log $T/nginx/access.log demo;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    default_type application/octet-stream;
    sendfile on;
    server {
        listen 127.0.0.1:$HTTP_PORT;
        root $T/origin;
    }
}
EOF
"$NGINX" -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf" \
  > "$T/nginx/stderr" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_listen t "127.0.0.1:$HTTP_PORT" "$NGINX_PID" "$T/nginx/error.log"

# ---- the edges ------------------------------------------------------------

if [ -z "$PORT" ]; then
  PORT=$(free_port u)
elif ! port_free u "$PORT"; then
  echo "edge-demo: UDP port $PORT is in use (ss -uanp sport = :$PORT)" >&2
  exit 1
fi
METRICS_PORT=$(free_port t)
as_user=()
[ "$(id -u)" = 0 ] && as_user=(-u root)   # else tftpd would become nobody
for i in "${!EDGES[@]}"; do
  d=$T/edge$((i + 1))
  mkdir -p "$d/root" "$d/cache"
  "$TFTPD" -r "$d/root" -a "${EDGES[i]}:$PORT" ${as_user[@]+"${as_user[@]}"} \
    --origin "http://127.0.0.1:$HTTP_PORT/" --cache "$d/cache" \
    --cache-ttl 600 --metrics "${EDGES[i]}:$METRICS_PORT" \
    --log-format json -v > "$d/log" 2>&1 &
  PIDS+=("$!")
  EDGE_PID[i]=$!
done
for i in "${!EDGES[@]}"; do
  wait_listen u "${EDGES[i]}:$PORT" "${EDGE_PID[i]}" "$T/edge$((i + 1))/log"
  wait_listen t "${EDGES[i]}:$METRICS_PORT" "${EDGE_PID[i]}" "$T/edge$((i + 1))/log"
done

# ---- figures --------------------------------------------------------------

# One edge's /metrics, by bash's /dev/tcp (no curl needed), within 5 s.
metrics() { # addr
  # shellcheck disable=SC2016  # expanded by the inner bash
  timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" &&
    printf "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n" "$1" >&3 && cat <&3' \
    _ "$1" "$METRICS_PORT" 2>/dev/null || true
}
# The sum of a counter's samples whose labels contain MATCH.
metric_sum() { # text name match
  printf '%s\n' "$1" | awk -v n="$2" -v m="$3" '
    index($0, n "{") == 1 && index($0, m) { s += $NF }
    END { printf "%d\n", s }'
}
snapshot() { # file: per edge: hit miss joined revalidated stale origin-GETs
  local a text r
  : > "$1"
  for a in "${EDGES[@]}"; do
    text=$(metrics "$a")
    for r in hit miss joined revalidated stale; do
      printf '%s ' "$(metric_sum "$text" tftp_cache_lookups_total "result=\"$r\"")"
    done >> "$1"
    metric_sum "$text" tftp_origin_requests_total 'method="GET"' >> "$1"
  done
}
lines() { # file
  if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi
}
field() { # RESULT-line name: its value
  printf '%s\n' "$1" | sed -n "s/.* $2=\([0-9.]*\).*/\1/p"
}

echo "origin: nginx on 127.0.0.1:$HTTP_PORT, $FILE ($SIZE_MIB MiB)"
echo "edges:  ${EDGES[*]} port $PORT (metrics on port $METRICS_PORT)"
echo "storm:  $CLIENTS clients split across the edges, each from an address of its"
echo "        own; a PXE size probe (tsize, then ERROR 8), then the download with"
echo "        blksize 1468 and windowsize 4; every byte compared with the file"

RUN=0
storm() { # title
  RUN=$((RUN + 1))
  local i n rc lg new ok probes other secs=0 verified=0 failed=0
  local pids=() log_before=() get200 get304 before after
  snapshot "$T/metrics.before"
  before=$(lines "$T/nginx/access.log")
  for i in "${!EDGES[@]}"; do
    log_before[i]=$(lines "$T/edge$((i + 1))/log")
  done
  for i in "${!EDGES[@]}"; do
    # The clients split as evenly as they go.
    n=$(((CLIENTS + i) / ${#EDGES[@]}))
    timeout -k 5 "$STORM_TIMEOUT" "$LOADGEN" -d "$T/origin" -f "$FILE" -n 1 \
      -c "$n" -t "$n" -b 1468 -w 4 -T 1000 -P error8 -A "${EDGES[i]}:$PORT" \
      > "$T/loadgen$i.$RUN" 2>&1 &
    pids[i]=$!
    PIDS+=("$!")
  done
  for i in "${!EDGES[@]}"; do
    rc=0
    wait "${pids[i]}" || rc=$?
    [ "$rc" = 124 ] && echo "edge-demo: the storm on ${EDGES[i]} did not end in $STORM_TIMEOUT s" >&2
  done
  # They are gone: their ids must not be signalled at the end.
  PIDS=("${PIDS[@]:0:${#PIDS[@]}-${#EDGES[@]}}")
  sleep 0.2 # the edges' last log lines
  snapshot "$T/metrics.after"

  echo
  echo "$1"
  echo "  edge        served probes other | cache: hit  miss joined reval stale | origin GETs"
  for i in "${!EDGES[@]}"; do
    new=$(tail -n +"$((log_before[i] + 1))" "$T/edge$((i + 1))/log" | grep '"event":"transfer"' || true)
    ok=$(printf '%s\n' "$new" | grep -c '"result":"ok"' || true)
    probes=$(printf '%s\n' "$new" | grep -c '"result":"size_probe"' || true)
    other=$(printf '%s\n' "$new" | grep -c -v -e '"result":"ok"' -e '"result":"size_probe"' -e '^$' || true)
    read -r h0 m0 j0 r0 s0 g0 < <(sed -n "$((i + 1))p" "$T/metrics.before")
    read -r h1 m1 j1 r1 s1 g1 < <(sed -n "$((i + 1))p" "$T/metrics.after")
    printf '  %-11s %6d %6d %5d |       %4d %5d %6d %5d %5d | %11d\n' "${EDGES[i]}" \
      "$ok" "$probes" "$other" $((h1 - h0)) $((m1 - m0)) $((j1 - j0)) \
      $((r1 - r0)) $((s1 - s0)) $((g1 - g0))
    lg=$(grep -o 'RESULT.*' "$T/loadgen$i.$RUN" || true)
    if [ -z "$lg" ]; then
      echo "    loadgen gave no result:"
      tail -n 5 "$T/loadgen$i.$RUN" | sed 's/^/    /'
      continue
    fi
    verified=$((verified + $(field "$lg" ok)))
    failed=$((failed + $(field "$lg" failed)))
    # The slowest of the three is the storm's makespan.
    secs=$(printf '%s\n%s\n' "$secs" "$(field "$lg" seconds)" | sort -g | tail -n 1)
    if [ "$(field "$lg" failed)" != 0 ]; then
      grep -m 3 'failed:' "$T/loadgen$i.$RUN" | sed 's/^/    loadgen: /' || true
    fi
  done
  after=$(lines "$T/nginx/access.log")
  get200=$(tail -n +"$((before + 1))" "$T/nginx/access.log" | grep -c '^GET 200 ' || true)
  get304=$(tail -n +"$((before + 1))" "$T/nginx/access.log" | grep -c '^GET 304 ' || true)
  printf '  clients: %d downloads verified, %d failed, in %.2f s\n' "$verified" "$failed" "$secs"
  echo "  origin:  $((after - before)) requests in nginx's access log:" \
    "$get200 GET answered 200 (the whole file), $get304 answered 304"
  if [ "$get200" -gt 0 ]; then
    echo "  $verified downloads from $get200 origin GETs:" \
      "$(awk -v a="$verified" -v b="$get200" 'BEGIN { printf "%.1f", a / b }') per GET"
  else
    echo "  $verified downloads, no origin GET: all served from the edges' caches"
  fi
}

storm "storm 1: cold caches"
storm "storm 2: warm caches"
echo
echo "both storms, from the edges' metrics (a probe and a download count a lookup each):"
snapshot "$T/metrics.end"
awk '{ h += $1; m += $2; j += $3; r += $4; s += $5 }
     END { l = h + m + j + r + s
           if (!l) { print "  no cache lookups counted"; exit }
           printf "  %d lookups: %d hits (%.1f%%), %d joined a GET already running,\n", l, h, 100 * h / l, j
           printf "  %d misses, %d revalidations, %d stale: %.1f%% needed no origin request of their own\n",
                  m, r, s, 100 * (h + j) / l }' "$T/metrics.end"
