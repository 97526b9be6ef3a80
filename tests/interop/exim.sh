# The interop lab's second, independent MTA: Exim (Debian's
# exim4-daemon-light, built with GnuTLS), sourced by tests/interop/run.
#
# Debian's Exim and Postfix packages conflict, so Exim's package is
# unpacked beside Postfix (`dpkg -x`) rather than installed; only its
# daemon binary is used, with a configuration of our own. Each Exim server
# is one daemon on its own loopback address that answers EHLO and
# STARTTLS and refuses every recipient (nothing is ever queued).

EXIM_ROOT=$LAB/exim-pkg

exim_install() {
    unpack_package exim4-daemon-light "$EXIM_ROOT"
    # Exim refuses to start without the user it was built for.
    id Debian-exim >/dev/null 2>&1 ||
        useradd --system --no-create-home --shell /usr/sbin/nologin Debian-exim
}

# exim_server NAME ADDR HOSTNAME CERT [MAIN-SECTION LINE…]
exim_server() {
    local name=$1 addr=$2 host=$3 cert=$4 dir=$LAB/exim/$1
    shift 4
    mkdir -p "$dir/spool" "$dir/log"
    # Exim writes its spool and logs as its own user.
    chown Debian-exim "$dir/spool" "$dir/log"
    cat >"$dir/exim.conf" <<EOF
primary_hostname = $host
spool_directory = $dir/spool
log_file_path = $dir/log/%slog
keep_environment =
pid_file_path = $dir/exim.pid
local_interfaces = $addr
daemon_smtp_ports = 25
tls_advertise_hosts = *
tls_certificate = $LAB/pki/$cert.chain.pem
tls_privatekey = $LAB/pki/$cert.key
host_lookup =
rfc1413_hosts =
# Exim counts a connection until its process exits; a deep scan opens many
# in a burst, which the default (20) answers with 421.
smtp_accept_max = 200
$(printf '%s\n' "$@")
acl_smtp_rcpt = refuse
begin acl
refuse:
  deny message = this lab server accepts no mail
EOF
    chmod 644 "$LAB/pki/$cert.key"
    chown root:root "$dir/exim.conf"
    "$EXIM_ROOT/usr/sbin/exim4" -C "$dir/exim.conf" -bdf >>"$LAB/logs/exim-$name.out" 2>&1 &
    remember $! "exim-$name"
}

# The Exim sender of issue 18's proof: tests/interop.rs writes its
# configuration (the generated `smtptls policy --format exim` lists in the
# main section) and runs one delivery per message in the foreground
# (`-odi`). It gets a spool per configuration, so that the retry hints of
# one run do not decide the next, and one log; Exim writes both as its
# own user.
exim_sender_init() {
    local dir=$LAB/exim/sender
    mkdir -p "$dir/spool-generated" "$dir/spool-stronger" "$dir/log"
    chown Debian-exim "$dir/spool-generated" "$dir/spool-stronger" "$dir/log"
}
