//! A small async IMAP client for tests (loopback only).
//!
//! Owns: tagging commands, sending arguments as atoms, quoted strings or synchronising literals,
//! reading responses with `{n}` literals spliced in, and a lenient value parser for untagged
//! data. High-level helpers cover what interop tests need (LOGIN, AUTHENTICATE PLAIN with an
//! authzid, LIST/LSUB, SELECT/EXAMINE, STATUS, UID FETCH, ACL, QUOTA, METADATA, APPEND, STORE,
//! EXPUNGE, CREATE/DELETE/RENAME, SUBSCRIBE) plus [`ImapClient::raw`] as an escape hatch.
//!
//! Must not: be used as a production client — it trusts its peer, keeps whole responses in
//! memory and only supports what tests need. It does not decode modified UTF-7 names.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A parsed IMAP value from a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Atom or number or flag, e.g. `FLAGS`, `\Seen`, `BODY[]`, `42`.
    Atom(String),
    /// Quoted string or literal.
    Str(Vec<u8>),
    /// `NIL`.
    Nil,
    /// Parenthesised list.
    List(Vec<Value>),
}

impl Value {
    /// Atom or string contents as text (lossy); `None` for NIL and lists.
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Atom(a) => Some(a.clone()),
            Value::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
            _ => None,
        }
    }
    /// Raw bytes of an atom or string.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Atom(a) => Some(a.as_bytes()),
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    /// A number.
    pub fn num(&self) -> Option<u64> {
        self.text()?.parse().ok()
    }
    /// List items.
    pub fn list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }
    /// Case-insensitive atom comparison.
    pub fn is_atom(&self, a: &str) -> bool {
        matches!(self, Value::Atom(x) if x.eq_ignore_ascii_case(a))
    }
}

/// Tagged completion status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `OK`
    Ok,
    /// `NO`
    No,
    /// `BAD`
    Bad,
}

/// Everything a command produced: untagged lines (literals spliced in) and the tagged result.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Completion status.
    pub status: Status,
    /// The tagged line after the status word, e.g. `[READ-ONLY] Completed`.
    pub text: String,
    /// Untagged responses, each without the leading `* `.
    pub untagged: Vec<Vec<u8>>,
}

impl Reply {
    /// Fails unless the status is OK.
    pub fn ok(self) -> Result<Reply> {
        if self.status == Status::Ok {
            Ok(self)
        } else {
            Err(anyhow!("{:?} {}", self.status, self.text))
        }
    }
    /// The response code of the tagged line, e.g. `("APPENDUID", "123 4")`.
    pub fn code(&self) -> Option<(String, String)> {
        resp_code(self.text.as_bytes())
    }
    /// Untagged responses parsed into values (lenient: unparsable tails are dropped).
    pub fn parsed(&self) -> Vec<Vec<Value>> {
        self.untagged.iter().map(|l| parse_values(l)).collect()
    }
    /// Parsed untagged responses whose first word (or second, after a number) is `name`.
    pub fn find(&self, name: &str) -> Vec<Vec<Value>> {
        self.parsed()
            .into_iter()
            .filter_map(|v| match v.first() {
                Some(a) if a.is_atom(name) => Some(v[1..].to_vec()),
                Some(Value::Atom(n))
                    if n.parse::<u64>().is_ok() && v.get(1).is_some_and(|x| x.is_atom(name)) =>
                {
                    let mut r = vec![v[0].clone()];
                    r.extend_from_slice(&v[2..]);
                    Some(r)
                }
                _ => None,
            })
            .collect()
    }
    /// Response codes of untagged `OK`/`NO` lines, e.g. `("UIDVALIDITY", "7")`.
    pub fn codes(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = self.untagged.iter().filter_map(|l| resp_code(l)).collect();
        v.extend(self.code());
        v
    }
}

/// One command argument.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// Sent verbatim (atoms, lists like `(\Seen)`, sequence sets).
    Raw(&'a str),
    /// An astring: atom if safe, else quoted, else a literal.
    Str(&'a [u8]),
    /// Always a synchronising literal.
    Literal(&'a [u8]),
}

/// A LIST/LSUB item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    /// Name attributes (`\HasChildren`, ...).
    pub attrs: Vec<String>,
    /// Hierarchy delimiter.
    pub delim: Option<String>,
    /// Mailbox name as sent by the server (modified UTF-7 not decoded).
    pub name: String,
}

/// What SELECT/EXAMINE reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectInfo {
    /// `* n EXISTS`
    pub exists: u32,
    /// `[UIDVALIDITY n]`
    pub uidvalidity: Option<u32>,
    /// `[UIDNEXT n]`
    pub uidnext: Option<u32>,
    /// `[HIGHESTMODSEQ n]`
    pub highestmodseq: Option<u64>,
    /// `[MAILBOXID (id)]` (RFC 8474), if sent.
    pub mailboxid: Option<String>,
    /// `FLAGS (...)`
    pub flags: Vec<String>,
    /// `[PERMANENTFLAGS (...)]`
    pub permanentflags: Vec<String>,
    /// `[READ-ONLY]` on the tagged line.
    pub read_only: bool,
}

