# The interop lab's TLS-RPT reporter: sys4's tlsrpt-reporter (PyPI, the
# version and hash pinned in tests/interop/tlsrpt-requirements.txt), in
# a virtual environment of Debian's Python (sourced by tests/interop/run).
#
# Its collectd receives the datagrams an MTA sends through libtlsrpt, one
# per delivery attempt; its reportd turns a finished day into RFC 8460
# reports and mails them. tests/interop.rs feeds the datagrams, ends the
# day (SIGUSR2: tlsrpt-collectd's day roll-over for development), runs
# reportd, and reads the mails it "sends" (sendmail_script writes each to
# a file) with `smtptls tlsrpt`.

TLSRPT=$LAB/tlsrpt

tlsrpt_install() {
    mkdir -p "$TLSRPT/reports"
    # Debian's interpreter, not whatever python3 comes first in PATH.
    /usr/bin/python3 -m venv "$TLSRPT/venv"
    "$TLSRPT/venv/bin/pip" install --quiet --disable-pip-version-check \
        --require-hashes --no-deps -r tests/interop/tlsrpt-requirements.txt
    "$TLSRPT/venv/bin/pip" show tlsrpt-reporter | sed -n 's/^Version: /== interop: tlsrpt-reporter /p'
    cat >"$TLSRPT/tlsrpt.cfg" <<EOF
[tlsrpt_collectd]
storage = sqlite://$TLSRPT/collectd.sqlite
socketname = $TLSRPT/collectd.socket
logfilename = $LAB/logs/tlsrpt-collectd.log
log_level = debug
# Commit every datagram at once: the test ends the day right after.
sockettimeout = 1
max_uncommited_datagrams = 1

[tlsrpt_fetcher]
storage = sqlite://$TLSRPT/collectd.sqlite
logfilename = $LAB/logs/tlsrpt-fetcher.log
log_level = debug

[tlsrpt_reportd]
organization_name = smtptls interop lab
contact_info = mailto:postmaster@sender.lab.test
sender_address = tlsrpt@sender.lab.test
dbname = $TLSRPT/reportd.sqlite
logfilename = $LAB/logs/tlsrpt-reportd.log
log_level = debug
fetchers = $TLSRPT/venv/bin/tlsrpt-fetcher --config_file $TLSRPT/tlsrpt.cfg
# Each report mail to its own file instead of the mail system.
sendmail_script = cat > \$(mktemp $TLSRPT/reports/report-XXXXXX.eml)
# Seconds instead of hours: the reports come out at once.
interval_main_loop = 1
spread_out_delivery = 1
min_wait_delivery = 0
max_wait_delivery = 1
max_retries_domainlist = 2
min_wait_domainlist = 0
max_wait_domainlist = 1
max_retries_domaindetails = 2
min_wait_domaindetails = 0
max_wait_domaindetails = 1
max_collectd_timeout = 0
max_collectd_timediff = 0
EOF
}

tlsrpt_start() {
    "$TLSRPT/venv/bin/tlsrpt-collectd" --config_file "$TLSRPT/tlsrpt.cfg" \
        >>"$LAB/logs/tlsrpt-collectd.out" 2>&1 &
    remember $! tlsrpt-collectd
}
