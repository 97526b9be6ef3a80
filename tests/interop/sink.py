#!/usr/bin/env python3
"""The interop lab's fallback relay (issue 29): a small SMTP sink.

    sink.py ADDR PORT CERT KEY LOG

It answers EHLO with STARTTLS, takes every message and keeps none; for
each recipient it appends one line to LOG:

    sink: rcpt=<to@domain> from=<sender> client=IP tls=TLSv1.3

so the suite can tell which mail reached the relay, and whether over TLS.
Python's standard library only; one thread per connection; bounded lines.
"""
import socket
import ssl
import sys
import threading

ADDR, PORT, CERT, KEY, LOG = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
MAX_LINE = 4096
LOCK = threading.Lock()


def log(line):
    with LOCK, open(LOG, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def serve(conn, peer):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    f = conn.makefile("rb")
    tls = "none"
    sender, rcpts = "", []

    def send(text):
        conn.sendall((text + "\r\n").encode())

    send("220 relay.lab.test ESMTP smtptls interop sink")
    while True:
        raw = f.readline(MAX_LINE)
        if not raw:
            return
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        verb = line.split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            if tls == "none":
                send("250-relay.lab.test\r\n250 STARTTLS")
            else:
                send("250 relay.lab.test")
        elif verb == "STARTTLS" and tls == "none":
            send("220 2.0.0 go ahead")
            conn = ctx.wrap_socket(conn, server_side=True)
            f = conn.makefile("rb")
            tls = conn.version() or "?"
        elif verb == "MAIL":
            sender, rcpts = line[10:].split(" ")[0], []
            send("250 2.1.0 ok")
        elif verb == "RCPT":
            rcpts.append(line[8:].split(" ")[0])
            send("250 2.1.5 ok")
        elif verb == "DATA":
            send("354 go ahead")
            while True:
                data = f.readline(MAX_LINE)
                if not data or data.rstrip(b"\r\n") == b".":
                    break
            for r in rcpts:
                log(f"sink: rcpt={r} from={sender} client={peer} tls={tls}")
            send("250 2.0.0 kept nowhere")
        elif verb == "QUIT":
            send("221 2.0.0 bye")
            return
        elif verb in ("RSET", "NOOP"):
            send("250 2.0.0 ok")
        else:
            send("502 5.5.2 not here")


def handle(conn, peer):
    try:
        serve(conn, peer)
    except (OSError, ssl.SSLError) as e:
        log(f"sink: client={peer} error={e!r}")
    finally:
        conn.close()


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ADDR, PORT))
    s.listen(16)
    while True:
        conn, (ip, _) = s.accept()
        threading.Thread(target=handle, args=(conn, ip), daemon=True).start()


main()