/// One `* n FETCH (...)` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    /// Message sequence number.
    pub seq: u32,
    /// Attribute name (upper-cased) to value.
    pub attrs: BTreeMap<String, Value>,
}

impl Fetch {
    /// `UID`.
    pub fn uid(&self) -> Option<u32> {
        self.attrs
            .get("UID")?
            .num()
            .and_then(|n| u32::try_from(n).ok())
    }
    /// `FLAGS` as strings.
    pub fn flags(&self) -> Vec<String> {
        self.attrs
            .get("FLAGS")
            .and_then(Value::list)
            .map(|l| l.iter().filter_map(Value::text).collect())
            .unwrap_or_default()
    }
    /// `INTERNALDATE`.
    pub fn internaldate(&self) -> Option<String> {
        self.attrs.get("INTERNALDATE")?.text()
    }
    /// `MODSEQ (n)`.
    pub fn modseq(&self) -> Option<u64> {
        self.attrs.get("MODSEQ")?.list()?.first()?.num()
    }
    /// `RFC822.SIZE`.
    pub fn size(&self) -> Option<u64> {
        self.attrs.get("RFC822.SIZE")?.num()
    }
    /// `DIGEST.SHA1` (Cyrus: the message GUID).
    pub fn digest_sha1(&self) -> Option<String> {
        self.attrs.get("DIGEST.SHA1")?.text()
    }
    /// A body section by its response name, e.g. `BODY[]`.
    pub fn section(&self, name: &str) -> Option<&[u8]> {
        self.attrs.get(&name.to_ascii_uppercase())?.bytes()
    }
}

/// One quota root's resources: (resource, usage, limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quota {
    /// Quota root name.
    pub root: String,
    /// `(resource, usage, limit)` triples in server order.
    pub resources: Vec<(String, u64, u64)>,
}

/// The client. `S` is any byte stream (TCP by default).
pub struct ImapClient<S = TcpStream> {
    stream: S,
    buf: Vec<u8>,
    tag: u32,
    /// Capabilities from the last CAPABILITY response or greeting/login code.
    pub capabilities: Vec<String>,
    /// The greeting line.
    pub greeting: String,
    /// Longest wait for the server to send anything (default 60 s); a hung server fails the
    /// test instead of hanging it.
    pub read_timeout: std::time::Duration,
}

impl<S> fmt::Debug for ImapClient<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapClient")
            .field("tag", &self.tag)
            .finish_non_exhaustive()
    }
}

impl ImapClient<TcpStream> {
    /// Connects, reads the greeting and asks for CAPABILITY.
    pub async fn connect(addr: impl tokio::net::ToSocketAddrs) -> Result<Self> {
        let s = TcpStream::connect(addr).await.context("connect IMAP")?;
        Self::from_stream(s).await
    }

    /// Connects and logs in (LOGIN).
    pub async fn login_to(
        addr: impl tokio::net::ToSocketAddrs,
        user: &str,
        pw: &str,
    ) -> Result<Self> {
        let mut c = Self::connect(addr).await?;
        c.login(user, pw).await?;
        Ok(c)
    }

