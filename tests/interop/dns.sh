# The interop lab's DNS (sourced by tests/interop/run): the `test.` zone,
# signed with ldns-signzone, served by nsd (authoritative) and resolved by
# unbound (validating, with the zone's KSK as its trust anchor).
#
# Scenario code adds records with zone_add; dns_start signs and serves.

DNS_AUTH=127.0.53.1
DNS_RESOLVER=127.0.53.2

zone_init() {
    mkdir -p "$LAB/dns" "$LAB/unbound"
    cat >"$LAB/dns/test.zone" <<EOF
\$ORIGIN test.
\$TTL 300
@   IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300
@   IN NS  ns.test.
ns  IN A   $DNS_AUTH
EOF
}

# zone_add "RECORD LINE" — one zone-file line, names relative to test.
zone_add() {
    echo "$*" >>"$LAB/dns/test.zone"
}

# A KSK and a ZSK (ECDSA P-256), the signed zone, the trust anchor file
# (the KSK's DNSKEY record, which smtptls takes as --trust-anchor).
zone_sign() {
    local dir=$LAB/dns ksk zsk
    (
        cd "$dir" || exit 1
        ksk=$(ldns-keygen -a ECDSAP256SHA256 -k test.)
        zsk=$(ldns-keygen -a ECDSAP256SHA256 test.)
        cat "$ksk.key" "$zsk.key" >>test.zone
        ldns-signzone -e 20401231000000 -f test.zone.signed test.zone "$ksk" "$zsk"
        grep -v '^;' "$ksk.key" >anchor.key
        echo "$ksk $zsk" >keys
    )
}

# $LAB/bin/zone-set NAME [RECORD…] — for tests/interop.rs: replaces every
# record of NAME (relative to test.) with RECORDs, signs the zone again
# with the same keys and has nsd load it (SIGHUP). Publishing during the
# run is how a generated MTA-STS record reaches the lab.
zone_set_script() {
    cat >"$LAB/bin/zone-set" <<EOF
#!/bin/sh
set -e
cd "$LAB/dns"
name=\$1
shift
grep -v "^\$name " test.zone >test.zone.new || true
for r in "\$@"; do echo "\$r" >>test.zone.new; done
mv test.zone.new test.zone
ldns-signzone -e 20401231000000 -f test.zone.signed test.zone \$(cat keys)
kill -HUP \$(awk '\$2 == "nsd" { print \$1 }' "$LAB/pids")
EOF
    chmod +x "$LAB/bin/zone-set"
}

dns_start() {
    zone_sign
    cat >"$LAB/dns/nsd.conf" <<EOF
server:
    ip-address: $DNS_AUTH
    port: 53
    username: ""
    chroot: ""
    zonesdir: "$LAB/dns"
    database: ""
    zonelistfile: "$LAB/dns/zone.list"
    xfrdfile: "$LAB/dns/xfrd.state"
    pidfile: "$LAB/dns/nsd.pid"
    logfile: "$LAB/logs/nsd.log"
    server-count: 1
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: "test."
    zonefile: "test.zone.signed"
EOF
    nsd -d -c "$LAB/dns/nsd.conf" >>"$LAB/logs/nsd.log" 2>&1 &
    remember $! nsd
    zone_set_script

    cat >"$LAB/unbound/unbound.conf" <<EOF
server:
    interface: $DNS_RESOLVER
    port: 53
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "$LAB/unbound"
    pidfile: "$LAB/unbound/unbound.pid"
    logfile: "$LAB/logs/unbound.log"
    use-syslog: no
    verbosity: 1
    val-log-level: 2
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    # nsd listens on loopback, which unbound refuses to ask by default.
    do-not-query-localhost: no
    # test. is a special-use name (RFC 6761) that unbound answers itself
    # unless told otherwise: resolve it (through the stub below).
    local-zone: "test." transparent
    # Everything else is refused at once, the root included: the lab has
    # no internet, and smtptls's start-of-run check asks for the root
    # DNSKEY, which would otherwise send unbound to the real root servers.
    local-zone: "." refuse
    qname-minimisation: no
    # A name published during the run (zone-set) must not be answered
    # from an NSEC record cached before it existed.
    aggressive-nsec: no
    module-config: "validator iterator"
    trust-anchor-file: "$LAB/dns/anchor.key"
remote-control:
    control-enable: no
stub-zone:
    name: "test."
    stub-addr: $DNS_AUTH
EOF
    unbound -d -c "$LAB/unbound/unbound.conf" >>"$LAB/logs/unbound.log" 2>&1 &
    remember $! unbound
    wait_for "unbound answers for test. with the AD bit" \
        sh -c "dig +time=1 +tries=1 +dnssec @$DNS_RESOLVER ns.test A | grep -q 'flags:.* ad'"
}
