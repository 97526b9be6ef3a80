# The interop lab's private PKI, made with openssl (sourced by tests/interop/run).
#
# A root CA and an intermediate CA; every leaf is signed by the
# intermediate through `openssl ca`, because only `openssl ca` can
# back-date a certificate (the expired scenario) on Debian's OpenSSL 3.0.
# The lab CA is passed to every tool under test as an extra trust anchor
# (`--ca-file`, posttls-finger -F, testssl --add-ca, smtp_tls_CAfile).

pki_init() {
    local dir=$LAB/pki
    mkdir -p "$dir/db"
    : >"$dir/db/index.txt"
    echo 1000 >"$dir/db/serial"
    cat >"$dir/ca.cnf" <<EOF
[ ca ]
default_ca = lab
[ lab ]
dir = $dir/db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = any
unique_subject = no
copy_extensions = copy
[ any ]
commonName = supplied
[ leaf ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
# The leaf with the TLS feature extension (RFC 7633) listing
# status_request: a must-staple certificate.
[ leaf_must_staple ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
1.3.6.1.5.5.7.1.24 = DER:30:03:02:01:05
[ intermediate ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 3650 \
        -subj "/CN=smtptls interop root CA" \
        -addext "basicConstraints=critical,CA:true" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$dir/inter.key" -out "$dir/inter.csr" \
        -subj "/CN=smtptls interop intermediate CA" 2>/dev/null
    openssl ca -batch -config "$dir/ca.cnf" -extensions intermediate \
        -cert "$dir/ca.pem" -keyfile "$dir/ca.key" -days 3650 \
        -in "$dir/inter.csr" -out "$dir/inter.pem" -notext 2>/dev/null
}

# pki_leaf NAME KEY SAN [ISSUER] [START END]
#   KEY: ec | rsa2048 | rsa1024;  SAN: comma-separated DNS names;
#   ISSUER: inter (default) | self;  START/END: YYYYMMDDHHMMSSZ.
#   PKI_LEAF_EXTENSIONS (environment): the ca.cnf section of an
#   intermediate-issued leaf, `leaf` (default) or `leaf_must_staple`.
# Writes NAME.key, NAME.pem (leaf) and NAME.chain.pem (leaf + intermediate).
pki_leaf() {
    local name=$1 key=$2 san=$3 issuer=${4:-inter} start=${5:-} end=${6:-}
    local dir=$LAB/pki keyopt
    case $key in
    ec) keyopt=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
    rsa2048) keyopt=(-newkey rsa:2048) ;;
    rsa1024) keyopt=(-newkey rsa:1024) ;;
    *) echo "pki_leaf: unknown key $key" >&2; return 1 ;;
    esac
    local sans="" first=${san%%,*} n
    for n in ${san//,/ }; do sans+="${sans:+,}DNS:$n"; done
    if [ "$issuer" = self ]; then
        openssl req -x509 "${keyopt[@]}" -nodes -keyout "$dir/$name.key" \
            -out "$dir/$name.pem" -days 365 -subj "/CN=$first" \
            -addext "subjectAltName=$sans" -addext "extendedKeyUsage=serverAuth" 2>/dev/null
        cp "$dir/$name.pem" "$dir/$name.chain.pem"
        return
    fi
    openssl req -new "${keyopt[@]}" -nodes -keyout "$dir/$name.key" \
        -out "$dir/$name.csr" -subj "/CN=$first" -addext "subjectAltName=$sans" 2>/dev/null
    local dates=(-days 365)
    [ -n "$start" ] && dates=(-startdate "$start" -enddate "$end")
    openssl ca -batch -config "$dir/ca.cnf" -extensions "${PKI_LEAF_EXTENSIONS:-leaf}" \
        -cert "$dir/inter.pem" -keyfile "$dir/inter.key" "${dates[@]}" \
        -in "$dir/$name.csr" -out "$dir/$name.pem" -notext 2>/dev/null
    cat "$dir/$name.pem" "$dir/inter.pem" >"$dir/$name.chain.pem"
}

# The TLSA 3 1 1 association data (SHA-256 of the SubjectPublicKeyInfo).
pki_spki_sha256() {
    openssl x509 -in "$LAB/pki/$1.pem" -noout -pubkey |
        openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1
}

# pki_ocsp NAME STATUS [SIGNER] — NAME.ocsp.der, the OCSP response (DER, as
# Exim's tls_ocsp_file wants it) that the lab's intermediate CA, as its own
# responder (`openssl ocsp -index` over the CA database), gives for the
# intermediate-issued leaf NAME.pem: valid for 7 days from now, without a
# nonce or certificates (as a CA signing its own responses sends it).
#   STATUS: good | revoked (the leaf is revoked in the CA database first)
#   | unknown (the responder answers from an empty database).
#   SIGNER: inter (default, the leaf's issuer) | ca (the root CA: a
#   signature the issuer's key does not verify).
pki_ocsp() {
    local name=$1 status=$2 signer=${3:-inter} dir=$LAB/pki index=$LAB/pki/db/index.txt
    case $status in
    revoked)
        openssl ca -config "$dir/ca.cnf" -cert "$dir/inter.pem" -keyfile "$dir/inter.key" \
            -revoke "$dir/$name.pem" 2>/dev/null
        ;;
    unknown)
        index=$dir/db/unknown-index.txt
        : >"$index"
        ;;
    esac
    openssl ocsp -index "$index" -CA "$dir/inter.pem" \
        -rsigner "$dir/$signer.pem" -rkey "$dir/$signer.key" \
        -issuer "$dir/inter.pem" -cert "$dir/$name.pem" -no_nonce -resp_no_certs \
        -ndays 7 -respout "$dir/$name.ocsp.der" >/dev/null 2>&1
    # The response must say what the scenario needs; a wrong one would
    # make the assertions about smtptls prove nothing.
    openssl ocsp -respin "$dir/$name.ocsp.der" -resp_text -noverify 2>/dev/null |
        grep -q "Cert Status: $status\$" ||
        { echo "pki_ocsp: the response for $name does not say $status" >&2; return 1; }
}
