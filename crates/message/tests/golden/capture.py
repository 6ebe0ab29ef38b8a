#!/usr/bin/env python3
"""Capture golden FETCH answers from a real Cyrus 3.6.1 imapd.

Usage: capture.py HOST PORT USER PASSWORD CORPUS_DIR GOLDEN_DIR

For each CORPUS_DIR/*.eml: APPEND it to INBOX, then UID FETCH the stored message
(BODY.PEEK[]), ENVELOPE, BODYSTRUCTURE, BODY, RFC822.SIZE and a fixed list of sections, one
item per command, and write GOLDEN_DIR/<name>.golden as a sequence of records
    === <item> <length>\n<exact value bytes>\n
where the value is the item's value exactly as on the wire (NIL, "", {n}\r\n..., (...)).
"""
import os
import re
import socket
import sys

SECTIONS = [
    "BODY.PEEK[]", "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]",
    "BODY.PEEK[1]", "BODY.PEEK[1.MIME]", "BODY.PEEK[1.HEADER]", "BODY.PEEK[1.TEXT]",
    "BODY.PEEK[2]", "BODY.PEEK[2.MIME]", "BODY.PEEK[2.HEADER]", "BODY.PEEK[2.TEXT]",
    "BODY.PEEK[2.1]", "BODY.PEEK[2.1.MIME]", "BODY.PEEK[2.2]", "BODY.PEEK[3]",
    "BODY.PEEK[3.1]", "BODY.PEEK[1.1]", "BODY.PEEK[4]",
    "BODY.PEEK[HEADER.FIELDS (From Subject)]",
    "BODY.PEEK[HEADER.FIELDS.NOT (From Subject Received)]",
    "BODY.PEEK[HEADER.FIELDS (X-Nothing)]",
    "BODY.PEEK[1.HEADER.FIELDS (Content-Type)]",
    "BODY.PEEK[2.HEADER.FIELDS (Subject)]",
    "BODY.PEEK[]<5.10>", "BODY.PEEK[TEXT]<0.3>", "BODY.PEEK[1]<1000000.5>",
    "BODY.PEEK[HEADER.FIELDS (From)]<2.4>",
    "RFC822.HEADER", "RFC822.TEXT", "RFC822.SIZE",
    "BINARY.PEEK[]", "BINARY.PEEK[1]", "BINARY.PEEK[2]", "BINARY.PEEK[3]", "BINARY.PEEK[1.1]",
    "BINARY.PEEK[2]<2.5>", "BINARY.SIZE[1]", "BINARY.SIZE[2]", "BINARY.SIZE[3]",
    "BINARY.SIZE[9]",
]


class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port))
        self.buf = b""
        self.n = 0
        self.readline()

    def readline(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def readn(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def cmd(self, parts):
        """parts: list of bytes; a bytes item in a tuple ('lit', data) is sent as {n+}."""
        self.n += 1
        tag = b"c%d" % self.n
        msg = tag + b" "
        for p in parts:
            if isinstance(p, tuple):
                msg += b"{%d+}\r\n" % len(p[1]) + p[1]
            else:
                msg += p
        self.s.sendall(msg + b"\r\n")
        resp = b""
        while True:
            line = self.readline()
            resp += line
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                resp += self.readn(int(m.group(1)))
                continue
            if line.startswith(tag + b" "):
                return resp, line


def item_value(resp, item):
    """The value of `item` in the (single) untagged FETCH response in resp."""
    start = resp.index(b"* ")
    # drop the tagged line, then the ")" CRLF that closes the FETCH response
    tagged = resp.rstrip(b"\r\n").rfind(b"\r\n") + 2
    body = resp[start:tagged]
    assert body.endswith(b")\r\n"), body[-50:]
    body = body[:-3]
    key = item.replace("BODY.PEEK", "BODY").replace("BINARY.PEEK", "BINARY").encode()
    if key.endswith(b">"):
        # Cyrus answers BODY[...]<start> without the count
        key = re.sub(rb"<(\d+)\.\d+>$", rb"<\1>", key)
    i = body.find(key + b" ")
    if i < 0:
        return None
    return body[i + len(key) + 1:]


def main():
    host, port, user, pw, corpus, golden = sys.argv[1:7]
    c = Conn(host, int(port))
    r, t = c.cmd([b"LOGIN " + user.encode() + b" " + pw.encode()])
    assert b"OK" in t, t
    r, t = c.cmd([b"SELECT INBOX"])
    assert b"OK" in t, t
    for fn in sorted(os.listdir(corpus)):
        if not fn.endswith(".eml"):
            continue
        data = open(os.path.join(corpus, fn), "rb").read()
        r, t = c.cmd([b"APPEND INBOX ", ("lit", data)])
        if b"bare newlines" in t:
            # as lmtpd does on delivery: bare LF -> CRLF
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            r, t = c.cmd([b"APPEND INBOX ", ("lit", data)])
        if b"APPENDUID" not in t:
            print(fn, "APPEND failed:", t.decode(errors="replace").strip())
            continue
        uid = re.search(rb"APPENDUID \d+ (\d+)", t).group(1)
        c.cmd([b"NOOP"])
        out = b""
        items = ["BODY.PEEK[]", "ENVELOPE", "BODYSTRUCTURE", "BODY"] + SECTIONS[1:]
        for item in items:
            r, t = c.cmd([b"UID FETCH " + uid + b" (" + item.encode() + b")"])
            if b"* " not in r:
                # a tagged NO/BAD is the answer (e.g. NO [UNKNOWN-CTE])
                v = t.split(b" ", 1)[1].rstrip(b"\r\n")
                out += b"=== %s %d\n" % (item.encode(), len(v)) + v + b"\n"
                continue
            v = item_value(r, item)
            if v is None:
                # Cyrus leaves some items out (BINARY of an unknown CTE)
                v = b"OMITTED"
            name = "STORED" if item == "BODY.PEEK[]" else item
            out += b"=== %s %d\n" % (name.encode(), len(v)) + v + b"\n"
        open(os.path.join(golden, fn[:-4] + ".golden"), "wb").write(out)
        print(fn, "ok")
    c.cmd([b"LOGOUT"])


if __name__ == "__main__":
    main()
