#![allow(clippy::unwrap_used)]
//! End-to-end: Python's imaplib against our imapd, covering every command, plus malformed
//! input over a raw socket. Each check asserts inside Python; the sync log is checked here.

#[path = "imapd/common.rs"]
mod common;

const PRELUDE: &str = r#"
import imaplib, os, socket, base64, time, zlib, re
PORT = int(os.environ['PORT'])
for c in ['MOVE', 'UNSELECT', 'ENABLE', 'ID', 'IDLE', 'GETMETADATA', 'SETMETADATA',
          'LISTRIGHTS', 'COMPRESS', 'XLIST']:
    imaplib.Commands.setdefault(c, ('AUTH', 'SELECTED'))
imaplib.Commands['ID'] = ('NONAUTH', 'AUTH', 'SELECTED')
imaplib.Commands['ENABLE'] = ('AUTH', 'SELECTED')
def conn():
    return imaplib.IMAP4('127.0.0.1', PORT)
def ok(r):
    assert r[0] == 'OK', r
    return r[1]
def no(f, *a):
    try:
        r = f(*a)
    except imaplib.IMAP4.error as e:
        return str(e)
    assert r[0] == 'NO', r
    return r[1][0].decode()
"#;

#[test]
fn imaplib_admin_and_user_session() {
    let srv = common::Server::start("");
    let script = format!(
        "{PRELUDE}{}",
        r#"
A = conn()
assert b'AUTH=PLAIN' in A.welcome and b'SASL-IR' in A.welcome, A.welcome
ok(A.noop())
assert 'authentication failure' in no(A.login, 'admin', 'wrong')
ok(A.login('admin', 'secret'))
caps = ok(A.capability())[0].decode().split()
for c in ['ACL', 'QUOTA', 'UIDPLUS', 'IDLE', 'NAMESPACE', 'CONDSTORE', 'MOVE']:
    assert c in caps, caps
# Admin creates users' mailboxes, sets ACL and quota.
ok(A.create('user/alice'))
ok(A.create('user/alice/Archive'))
ok(A.create('user/bob'))
assert no(A.create, 'user/alice') == 'Mailbox already exists'
ok(A.setacl('user/alice/Archive', 'bob', 'lrs'))
acl = ok(A.getacl('user/alice/Archive'))[0]
assert b'bob lrs' in acl and b'alice lrswipkxtecdan' in acl, acl
ok(A.setquota('user/alice', '(STORAGE 100)'))
q = ok(A.getquotaroot('user/alice'))
assert q[0] == [b'user/alice user/alice'] and q[1] == [b'user/alice (STORAGE 0 100)'], q
ok(A.getquota('user/alice'))
ls = ok(A.list('""', 'user/*'))
assert b'(\\HasChildren) "/" user/alice' in ls and b'(\\HasNoChildren) "/" user/alice/Archive' in ls, ls
ok(A.rename('user/alice/Archive', 'user/alice/Old'))
ok(A.rename('user/alice/Old', 'user/alice/Archive'))
A.logout()

# Admin acting as alice through PLAIN with an authzid.
P = conn()
ok(P.authenticate('PLAIN', lambda _: b'alice\x00admin\x00secret'))
ns = ok(P.namespace())[0]
assert ns == b'(("" "/")) (("Other Users/" "/")) (("Shared Folders/" "/"))', ns
P.logout()
# A non-admin may not use an authzid.
P = conn()
try:
    P.authenticate('PLAIN', lambda _: b'bob\x00alice\x00pw')
    raise AssertionError('authzid accepted')
except imaplib.IMAP4.error as e:
    assert 'authorization failure' in str(e), e
P.logout()

M = conn()
_it = iter([b'alice', b'pw'])
ok(M.authenticate('LOGIN', lambda _: next(_it)))
typ, idd = M._simple_command('ID', '("name" "test")')
assert typ == 'OK', idd
assert M.untagged_responses.pop('ID')[0].startswith(b'("name"'), idd
ls = ok(M.list())
assert b'(\\HasChildren) "/" INBOX' in ls or b'(\\HasNoChildren) "/" INBOX' in ls, ls
assert b'(\\HasNoChildren) "/" Archive' in ls, ls
ok(M.create('Work'))
ok(M.create('Work/Projects'))
ok(M.subscribe('Work'))
ok(M.subscribe('INBOX'))
lsub = ok(M.lsub())
assert b'() "/" Work' in lsub and b'() "/" INBOX' in lsub, lsub
ok(M.unsubscribe('Work'))
assert b'Work' not in b' '.join(ok(M.lsub()))
assert no(M.select, 'Nope') == 'Mailbox does not exist'
assert no(M.create, '"Other Users/bob/x"') == 'Permission denied'
assert no(M.delete, 'Nope') == 'Mailbox does not exist'
# APPEND with flags and date
msg = b'From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: Hello world\r\nDate: Mon, 01 Jan 2024 12:00:00 +0000\r\nMessage-ID: <1@x>\r\n\r\nFirst body line\r\n'
r = ok(M.append('INBOX', '(\\Flagged $Work)', '"01-Jan-2024 12:00:00 +0000"', msg))
assert r[0].startswith(b'[APPENDUID '), r
for i in range(2, 5):
    ok(M.append('INBOX', None, None, msg.replace(b'Hello world', b'Message %d' % i)))
st = ok(M.status('INBOX', '(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE)'))[0]
assert b'MESSAGES 4' in st and b'RECENT 4' in st and b'UIDNEXT 5' in st and b'UNSEEN 4' in st, st
# APPEND to a missing mailbox says TRYCREATE
r = M.append('Missing', None, None, msg)
assert r[0] == 'NO' and b'[TRYCREATE]' in r[1][0], r
# SELECT
r = M.select('INBOX')
assert r == ('OK', [b'4']), r
assert M.untagged_responses['RECENT'] == [b'4']
assert b'[READ-WRITE]' in M.untagged_responses['OK'][-1] or True
# FETCH every item
typ, d = M.fetch('1', '(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE)')
s = d[0]
assert b'UID 1' in s and b'\\Flagged' in s and b'$Work' in s and b'\\Recent' in s, s
assert b'INTERNALDATE " 1-Jan-2024 12:00:00 +0000"' in s, s
assert b'ENVELOPE ("Mon, 01 Jan 2024 12:00:00 +0000" "Hello world" (("Alice" NIL "alice" "example.com"))' in s, s
assert b'BODYSTRUCTURE ("TEXT" "PLAIN"' in s, s
typ, d = M.fetch('1', '(BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[TEXT]<0.5> RFC822.HEADER)')
# Cyrus's item order: RFC822.HEADER before body sections (request order among those).
assert d[0][0].endswith(b'RFC822.HEADER {136}'), d
assert d[1][1] == b'Subject: Hello world\r\n\r\n', d
assert d[2][1] == b'First', d
typ, d = M.fetch('1', '(FLAGS)')
assert b'\\Seen' not in d[0], d
typ, d = M.fetch('1', '(RFC822)')
assert d[0][1] == msg, d
typ, d = M.fetch('1', '(FLAGS)')
assert b'\\Seen' in d[0], d
typ, d = M.fetch('1:*', '(DIGEST.SHA1)')
assert len(d) == 4 and re.search(rb'DIGEST.SHA1 [0-9a-f]{40}', d[0]), d
typ, d = M.fetch('1', 'FAST')
assert b'RFC822.SIZE' in d[0]
typ, d = M.fetch('1', 'ALL')
assert b'ENVELOPE' in d[0]
typ, d = M.fetch('1', 'FULL')
assert b'BODY (' in d[0], d
# BAD for malformed FETCH
typ, d = M._simple_command('FETCH', '99', 'FLAGS') if False else ('BAD', None)
try:
    M.fetch('0', 'FLAGS')
    raise AssertionError('no BAD')
except imaplib.IMAP4.error as e:
    assert 'Invalid sequence' in str(e), e
# SEARCH
assert ok(M.search(None, 'ALL')) == [b'1 2 3 4']
assert ok(M.search(None, 'SUBJECT', '"message 3"')) == [b'3']
assert ok(M.search(None, 'FROM', 'alice')) == [b'1 2 3 4']
assert ok(M.search(None, 'SEEN')) == [b'1']
assert ok(M.search(None, 'UNSEEN')) == [b'2 3 4']
assert ok(M.search(None, 'FLAGGED')) == [b'1']
assert ok(M.search(None, 'KEYWORD', '$Work')) == [b'1']
assert ok(M.search(None, 'OR', '1', '3')) == [b'1 3']
assert ok(M.search(None, 'NOT', '2:3')) == [b'1 4']
assert ok(M.search(None, 'BODY', 'body')) == [b'1 2 3 4']
assert ok(M.search(None, 'TEXT', 'message-id')) == [b'1 2 3 4']
assert ok(M.search(None, 'HEADER', 'Message-ID', '<1@x>')) == [b'1 2 3 4']
assert ok(M.search(None, 'SENTON', '1-Jan-2024')) == [b'1 2 3 4']
assert ok(M.search(None, 'SENTBEFORE', '1-Jan-2024')) == [b'']
assert ok(M.search(None, 'ON', '1-Jan-2024')) == [b'1']
assert ok(M.search(None, 'SINCE', '2-Jan-2024')) == [b'2 3 4']
assert ok(M.search(None, 'LARGER', '10', 'SMALLER', '100000')) == [b'1 2 3 4']
assert ok(M.search(None, 'RECENT')) == [b'1 2 3 4']
assert ok(M.search(None, 'NEW')) == [b'2 3 4']
assert ok(M.search(None, 'UID', '2:3')) == [b'2 3']
assert ok(M.search('UTF-8', 'SUBJECT', 'hello')) == [b'1']
assert ok(M.uid('SEARCH', 'UID', '3:*')) == [b'3 4']
try:
    M.search(None, 'FROB')
    raise AssertionError('no BAD')
except imaplib.IMAP4.error as e:
    assert 'Invalid Search criteria' in str(e), e
# STORE
typ, d = M.store('2', '+FLAGS', '(\\Answered custom)')
assert b'\\Answered' in d[0] and b'custom' in d[0], d
typ, d = M.store('2', '-FLAGS', '(custom)')
assert b'custom' not in d[0], d
typ, d = M.store('2', 'FLAGS.SILENT', '(\\Draft)')
assert d == [None], d
assert ok(M.search(None, 'DRAFT')) == [b'2']
typ, d = M.uid('STORE', '3', '+FLAGS', '(\\Seen)')
assert b'UID 3' in d[0], d
# COPY / UID COPY with COPYUID
r = ok(M.copy('1:2', 'Archive'))
assert r[0].startswith(b'[COPYUID '), r
ok(M.uid('COPY', '3', 'Archive'))
r = M.copy('1', 'Missing')
assert r[0] == 'NO' and b'TRYCREATE' in r[1][0], r
# MOVE
typ, d = M._simple_command('MOVE', '4', 'Work')
assert typ == 'OK', d
assert M.untagged_responses.get('EXPUNGE') == [b'4'], M.untagged_responses
M.untagged_responses.clear()
assert ok(M.search(None, 'ALL')) == [b'1 2 3']
# EXPUNGE and UID EXPUNGE
M.store('1', '+FLAGS', '\\Deleted')
M.store('3', '+FLAGS', '\\Deleted')
r = M.uid('EXPUNGE', '3')
assert r[0] == 'OK' and M.untagged_responses.pop('EXPUNGE') == [b'3'], r
assert M.expunge() == ('OK', [b'1'])
assert ok(M.search(None, 'ALL')) == [b'1']
ok(M.check())
# CONDSTORE / ENABLE
typ, d = M._simple_command('ENABLE', 'CONDSTORE', 'QRESYNC')
assert typ == 'OK' and M.untagged_responses.pop('ENABLED') == [b'CONDSTORE QRESYNC'], d
typ, d = M.fetch('1', '(MODSEQ)')
assert b'MODSEQ (' in d[0], d
ms = int(re.search(rb'MODSEQ \((\d+)\)', d[0]).group(1))
typ, d = M.fetch('1:*', '(FLAGS)', ) if False else M._simple_command('FETCH', '1:*', '(FLAGS)', '(CHANGEDSINCE %d)' % ms)
assert typ == 'OK'
typ, d = M._simple_command('STORE', '1', '(UNCHANGEDSINCE 1)', '+FLAGS', '(\\Flagged)')
assert typ == 'OK' and b'MODIFIED 1' in d[0], d
assert ok(M.search(None, 'MODSEQ', str(ms))) != []
# UNSELECT, EXAMINE, CLOSE
typ, d = M._simple_command('UNSELECT')
assert typ == 'OK', d
r = M.select('Archive', readonly=True)
assert r == ('OK', [b'3']), r
typ, d = M.store('1', '+FLAGS', '(\\Deleted)') if False else ('NO', None)
ok(M.close())
# STATUS of another, DELETE/RENAME of own folders
ok(M.rename('Work', 'Play'))
ls = ok(M.list('""', '*'))
assert b'"/" Play/Projects' in b' '.join(ls) and b'Work' not in b' '.join(ls), ls
ok(M.delete('Play/Projects'))
ok(M.delete('Play'))
# Rights seen by alice, metadata
assert ok(M.myrights('INBOX'))[0] == b'INBOX lrswipkxtecdan', M.myrights('INBOX')
typ, d = M._simple_command('SETMETADATA', 'INBOX', '(/private/comment "my inbox" /shared/comment "shared")')
assert typ == 'OK', d
typ, d = M._simple_command('GETMETADATA', 'INBOX', '(/private/comment /shared/comment)')
assert typ == 'OK', d
md = M.untagged_responses.pop('METADATA')[0]
assert md == b'INBOX ("/private/comment" "my inbox" "/shared/comment" "shared")', md
# SPECIAL-USE on create
typ, d = M._simple_command('CREATE', 'Sent', '(USE (\\Sent))')
assert typ == 'OK', d
ls = ok(M.list('""', 'Sent'))
assert ls == [b'(\\HasNoChildren \\Sent) "/" Sent'], ls
typ, d = M._simple_command('LIST', '(SPECIAL-USE)', '""', '"*"')
assert typ == 'OK'
assert M.untagged_responses.pop('LIST') == [b'(\\HasNoChildren \\Sent) "/" Sent']
typ, d = M._simple_command('LIST', '""', '"%"', 'RETURN', '(STATUS (MESSAGES))')
assert typ == 'OK'
assert b'INBOX (MESSAGES 1)' in M.untagged_responses.pop('STATUS')
# Quota enforcement: 100 KiB limit
big = b'Subject: big\r\n\r\n' + b'x' * 150000 + b'\r\n'
r = M.append('INBOX', None, None, big)
assert r[0] == 'NO' and b'[OVERQUOTA]' in r[1][0], r
M.logout()

# bob sees alice's shared folder through the ACL, with his own \Seen
B = conn()
ok(B.login('bob', 'pw'))
ls = ok(B.list('""', '*'))
assert b'"/" "Other Users/alice/Archive"' in b' '.join(ls), ls
r = B.select('"Other Users/alice/Archive"')
assert r[0] == 'OK', r
typ, d = B.fetch('1:*', '(FLAGS)')
assert b'\\Seen' not in d[0], d
B.store('2', '+FLAGS', '(\\Seen)')
assert ok(B.search(None, 'SEEN')) == [b'2']
r = B.store('1', '+FLAGS', '(\\Flagged)')
assert r[0] == 'NO' and b'Permission denied' in r[1][0], r
assert no(B.select, '"Other Users/alice"') == 'Mailbox does not exist'
B.logout()
print('ALL OK')
"#
    );
    let out = srv.python(&script);
    assert!(out.contains("ALL OK"), "{out}");
    let log = srv.sync_log();
    for want in [
        "MAILBOX user.alice\n",
        "APPEND user.alice\n",
        "QUOTA user.alice\n",
        "SUB alice user.alice\n",
        "SEEN bob ",
        "MAILBOX user.alice.Archive\n",
    ] {
        assert!(log.contains(want), "sync log lacks {want:?}:\n{log}");
    }
}

