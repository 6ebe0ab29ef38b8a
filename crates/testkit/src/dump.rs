//! [`ServerDump`]: the observable state of an IMAP server, read over IMAP, for comparing a
//! replica with its master (Cyrus or ours).
//!
//! Owns: collecting, per mailbox, its unique id (RFC 8474 MAILBOXID), UIDVALIDITY, UIDNEXT,
//! HIGHESTMODSEQ, ACL, annotations, quota roots and every message (UID, flags, INTERNALDATE,
//! MODSEQ, size, SHA-1 of the full message); per user their subscriptions and, for mailboxes
//! they may read but do not own, their `\Seen` set; quota roots with usage and limits; sieve
//! scripts from a [`SieveSource`]. Then [`diff`] and [`assert_same`].
//!
//! How: one admin session lists every mailbox and reads ACL, metadata and quota. Message data is
//! read with EXAMINE (read-only, so nothing changes) and `BODY.PEEK[]`, in the owner's session
//! for `user/<name>/...` mailboxes (AUTHENTICATE PLAIN with the admin acting as the owner; the
//! Cyrus admin has no `r` right on users' mailboxes) and in the admin session for others.
//!
//! Must not: change server state (no SELECT, no STORE, no `\Seen` side effects).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use anyhow::Result;
use sha1::{Digest as _, Sha1};

use crate::cyrus::CyrusInstance;
use crate::imap::{ImapClient, Value};
use crate::managesieve::SieveClient;

/// Annotation names (suffixes after `/shared` or `/private`) that a server computes and that are
/// not expected to match between peers (timestamps, sizes, checksums, disk space, ids compared
/// elsewhere).
pub const COMPUTED_ANNOTATIONS: &[&str] = &[
    "/vendor/cmu/cyrus-imapd/lastupdate",
    "/vendor/cmu/cyrus-imapd/size",
    "/vendor/cmu/cyrus-imapd/annotsize",
    "/vendor/cmu/cyrus-imapd/partition",
    "/vendor/cmu/cyrus-imapd/server",
    "/vendor/cmu/cyrus-imapd/synccrcs",
    "/vendor/cmu/cyrus-imapd/uniqueid",
    "/vendor/cmu/cyrus-imapd/hasalarms",
    "/vendor/cmu/cyrus-imapd/foldermodseq",
    "/vendor/cmu/cyrus-imapd/freespace",
    "/vendor/cmu/cyrus-imapd/freespace/total",
    "/vendor/cmu/cyrus-imapd/freespace/percent/most",
    "/vendor/cmu/cyrus-imapd/usercounters",
    "/vendor/cmu/cyrus-imapd/usermodseq",
    "/vendor/cmu/cyrus-imapd/pop3newuidl",
];

/// Where sieve scripts come from.
///
/// Cyrus 3.6.1 keeps scripts as messages in a `user/<name>/#sieve` mailbox (Subject = name,
/// `\Flagged` = active) that IMAP cannot select, plus bytecode under `sievedir`; ManageSieve
/// is the way to read them.
#[derive(Debug, Clone, Default)]
pub enum SieveSource {
    /// Do not dump sieve.
    #[default]
    None,
    /// A ManageSieve server: LISTSCRIPTS and GETSCRIPT as each user (admin acting as the user).
    ManageSieve(SocketAddr),
    /// Already collected (e.g. from our mailstore).
    Provided(BTreeMap<String, SieveUser>),
}

/// One user's sieve scripts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SieveUser {
    /// Script name to SHA-1 (hex) of its source.
    pub scripts: BTreeMap<String, String>,
    /// Name of the active script.
    pub active: Option<String>,
}

/// How to identify message contents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BodyDigest {
    /// `BODY.PEEK[]` and SHA-1 computed here (works with any server).
    #[default]
    Fetch,
    /// Cyrus's `DIGEST.SHA1` FETCH item (cheaper on large corpora; Cyrus only).
    CyrusDigest,
}

