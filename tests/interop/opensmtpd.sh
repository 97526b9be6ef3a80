# The interop lab's OpenSMTPD sender (issue 29), sourced by
# tests/interop/run.
#
# Debian's opensmtpd conflicts with Postfix, so its package is unpacked
# beside it (`dpkg -x`). Its spool (/var/spool/smtpd), control socket
# (/var/run/smtpd.sock) and chroot (/var/lib/opensmtpd/empty) are
# compiled in: `opensmtpd-sender DIR` runs `smtpd -d -f DIR/smtpd.conf` in
# a private mount namespace whose /var/spool, /var/lib and /run are
# directories of DIR, with the lab's resolv.conf and the lab CA as its
# compiled-in CA file (/etc/ssl/certs/ca-certificates.crt, which the
# generated "relay tls" verifies with), so nothing of the
# machine's is used or left behind. tests/interop.rs starts one per
# configuration, submits over SMTP to 127.0.48.1:2525, reads the log, and
# stops it by PID.

OPENSMTPD_ROOT=$LAB/opensmtpd-pkg

opensmtpd_install() {
    unpack_package opensmtpd "$OPENSMTPD_ROOT"
    # The users it was built for (Debian's postinst creates them).
    local u
    for u in opensmtpd opensmtpq; do
        id "$u" >/dev/null 2>&1 ||
            useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
    done
    mkdir -p "$LAB/opensmtpd"
    cat >"$LAB/bin/opensmtpd-sender" <<SH
#!/bin/sh
# opensmtpd-sender DIR (see tests/interop/opensmtpd.sh)
mkdir -p "\$1/spool" "\$1/varlib/opensmtpd/empty" "\$1/run"
exec unshare --mount --propagation private sh -c '
  set -e
  mount --bind "\$0/spool" /var/spool
  mount --bind "\$0/varlib" /var/lib
  mount --bind "\$0/run" /run
  mount --bind "$LAB/resolv.conf" /etc/resolv.conf
  mount --bind "$LAB/pki/ca.pem" /etc/ssl/certs/ca-certificates.crt
  exec "$OPENSMTPD_ROOT/usr/sbin/smtpd" -d -f "\$0/smtpd.conf"' "\$1"
SH
    chmod +x "$LAB/bin/opensmtpd-sender"
}

# The fallback relay of issue 29: tests/interop/sink.py on 127.0.47.1:2525
# (relay.test), STARTTLS with a lab certificate, logging each recipient.
SINK_ADDR=127.0.47.1
SINK_PORT=2525
sink_start() {
    : >"$LAB/logs/sink.log"
    python3 tests/interop/sink.py "$SINK_ADDR" "$SINK_PORT" "$LAB/pki/relay.chain.pem" \
        "$LAB/pki/relay.key" "$LAB/logs/sink.log" >>"$LAB/logs/sink.out" 2>&1 &
    remember $! sink
}
