//! Harness for `sync_log_parity`: one "side" is either a real Cyrus 3.6.1 ([`CyrusInstance`]) or
//! our imapd + lmtpd + pop3d on a temporary configuration, with the same users, namespace and
//! `delete_mode`; [`Side::finish_step`] collects and normalises the sync log written since the
//! previous step. Also a minimal POP3 client.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap};
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use testkit::CyrusInstance;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

/// The users every side has (password `pw`), besides the admin.
pub(crate) const USERS: &[&str] = &["alice", "bob", "carol", "dave"];

/// One step's outcome on one side.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) name: String,
    /// Normalised, deduplicated records (plus `!error …` if the step's operations failed).
    pub(crate) records: BTreeSet<String>,
    /// The log lines as written, in order.
    pub(crate) raw: Vec<String>,
    /// Why the step's operations failed, if they did (the records then hold `!error`, so
    /// that both sides failing alike compares equal whatever the wording).
    pub(crate) error: Option<String>,
}

/// Our servers, killed on drop.
struct Ours {
    _dir: tempfile::TempDir,
    children: Vec<Child>,
}

impl Drop for Ours {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

enum Backend {
    Cyrus(Box<CyrusInstance>),
    Ours(Ours),
}

pub(crate) struct Side {
    pub(crate) label: &'static str,
    pub(crate) imap: SocketAddr,
    pub(crate) lmtp: SocketAddr,
    pub(crate) pop3: SocketAddr,
    pub(crate) admin: (String, String),
    log: PathBuf,
    /// Mailbox uniqueid → ordinal, in order of first appearance.
    uniqueids: HashMap<String, usize>,
    _backend: Backend,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Side {
    /// A standalone Cyrus 3.6.1 logging to the unnamed channel.
    pub(crate) fn cyrus(delete_mode: &str, extra: &[(&str, &str)]) -> Result<Side> {
        let mut b = CyrusInstance::builder()
            .sieve(false)
            .conf("sync_log", "1")
            .conf("delete_mode", delete_mode);
        for (k, v) in extra {
            b = b.conf(k, v);
        }
        for u in USERS {
            b = b.user(u, "pw");
        }
        let inst = b.start()?;
        let admin = (inst.admin().0.to_owned(), inst.admin().1.to_owned());
        let pop3 = SocketAddr::from(([127, 0, 0, 1], inst.pop3_port().context("no pop3")?));
        let side = Side {
            label: "cyrus",
            imap: inst.imap_addr(),
            lmtp: inst.lmtp_addr(),
            pop3,
            admin,
            log: inst.sync_log_path(),
            uniqueids: HashMap::new(),
            _backend: Backend::Cyrus(Box::new(inst)),
        };
        // Nothing before the first step counts.
        let _ = std::fs::remove_file(&side.log);
        Ok(side)
    }

    /// Our imapd, lmtpd (`-a`) and pop3d on one configuration like the Cyrus one.
    pub(crate) fn ours(delete_mode: &str, extra: &[(&str, &str)]) -> Result<Side> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        std::fs::create_dir_all(root.join("config"))?;
        std::fs::create_dir_all(root.join("spool"))?;
        let conf = root.join("imapd.conf");
        let extra: String = extra.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
        std::fs::write(
            &conf,
            format!(
                "configdirectory: {r}/config\ndefaultpartition: default\n\
                 partition-default: {r}/spool\nservername: test-server\nadmins: admin\n\
                 allowplaintext: yes\nsync_log: 1\naltnamespace: yes\nunixhierarchysep: yes\n\
                 virtdomains: off\nfailedloginpause: 0\ndelete_mode: {delete_mode}\n{extra}",
                r = root.display()
            ),
        )?;
        let conf_s = conf.to_str().context("utf-8 path")?;
        for (u, p) in std::iter::once(("admin", "adminpw")).chain(USERS.iter().map(|u| (*u, "pw")))
        {
            let mut c = Command::new(env!("CARGO_BIN_EXE_saslpasswd2"))
                .args(["-C", conf_s, "-p", "-c", u])
                .stdin(Stdio::piped())
                .spawn()?;
            c.stdin
                .take()
                .context("stdin")?
                .write_all(format!("{p}\n").as_bytes())?;
            if !c.wait()?.success() {
                bail!("saslpasswd2 {u} failed");
            }
        }
        let mut ours = Ours {
            _dir: dir,
            children: Vec::new(),
        };
        let mut addrs = Vec::new();
        for (bin, flags) in [
            (env!("CARGO_BIN_EXE_imapd"), &[][..]),
            (env!("CARGO_BIN_EXE_lmtpd"), &["-a"][..]),
            (env!("CARGO_BIN_EXE_pop3d"), &[][..]),
        ] {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let child = Command::new(bin)
                .args(["-C", conf_s, "--listen", &addr.to_string()])
                .args(flags)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .with_context(|| format!("spawn {bin}"))?;
            ours.children.push(child);
            addrs.push(addr);
        }
        for (i, addr) in addrs.iter().enumerate() {
            let t = Instant::now();
            while TcpStream::connect(addr).is_err() {
                if let Some(st) = ours.children[i].try_wait()? {
                    bail!("server on {addr} exited: {st}");
                }
                if t.elapsed() > Duration::from_secs(20) {
                    bail!("{addr} never came up");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let log = ours._dir.path().join("config/sync/log");
        let _ = std::fs::remove_file(&log);
        Ok(Side {
            label: "ours",
            imap: addrs[0],
            lmtp: addrs[1],
            pop3: addrs[2],
            admin: ("admin".into(), "adminpw".into()),
            log,
            uniqueids: HashMap::new(),
            _backend: Backend::Ours(ours),
        })
    }

    /// Waits until the log has been quiet for a while (Cyrus processes may write after the
    /// client saw the reply, e.g. when they close a mailbox at LOGOUT), then takes it away
    /// (rename, as sync_client does) and returns the step's normalised records.
    pub(crate) async fn finish_step(&mut self, name: &str, outcome: Result<()>) -> Step {
        let mut last = None;
        let mut stable_since = Instant::now();
        let start = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let len = std::fs::metadata(&self.log).map(|m| m.len()).ok();
            if len != last {
                last = len;
                stable_since = Instant::now();
            } else if stable_since.elapsed() >= Duration::from_millis(400)
                || start.elapsed() > Duration::from_secs(10)
            {
                break;
            }
        }
        let taken = self.log.with_file_name("log-parity");
        let text = match std::fs::rename(&self.log, &taken) {
            Ok(()) => {
                let t = std::fs::read_to_string(&taken).unwrap_or_default();
                let _ = std::fs::remove_file(&taken);
                t
            }
            Err(_) => String::new(),
        };
        let raw: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut records = BTreeSet::new();
        for l in &raw {
            records.insert(self.normalise(l));
        }
        let error = outcome.err().map(|e| format!("{e:#}"));
        if error.is_some() {
            records.insert("!error".to_owned());
        }
        Step {
            name: name.to_owned(),
            records,
            raw,
            error,
        }
    }

    fn normalise(&mut self, line: &str) -> String {
        let toks = tokens(line);
        let mut out = Vec::with_capacity(toks.len());
        for (i, t) in toks.iter().enumerate() {
            let kind = toks[0].to_ascii_uppercase();
            let t = if kind == "SEEN" && i == 2 {
                let n = self.uniqueids.len() + 1;
                let n = *self.uniqueids.entry(t.clone()).or_insert(n);
                format!("<uid{n}>")
            } else {
                deleted_suffix(t)
            };
            out.push(t);
        }
        out.join(" ")
    }
}

/// Splits a sync log line into its words, keeping quoted arguments (with their quotes) as
/// written so that quoting differences show.
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_q = false;
    let mut esc = false;
    for ch in line.chars() {
        if in_q {
            cur.push(ch);
            if esc {
                esc = false;
            } else if ch == '\\' {
                esc = true;
            } else if ch == '"' {
                in_q = false;
            }
        } else if ch == '"' {
            in_q = true;
            cur.push(ch);
        } else if ch == ' ' || ch == '\t' {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(ch);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `DELETED.user.x.Old.65A1B2C3` → `DELETED.user.x.Old.<hex>`.
fn deleted_suffix(t: &str) -> String {
    let (q, inner) = match t.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(i) => ("\"", i),
        None => ("", t),
    };
    if inner.starts_with("DELETED.")
        && let Some((head, tail)) = inner.rsplit_once('.')
        && !tail.is_empty()
        && tail.chars().all(|c| c.is_ascii_hexdigit())
    {
        return format!("{q}{head}.<hex>{q}");
    }
    t.to_owned()
}

/// A minimal POP3 client (USER/PASS).
pub(crate) struct Pop3 {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl Pop3 {
    pub(crate) async fn login(addr: SocketAddr, user: &str, pw: &str) -> Result<Pop3> {
        let s = tokio::net::TcpStream::connect(addr).await?;
        let (r, w) = s.into_split();
        let mut p = Pop3 {
            r: BufReader::new(r),
            w,
        };
        let g = p.line().await?;
        if !g.starts_with("+OK") {
            bail!("POP3 greeting {g}");
        }
        p.cmd(&format!("USER {user}")).await?;
        p.cmd(&format!("PASS {pw}")).await?;
        Ok(p)
    }

    async fn line(&mut self) -> Result<String> {
        let mut s = String::new();
        let n = tokio::time::timeout(Duration::from_secs(30), self.r.read_line(&mut s))
            .await
            .context("POP3 timeout")??;
        if n == 0 {
            bail!("POP3 connection closed");
        }
        Ok(s.trim_end().to_owned())
    }

    /// A single-line command; fails unless `+OK`.
    pub(crate) async fn cmd(&mut self, c: &str) -> Result<String> {
        self.w.write_all(format!("{c}\r\n").as_bytes()).await?;
        let l = self.line().await?;
        if !l.starts_with("+OK") {
            bail!("POP3 {c}: {l}");
        }
        Ok(l)
    }

    /// A multi-line command (RETR, LIST, …): the body lines.
    pub(crate) async fn cmd_multi(&mut self, c: &str) -> Result<Vec<String>> {
        self.cmd(c).await?;
        let mut v = Vec::new();
        loop {
            let l = self.line().await?;
            if l == "." {
                return Ok(v);
            }
            v.push(l);
        }
    }

    pub(crate) async fn quit(mut self) -> Result<()> {
        self.cmd("QUIT").await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_deleted_and_tokens() {
        assert_eq!(
            deleted_suffix("DELETED.user.alice.Old.65A1B2C3"),
            "DELETED.user.alice.Old.<hex>"
        );
        assert_eq!(deleted_suffix("user.alice.Old"), "user.alice.Old");
        assert_eq!(
            tokens("MAILBOX \"user.alice.My Stuff\""),
            vec!["MAILBOX", "\"user.alice.My Stuff\""]
        );
    }
}