/// Options for [`ServerDump::collect`].
#[derive(Debug, Clone)]
pub struct DumpOptions {
    /// Admin login.
    pub admin: String,
    /// Admin password.
    pub password: String,
    /// Extra users whose subscriptions and seen state to read (owners of `user/<name>`
    /// mailboxes are always included).
    pub users: Vec<String>,
    /// How to digest bodies.
    pub body: BodyDigest,
    /// Annotation suffixes to leave out (default [`COMPUTED_ANNOTATIONS`]).
    pub ignore_annotations: Vec<String>,
    /// Sieve scripts.
    pub sieve: SieveSource,
    /// Admin-namespace prefix of user mailboxes (`user/` with `unixhierarchysep: yes`).
    pub user_prefix: String,
    /// Messages per body FETCH.
    pub batch: usize,
    /// Leave out mailboxes named `.../#sieve` (Cyrus's script store; IMAP cannot select it and
    /// the sieve section covers its contents). Default true.
    pub skip_sieve_mailboxes: bool,
}

impl DumpOptions {
    /// Options for a [`CyrusInstance`]: its admin, its users, sieve over its ManageSieve port.
    pub fn for_cyrus(inst: &CyrusInstance) -> Self {
        let (a, p) = inst.admin();
        let mut o = DumpOptions::new(a, p);
        o.users = inst.users().iter().map(|(u, _)| u.clone()).collect();
        if let Some(a) = inst.sieve_addr() {
            o.sieve = SieveSource::ManageSieve(a);
        }
        o
    }

    /// Defaults for an admin login.
    pub fn new(admin: &str, password: &str) -> Self {
        DumpOptions {
            admin: admin.into(),
            password: password.into(),
            users: Vec::new(),
            body: BodyDigest::Fetch,
            ignore_annotations: COMPUTED_ANNOTATIONS.iter().map(|s| s.to_string()).collect(),
            sieve: SieveSource::None,
            user_prefix: "user/".into(),
            batch: 100,
            skip_sieve_mailboxes: true,
        }
    }
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDump {
    /// UID.
    pub uid: u32,
    /// Flags, sorted, without `\Recent`.
    pub flags: Vec<String>,
    /// INTERNALDATE as sent.
    pub internaldate: String,
    /// MODSEQ (0 when the server has no CONDSTORE).
    pub modseq: u64,
    /// RFC822.SIZE.
    pub size: u64,
    /// SHA-1 (hex) of the whole message.
    pub sha1: String,
}

/// One mailbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxDump {
    /// RFC 8474 MAILBOXID (Cyrus: the mailbox uniqueid).
    pub uniqueid: Option<String>,
    /// UIDVALIDITY.
    pub uidvalidity: Option<u32>,
    /// UIDNEXT.
    pub uidnext: Option<u32>,
    /// HIGHESTMODSEQ.
    pub highestmodseq: Option<u64>,
    /// ACL: identifier to rights (rights letters sorted).
    pub acl: BTreeMap<String, String>,
    /// `/shared/...` annotations (admin view), non-NIL, minus ignored ones.
    pub annotations: BTreeMap<String, Vec<u8>>,
    /// `(user, /private/...)` annotations for the owner and the admin.
    pub private_annotations: BTreeMap<(String, String), Vec<u8>>,
    /// Quota roots of this mailbox.
    pub quotaroots: Vec<String>,
    /// Messages by UID.
    pub messages: Vec<MessageDump>,
    /// Non-owner readers: UIDs they have `\Seen`.
    pub seen: BTreeMap<String, Vec<u32>>,
    /// Errors met while reading this mailbox (compared too).
    pub errors: Vec<String>,
}

