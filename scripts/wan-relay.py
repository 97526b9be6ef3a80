#!/usr/bin/env python3
"""Delay and loss between two TUN devices, in user space: what `tc netem`
on a veth pair does, for kernels built without netem (CONFIG_NET_SCH_NETEM
unset, as on the Firecracker VMs this project is developed on).

scripts/bench wan starts it inside the benchmark's network namespace:

    exec 7<>/dev/net/tun      # opened in the root namespace
    ip netns exec NS scripts/wan-relay.py --host-fd 7 --host-if H \\
        --ns-if N --rtt-ms 50 --loss 1

The root namespace's end (H, a persistent tun made with `ip tuntap`) is
attached through fd 7, which the shell opened before entering the
namespace: a tun file binds to the namespace it was opened in. The
namespace's end (N) is opened here. Every IP packet read from one end is
written to the other after half the round trip, or dropped with half the
loss (per cent) each way, so a round trip loses about --loss per cent.
Packets keep their order. It runs until killed (SIGTERM or SIGINT). A
measurement tool, not a test: it prints what it relayed on exit.
"""

import argparse
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def attach(fd, name):
    ifreq = struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifreq)
    os.set_blocking(fd, False)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host-fd", type=int, required=True)
    p.add_argument("--host-if", required=True)
    p.add_argument("--ns-if", required=True)
    p.add_argument("--rtt-ms", type=float, default=50.0)
    p.add_argument("--loss", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()

    host = a.host_fd
    attach(host, a.host_if)
    ns = os.open("/dev/net/tun", os.O_RDWR)
    attach(ns, a.ns_if)
    one_way = a.rtt_ms / 2000.0
    drop = a.loss / 200.0
    rng = random.Random(a.seed)
    other = {host: ns, ns: host}
    queue = []  # (due, seq, fd to write, packet)
    seq = 0
    relayed = dropped = 0
    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    watch = [host, ns]
    while not stop:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, fd, packet = heapq.heappop(queue)
            try:
                os.write(fd, packet)
                relayed += 1
            except BlockingIOError:
                dropped += 1  # the device's queue is full: a real drop
        wait = max(0.0, queue[0][0] - now) if queue else 1.0
        try:
            ready, _, _ = select.select(watch, [], [], wait)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in ready:
            # Drain what is there: a burst leaves together.
            for _ in range(256):
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if rng.random() < drop:
                    dropped += 1
                    continue
                seq += 1
                heapq.heappush(queue, (now + one_way, seq, other[fd], packet))
    print(f"wan-relay: {relayed} packets relayed, {dropped} dropped", file=sys.stderr)


if __name__ == "__main__":
    main()