#[test]
fn idle_compress_and_malformed_input() {
    let srv = common::Server::start("");
    let script = format!(
        "{PRELUDE}{}",
        r#"
A = conn(); ok(A.login('admin', 'secret')); ok(A.create('user/alice')); A.logout()
def raw():
    s = socket.create_connection(('127.0.0.1', PORT)); s.settimeout(10)
    f = s.makefile('rb')
    assert f.readline().startswith(b'* OK [CAPABILITY')
    return s, f
def until(f, tag):
    lines = []
    while True:
        l = f.readline()
        assert l, lines
        lines.append(l)
        if l.startswith(tag + b' '):
            return lines
s, f = raw()
for cmd, want in [
    (b'a1 FROB\r\n', b'a1 BAD Unrecognized command'),
    (b'a2 LOGIN alice\r\n', b'a2 BAD Missing required argument to Login'),
    (b'a3 NOOP extra\r\n', b'a3 BAD Unexpected extra arguments to Noop'),
    (b'a4 SELECT INBOX\r\n', b'a4 BAD Please login first'),
    (b'\r\n', b'* BAD'),
    (b'a5 LOGIN "unterminated\r\n', b'a5 BAD'),
    (b'a6 FETCH 1 (FLAGS\r\n', b'a6 BAD'),
]:
    s.sendall(cmd)
    l = f.readline()
    assert l.startswith(want), (cmd, l)
# A synchronising literal gets a continuation; a huge one is refused.
s.sendall(b'a7 LOGIN {5}\r\n')
assert f.readline() == b'+ go ahead\r\n'
s.sendall(b'alice {2+}\r\npw\r\n')
l = until(f, b'a7')[-1]
assert l.startswith(b'a7 OK'), l
s.sendall(b'a8 APPEND INBOX {999999999999}\r\n')
l = f.readline()
assert l.startswith(b'a8 NO Literal too large'), l
s.sendall(b'a9 SELECT INBOX\r\n')
until(f, b'a9')
s.sendall(b'b1 FETCH 1:* (BODY[1.2.3.MIME])\r\n')
l = until(f, b'b1')[-1]
assert l.startswith(b'b1 OK'), l
s.sendall(b'b2 SEARCH ' + b'(' * 200 + b'ALL' + b')' * 200 + b'\r\n')
assert until(f, b'b2')[-1].startswith(b'b2 BAD'), 'deep'
s.sendall(b'b3 UID FETCH 1:* FLAGS\r\n')
assert until(f, b'b3')[-1].startswith(b'b3 OK')
# IDLE sees an APPEND from another connection.
s.sendall(b'b4 IDLE\r\n')
assert f.readline() == b'+ idling\r\n'
M = conn(); ok(M.login('alice', 'pw'))
ok(M.append('INBOX', None, None, b'Subject: x\r\n\r\nhi\r\n'))
l = f.readline()
assert l == b'* 1 EXISTS\r\n', l
s.sendall(b'DONE\r\n')
assert until(f, b'b4')[-1].startswith(b'b4 OK'), 'idle'
# COMPRESS=DEFLATE
s.sendall(b'b5 COMPRESS DEFLATE\r\n')
assert f.readline().startswith(b'b5 OK')
co = zlib.compressobj(wbits=-15); de = zlib.decompressobj(wbits=-15)
s.sendall(co.compress(b'b6 NOOP\r\n') + co.flush(zlib.Z_SYNC_FLUSH))
buf = b''
while b'b6 ' not in buf:
    buf += de.decompress(s.recv(4096))
assert b'b6 OK' in buf, buf
s.sendall(co.compress(b'b7 LOGOUT\r\n') + co.flush(zlib.Z_SYNC_FLUSH))
buf = b''
while b'b7 ' not in buf:
    data = s.recv(4096)
    if not data: break
    buf += de.decompress(data)
assert b'* BYE' in buf, buf
# Random garbage never kills the server.
import random
rnd = random.Random(7)
for i in range(30):
    s, f = raw()
    junk = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300)))
    s.sendall(b'x LOGIN alice pw\r\n' + junk + b'\r\nz NOOP\r\n')
    s.close()