    /// Connects and authenticates as `authcid`, acting as `authzid` (AUTHENTICATE PLAIN).
    pub async fn proxy_to(
        addr: impl tokio::net::ToSocketAddrs,
        authzid: &str,
        authcid: &str,
        pw: &str,
    ) -> Result<Self> {
        let mut c = Self::connect(addr).await?;
        c.authenticate_plain(authzid, authcid, pw).await?;
        Ok(c)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> ImapClient<S> {
    /// Wraps a connected stream: reads the greeting, then CAPABILITY.
    pub async fn from_stream(stream: S) -> Result<Self> {
        let mut c = ImapClient {
            stream,
            buf: Vec::new(),
            tag: 0,
            capabilities: Vec::new(),
            greeting: String::new(),
            read_timeout: std::time::Duration::from_secs(60),
        };
        let g = c.read_response().await?;
        c.greeting = String::from_utf8_lossy(&g).into_owned();
        if !g.starts_with(b"* OK") && !g.starts_with(b"* PREAUTH") {
            bail!("bad greeting: {}", c.greeting);
        }
        c.capability().await?;
        Ok(c)
    }

    /// Returns the underlying stream.
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// True if the last CAPABILITY listed `cap` (case-insensitive).
    pub fn has_cap(&self, cap: &str) -> bool {
        self.capabilities
            .iter()
            .any(|c| c.eq_ignore_ascii_case(cap))
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("T{}", self.tag)
    }

    /// Reads one response line with any literals spliced in (without the final CRLF).
    async fn read_response(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let line = self.read_line().await?;
            out.extend_from_slice(&line);
            match literal_len(&line) {
                Some(n) => {
                    out.extend_from_slice(b"\r\n");
                    let lit = self.read_exact(n).await?;
                    out.extend_from_slice(&lit);
                }
                None => return Ok(out),
            }
        }
    }

    async fn fill(&mut self) -> Result<()> {
        let mut tmp = [0u8; 16384];
        let n = tokio::time::timeout(self.read_timeout, self.stream.read(&mut tmp))
            .await
            .map_err(|_| anyhow!("IMAP server sent nothing for {:?}", self.read_timeout))??;
        if n == 0 {
            bail!("connection closed by server");
        }
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(())
    }

    async fn read_line(&mut self) -> Result<Vec<u8>> {
        let mut scanned = 0;
        loop {
            if let Some(p) = self.buf[scanned..].windows(2).position(|w| w == b"\r\n") {
                let end = scanned + p;
                let line = self.buf[..end].to_vec();
                self.buf.drain(..end + 2);
                return Ok(line);
            }
            scanned = self.buf.len().saturating_sub(1);
            self.fill().await?;
        }
    }

    async fn read_exact(&mut self, n: usize) -> Result<Vec<u8>> {
        while self.buf.len() < n {
            self.fill().await?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Sends `tag <cmd>\r\n` verbatim and collects the reply.
    pub async fn raw(&mut self, cmd: &str) -> Result<Reply> {
        self.command(&[Arg::Raw(cmd)]).await
    }

    /// Sends a command built from `args` (joined by spaces); literals wait for `+`.
    pub async fn command(&mut self, args: &[Arg<'_>]) -> Result<Reply> {
        let tag = self.next_tag();
        let mut untagged = Vec::new();
        let mut pending: Vec<u8> = tag.clone().into_bytes();
        for a in args {
            pending.push(b' ');
            let lit: &[u8] = match a {
                Arg::Raw(s) => {
                    pending.extend_from_slice(s.as_bytes());
                    continue;
                }
                Arg::Str(s) => match encode_astring(s) {
                    Some(enc) => {
                        pending.extend_from_slice(&enc);
                        continue;
                    }
                    None => s,
                },
                Arg::Literal(s) => s,
            };
            pending.extend_from_slice(format!("{{{}}}\r\n", lit.len()).as_bytes());
            self.stream.write_all(&pending).await?;
            self.stream.flush().await?;
            pending.clear();
            // Wait for the continuation request.
            loop {
                let r = self.read_response().await?;
                if r.starts_with(b"+") {
                    break;
                }
                if let Some(rest) = r.strip_prefix(b"* ") {
                    untagged.push(rest.to_vec());
                    continue;
                }
                return tagged_reply(&tag, &r, untagged);
            }
            pending.extend_from_slice(lit);
        }
        pending.extend_from_slice(b"\r\n");
        self.stream.write_all(&pending).await?;
        self.stream.flush().await?;
        self.collect(&tag, untagged).await
    }

    async fn collect(&mut self, tag: &str, mut untagged: Vec<Vec<u8>>) -> Result<Reply> {
        loop {
            let r = self.read_response().await?;
            if let Some(rest) = r.strip_prefix(b"* ") {
                untagged.push(rest.to_vec());
            } else if r.starts_with(b"+") {
                bail!("unexpected continuation: {}", String::from_utf8_lossy(&r));
            } else {
                let reply = tagged_reply(tag, &r, untagged)?;
                self.note_caps(&reply);
                return Ok(reply);
            }
        }
    }

    fn note_caps(&mut self, r: &Reply) {
        for v in r.find("CAPABILITY") {
            self.capabilities = v.iter().filter_map(Value::text).collect();
        }
        if let Some((c, rest)) = r.code()
            && c.eq_ignore_ascii_case("CAPABILITY")
        {
            self.capabilities = rest.split_whitespace().map(str::to_string).collect();
        }
    }

    /// CAPABILITY; refreshes [`Self::capabilities`].
    pub async fn capability(&mut self) -> Result<Vec<String>> {
        self.raw("CAPABILITY").await?.ok()?;
        Ok(self.capabilities.clone())
    }

    /// LOGIN.
    pub async fn login(&mut self, user: &str, pw: &str) -> Result<()> {
        self.command(&[
            Arg::Raw("LOGIN"),
            Arg::Str(user.as_bytes()),
            Arg::Str(pw.as_bytes()),
        ])
        .await?
        .ok()
        .with_context(|| format!("LOGIN {user}"))?;
        self.capability().await?;
        Ok(())
    }

    /// AUTHENTICATE PLAIN with `authzid` (may be empty or equal to `authcid`).
    pub async fn authenticate_plain(
        &mut self,
        authzid: &str,
        authcid: &str,
        pw: &str,
    ) -> Result<()> {
        let resp =
            base64::engine::general_purpose::STANDARD.encode(format!("{authzid}\0{authcid}\0{pw}"));
        let tag = self.next_tag();
        let reply = if self.has_cap("SASL-IR") {
            self.stream
                .write_all(format!("{tag} AUTHENTICATE PLAIN {resp}\r\n").as_bytes())
                .await?;
            self.stream.flush().await?;
            self.collect(&tag, Vec::new()).await?
        } else {
            self.stream
                .write_all(format!("{tag} AUTHENTICATE PLAIN\r\n").as_bytes())
                .await?;
            self.stream.flush().await?;
            let r = self.read_response().await?;
            if !r.starts_with(b"+") {
                let rep = tagged_reply(&tag, &r, Vec::new())?;
                bail!("AUTHENTICATE: {:?} {}", rep.status, rep.text);
            }
            self.stream
                .write_all(format!("{resp}\r\n").as_bytes())
                .await?;
            self.stream.flush().await?;
            self.collect(&tag, Vec::new()).await?
        };
        reply
            .ok()
            .with_context(|| format!("AUTHENTICATE PLAIN {authzid}/{authcid}"))?;
        self.capability().await?;
        Ok(())
    }

    /// ENABLE (e.g. `CONDSTORE`).
    pub async fn enable(&mut self, caps: &str) -> Result<Reply> {
        self.raw(&format!("ENABLE {caps}")).await?.ok()
    }

    /// LIST `reference` `pattern`.
    pub async fn list(&mut self, reference: &str, pattern: &str) -> Result<Vec<ListItem>> {
        let r = self
            .command(&[
                Arg::Raw("LIST"),
                Arg::Str(reference.as_bytes()),
                Arg::Str(pattern.as_bytes()),
            ])
            .await?
            .ok()?;
        Ok(list_items(&r, "LIST"))
    }

    /// LSUB `reference` `pattern`.
    pub async fn lsub(&mut self, reference: &str, pattern: &str) -> Result<Vec<ListItem>> {
        let r = self
            .command(&[
                Arg::Raw("LSUB"),
                Arg::Str(reference.as_bytes()),
                Arg::Str(pattern.as_bytes()),
            ])
            .await?
            .ok()?;
        Ok(list_items(&r, "LSUB"))
    }

    /// SELECT with CONDSTORE.
    pub async fn select(&mut self, mbox: &str) -> Result<SelectInfo> {
        self.select_cmd("SELECT", mbox).await
    }

    /// EXAMINE with CONDSTORE (read-only: no `\Recent` or `\Seen` side effects).
    pub async fn examine(&mut self, mbox: &str) -> Result<SelectInfo> {
        self.select_cmd("EXAMINE", mbox).await
    }

    async fn select_cmd(&mut self, verb: &str, mbox: &str) -> Result<SelectInfo> {
        let condstore = self.has_cap("CONDSTORE");
        let mut args = vec![Arg::Raw(verb), Arg::Str(mbox.as_bytes())];
        if condstore {
            args.push(Arg::Raw("(CONDSTORE)"));
        }
        let r = self
            .command(&args)
            .await?
            .ok()
            .with_context(|| format!("{verb} {mbox}"))?;
        let mut info = SelectInfo::default();
        for v in r.parsed() {
            if v.get(1).is_some_and(|x| x.is_atom("EXISTS")) {
                info.exists = v.first().and_then(Value::num).unwrap_or(0) as u32;
            }
            if v.first().is_some_and(|x| x.is_atom("FLAGS")) {
                info.flags = v
                    .get(1)
                    .and_then(Value::list)
                    .map(|l| l.iter().filter_map(Value::text).collect())
                    .unwrap_or_default();
            }
        }
        for (code, rest) in r.codes() {
            match code.to_ascii_uppercase().as_str() {
                "UIDVALIDITY" => info.uidvalidity = rest.trim().parse().ok(),
                "UIDNEXT" => info.uidnext = rest.trim().parse().ok(),
                "HIGHESTMODSEQ" => info.highestmodseq = rest.trim().parse().ok(),
                "MAILBOXID" => {
                    info.mailboxid = Some(rest.trim().trim_matches(['(', ')']).to_string())
                }
                "PERMANENTFLAGS" => {
                    info.permanentflags = rest
                        .trim()
                        .trim_matches(['(', ')'])
                        .split_whitespace()
                        .map(str::to_string)
                        .collect();
                }
                "READ-ONLY" => info.read_only = true,
                _ => {}
            }
        }
        Ok(info)
    }

    /// STATUS `mbox` (`items`), e.g. `"MESSAGES UIDNEXT HIGHESTMODSEQ"`. Values that are not
    /// numbers (MAILBOXID) are returned by [`Self::status_raw`].
    pub async fn status(&mut self, mbox: &str, items: &str) -> Result<BTreeMap<String, u64>> {
        Ok(self
            .status_raw(mbox, items)
            .await?
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.num()?)))
            .collect())
    }

    /// STATUS returning raw values.
    pub async fn status_raw(&mut self, mbox: &str, items: &str) -> Result<BTreeMap<String, Value>> {
        let it = format!("({items})");
        let r = self
            .command(&[Arg::Raw("STATUS"), Arg::Str(mbox.as_bytes()), Arg::Raw(&it)])
            .await?
            .ok()
            .with_context(|| format!("STATUS {mbox}"))?;
        let mut out = BTreeMap::new();
        for v in r.find("STATUS") {
            if let Some(l) = v.get(1).and_then(Value::list) {
                for pair in l.chunks(2) {
                    if let [k, val] = pair
                        && let Some(k) = k.text()
                    {
                        out.insert(k.to_ascii_uppercase(), val.clone());
                    }
                }
            }
        }
        Ok(out)
    }

    /// UID FETCH `set` `items` (items include their parentheses if several).
    pub async fn uid_fetch(&mut self, set: &str, items: &str) -> Result<Vec<Fetch>> {
        let r = self.raw(&format!("UID FETCH {set} {items}")).await?.ok()?;
        Ok(fetches(&r))
    }

    /// FETCH by sequence numbers.
    pub async fn fetch(&mut self, set: &str, items: &str) -> Result<Vec<Fetch>> {
        let r = self.raw(&format!("FETCH {set} {items}")).await?.ok()?;
        Ok(fetches(&r))
    }

    /// APPEND; returns the tagged reply (with `[APPENDUID v uid]` on Cyrus).
    pub async fn append(
        &mut self,
        mbox: &str,
        flags: &[&str],
        date: Option<&str>,
        msg: &[u8],
    ) -> Result<Reply> {
        let fl = format!("({})", flags.join(" "));
        let mut args = vec![Arg::Raw("APPEND"), Arg::Str(mbox.as_bytes()), Arg::Raw(&fl)];
        let quoted_date;
        if let Some(d) = date {
            quoted_date = format!("\"{d}\"");
            args.push(Arg::Raw(&quoted_date));
        }
        args.push(Arg::Literal(msg));
        self.command(&args)
            .await?
            .ok()
            .with_context(|| format!("APPEND {mbox}"))
    }

    /// UID STORE `set` `item` `(flags)`, e.g. `uid_store("1:3", "+FLAGS", &["\\Seen"])`.
    pub async fn uid_store(&mut self, set: &str, item: &str, flags: &[&str]) -> Result<Vec<Fetch>> {
        let r = self
            .raw(&format!("UID STORE {set} {item} ({})", flags.join(" ")))
            .await?
            .ok()?;
        Ok(fetches(&r))
    }

    /// UID COPY `set` to `mbox`.
    pub async fn uid_copy(&mut self, set: &str, mbox: &str) -> Result<Reply> {
        self.command(&[
            Arg::Raw("UID COPY"),
            Arg::Raw(set),
            Arg::Str(mbox.as_bytes()),
        ])
        .await?
        .ok()
        .with_context(|| format!("UID COPY {set} {mbox}"))
    }

    /// UID MOVE `set` to `mbox` (RFC 6851).
    pub async fn uid_move(&mut self, set: &str, mbox: &str) -> Result<Reply> {
        self.command(&[
            Arg::Raw("UID MOVE"),
            Arg::Raw(set),
            Arg::Str(mbox.as_bytes()),
        ])
        .await?
        .ok()
        .with_context(|| format!("UID MOVE {set} {mbox}"))
    }

    /// UID SEARCH `criteria` (e.g. `"UNSEEN"`): matching UIDs.
    pub async fn uid_search(&mut self, criteria: &str) -> Result<Vec<u32>> {
        let r = self.raw(&format!("UID SEARCH {criteria}")).await?.ok()?;
        Ok(r.find("SEARCH")
            .into_iter()
            .flatten()
            .filter_map(|v| v.num().and_then(|n| u32::try_from(n).ok()))
            .collect())
    }

    /// NOOP (collects pending untagged responses).
    pub async fn noop(&mut self) -> Result<Reply> {
        self.raw("NOOP").await?.ok()
    }

    /// EXPUNGE.
    pub async fn expunge(&mut self) -> Result<Reply> {
        self.raw("EXPUNGE").await?.ok()
    }

    /// CLOSE.
    pub async fn close(&mut self) -> Result<Reply> {
        self.raw("CLOSE").await?.ok()
    }

    /// UNSELECT (falls back to CLOSE-free re-selection semantics on servers without it).
    pub async fn unselect(&mut self) -> Result<Reply> {
        self.raw("UNSELECT").await?.ok()
    }

    /// CREATE.
    pub async fn create(&mut self, mbox: &str) -> Result<()> {
        self.simple("CREATE", &[mbox]).await
    }

    /// DELETE.
    pub async fn delete(&mut self, mbox: &str) -> Result<()> {
        self.simple("DELETE", &[mbox]).await
    }

    /// RENAME.
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        self.simple("RENAME", &[from, to]).await
    }

