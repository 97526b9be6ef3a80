# Process bookkeeping for the interop lab (sourced by tests/interop/run).
#
# Every daemon runs in the foreground as a background job of this shell;
# `remember` records its PID and `lab_stop` kills exactly those PIDs
# (and, for a daemon that forks workers, its process group) — never by name,
# so nothing else on the machine is touched.

LAB_PIDS=()

remember() {
    LAB_PIDS+=("$1")
    echo "$1 $2" >>"$LAB/pids"
}

# remember_pidfile FILE NAME — a daemon that forks (Postfix's master is a
# child of postfix-script): its PID is read from its pid file at stop time.
LAB_PIDFILES=()
remember_pidfile() {
    LAB_PIDFILES+=("$1")
    echo "pidfile $1 $2" >>"$LAB/pids"
}

lab_stop() {
    local pid file
    for file in "${LAB_PIDFILES[@]}"; do
        pid=$(tr -dc 0-9 <"$file" 2>/dev/null) || continue
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${LAB_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    sleep 0.5
    for pid in "${LAB_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    LAB_PIDS=()
}

# wait_for DESCRIPTION COMMAND… — retry for up to 20 s.
wait_for() {
    local what=$1 i
    shift
    for i in $(seq 1 80); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.25
    done
    echo "interop: timed out waiting until $what" >&2
    return 1
}

# Runs a command with /etc/resolv.conf pointing at the lab's unbound, in a
# private mount namespace, so programs that only read the system resolver
# configuration (Postfix, posttls-finger, testssl.sh) use the lab DNS
# without the machine's own configuration being changed.
in_lab_dns() {
    unshare --mount --propagation private sh -c \
        'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$LAB/resolv.conf" "$@"
}
