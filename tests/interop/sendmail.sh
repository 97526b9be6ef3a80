# The interop lab's Sendmail sender (issue 29), sourced by tests/interop/run.
#
# Debian's sendmail-bin conflicts with Postfix (both are the system MTA),
# so, like Exim, its package is unpacked beside Postfix (`dpkg -x`) with
# sendmail-cf's m4 files; nothing is installed as a service. The suite
# writes a sender configuration per run (tests/interop.rs: an .mc built
# into a .cf with m4, the generated access map loaded with makemap) and
# runs one foreground delivery per message (`sendmail -C … -odi -v`), in
# the lab's DNS namespace. Sendmail logs only to syslog, which this
# machine may not run: the suite reads the -v transcript instead.

SENDMAIL_ROOT=$LAB/sendmail-pkg

sendmail_install() {
    unpack_package sendmail-bin "$SENDMAIL_ROOT"
    # The m4 files that build a .cf (arch all, no libraries).
    mkdir -p "$LAB/debs"
    (cd "$LAB/debs" && apt-get download sendmail-cf >/dev/null 2>&1) ||
        { echo "interop: apt-get download sendmail-cf failed" >&2; return 1; }
    dpkg -x "$LAB"/debs/sendmail-cf_*.deb "$SENDMAIL_ROOT"
    mkdir -p "$LAB/sendmail"
    # sendmail-sender ARGS…: Sendmail in the lab DNS, with a qualified
    # host name in a UTS namespace of its own: with the machine's
    # unqualified one (e.g. "vm") Sendmail sleeps 60 s at every start
    # trying to qualify it.
    cat >"$LAB/bin/sendmail-sender" <<SH
#!/bin/sh
exec unshare --uts --mount --propagation private sh -c 'hostname sender.lab.test && mount --bind "\$0" /etc/resolv.conf && exec "\$@"' "$LAB/resolv.conf" "$SENDMAIL_ROOT/usr/libexec/sendmail/sendmail" "\$@"
SH
    chmod +x "$LAB/bin/sendmail-sender"
}
