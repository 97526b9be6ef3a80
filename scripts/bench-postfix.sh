# A throwaway Postfix smtpd (and Exim) for the latency comparison of scripts/bench
# (sourced). One `smtpd` on $PF_ADDR:25 with an ECDSA P-256 certificate,
# TLS 1.2 and 1.3, under its own configuration and queue in $PF_DIR: the
# machine's /etc/postfix is never touched. Postfix itself comes from the
# Debian package (which also brings posttls-finger); the caller holds
# /tmp/interop.lock, the lock every starter of a lab Postfix takes.
#
#   pf_start DIR ADDR   start it; the master's PID goes to $PF_MASTER_PID
#   pf_stop             stop exactly that master (by its PID file)

pf_start() {
    PF_DIR=$1 PF_ADDR=$2
    mkdir -p "$PF_DIR/etc" "$PF_DIR/queue" "$PF_DIR/data" "$PF_DIR/logs"
    chmod 755 "$PF_DIR"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$PF_DIR/key.pem" -out "$PF_DIR/cert.pem" -days 2 \
        -subj /CN=mx.bench.test -addext subjectAltName=DNS:mx.bench.test 2>/dev/null
    cat >"$PF_DIR/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $PF_DIR/queue
data_directory = $PF_DIR/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.bench.test
mydestination =
# master.cf binds the smtpd to \$PF_ADDR itself; Postfix wants
# inet_interfaces to be an address configured on an interface.
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = $PF_DIR/logs/postfix.log
maillog_file_prefixes = $PF_DIR/logs
smtpd_banner = \$myhostname ESMTP
smtpd_tls_security_level = may
smtpd_tls_chain_files = $PF_DIR/key.pem, $PF_DIR/cert.pem
smtpd_tls_protocols = >=TLSv1.2
smtpd_relay_restrictions = permit_mynetworks, reject
# The bench probes hundreds of times a second from one address.
smtpd_client_connection_rate_limit = 0
smtpd_client_connection_count_limit = 0
anvil_rate_time_unit = 1s
CF
    cat >"$PF_DIR/etc/master.cf" <<CF
$PF_ADDR:25 inet n - n - - smtpd
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
proxymap  unix  -       -       n       -       -       proxymap
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CF
    postfix -c "$PF_DIR/etc" set-permissions >/dev/null 2>&1 || true
    postfix -c "$PF_DIR/etc" check
    postfix -c "$PF_DIR/etc" start-fg >>"$PF_DIR/logs/postfix.out" 2>&1 &
    PF_FG_PID=$!
    local i
    for i in $(seq 1 80); do
        if bash -c "exec 3<>/dev/tcp/$PF_ADDR/25" 2>/dev/null; then return 0; fi
        sleep 0.25
    done
    echo "bench: Postfix did not start listening on $PF_ADDR:25 (logs in $PF_DIR/logs)" >&2
    return 1
}

pf_stop() {
    local pid
    pid=$(tr -dc 0-9 <"$PF_DIR/queue/pid/master.pid" 2>/dev/null) || true
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    [ -n "${PF_FG_PID:-}" ] && kill -TERM "$PF_FG_PID" 2>/dev/null || true
    sleep 0.5
}

# Exim next to it, for the same comparison: started the way the interop
# suite starts its Exim servers (tests/interop/exim.sh, sourced: Debian's
# exim4-daemon-light unpacked with dpkg -x, since it conflicts with
# Postfix; one daemon with our configuration), on its own loopback address
# with the certificate pf_start made. The caller holds /tmp/interop.lock.
#
#   exim_start DIR ADDR   start it (returns 1, and says why, if it cannot)
#   exim_stop             stop exactly the daemon it started (by PID)

exim_start() {
    LAB=$1
    local addr=$2
    mkdir -p "$LAB/pki" "$LAB/logs"
    # shellcheck source=tests/interop/common.sh
    . tests/interop/common.sh
    # shellcheck source=tests/interop/exim.sh
    . tests/interop/exim.sh
    if ! exim_install >"$LAB/logs/install.log" 2>&1; then
        echo "Exim: not started (exim4-daemon-light could not be unpacked: $(tail -n 1 "$LAB/logs/install.log"))"
        return 1
    fi
    cp "$PF_DIR/cert.pem" "$LAB/pki/bench.chain.pem"
    cp "$PF_DIR/key.pem" "$LAB/pki/bench.key"
    exim_server bench "$addr" mx.bench.test bench
    wait_for "Exim listens on $addr:25" bash -c "exec 3<>/dev/tcp/$addr/25"
}

exim_stop() {
    if [ -n "${LAB:-}" ] && declare -F lab_stop >/dev/null; then
        lab_stop
    fi
}
