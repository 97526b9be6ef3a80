# The interop lab's Postfix (sourced by tests/interop/run).
#
# One Postfix instance with its own configuration and queue directories
# under $LAB (the machine's /etc/postfix is never touched):
# - one `smtpd` per scenario, each on its own loopback address, configured
#   by `-o` overrides in master.cf (certificate, TLS protocols, ciphers);
#   what they accept is discarded;
# - the `smtp` client, which the sender-policy proof (issue 7) uses to
#   deliver through the policy map that `smtptls policy` wrote.
# The master runs in the foreground (`postfix start-fg`) inside the lab's
# DNS namespace, so the client resolves MX, A and TLSA through unbound.

PF=$LAB/postfix

postfix_init() {
    mkdir -p "$PF/etc" "$PF/queue" "$PF/data"
    : >"$PF/tls_policy"
    cat >"$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
myhostname = sender.lab.test
mydomain = lab.test
myorigin = \$myhostname
mydestination =
# The smtpd services bind their own addresses (master.cf); this is the
# client's source address.
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = $LAB/logs/postfix.log
maillog_file_prefixes = $LAB/logs
biff = no
smtpd_banner = \$myhostname ESMTP
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
# The scenario servers are set up as internet.nl advises (TLS 1.2 and 1.3,
# ECDHE with AEAD suites, server order), so each scenario grades only what
# it varies; debiandefault.test keeps Postfix's own defaults. smtpd_*
# parameters only: the sending client keeps Postfix's defaults.
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_exclude_ciphers = aNULL, eNULL, kRSA, kDHE, kEDH, SHA1, SHA256, SHA384, CAMELLIA, ARIA, PSK, SRP, DSS
tls_preempt_cipherlist = yes
smtpd_relay_restrictions = permit_mynetworks, reject
# Never keep what the scenario servers accept.
content_filter =
smtp_tls_security_level = may
smtp_tls_loglevel = 1
smtp_tls_CAfile = $LAB/pki/ca.pem
smtp_tls_policy_maps = hash:$PF/tls_policy
# Issue 18: recipients mtasts@DOMAIN go through the mtasts transport,
# whose policy comes from postfix-mta-sts-resolver (mtasts.sh); everything
# else keeps the table above.
transport_maps = hash:$PF/transport
smtp_dns_support_level = dnssec
smtp_host_lookup = dns
# Fast, bounded retries: a deferral shows in the log after one attempt.
smtp_connect_timeout = 5s
smtp_helo_timeout = 10s
minimal_backoff_time = 300s
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
EOF
    cat >"$PF/etc/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
mtasts    unix  -       -       n       -       -       smtp
  -o smtp_tls_policy_maps=socketmap:inet:127.0.46.1:8461:postfix
  -o syslog_name=postfix/mtasts
EOF
    printf '%s mtasts:\n' mtasts@stsgood.test mtasts@stsbad.test >"$PF/transport"
}

# postfix_service ADDR[:PORT] HOSTNAME CERT [-o name=value …]  (port 25 unless given)
#   CERT: a pki_leaf name (served with its chain file), "A+B" for two
#   leaves of different key types served side by side (a dual-certificate
#   server: OpenSSL picks the chain by the client's signature algorithms),
#   or "none" for a server without STARTTLS.
postfix_service() {
    local addr=$1 host=$2 cert=$3
    shift 3
    [ "$addr" = "${addr%:*}" ] && addr=$addr:25
    {
        echo "$addr inet n - n - - smtpd"
        echo "  -o myhostname=$host"
        # What a scenario server accepts is dropped, never relayed.
        echo "  -o content_filter=discard:"
        if [ "$cert" = none ]; then
            echo "  -o smtpd_tls_security_level=none"
        elif [ "$cert" != "${cert#*+}" ]; then
            local first=${cert%%+*} second=${cert#*+}
            echo "  -o smtpd_tls_chain_files=$LAB/pki/$first.key,$LAB/pki/$first.chain.pem,$LAB/pki/$second.key,$LAB/pki/$second.chain.pem"
        else
            echo "  -o smtpd_tls_chain_files=$LAB/pki/$cert.key,$LAB/pki/$cert.chain.pem"
        fi
        local o
        for o in "$@"; do echo "  $o"; done
    } >>"$PF/etc/master.cf"
}

postfix_start() {
    postmap "hash:$PF/tls_policy"
    postmap "hash:$PF/transport"
    postfix -c "$PF/etc" set-permissions >/dev/null 2>&1 || true
    postfix -c "$PF/etc" check
    in_lab_dns postfix -c "$PF/etc" start-fg >>"$LAB/logs/postfix.out" 2>&1 &
    remember $! postfix
    remember_pidfile "$PF/queue/pid/master.pid" postfix-master
}

# Issue 30: message submission (RFC 6409 on 587, RFC 8314 implicit TLS on
# 465) with SASL through Postfix's Cyrus SASL and a sasldb holding one
# user, so that AUTH is advertised exactly as a real submission server
# advertises it. smtptls never authenticates; the user only has to exist.
# Debian's Postfix reads the Cyrus application file from
# $config_directory/sasl/ (its patch 07_sasl_config; an strace showed the
# -o cyrus_sasl_config_path being passed over), upstream's from
# cyrus_sasl_config_path: the file is put where both look.
SASL_DIR=$PF/etc/sasl
postfix_sasl_init() {
    mkdir -p "$SASL_DIR"
    cat >"$SASL_DIR/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $SASL_DIR/sasldb2
EOF
    echo lab-password | saslpasswd2 -p -c -f "$SASL_DIR/sasldb2" -u lab.test submitter
    # smtpd runs as the mail owner and opens the database itself.
    chown postfix "$SASL_DIR/sasldb2"
    chmod 600 "$SASL_DIR/sasldb2"
}

# postfix_submission ADDR:PORT HOSTNAME CERT TAG [-o name=value …]
#   A Postfix smtpd with SASL (Cyrus, the lab's sasldb) on ADDR:PORT. Its
#   log lines are tagged postfix/TAG (syslog_name): tests/interop.rs reads
#   the commands each session sent from smtpd's summary line
#   ("disconnect from … ehlo=2 starttls=1 quit=1 commands=4").
postfix_submission() {
    local addr=$1 host=$2 cert=$3 tag=$4
    shift 4
    postfix_service "$addr" "$host" "$cert" \
        -o "syslog_name=postfix/$tag" \
        -o smtpd_sasl_auth_enable=yes -o smtpd_sasl_type=cyrus \
        -o "cyrus_sasl_config_path=$SASL_DIR" -o smtpd_sasl_path=smtpd \
        -o smtpd_sasl_security_options=noanonymous \
        -o smtpd_relay_restrictions=permit_sasl_authenticated,reject \
        "$@"
}