/// The observable state of a whole server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerDump {
    /// Mailboxes by admin-namespace name.
    pub mailboxes: BTreeMap<String, MailboxDump>,
    /// Server annotations (mailbox `""`), shared and the admin's private ones.
    pub server_annotations: BTreeMap<String, Vec<u8>>,
    /// Per user: subscribed names as that user sees them.
    pub subscriptions: BTreeMap<String, BTreeSet<String>>,
    /// Quota root to `(resource, usage, limit)`.
    pub quotas: BTreeMap<String, Vec<(String, u64, u64)>>,
    /// Per user sieve scripts.
    pub sieve: BTreeMap<String, SieveUser>,
}

#[derive(Debug, Clone)]
struct Namespace {
    personal: String,
    other: String,
    shared: String,
}

impl ServerDump {
    /// Reads a Cyrus instance made by [`CyrusInstance`] (see [`DumpOptions::for_cyrus`]).
    pub async fn of_cyrus(inst: &CyrusInstance) -> Result<ServerDump> {
        Self::collect(inst.imap_addr(), &DumpOptions::for_cyrus(inst)).await
    }

    /// Reads the state of the server at `addr` (see the module docs).
    pub async fn collect(addr: SocketAddr, o: &DumpOptions) -> Result<ServerDump> {
        // Boxed: the state machine is large and tests often run on small thread stacks.
        Box::pin(Self::collect_inner(addr, o)).await
    }

