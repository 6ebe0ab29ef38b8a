#!/usr/bin/env python3
"""Capture SEARCH answers from a real Cyrus 3.6.1 imapd for the golden corpus.

Usage: capture_search.py HOST PORT USER PASSWORD GOLDEN_DIR

Creates a fresh mailbox, appends the STORED message of every GOLDEN_DIR/*.golden, runs
`UID SEARCH CHARSET UTF-8 <key>` for each key below and writes GOLDEN_DIR/search.txt:
one line per key: the key's words, then the matching golden names (comma-separated,
sorted), all tab-separated.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capture  # noqa: E402

# (kind, args...) ; kind is the SEARCH key, args are strings sent as literals
KEYS = [
    ("BODY", "hello"), ("BODY", "Content-Type"), ("BODY", "cafe"), ("BODY", "café"),
    ("BODY", "caf=C3"), ("BODY", "noon"), ("BODY", "usual place"), ("BODY", "forwarded"),
    ("BODY", "report.pdf"), ("BODY", "inner body"), ("BODY", "grusse"), ("BODY", "JVBER"),
    ("BODY", "first"), ("BODY", "part  two"), ("BODY", "line one"), ("BODY", "Subject"),
    ("BODY", "hi there"), ("BODY", "See ATTACHED"), ("BODY", "salut"), ("BODY", "epilogue"),
    ("BODY", "preamble"), ("BODY", "AAAA"), ("BODY", "just text"),
    ("TEXT", "alice"), ("TEXT", "lunch"), ("TEXT", "mooch"), ("TEXT", "hello"),
    ("TEXT", "x-nothing"), ("TEXT", "Return-Path"),
    ("FROM", "fred"), ("FROM", "foobar@blurdybloop.com"), ("FROM", "Fred Foobar"),
    ("FROM", "frank"), ("FROM", "example.com"), ("FROM", "<dave@"), ("FROM", "Group"),
    ("FROM", "unspecified-domain"), ("FROM", "\"alice example\""), ("FROM", "pure"),
    ("TO", "jane"), ("TO", "undisclosed"), ("TO", "unspecified-domain"), ("TO", "bob"),
    ("TO", "spaced@example.com"), ("CC", "boss"), ("CC", "inner"), ("BCC", "x"),
    ("SUBJECT", "café"), ("SUBJECT", "cafe"), ("SUBJECT", "re:"), ("SUBJECT", "hello"),
    ("SUBJECT", "first subject"), ("SUBJECT", "xxxxxxxxxx"), ("SUBJECT", "GrXX"),
    ("HEADER", "Message-ID", ""), ("HEADER", "X-Nothing", ""), ("HEADER", "Subject", ""),
    ("HEADER", "Content-Type", "multipart"), ("HEADER", "In-Reply-To", "orig"),
    ("HEADER", "Sender", "eric"), ("HEADER", "Message-ID", "folded"),
    ("HEADER", "Received", "mx.example.com by"),
    ("SENTON", "7-Feb-1994"), ("SENTBEFORE", "1-Mar-2022"), ("SENTSINCE", "3-Mar-2022"),
    ("SENTON", "4-Mar-2022"), ("SENTSINCE", "1-Jan-1970"),
]


def main():
    host, port, user, pw, golden = sys.argv[1:6]
    c = capture.Conn(host, int(port))
    r, t = c.cmd([b"LOGIN " + user.encode() + b" " + pw.encode()])
    assert b"OK" in t, t
    box = b"search%d" % int(time.time())
    r, t = c.cmd([b"CREATE " + box])
    assert b"OK" in t, t
    uid_name = {}
    for fn in sorted(os.listdir(golden)):
        if not fn.endswith(".golden"):
            continue
        data = open(os.path.join(golden, fn), "rb").read()
        m = re.match(rb"=== STORED \d+\n\{(\d+)\}\r\n", data)
        n = int(m.group(1))
        raw = data[m.end():m.end() + n]
        r, t = c.cmd([b"APPEND " + box + b" ", ("lit", raw)])
        uid = int(re.search(rb"APPENDUID \d+ (\d+)", t).group(1))
        uid_name[uid] = fn[:-7]
    r, t = c.cmd([b"SELECT " + box])
    out = []
    for key in KEYS:
        parts = [b"UID SEARCH CHARSET UTF-8 " + key[0].encode()]
        for a in key[1:]:
            parts.append(b" ")
            if key[0].startswith("SENT"):
                parts.append(a.encode())  # dates must be atoms
            else:
                parts.append(("lit", a.encode()) if a else b'""')
        r, t = c.cmd(parts)
        assert b"OK" in t, (key, t)
        m = re.search(rb"\* SEARCH([ 0-9]*)\r\n", r)
        uids = [int(x) for x in m.group(1).split()]
        names = sorted(uid_name[u] for u in uids)
        out.append("\t".join(list(key) + [",".join(names)]))
    open(os.path.join(golden, "search.txt"), "w").write("\n".join(out) + "\n")
    c.cmd([b"DELETE " + box])
    c.cmd([b"LOGOUT"])


if __name__ == "__main__":
    main()
