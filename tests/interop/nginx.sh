# The interop lab's HTTPS server: nginx serving MTA-STS policies
# (https://mta-sts.DOMAIN/.well-known/mta-sts.txt), sourced by
# tests/interop/run. One nginx, one loopback address, one server block per
# policy domain, each with its own certificate from the lab CA.

NGINX_ADDR=127.0.44.1

nginx_init() {
    mkdir -p "$LAB/nginx/www" "$LAB/nginx/tmp"
    : >"$LAB/nginx/sites.conf"
}

# nginx_policy DOMAIN POLICY-TEXT [LOCATION-DIRECTIVES [CERT]] — serves
# the policy for DOMAIN and adds the A record of mta-sts.DOMAIN to the zone.
# LOCATION-DIRECTIVES replace `default_type text/plain;` (a redirect, a
# 404, another media type); CERT is a pki_leaf name to serve instead of
# one made for mta-sts.DOMAIN (a certificate for another name).
nginx_policy() {
    local domain=$1 text=$2 location=${3:-default_type text/plain;} cert=${4:-mta-sts.$1}
    mkdir -p "$LAB/nginx/www/$domain/.well-known"
    printf '%s' "$text" >"$LAB/nginx/www/$domain/.well-known/mta-sts.txt"
    [ -n "${4:-}" ] || pki_leaf "mta-sts.$domain" ec "mta-sts.$domain"
    cat >>"$LAB/nginx/sites.conf" <<EOF
server {
    listen $NGINX_ADDR:443 ssl;
    server_name mta-sts.$domain;
    ssl_certificate $LAB/pki/$cert.chain.pem;
    ssl_certificate_key $LAB/pki/$cert.key;
    root $LAB/nginx/www/$domain;
    location = /.well-known/mta-sts.txt { $location }
}
EOF
    zone_add "mta-sts.${domain%.test} A $NGINX_ADDR"
}

nginx_start() {
    cat >"$LAB/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $LAB/nginx/nginx.pid;
error_log $LAB/logs/nginx-error.log;
daemon off;
events { worker_connections 64; }
http {
    access_log $LAB/logs/nginx-access.log;
    client_body_temp_path $LAB/nginx/tmp/body;
    proxy_temp_path $LAB/nginx/tmp/proxy;
    fastcgi_temp_path $LAB/nginx/tmp/fastcgi;
    uwsgi_temp_path $LAB/nginx/tmp/uwsgi;
    scgi_temp_path $LAB/nginx/tmp/scgi;
    include $LAB/nginx/sites.conf;
}
EOF
    nginx -c "$LAB/nginx/nginx.conf" >>"$LAB/logs/nginx.out" 2>&1 &
    remember $! nginx
}