    async fn collect_inner(addr: SocketAddr, o: &DumpOptions) -> Result<ServerDump> {
        let mut dump = ServerDump::default();
        let mut admin = ImapClient::login_to(addr, &o.admin, &o.password).await?;
        let mut names: Vec<String> = admin
            .list("", "*")
            .await?
            .into_iter()
            .map(|l| l.name)
            .collect();
        names.sort();
        names.dedup();
        if o.skip_sieve_mailboxes {
            names.retain(|n| n.rsplit('/').next() != Some("#sieve"));
        }

        let mut users: BTreeSet<String> = o.users.iter().cloned().collect();
        for n in &names {
            if let Some(u) = owner_of(n, &o.user_prefix) {
                users.insert(u);
            }
        }

        // Server annotations.
        if admin.has_cap("METADATA") {
            dump.server_annotations = filter_annots(
                admin
                    .getmetadata("", "(DEPTH infinity)", &["/shared", "/private"])
                    .await?,
                o,
            );
        }

        let mut roots = BTreeSet::new();
        let mut uniqueids: BTreeMap<String, String> = BTreeMap::new();
        for n in &names {
            let mut mb = MailboxDump::default();
            match admin.getacl(n).await {
                Ok(acl) => {
                    mb.acl = acl
                        .into_iter()
                        .map(|(id, r)| (id, sorted_rights(&r)))
                        .collect();
                }
                Err(e) => mb.errors.push(format!("GETACL: {}", first_line(&e))),
            }
            if admin.has_cap("METADATA") {
                match admin
                    .getmetadata(n, "(DEPTH infinity)", &["/shared", "/private"])
                    .await
                {
                    Ok(m) => {
                        // Fallback id for servers without RFC 8474 (filled below if SELECT
                        // gives no MAILBOXID).
                        if let Some(Some(id)) = m.get("/shared/vendor/cmu/cyrus-imapd/uniqueid") {
                            uniqueids.insert(n.clone(), String::from_utf8_lossy(id).into_owned());
                        }
                        for (k, v) in filter_annots(m, o) {
                            if let Some(rest) = k.strip_prefix("/private") {
                                mb.private_annotations
                                    .insert((o.admin.clone(), format!("/private{rest}")), v);
                            } else {
                                mb.annotations.insert(k, v);
                            }
                        }
                    }
                    Err(e) => mb.errors.push(format!("GETMETADATA: {}", first_line(&e))),
                }
            }
            if admin.has_cap("QUOTA") {
                match admin.getquotaroot(n).await {
                    Ok((r, _)) => {
                        roots.extend(r.iter().cloned());
                        mb.quotaroots = r;
                    }
                    Err(e) => mb.errors.push(format!("GETQUOTAROOT: {}", first_line(&e))),
                }
            }
            dump.mailboxes.insert(n.clone(), mb);
        }
        for r in roots {
            if let Ok(q) = admin.getquota(&r).await {
                for q in q {
                    dump.quotas.insert(q.root, q.resources);
                }
            }
        }

        // Admin-readable (non-user) mailboxes.
        for n in &names {
            if owner_of(n, &o.user_prefix).is_none() {
                let mb = dump
                    .mailboxes
                    .get_mut(n)
                    .map(std::mem::take)
                    .unwrap_or_default();
                let mb = Box::pin(read_messages(&mut admin, n, mb, o)).await;
                dump.mailboxes.insert(n.clone(), mb);
            }
        }
        let _ = admin.logout().await;

        // Per user: own mailboxes, private annotations, subscriptions, seen elsewhere.
        for u in &users {
            let mut s = match ImapClient::proxy_to(addr, u, &o.admin, &o.password).await {
                Ok(s) => s,
                Err(e) => {
                    dump.subscriptions.insert(
                        u.clone(),
                        BTreeSet::from([format!("<login failed: {}>", first_line(&e))]),
                    );
                    continue;
                }
            };
            let ns = namespace(&mut s).await;
            match s.lsub("", "*").await {
                Ok(l) => {
                    dump.subscriptions
                        .insert(u.clone(), l.into_iter().map(|i| i.name).collect());
                }
                Err(e) => {
                    dump.subscriptions.insert(
                        u.clone(),
                        BTreeSet::from([format!("<LSUB failed: {}>", first_line(&e))]),
                    );
                }
            }
            for n in &names {
                let owner = owner_of(n, &o.user_prefix);
                let view = user_view(n, u, &o.user_prefix, &ns);
                if owner.as_deref() == Some(u.as_str()) {
                    let mut mb = dump
                        .mailboxes
                        .get_mut(n)
                        .map(std::mem::take)
                        .unwrap_or_default();
                    if s.has_cap("METADATA")
                        && let Ok(m) = s
                            .getmetadata(&view, "(DEPTH infinity)", &["/private"])
                            .await
                    {
                        for (k, v) in filter_annots(m, o) {
                            mb.private_annotations.insert((u.clone(), k), v);
                        }
                    }
                    mb = Box::pin(read_messages(&mut s, &view, mb, o)).await;
                    dump.mailboxes.insert(n.clone(), mb);
                } else if let Some(mb) = dump.mailboxes.get(n)
                    && can_read(&mb.acl, u)
                    && s.examine(&view).await.is_ok()
                    && let Ok(f) = s.uid_fetch("1:*", "(UID FLAGS)").await
                {
                    let mut seen: Vec<u32> = f
                        .iter()
                        .filter(|m| m.flags().iter().any(|f| f.eq_ignore_ascii_case("\\Seen")))
                        .filter_map(|m| m.uid())
                        .collect();
                    seen.sort_unstable();
                    if let Some(mb) = dump.mailboxes.get_mut(n) {
                        mb.seen.insert(u.clone(), seen);
                    }
                }
            }
            let _ = s.logout().await;
        }

        for (n, id) in uniqueids {
            if let Some(mb) = dump.mailboxes.get_mut(&n)
                && mb.uniqueid.is_none()
            {
                mb.uniqueid = Some(id);
            }
        }

        dump.sieve = match &o.sieve {
            SieveSource::None => BTreeMap::new(),
            SieveSource::Provided(m) => m.clone(),
            SieveSource::ManageSieve(a) => sieve_over_managesieve(*a, &users, o).await,
        };
        Ok(dump)
    }

    /// Blocking wrapper around [`Self::collect`] (builds its own runtime: do not call from
    /// inside a tokio runtime).
    pub fn collect_blocking(addr: SocketAddr, o: &DumpOptions) -> Result<ServerDump> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(Self::collect(addr, o))
    }

    /// Total number of messages.
    pub fn message_count(&self) -> usize {
        self.mailboxes.values().map(|m| m.messages.len()).sum()
    }
}