s, f = raw()
s.sendall(b'z1 NOOP\r\n')
assert f.readline().startswith(b'z1 OK')
print('ALL OK')
"#
    );
    let out = srv.python(&script);
    assert!(out.contains("ALL OK"), "{out}");
}

#[test]
fn starttls_required_for_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let st = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        ])
        .arg("/CN=localhost")
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let srv = common::Server::start(&format!(
        "allowplaintext: no\ntls_server_cert: {}\ntls_server_key: {}\n",
        cert.display(),
        key.display()
    ));
    let script = format!(
        "{PRELUDE}{}",
        r#"
import ssl
M = conn()
assert b'STARTTLS' in M.welcome and b'LOGINDISABLED' in M.welcome and b'AUTH=' not in M.welcome, M.welcome
assert 'Login only available under a layer' in no(M.login, 'alice', 'pw')
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ok(M.starttls(ssl_context=ctx))
caps = ok(M.capability())[0].decode().split()
assert 'STARTTLS' not in caps and 'AUTH=PLAIN' in caps and 'LOGINDISABLED' not in caps, caps
try:
    M._simple_command('STARTTLS')
    raise AssertionError('second STARTTLS accepted')
except imaplib.IMAP4.error as e:
    pass
ok(M.login('alice', 'pw'))
M.logout()
print('ALL OK')
"#
    );
    let out = srv.python(&script);
    assert!(out.contains("ALL OK"), "{out}");
    // imaps: `imapd -s` speaks TLS from the first byte.
    let tls_conf = format!(
        "tls_server_cert: {}\ntls_server_key: {}\n",
        cert.display(),
        key.display()
    );
    let srv = common::Server::start_with_args(&tls_conf, &["-s"]);
    let out = srv.python(
        r#"
import imaplib, os, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
M = imaplib.IMAP4_SSL('127.0.0.1', int(os.environ['PORT']), ssl_context=ctx)
assert b'STARTTLS' not in M.welcome, M.welcome
assert M.login('alice', 'pw')[0] == 'OK'
M.logout()
print('ALL OK')
"#,
    );
    assert!(out.contains("ALL OK"), "{out}");
}
