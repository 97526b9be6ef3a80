# Process bookkeeping for the interop lab (sourced by tests/interop/run).
#
# Every daemon runs in the foreground as a background job of this shell;
# `remember` records its PID and `lab_stop` kills exactly those PIDs
# (and, for a daemon that forks workers, its process group) — never by name,
# so nothing else on the machine is touched.

LAB_PIDS=()

remember() {
    LAB_PIDS+=("$1")
    echo "$1 $2" >>"$LAB/pids"
}

# remember_pidfile FILE NAME — a daemon that forks (Postfix's master is a
# child of postfix-script): its PID is read from its pid file at stop time.
LAB_PIDFILES=()
remember_pidfile() {
    LAB_PIDFILES+=("$1")
    echo "pidfile $1 $2" >>"$LAB/pids"
}

lab_stop() {
    local pid file
    for file in "${LAB_PIDFILES[@]}"; do
        pid=$(tr -dc 0-9 <"$file" 2>/dev/null) || continue
        [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${LAB_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    sleep 0.5
    for pid in "${LAB_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    LAB_PIDS=()
}

# wait_for DESCRIPTION COMMAND… — retry for up to 20 s.
wait_for() {
    local what=$1 i
    shift
    for i in $(seq 1 80); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.25
    done
    echo "interop: timed out waiting until $what" >&2
    return 1
}

# Runs a command with /etc/resolv.conf pointing at the lab's unbound, in a
# private mount namespace, so programs that only read the system resolver
# configuration (Postfix, posttls-finger, testssl.sh) use the lab DNS
# without the machine's own configuration being changed.
in_lab_dns() {
    unshare --mount --propagation private sh -c \
        'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$LAB/resolv.conf" "$@"
}

# unpack_package PKG DEST — unpack a Debian package beside the installed
# system (`dpkg -x`, for a package that conflicts with one installed, such
# as Exim beside Postfix). dpkg -x installs none of its dependencies, so
# the shared libraries of the package's own `Depends` are installed here,
# and every ELF binary unpacked is checked with ldd before anything starts
# it: a missing library stops the suite at once, naming it.
unpack_package() {
    local pkg=$1 dest=$2 deb
    mkdir -p "$LAB/debs"
    (cd "$LAB/debs" && apt-get download "$pkg" >/dev/null 2>&1) ||
        { echo "interop: apt-get download $pkg failed" >&2; return 1; }
    deb=$(ls "$LAB/debs/${pkg}"_*.deb | head -n 1)
    dpkg -x "$deb" "$dest"
    # Depends: "a (>= 1), b | c, libfoo1 (>= 2)": the first alternative of
    # each, versions dropped, libraries only (the others — exim4-base,
    # debconf — would pull in a second MTA; the daemon binary needs none).
    local libs=() dep
    while read -r dep; do
        case $dep in lib*) libs+=("$dep") ;; esac
    done < <(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g')
    local missing=() l
    for l in "${libs[@]}"; do
        dpkg-query -W -f='${Status}' "$l" 2>/dev/null | grep -q "install ok installed" || missing+=("$l")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "== interop: installing $pkg's libraries: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    check_binaries "$dest"
}

# check_binaries DIR — every ELF executable under DIR/usr/{s,}bin has all
# its shared libraries (ldd), or the suite stops naming what is missing.
check_binaries() {
    local f bad=0 notfound
    for f in "$1"/usr/sbin/* "$1"/usr/bin/*; do
        [ -f "$f" ] && [ -x "$f" ] || continue
        head -c 4 "$f" | grep -q 'ELF' || continue
        notfound=$(ldd "$f" 2>&1 | grep 'not found' || true)
        if [ -n "$notfound" ]; then
            echo "interop: $f cannot start, missing libraries:" >&2
            echo "$notfound" >&2
            bad=1
        fi
    done
    return $bad
}