async fn namespace<S>(c: &mut ImapClient<S>) -> Namespace
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let mut ns = Namespace {
        personal: String::new(),
        other: "Other Users/".into(),
        shared: "Shared Folders/".into(),
    };
    if let Ok(r) = c.raw("NAMESPACE").await
        && let Some(v) = r.find("NAMESPACE").first()
    {
        let first =
            |x: Option<&Value>| -> Option<String> { x?.list()?.first()?.list()?.first()?.text() };
        if let Some(p) = first(v.first()) {
            ns.personal = p;
        }
        if let Some(p) = first(v.get(1)) {
            ns.other = p;
        }
        if let Some(p) = first(v.get(2)) {
            ns.shared = p;
        }
    }
    ns
}

/// `user/alice/x` → `alice`.
fn owner_of(name: &str, prefix: &str) -> Option<String> {
    let rest = name.strip_prefix(prefix)?;
    let u = rest.split('/').next()?;
    (!u.is_empty()).then(|| u.to_string())
}

/// The name `user` uses for admin-namespace `name` (altnamespace style: `INBOX`, personal
/// folders at the top, `Other Users/`, `Shared Folders/`).
fn user_view(name: &str, user: &str, prefix: &str, ns: &Namespace) -> String {
    match owner_of(name, prefix) {
        Some(o) if o == user => {
            let rest = &name[prefix.len() + o.len()..];
            match rest.strip_prefix('/') {
                None => "INBOX".into(),
                Some(r) => format!("{}{r}", ns.personal),
            }
        }
        Some(_) => format!("{}{}", ns.other, &name[prefix.len()..]),
        None => format!("{}{name}", ns.shared),
    }
}

fn can_read(acl: &BTreeMap<String, String>, user: &str) -> bool {
    [user, "anyone"]
        .iter()
        .any(|id| acl.get(*id).is_some_and(|r| r.contains('r')))
}

fn sorted_rights(r: &str) -> String {
    let mut c: Vec<char> = r.chars().collect();
    c.sort_unstable();
    c.into_iter().collect()
}

