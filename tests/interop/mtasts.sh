# The interop lab's MTA-STS client: postfix-mta-sts-resolver (Debian's
# package), the daemon that gives Postfix MTA-STS policies over socketmap
# (sourced by tests/interop/run). It is the second opinion on smtptls's
# MTA-STS evaluation (tests/interop.rs) and Postfix's policy source for
# the `mtasts` transport (postfix.sh).
#
# It resolves through the lab's unbound (lab-dns) and trusts the lab CA
# for the HTTPS fetch (SSL_CERT_FILE: Python's ssl module takes its
# default trust store from there).

MTASTS_ADDR=127.0.46.1
MTASTS_PORT=8461

mtasts_start() {
    mkdir -p "$LAB/mtasts"
    # Two zones: `postfix` as the daemon ships (a testing policy is not
    # enforced, so Postfix gets NOTFOUND), and `strict`, which answers with
    # a testing policy too, to show that it was fetched and valid.
    # cache_grace 1: every query looks at the TXT record again (the test
    # switches a published policy from testing to enforce).
    cat >"$LAB/mtasts/mta-sts-daemon.yml" <<EOF
host: $MTASTS_ADDR
port: $MTASTS_PORT
reuse_port: true
shutdown_timeout: 2
cache_grace: 1
cache:
  type: internal
  options:
    cache_size: 1000
default_zone:
  strict_testing: false
  timeout: 4
zones:
  strict:
    strict_testing: true
    timeout: 4
EOF
    "$LAB/bin/lab-dns" env SSL_CERT_FILE="$LAB/pki/ca.pem" SSL_CERT_DIR=/nonexistent \
        mta-sts-daemon -c "$LAB/mtasts/mta-sts-daemon.yml" -v debug \
        -l "$LAB/logs/mta-sts-daemon.log" >>"$LAB/logs/mta-sts-daemon.out" 2>&1 &
    remember $! mta-sts-daemon
}