    /// SUBSCRIBE.
    pub async fn subscribe(&mut self, mbox: &str) -> Result<()> {
        self.simple("SUBSCRIBE", &[mbox]).await
    }

    /// UNSUBSCRIBE.
    pub async fn unsubscribe(&mut self, mbox: &str) -> Result<()> {
        self.simple("UNSUBSCRIBE", &[mbox]).await
    }

    /// SETACL `mbox` `id` `rights`.
    pub async fn setacl(&mut self, mbox: &str, id: &str, rights: &str) -> Result<()> {
        self.simple("SETACL", &[mbox, id, rights]).await
    }

    /// DELETEACL.
    pub async fn deleteacl(&mut self, mbox: &str, id: &str) -> Result<()> {
        self.simple("DELETEACL", &[mbox, id]).await
    }

    async fn simple(&mut self, verb: &str, args: &[&str]) -> Result<()> {
        let mut a = vec![Arg::Raw(verb)];
        a.extend(args.iter().map(|s| Arg::Str(s.as_bytes())));
        self.command(&a)
            .await?
            .ok()
            .with_context(|| format!("{verb} {args:?}"))?;
        Ok(())
    }

    /// GETACL: `(identifier, rights)` pairs in server order.
    pub async fn getacl(&mut self, mbox: &str) -> Result<Vec<(String, String)>> {
        let r = self
            .command(&[Arg::Raw("GETACL"), Arg::Str(mbox.as_bytes())])
            .await?
            .ok()
            .with_context(|| format!("GETACL {mbox}"))?;
        let mut out = Vec::new();
        for v in r.find("ACL") {
            for pair in v.get(1..).unwrap_or_default().chunks(2) {
                if let [id, rights] = pair {
                    out.push((
                        id.text().unwrap_or_default(),
                        rights.text().unwrap_or_default(),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// MYRIGHTS.
    pub async fn myrights(&mut self, mbox: &str) -> Result<String> {
        let r = self
            .command(&[Arg::Raw("MYRIGHTS"), Arg::Str(mbox.as_bytes())])
            .await?
            .ok()?;
        Ok(r.find("MYRIGHTS")
            .first()
            .and_then(|v| v.get(1))
            .and_then(Value::text)
            .unwrap_or_default())
    }

    /// GETQUOTAROOT: the roots and their quotas.
    pub async fn getquotaroot(&mut self, mbox: &str) -> Result<(Vec<String>, Vec<Quota>)> {
        let r = self
            .command(&[Arg::Raw("GETQUOTAROOT"), Arg::Str(mbox.as_bytes())])
            .await?
            .ok()
            .with_context(|| format!("GETQUOTAROOT {mbox}"))?;
        let roots = r
            .find("QUOTAROOT")
            .first()
            .map(|v| v.iter().skip(1).filter_map(Value::text).collect())
            .unwrap_or_default();
        Ok((roots, quotas(&r)))
    }

    /// GETQUOTA `root`.
    pub async fn getquota(&mut self, root: &str) -> Result<Vec<Quota>> {
        let r = self
            .command(&[Arg::Raw("GETQUOTA"), Arg::Str(root.as_bytes())])
            .await?
            .ok()
            .with_context(|| format!("GETQUOTA {root}"))?;
        Ok(quotas(&r))
    }

    /// SETQUOTA `root` `((res limit)...)`, e.g. `&[("STORAGE", 1000)]`.
    pub async fn setquota(&mut self, root: &str, limits: &[(&str, u64)]) -> Result<()> {
        let l = limits
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let l = format!("({l})");
        self.command(&[
            Arg::Raw("SETQUOTA"),
            Arg::Str(root.as_bytes()),
            Arg::Raw(&l),
        ])
        .await?
        .ok()
        .with_context(|| format!("SETQUOTA {root}"))?;
        Ok(())
    }

    /// GETMETADATA `mbox` with options (e.g. `"(DEPTH infinity)"`, or empty) and entries
    /// (e.g. `&["/shared", "/private"]`). Values are `None` for NIL.
    pub async fn getmetadata(
        &mut self,
        mbox: &str,
        options: &str,
        entries: &[&str],
    ) -> Result<BTreeMap<String, Option<Vec<u8>>>> {
        let ents = format!(
            "({})",
            entries
                .iter()
                .map(|e| quote(e))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut args = vec![Arg::Raw("GETMETADATA")];
        if !options.is_empty() {
            args.push(Arg::Raw(options));
        }
        args.push(Arg::Str(mbox.as_bytes()));
        args.push(Arg::Raw(&ents));
        let r = self
            .command(&args)
            .await?
            .ok()
            .with_context(|| format!("GETMETADATA {mbox}"))?;
        let mut out = BTreeMap::new();
        for v in r.find("METADATA") {
            if let Some(l) = v.get(1).and_then(Value::list) {
                for pair in l.chunks(2) {
                    if let [k, val] = pair
                        && let Some(k) = k.text()
                    {
                        out.insert(k, val.bytes().map(<[u8]>::to_vec));
                    }
                }
            }
        }
        Ok(out)
    }

    /// SETMETADATA `mbox` `(entry value ...)`; `None` removes the entry. Values are sent as
    /// literals, so any bytes work.
    pub async fn setmetadata(
        &mut self,
        mbox: &str,
        entries: &[(&str, Option<&[u8]>)],
    ) -> Result<()> {
        if entries.is_empty() {
            bail!("SETMETADATA needs at least one entry");
        }
        self.setmetadata_exact(mbox, entries).await
    }

    async fn setmetadata_exact(
        &mut self,
        mbox: &str,
        entries: &[(&str, Option<&[u8]>)],
    ) -> Result<()> {
        // Values always go as literals (any bytes); the list is assembled piecewise so that no
        // stray space precedes ')'.
        let tag = self.next_tag();
        let mut untagged = Vec::new();
        let mut pending = format!("{tag} SETMETADATA ").into_bytes();
        pending.extend_from_slice(
            &encode_astring(mbox.as_bytes()).unwrap_or_else(|| quote(mbox).into_bytes()),
        );
        pending.extend_from_slice(b" (");
        for (i, (e, v)) in entries.iter().enumerate() {
            if i > 0 {
                pending.push(b' ');
            }
            pending.extend_from_slice(quote(e).as_bytes());
            pending.push(b' ');
            match v {
                None => pending.extend_from_slice(b"NIL"),
                Some(b) => {
                    pending.extend_from_slice(format!("{{{}}}\r\n", b.len()).as_bytes());
                    self.stream.write_all(&pending).await?;
                    self.stream.flush().await?;
                    pending.clear();
                    loop {
                        let r = self.read_response().await?;
                        if r.starts_with(b"+") {
                            break;
                        }
                        if let Some(rest) = r.strip_prefix(b"* ") {
                            untagged.push(rest.to_vec());
                            continue;
                        }
                        return tagged_reply(&tag, &r, untagged)?
                            .ok()
                            .map(|_| ())
                            .with_context(|| format!("SETMETADATA {mbox}"));
                    }
                    pending.extend_from_slice(b);
                }
            }
        }
        pending.extend_from_slice(b")\r\n");
        self.stream.write_all(&pending).await?;
        self.stream.flush().await?;
        self.collect(&tag, untagged)
            .await?
            .ok()
            .with_context(|| format!("SETMETADATA {mbox}"))?;
        Ok(())
    }

    /// LOGOUT (ignores a connection closed right after BYE).
    pub async fn logout(mut self) -> Result<()> {
        let _ = self.raw("LOGOUT").await;
        Ok(())
    }
}

fn tagged_reply(tag: &str, line: &[u8], untagged: Vec<Vec<u8>>) -> Result<Reply> {
    let s = String::from_utf8_lossy(line);
    let rest = s
        .strip_prefix(tag)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| anyhow!("unexpected line (want tag {tag}): {s}"))?;
    let (word, text) = rest.split_once(' ').unwrap_or((rest, ""));
    let status = match word.to_ascii_uppercase().as_str() {
        "OK" => Status::Ok,
        "NO" => Status::No,
        "BAD" => Status::Bad,
        _ => bail!("bad tagged status: {s}"),
    };
    Ok(Reply {
        status,
        text: text.to_string(),
        untagged,
    })
}

/// `{n}` or `{n+}` at the end of a line.
fn literal_len(line: &[u8]) -> Option<usize> {
    let l = line.strip_suffix(b"}")?;
    let open = l.iter().rposition(|b| *b == b'{')?;
    let digits = &l[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Quoted string for text without CR/LF/NUL (escapes `"` and `\`).
pub fn quote(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            o.push('\\');
        }
        o.push(c);
    }
    o.push('"');
    o
}

/// Atom if safe, quoted if possible, `None` when a literal is needed.
fn encode_astring(s: &[u8]) -> Option<Vec<u8>> {
    const SPECIAL: &[u8] = b"(){ %*\"\\]";
    if !s.is_empty()
        && s.iter()
            .all(|b| b.is_ascii_graphic() && !SPECIAL.contains(b))
    {
        return Some(s.to_vec());
    }
    if s.iter()
        .all(|b| b.is_ascii() && *b != b'\r' && *b != b'\n' && *b != 0)
    {
        return std::str::from_utf8(s).ok().map(|t| quote(t).into_bytes());
    }
    None
}

/// The response code `[CODE rest]` at the start of a status text, if any.
pub fn resp_code(line: &[u8]) -> Option<(String, String)> {
    let s = String::from_utf8_lossy(line);
    let start = s.find('[')?;
    // Only a code right after the status word (or at the start of tagged text).
    let before = s[..start].trim();
    let ok_prefix = before.is_empty()
        || ["OK", "NO", "BAD", "PREAUTH", "BYE"]
            .iter()
            .any(|w| before.eq_ignore_ascii_case(w));
    if !ok_prefix {
        return None;
    }
    let end = s[start..].find(']')? + start;
    let inner = &s[start + 1..end];
    let (c, r) = inner.split_once(' ').unwrap_or((inner, ""));
    Some((c.to_string(), r.to_string()))
}

fn list_items(r: &Reply, verb: &str) -> Vec<ListItem> {
    r.find(verb)
        .into_iter()
        .filter_map(|v| {
            let attrs = v.first()?.list()?.iter().filter_map(Value::text).collect();
            let delim = v.get(1)?.text();
            let name = v.get(2)?.text()?;
            Some(ListItem { attrs, delim, name })
        })
        .collect()
}

fn fetches(r: &Reply) -> Vec<Fetch> {
    r.find("FETCH")
        .into_iter()
        .filter_map(|v| {
            let seq = u32::try_from(v.first()?.num()?).ok()?;
            let l = v.get(1)?.list()?;
            let mut attrs = BTreeMap::new();
            for pair in l.chunks(2) {
                if let [k, val] = pair
                    && let Some(k) = k.text()
                {
                    attrs.insert(k.to_ascii_uppercase(), val.clone());
                }
            }
            Some(Fetch { seq, attrs })
        })
        .collect()
}

fn quotas(r: &Reply) -> Vec<Quota> {
    r.find("QUOTA")
        .into_iter()
        .filter_map(|v| {
            let root = v.first()?.text()?;
            let l = v.get(1)?.list()?;
            let resources = l
                .chunks(3)
                .filter_map(|c| match c {
                    [n, u, lim] => Some((n.text()?.to_ascii_uppercase(), u.num()?, lim.num()?)),
                    _ => None,
                })
                .collect();
            Some(Quota { root, resources })
        })
        .collect()
}

/// Parses a response (after `* `) into values; stops quietly at anything it cannot parse
/// (free text in status responses).
pub fn parse_values(b: &[u8]) -> Vec<Value> {
    let mut p = Parser { b, i: 0 };
    let mut out = Vec::new();
    loop {
        p.skip_sp();
        if p.i >= b.len() {
            break;
        }
        match p.value() {
            Some(v) => out.push(v),
            None => break,
        }
    }
    out
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_sp(&mut self) {
        while self.b.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Option<Value> {
        match *self.b.get(self.i)? {
            b'(' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_sp();
                    match self.b.get(self.i)? {
                        b')' => {
                            self.i += 1;
                            return Some(Value::List(items));
                        }
                        _ => items.push(self.value()?),
                    }
                }
            }
            b'"' => {
                self.i += 1;
                let mut s = Vec::new();
                loop {
                    let c = *self.b.get(self.i)?;
                    self.i += 1;
                    match c {
                        b'"' => return Some(Value::Str(s)),
                        b'\\' => {
                            s.push(*self.b.get(self.i)?);
                            self.i += 1;
                        }
                        _ => s.push(c),
                    }
                }
            }
            b'{' => {
                let close = self.b[self.i..].iter().position(|c| *c == b'}')? + self.i;
                let digits = &self.b[self.i + 1..close];
                let digits = digits.strip_suffix(b"+").unwrap_or(digits);
                let n: usize = std::str::from_utf8(digits).ok()?.parse().ok()?;
                let start = close + 3; // "}\r\n"
                let data = self.b.get(start..start + n)?.to_vec();
                self.i = start + n;
                Some(Value::Str(data))
            }
            _ => {
                // Atom, possibly with a [section] that may contain spaces and parens,
                // and a <partial> suffix.
                let start = self.i;
                let mut depth = 0usize;
                while let Some(&c) = self.b.get(self.i) {
                    match c {
                        b'[' => depth += 1,
                        b']' => depth = depth.saturating_sub(1),
                        b' ' | b')' | b'(' if depth == 0 => break,
                        b'\r' | b'\n' => break,
                        _ => {}
                    }
                    self.i += 1;
                }
                if self.i == start {
                    return None;
                }
                let a = String::from_utf8_lossy(&self.b[start..self.i]).into_owned();
                if a.eq_ignore_ascii_case("NIL") {
                    Some(Value::Nil)
                } else {
                    Some(Value::Atom(a))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fetch_with_literal() {
        let v = parse_values(b"3 FETCH (UID 7 FLAGS (\\Seen $X) BODY[] {5}\r\nhello MODSEQ (9))");
        assert_eq!(v[0], Value::Atom("3".into()));
        let l = v[2].list().unwrap();
        assert_eq!(l[5], Value::Str(b"hello".to_vec()));
        assert_eq!(l[7].list().unwrap()[0].num(), Some(9));
    }

    #[test]
    fn parses_sections_with_spaces() {
        let v = parse_values(b"1 FETCH (BODY[HEADER.FIELDS (A B)] NIL)");
        let l = v[2].list().unwrap();
        assert_eq!(l[0], Value::Atom("BODY[HEADER.FIELDS (A B)]".into()));
        assert_eq!(l[1], Value::Nil);
    }

    #[test]
    fn literal_len_detects() {
        assert_eq!(literal_len(b"* 1 FETCH (BODY[] {12}"), Some(12));
        assert_eq!(literal_len(b"x {3+}"), Some(3));
        assert_eq!(literal_len(b"x {}"), None);
        assert_eq!(literal_len(b"x }"), None);
    }

    #[test]
    fn codes() {
        assert_eq!(
            resp_code(b"OK [UIDVALIDITY 5] Ok"),
            Some(("UIDVALIDITY".into(), "5".into()))
        );
        assert_eq!(
            resp_code(b"[READ-ONLY] done"),
            Some(("READ-ONLY".into(), String::new()))
        );
        assert_eq!(resp_code(b"FLAGS ([x])"), None);
    }

    #[test]
    fn astrings() {
        assert_eq!(encode_astring(b"user/alice").unwrap(), b"user/alice");
        assert_eq!(encode_astring(b"a b").unwrap(), b"\"a b\"");
        assert_eq!(encode_astring(b"").unwrap(), b"\"\"");
        assert!(encode_astring(b"a\r\nb").is_none());
    }
}