fn first_line(e: &anyhow::Error) -> String {
    format!("{e:#}")
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn filter_annots(
    m: BTreeMap<String, Option<Vec<u8>>>,
    o: &DumpOptions,
) -> BTreeMap<String, Vec<u8>> {
    m.into_iter()
        .filter_map(|(k, v)| {
            let suffix = k
                .strip_prefix("/shared")
                .or_else(|| k.strip_prefix("/private"))
                .unwrap_or(&k);
            if o.ignore_annotations.iter().any(|i| i == suffix) {
                return None;
            }
            Some((k, v?))
        })
        .collect()
}

async fn read_messages<S>(
    c: &mut ImapClient<S>,
    view: &str,
    mut mb: MailboxDump,
    o: &DumpOptions,
) -> MailboxDump
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let info = match c.examine(view).await {
        Ok(i) => i,
        Err(e) => {
            mb.errors.push(format!("EXAMINE: {}", first_line(&e)));
            return mb;
        }
    };
    mb.uniqueid = info.mailboxid.clone();
    mb.uidvalidity = info.uidvalidity;
    mb.uidnext = info.uidnext;
    mb.highestmodseq = info.highestmodseq;
    if info.exists == 0 {
        return mb;
    }
    let condstore = c.has_cap("CONDSTORE");
    let mut items = String::from("(UID FLAGS INTERNALDATE RFC822.SIZE");
    if condstore {
        items.push_str(" MODSEQ");
    }
    if o.body == BodyDigest::CyrusDigest {
        items.push_str(" DIGEST.SHA1");
    }
    items.push(')');
    let meta = match c.uid_fetch("1:*", &items).await {
        Ok(f) => f,
        Err(e) => {
            mb.errors.push(format!("FETCH: {}", first_line(&e)));
            return mb;
        }
    };
    let mut msgs: BTreeMap<u32, MessageDump> = BTreeMap::new();
    for f in &meta {
        let Some(uid) = f.uid() else { continue };
        let mut flags: Vec<String> = f
            .flags()
            .into_iter()
            .filter(|x| !x.eq_ignore_ascii_case("\\Recent"))
            .collect();
        flags.sort();
        msgs.insert(
            uid,
            MessageDump {
                uid,
                flags,
                internaldate: f.internaldate().unwrap_or_default(),
                modseq: f.modseq().unwrap_or(0),
                size: f.size().unwrap_or(0),
                sha1: f.digest_sha1().unwrap_or_default(),
            },
        );
    }
    if o.body == BodyDigest::Fetch {
        let uids: Vec<u32> = msgs.keys().copied().collect();
        for chunk in uids.chunks(o.batch.max(1)) {
            let set = chunk
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            match c.uid_fetch(&set, "(UID BODY.PEEK[])").await {
                Ok(f) => {
                    for f in f {
                        if let (Some(uid), Some(body)) = (f.uid(), f.section("BODY[]"))
                            && let Some(m) = msgs.get_mut(&uid)
                        {
                            m.sha1 = hex::encode(Sha1::digest(body));
                        }
                    }
                }
                Err(e) => mb.errors.push(format!("FETCH BODY: {}", first_line(&e))),
            }
        }
    }
    mb.messages = msgs.into_values().collect();
    mb
}

async fn sieve_over_managesieve(
    addr: SocketAddr,
    users: &BTreeSet<String>,
    o: &DumpOptions,
) -> BTreeMap<String, SieveUser> {
    let mut out = BTreeMap::new();
    for u in users {
        let mut su = SieveUser::default();
        let r: Result<()> = async {
            let mut c = SieveClient::connect(addr, u, &o.admin, &o.password).await?;
            for (name, active) in c.scripts().await? {
                let body = c.get_script(&name).await?;
                su.scripts
                    .insert(name.clone(), hex::encode(Sha1::digest(&body)));
                if active {
                    su.active = Some(name);
                }
            }
            c.logout().await
        }
        .await;
        if let Err(e) = r {
            su.scripts.insert("<error>".into(), first_line(&e));
        }
        if !su.scripts.is_empty() || su.active.is_some() {
            out.insert(u.clone(), su);
        }
    }
    out
}

/// Human-readable differences between two dumps (`a` = expected, e.g. the master).
pub fn diff(a: &ServerDump, b: &ServerDump) -> Vec<String> {
    let mut out = Vec::new();
    let keys: BTreeSet<&String> = a.mailboxes.keys().chain(b.mailboxes.keys()).collect();
    for k in keys {
        match (a.mailboxes.get(k), b.mailboxes.get(k)) {
            (Some(_), None) => out.push(format!("mailbox {k}: only in a")),
            (None, Some(_)) => out.push(format!("mailbox {k}: only in b")),
            (Some(x), Some(y)) => diff_mailbox(k, x, y, &mut out),
            (None, None) => {}
        }
    }
    map_diff(
        "server annotation",
        &show_bytes_map(&a.server_annotations),
        &show_bytes_map(&b.server_annotations),
        &mut out,
    );
    let users: BTreeSet<&String> = a
        .subscriptions
        .keys()
        .chain(b.subscriptions.keys())
        .collect();
    for u in users {
        let empty = BTreeSet::new();
        let x = a.subscriptions.get(u).unwrap_or(&empty);
        let y = b.subscriptions.get(u).unwrap_or(&empty);
        for s in x.difference(y) {
            out.push(format!("subscription {u}: {s:?} only in a"));
        }
        for s in y.difference(x) {
            out.push(format!("subscription {u}: {s:?} only in b"));
        }
    }
    let qa: BTreeMap<String, String> = a
        .quotas
        .iter()
        .map(|(k, v)| (k.clone(), format!("{v:?}")))
        .collect();
    let qb: BTreeMap<String, String> = b
        .quotas
        .iter()
        .map(|(k, v)| (k.clone(), format!("{v:?}")))
        .collect();
    map_diff("quota root", &qa, &qb, &mut out);
    let sa: BTreeMap<String, String> = a
        .sieve
        .iter()
        .map(|(k, v)| (k.clone(), format!("{v:?}")))
        .collect();
    let sb: BTreeMap<String, String> = b
        .sieve
        .iter()
        .map(|(k, v)| (k.clone(), format!("{v:?}")))
        .collect();
    map_diff("sieve user", &sa, &sb, &mut out);
    out
}

/// Polls both servers (every 100 ms) until their dumps are equal; on timeout returns the
/// last differences as an error. For rolling replication tests.
pub async fn wait_for_same(
    a: SocketAddr,
    b: SocketAddr,
    o: &DumpOptions,
    timeout: std::time::Duration,
) -> Result<ServerDump> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let x = ServerDump::collect(a, o).await?;
        let y = ServerDump::collect(b, o).await?;
        let d = diff(&x, &y);
        if d.is_empty() {
            return Ok(x);
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("still different after {timeout:?}:\n  {}", d.join("\n  "));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Panics with every difference (and both sizes) unless the dumps are equal.
#[track_caller]
pub fn assert_same(a: &ServerDump, b: &ServerDump) {
    let d = diff(a, b);
    if !d.is_empty() {
        panic!(
            "server dumps differ ({} mailboxes / {} messages vs {} / {}):\n  {}",
            a.mailboxes.len(),
            a.message_count(),
            b.mailboxes.len(),
            b.message_count(),
            d.join("\n  ")
        );
    }
}

fn diff_mailbox(k: &str, x: &MailboxDump, y: &MailboxDump, out: &mut Vec<String>) {
    let field = |out: &mut Vec<String>, f: &str, a: String, b: String| {
        if a != b {
            out.push(format!("mailbox {k}: {f} {a} != {b}"));
        }
    };
    field(
        out,
        "uniqueid",
        format!("{:?}", x.uniqueid),
        format!("{:?}", y.uniqueid),
    );
    field(
        out,
        "uidvalidity",
        format!("{:?}", x.uidvalidity),
        format!("{:?}", y.uidvalidity),
    );
    field(
        out,
        "uidnext",
        format!("{:?}", x.uidnext),
        format!("{:?}", y.uidnext),
    );
    field(
        out,
        "highestmodseq",
        format!("{:?}", x.highestmodseq),
        format!("{:?}", y.highestmodseq),
    );
    field(
        out,
        "quotaroots",
        format!("{:?}", x.quotaroots),
        format!("{:?}", y.quotaroots),
    );
    field(
        out,
        "errors",
        format!("{:?}", x.errors),
        format!("{:?}", y.errors),
    );
    map_diff(&format!("mailbox {k}: acl"), &x.acl, &y.acl, out);
    map_diff(
        &format!("mailbox {k}: annotation"),
        &show_bytes_map(&x.annotations),
        &show_bytes_map(&y.annotations),
        out,
    );
    let pa: BTreeMap<String, String> = x
        .private_annotations
        .iter()
        .map(|((u, e), v)| (format!("{u} {e}"), show_bytes(v)))
        .collect();
    let pb: BTreeMap<String, String> = y
        .private_annotations
        .iter()
        .map(|((u, e), v)| (format!("{u} {e}"), show_bytes(v)))
        .collect();
    map_diff(&format!("mailbox {k}: private annotation"), &pa, &pb, out);
    let sa: BTreeMap<String, String> = x
        .seen
        .iter()
        .map(|(u, v)| (u.clone(), format!("{v:?}")))
        .collect();
    let sb: BTreeMap<String, String> = y
        .seen
        .iter()
        .map(|(u, v)| (u.clone(), format!("{v:?}")))
        .collect();
    map_diff(&format!("mailbox {k}: seen of"), &sa, &sb, out);
    let ma: BTreeMap<u32, &MessageDump> = x.messages.iter().map(|m| (m.uid, m)).collect();
    let mb: BTreeMap<u32, &MessageDump> = y.messages.iter().map(|m| (m.uid, m)).collect();
    let uids: BTreeSet<u32> = ma.keys().chain(mb.keys()).copied().collect();
    for uid in uids {
        match (ma.get(&uid), mb.get(&uid)) {
            (Some(_), None) => out.push(format!("mailbox {k}: uid {uid} only in a")),
            (None, Some(_)) => out.push(format!("mailbox {k}: uid {uid} only in b")),
            (Some(p), Some(q)) => {
                let mut f = |n: &str, a: String, b: String| {
                    if a != b {
                        out.push(format!("mailbox {k}: uid {uid}: {n} {a} != {b}"));
                    }
                };
                f("flags", format!("{:?}", p.flags), format!("{:?}", q.flags));
                f(
                    "internaldate",
                    p.internaldate.clone(),
                    q.internaldate.clone(),
                );
                f("modseq", p.modseq.to_string(), q.modseq.to_string());
                f("size", p.size.to_string(), q.size.to_string());
                f("sha1", p.sha1.clone(), q.sha1.clone());
            }
            (None, None) => {}
        }
    }
}

fn show_bytes(v: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(v))
}

fn show_bytes_map(m: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), show_bytes(v))).collect()
}

fn map_diff(
    what: &str,
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
    out: &mut Vec<String>,
) {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        match (a.get(k), b.get(k)) {
            (Some(x), None) => out.push(format!("{what} {k}: {x} only in a")),
            (None, Some(y)) => out.push(format!("{what} {k}: {y} only in b")),
            (Some(x), Some(y)) if x != y => out.push(format!("{what} {k}: {x} != {y}")),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns() -> Namespace {
        Namespace {
            personal: String::new(),
            other: "Other Users/".into(),
            shared: "Shared Folders/".into(),
        }
    }

    #[test]
    fn user_views() {
        assert_eq!(user_view("user/alice", "alice", "user/", &ns()), "INBOX");
        assert_eq!(user_view("user/alice/A/B", "alice", "user/", &ns()), "A/B");
        assert_eq!(
            user_view("user/bob/X", "alice", "user/", &ns()),
            "Other Users/bob/X"
        );
        assert_eq!(
            user_view("shared", "alice", "user/", &ns()),
            "Shared Folders/shared"
        );
        assert_eq!(owner_of("user/alice/x", "user/").as_deref(), Some("alice"));
        assert_eq!(owner_of("shared", "user/"), None);
    }

    #[test]
    fn diff_reports_changes() {
        let mut a = ServerDump::default();
        let mut mb = MailboxDump {
            uidnext: Some(3),
            ..Default::default()
        };
        mb.messages.push(MessageDump {
            uid: 1,
            flags: vec!["\\Seen".into()],
            internaldate: "x".into(),
            modseq: 4,
            size: 10,
            sha1: "ab".into(),
        });
        a.mailboxes.insert("user/a".into(), mb);
        let mut b = a.clone();
        assert!(diff(&a, &b).is_empty());
        if let Some(m) = b.mailboxes.get_mut("user/a") {
            m.messages[0].flags.clear();
            m.uidnext = Some(4);
        }
        b.mailboxes.insert("user/b".into(), MailboxDump::default());
        let d = diff(&a, &b);
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d.iter().any(|l| l.contains("uid 1: flags")));
        assert!(d.iter().any(|l| l.contains("user/b: only in b")));
    }
}
