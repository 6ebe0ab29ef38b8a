//! A real Cyrus IMAP 3.6 instance in a temporary directory, for interop tests.
//!
//! Owns: writing `imapd.conf`/`cyrus.conf` from the facts in `spec/cyrus-peer.md`, creating SASL
//! users with `saslpasswd2`, starting `master -d` with a pid file, waiting for its ports, running
//! Cyrus tools with its `-C`, and stopping exactly the processes it started (SIGTERM to the pid
//! in its pid file, then SIGKILL to that pid's own process group only if it does not exit).
//!
//! Must not: touch any Cyrus state outside its temporary directory, or signal any process it did
//! not start.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use std::{fs, io};

use anyhow::{Context as _, Result, anyhow, bail};

use crate::syslog::{self, SyslogTap};

/// Where the Debian packages put the Cyrus programs.
pub const CYRUS_BIN: &str = "/usr/lib/cyrus/bin";

/// True when a real Cyrus is installed (`/usr/lib/cyrus/bin/master` exists).
pub fn cyrus_available() -> bool {
    Path::new(CYRUS_BIN).join("master").exists()
}

/// For tests: returns true (after printing a loud notice) when Cyrus is absent and the test
/// should return early.
pub fn skip_without_cyrus(test: &str) -> bool {
    if cyrus_available() {
        return false;
    }
    // scripts/test (and so CI) installs Cyrus and sets this: there a missing Cyrus is a failure.
    if std::env::var_os("CYRUS_RS_REQUIRE_CYRUS").is_some() {
        panic!("{test}: {CYRUS_BIN}/master is absent but CYRUS_RS_REQUIRE_CYRUS is set");
    }
    eprintln!("\n*** SKIPPED {test}: {CYRUS_BIN}/master is absent (run .ci/install-cyrus) ***\n");
    true
}

/// A sync target for a master: address plus credentials the replica accepts.
#[derive(Debug, Clone)]
pub struct SyncTarget {
    /// csync (or, with `sync_try_imap`, IMAP) address of the replica.
    pub addr: SocketAddr,
    /// `sync_authname`; must be an admin on the replica.
    pub authname: String,
    /// `sync_password`.
    pub password: String,
}

#[derive(Debug, Clone)]
enum Role {
    Standalone,
    Replica,
    Master {
        target: SyncTarget,
        channels: Vec<(String, SyncTarget)>,
        rolling: bool,
        try_imap: bool,
        repeat_interval: Option<u32>,
    },
}

/// Builder for [`CyrusInstance`]. Start from [`CyrusInstance::builder`].
#[derive(Debug, Clone)]
pub struct CyrusBuilder {
    servername: Option<String>,
    admin: (String, String),
    users: Vec<(String, String)>,
    role: Role,
    extra_conf: Vec<(String, String)>,
    syslog: bool,
    pop3: bool,
    sieve: bool,
    services: Vec<(String, String, Vec<String>)>,
}

impl CyrusBuilder {
    fn new() -> Self {
        CyrusBuilder {
            servername: None,
            admin: ("admin".into(), "adminpw".into()),
            users: Vec::new(),
            role: Role::Standalone,
            extra_conf: Vec::new(),
            syslog: true,
            pop3: true,
            sieve: true,
            services: Vec::new(),
        }
    }

    /// `servername` (also the SASL realm). Default `cyrus-master`, `cyrus-replica` or
    /// `cyrus-standalone` by role.
    pub fn servername(mut self, name: &str) -> Self {
        self.servername = Some(name.into());
        self
    }

    /// The admin user (listed in `admins`). Default `admin` / `adminpw`.
    pub fn admin(mut self, name: &str, password: &str) -> Self {
        self.admin = (name.into(), password.into());
        self
    }

    /// Adds a SASL user. Mailboxes are not created: use IMAP `CREATE user/<name>` as admin.
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.into(), password.into()));
        self
    }

    /// Replica role: `sync_log: 0` and a `syncserver` SERVICE (see [`CyrusInstance::sync_port`]).
    pub fn replica(mut self) -> Self {
        self.role = Role::Replica;
        self
    }

    /// Master role replicating to `target`: `sync_log: 1`, `sync_host`/`sync_port`,
    /// `sync_authname`/`sync_password`, `sync_try_imap: no`, a shutdown file.
    pub fn master(mut self, target: SyncTarget) -> Self {
        self.role = Role::Master {
            target,
            channels: Vec::new(),
            rolling: false,
            try_imap: false,
            repeat_interval: None,
        };
        self
    }

    /// Master only: adds a named channel (`sync_log_channels`, `<chan>_sync_host`, ...). With
    /// channels, Cyrus writes only `configdirectory/sync/<chan>/log` (see
    /// [`CyrusInstance::channel_log_path`]); run `sync_client -n <chan>` for them.
    pub fn channel(mut self, name: &str, target: SyncTarget) -> Self {
        if let Role::Master { channels, .. } = &mut self.role {
            channels.push((name.into(), target));
        }
        self
    }

    /// Master only: run `sync_client -r` as a DAEMON under master (one per channel, with
    /// `-n <channel>`, when channels are configured).
    pub fn rolling_client(mut self, on: bool) -> Self {
        if let Role::Master { rolling, .. } = &mut self.role {
            *rolling = on;
        }
        self
    }

    /// Master only: `sync_try_imap` (default here: no; Cyrus's default is yes).
    pub fn sync_try_imap(mut self, on: bool) -> Self {
        if let Role::Master { try_imap, .. } = &mut self.role {
            *try_imap = on;
        }
        self
    }

    /// Master only: `sync_repeat_interval` in seconds.
    pub fn sync_repeat_interval(mut self, secs: u32) -> Self {
        if let Role::Master {
            repeat_interval, ..
        } = &mut self.role
        {
            *repeat_interval = Some(secs);
        }
        self
    }

    /// Any other `imapd.conf` line (appended last, so it wins over defaults).
    pub fn conf(mut self, key: &str, value: &str) -> Self {
        self.extra_conf.push((key.into(), value.into()));
        self
    }

    /// Capture Cyrus's syslog lines (default on; best effort, see [`crate::syslog`]).
    pub fn syslog(mut self, on: bool) -> Self {
        self.syslog = on;
        self
    }

    /// Whether to run a ManageSieve service, `timsieved` (default on).
    pub fn sieve(mut self, on: bool) -> Self {
        self.sieve = on;
        self
    }

    /// An extra SERVICES entry `name` running Cyrus program `tool` with `-C <imapd.conf>` and
    /// `args` on its own free port (see [`CyrusInstance::service_addr`]); e.g.
    /// `.service("oracle", "sync_server", &[])` gives a master a csync port on its own data.
    pub fn service(mut self, name: &str, tool: &str, args: &[&str]) -> Self {
        self.services.push((
            name.into(),
            tool.into(),
            args.iter().map(|a| a.to_string()).collect(),
        ));
        self
    }

    /// Whether to run a pop3 service (default on).
    pub fn pop3(mut self, on: bool) -> Self {
        self.pop3 = on;
        self
    }

    /// Creates the directory, configuration and users, starts master and waits until every
    /// listening port accepts connections.
    pub fn start(self) -> Result<CyrusInstance> {
        if !cyrus_available() {
            bail!("{CYRUS_BIN}/master is absent: install Cyrus (.ci/install-cyrus)");
        }
        // Ports come from bind-to-0-and-release; a concurrent test can steal one in between,
        // so retry the whole start a few times on failure.
        let mut last = None;
        for _ in 0..3 {
            match self.clone().try_start() {
                Ok(i) => return Ok(i),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("start failed")))
    }

    fn try_start(self) -> Result<CyrusInstance> {
        let (cyrus_uid, mail_gid) = cyrus_ids()?;
        let tmp = tempfile::Builder::new()
            .prefix("cyrus-testkit-")
            .tempdir()?;
        let dir = tmp.path().to_path_buf();
        let servername = self.servername.clone().unwrap_or_else(|| {
            match self.role {
                Role::Standalone => "cyrus-standalone",
                Role::Replica => "cyrus-replica",
                Role::Master { .. } => "cyrus-master",
            }
            .into()
        });
        for sub in [
            "conf",
            "config/db",
            "config/socket",
            "config/log",
            "config/msg",
            "config/ptclient",
            "config/quota",
            "config/sieve",
            "config/user",
            "config/sync",
            "config/lock",
            "config/proc",
            "spool/default",
            "run/proc",
            "run/lock",
            "run/socket",
            "sieve",
            "log",
        ] {
            fs::create_dir_all(dir.join(sub))?;
        }
        let ports = Ports {
            imap: free_port()?,
            pop3: free_port()?,
            lmtp: free_port()?,
            sync: free_port()?,
            sieve: free_port()?,
        };
        let tag = syslog::next_tag();
        let conf_path = dir.join("conf/imapd.conf");
        let d = dir.display();
        let mut conf = String::new();
        for (k, v) in [
            ("configdirectory", format!("{d}/config")),
            ("defaultpartition", "default".into()),
            ("partition-default", format!("{d}/spool/default")),
            ("servername", servername.clone()),
            ("proc_path", format!("{d}/run/proc")),
            ("mboxname_lockpath", format!("{d}/run/lock")),
            ("lmtpsocket", format!("{d}/run/socket/lmtp")),
            ("idlesocket", format!("{d}/run/socket/idle")),
            ("notifysocket", format!("{d}/run/socket/notify")),
            ("sievedir", format!("{d}/sieve")),
            ("altnamespace", "yes".into()),
            ("unixhierarchysep", "yes".into()),
            ("virtdomains", "off".into()),
            ("admins", self.admin.0.clone()),
            ("allowplaintext", "yes".into()),
            ("sasl_pwcheck_method", "auxprop".into()),
            ("sasl_auxprop_plugin", "sasldb".into()),
            ("sasl_sasldb_path", format!("{d}/conf/sasldb2")),
            ("sasl_mech_list", "PLAIN LOGIN".into()),
            ("syslog_prefix", tag.clone()),
        ] {
            let _ = writeln!(conf, "{k}: {v}");
        }
        match &self.role {
            Role::Standalone => {}
            Role::Replica => conf.push_str("sync_log: 0\n"),
            Role::Master {
                target,
                channels,
                try_imap,
                repeat_interval,
                ..
            } => {
                conf.push_str("sync_log: 1\n");
                let _ = writeln!(conf, "sync_host: {}", target.addr.ip());
                let _ = writeln!(conf, "sync_port: {}", target.addr.port());
                let _ = writeln!(conf, "sync_authname: {}", target.authname);
                let _ = writeln!(conf, "sync_password: {}", target.password);
                let _ = writeln!(
                    conf,
                    "sync_try_imap: {}",
                    if *try_imap { "yes" } else { "no" }
                );
                let _ = writeln!(conf, "sync_shutdown_file: {d}/config/sync/shutdown");
                if let Some(i) = repeat_interval {
                    let _ = writeln!(conf, "sync_repeat_interval: {i}");
                }
                if !channels.is_empty() {
                    let names: Vec<&str> = channels.iter().map(|(n, _)| n.as_str()).collect();
                    let _ = writeln!(conf, "sync_log_channels: {}", names.join(" "));
                    for (n, t) in channels {
                        let _ = writeln!(conf, "{n}_sync_host: {}", t.addr.ip());
                        let _ = writeln!(conf, "{n}_sync_port: {}", t.addr.port());
                        let _ = writeln!(conf, "{n}_sync_authname: {}", t.authname);
                        let _ = writeln!(conf, "{n}_sync_password: {}", t.password);
                        let _ = writeln!(
                            conf,
                            "{n}_sync_try_imap: {}",
                            if *try_imap { "yes" } else { "no" }
                        );
                    }
                }
            }
        }
        for (k, v) in &self.extra_conf {
            let _ = writeln!(conf, "{k}: {v}");
        }
        fs::write(&conf_path, conf)?;

        let c = conf_path.display();
        let bin = CYRUS_BIN;
        let mut cc = String::new();
        let _ = writeln!(
            cc,
            "START {{\n  recover cmd=\"{bin}/ctl_cyrusdb -C {c} -r\"\n}}"
        );
        cc.push_str("SERVICES {\n");
        let _ = writeln!(
            cc,
            "  imap cmd=\"{bin}/imapd -C {c}\" listen=\"127.0.0.1:{}\" prefork=0 maxchild=100",
            ports.imap
        );
        if self.pop3 {
            let _ = writeln!(
                cc,
                "  pop3 cmd=\"{bin}/pop3d -C {c}\" listen=\"127.0.0.1:{}\" prefork=0 maxchild=50",
                ports.pop3
            );
        }
        let _ = writeln!(
            cc,
            "  lmtp cmd=\"{bin}/lmtpd -C {c} -a\" listen=\"127.0.0.1:{}\" prefork=0 maxchild=20",
            ports.lmtp
        );
        if self.sieve {
            let _ = writeln!(
                cc,
                "  sieve cmd=\"{bin}/timsieved -C {c}\" listen=\"127.0.0.1:{}\" prefork=0 maxchild=10",
                ports.sieve
            );
        }
        let mut extra_ports = Vec::new();
        for (name, tool, args) in &self.services {
            let port = free_port()?;
            let mut cmd = format!("{bin}/{tool} -C {c}");
            for a in args {
                cmd.push(' ');
                cmd.push_str(a);
            }
            let _ = writeln!(
                cc,
                "  {name} cmd=\"{cmd}\" listen=\"127.0.0.1:{port}\" prefork=0 maxchild=10"
            );
            extra_ports.push((name.clone(), port));
        }
        if matches!(self.role, Role::Replica) {
            let _ = writeln!(
                cc,
                "  syncserver cmd=\"{bin}/sync_server -C {c}\" listen=\"127.0.0.1:{}\" \
                 prefork=0 maxchild=10",
                ports.sync
            );
        }
        cc.push_str("}\n");
        if let Role::Master {
            rolling: true,
            channels,
            ..
        } = &self.role
        {
            cc.push_str("DAEMON {\n");
            // With channels, Cyrus logs only to the channels' logs (sync_log_channels), so
            // only they get a rolling client.
            if channels.is_empty() {
                let _ = writeln!(cc, "  syncclient cmd=\"{bin}/sync_client -C {c} -r\"");
            }
            for (n, _) in channels {
                let _ = writeln!(
                    cc,
                    "  syncclient{n} cmd=\"{bin}/sync_client -C {c} -r -n {n}\""
                );
            }
            cc.push_str("}\n");
        }
        let _ = writeln!(
            cc,
            "EVENTS {{\n  checkpoint cmd=\"{bin}/ctl_cyrusdb -C {c} -c\" period=30\n}}"
        );
        fs::write(dir.join("conf/cyrus.conf"), cc)?;

        chown_tree(&dir, cyrus_uid, mail_gid)?;
        // The temp dir is 0700 root by default; cyrus must traverse it.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o750))?;

        let syslog = if self.syslog { syslog::tap(&tag) } else { None };

        let mut inst = CyrusInstance {
            _tmp: Some(tmp),
            dir,
            servername,
            admin: self.admin.clone(),
            users: Vec::new(),
            ports,
            replica: matches!(self.role, Role::Replica),
            pop3: self.pop3,
            sieve: self.sieve,
            extra_ports,
            master_pid: None,
            cyrus_uid,
            mail_gid,
            syslog,
            tag,
        };
        let admin = self.admin.clone();
        inst.add_user(&admin.0, &admin.1)?;
        for (u, p) in &self.users {
            inst.add_user(u, p)?;
        }
        inst.start_master()?;
        Ok(inst)
    }
}

#[derive(Debug, Clone, Copy)]
struct Ports {
    imap: u16,
    pop3: u16,
    lmtp: u16,
    sync: u16,
    sieve: u16,
}

/// Output of a Cyrus tool run by [`CyrusInstance::run_tool`].
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// Exit code (`None` if killed by a signal).
    pub status: Option<i32>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl ToolOutput {
    /// True when the tool exited with status 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

static TOOL_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A tool started by [`CyrusInstance::spawn_tool`]; stopped on drop.
#[derive(Debug)]
pub struct ToolProcess {
    child: Option<std::process::Child>,
    log: PathBuf,
}

impl ToolProcess {
    /// Its pid (also its process group id).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(std::process::Child::id)
    }

    /// Combined stdout and stderr so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// Exit status if it has exited (`Some(None)` = killed by a signal).
    pub fn try_wait(&mut self) -> Result<Option<Option<i32>>> {
        match self.child.as_mut() {
            Some(c) => Ok(c.try_wait()?.map(|s| s.code())),
            None => Ok(None),
        }
    }

    /// Stops it (SIGTERM to its group, up to 10 s, then SIGKILL) and returns its output.
    pub fn stop(&mut self) -> ToolOutput {
        let mut status = None;
        if let Some(mut c) = self.child.take() {
            let pid = i32::try_from(c.id())
                .ok()
                .and_then(rustix::process::Pid::from_raw);
            if let Some(p) = pid {
                let _ = rustix::process::kill_process_group(p, rustix::process::Signal::Term);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(st)) = c.try_wait() {
                    status = st.code();
                    break;
                }
                if Instant::now() > deadline {
                    if let Some(p) = pid {
                        let _ =
                            rustix::process::kill_process_group(p, rustix::process::Signal::Kill);
                    }
                    status = c.wait().ok().and_then(|s| s.code());
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        ToolOutput {
            status,
            stdout: self.output(),
            stderr: String::new(),
        }
    }
}

impl Drop for ToolProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running Cyrus master with its services; stopped on drop.
#[derive(Debug)]
pub struct CyrusInstance {
    _tmp: Option<tempfile::TempDir>,
    dir: PathBuf,
    servername: String,
    admin: (String, String),
    users: Vec<(String, String)>,
    ports: Ports,
    replica: bool,
    pop3: bool,
    sieve: bool,
    extra_ports: Vec<(String, u16)>,
    master_pid: Option<i32>,
    cyrus_uid: u32,
    mail_gid: u32,
    syslog: Option<SyslogTap>,
    tag: String,
}

impl CyrusInstance {
    /// A new builder (standalone role until `replica()` or `master(..)`).
    pub fn builder() -> CyrusBuilder {
        CyrusBuilder::new()
    }

    /// The instance directory (`conf/`, `config/`, `spool/`, `run/`, `sieve/`, `log/`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// `configdirectory`.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.join("config")
    }
    /// `partition-default`.
    pub fn spool_dir(&self) -> PathBuf {
        self.dir.join("spool/default")
    }
    /// `sievedir`.
    pub fn sieve_dir(&self) -> PathBuf {
        self.dir.join("sieve")
    }
    /// Path of `imapd.conf` (pass as `-C`).
    pub fn imapd_conf(&self) -> PathBuf {
        self.dir.join("conf/imapd.conf")
    }
    /// Path of `cyrus.conf`.
    pub fn cyrus_conf(&self) -> PathBuf {
        self.dir.join("conf/cyrus.conf")
    }
    /// The default sync log (`configdirectory/sync/log`).
    pub fn sync_log_path(&self) -> PathBuf {
        self.dir.join("config/sync/log")
    }
    /// A channel's sync log (`configdirectory/sync/<channel>/log`).
    pub fn channel_log_path(&self, channel: &str) -> PathBuf {
        self.dir.join("config/sync").join(channel).join("log")
    }
    /// `sync_shutdown_file` (master role).
    pub fn sync_shutdown_file(&self) -> PathBuf {
        self.dir.join("config/sync/shutdown")
    }
    /// `servername` (and SASL realm).
    pub fn servername(&self) -> &str {
        &self.servername
    }
    /// Admin name and password.
    pub fn admin(&self) -> (&str, &str) {
        (&self.admin.0, &self.admin.1)
    }
    /// Non-admin users with their passwords.
    pub fn users(&self) -> &[(String, String)] {
        &self.users
    }
    /// IMAP port on 127.0.0.1.
    pub fn imap_port(&self) -> u16 {
        self.ports.imap
    }
    /// IMAP address.
    pub fn imap_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports.imap))
    }
    /// LMTP port (pre-authorised with `lmtpd -a`).
    pub fn lmtp_port(&self) -> u16 {
        self.ports.lmtp
    }
    /// LMTP address.
    pub fn lmtp_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.ports.lmtp))
    }
    /// POP3 port, if enabled.
    pub fn pop3_port(&self) -> Option<u16> {
        self.pop3.then_some(self.ports.pop3)
    }
    /// Address of an extra service added with [`CyrusBuilder::service`].
    pub fn service_addr(&self, name: &str) -> Option<SocketAddr> {
        self.extra_ports
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| SocketAddr::from(([127, 0, 0, 1], *p)))
    }
    /// ManageSieve (`timsieved`) address, if enabled.
    pub fn sieve_addr(&self) -> Option<SocketAddr> {
        self.sieve
            .then(|| SocketAddr::from(([127, 0, 0, 1], self.ports.sieve)))
    }
    /// csync port of the `syncserver` service (replica role only).
    pub fn sync_port(&self) -> Option<u16> {
        self.replica.then_some(self.ports.sync)
    }
    /// csync address (replica role only).
    pub fn sync_addr(&self) -> Option<SocketAddr> {
        self.sync_port()
            .map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
    }
    /// A [`SyncTarget`] pointing at this replica's csync port with its admin credentials.
    pub fn as_sync_target(&self) -> Result<SyncTarget> {
        let addr = self.sync_addr().ok_or_else(|| anyhow!("not a replica"))?;
        Ok(SyncTarget {
            addr,
            authname: self.admin.0.clone(),
            password: self.admin.1.clone(),
        })
    }
    /// A [`SyncTarget`] pointing at this instance's IMAP port (replication over IMAP).
    pub fn as_imap_sync_target(&self) -> SyncTarget {
        SyncTarget {
            addr: self.imap_addr(),
            authname: self.admin.0.clone(),
            password: self.admin.1.clone(),
        }
    }
    /// Master's pid (from its pid file) while running.
    pub fn master_pid(&self) -> Option<i32> {
        self.master_pid
    }
    /// The `syslog_prefix` tag that marks this instance's syslog lines.
    pub fn syslog_tag(&self) -> &str {
        &self.tag
    }

    /// Syslog lines captured so far (empty when no catcher could be installed).
    pub fn syslog_lines(&self) -> Vec<String> {
        self.syslog
            .as_ref()
            .map(SyslogTap::lines)
            .unwrap_or_default()
    }

    /// `master.out` plus captured syslog lines: what to print when a test fails.
    pub fn diagnostics(&self) -> String {
        let mut s = String::new();
        let out = fs::read_to_string(self.dir.join("log/master.out")).unwrap_or_default();
        let _ = writeln!(s, "--- {} master.out ---\n{out}", self.servername);
        let _ = writeln!(s, "--- {} syslog ---", self.servername);
        if self.syslog.is_none() {
            s.push_str("(no syslog catcher)\n");
        }
        for l in self.syslog_lines() {
            let _ = writeln!(s, "{l}");
        }
        s
    }

    /// Adds (or changes the password of) a SASL user with `saslpasswd2`, realm = servername.
    pub fn add_user(&mut self, name: &str, password: &str) -> Result<()> {
        use std::io::Write as _;
        let db = self.dir.join("conf/sasldb2");
        let mut child = Command::new("/usr/sbin/saslpasswd2")
            .arg("-f")
            .arg(&db)
            .args(["-u", &self.servername, "-p", "-c", name])
            .uid(self.cyrus_uid)
            .gid(self.mail_gid)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("spawn /usr/sbin/saslpasswd2")?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(password.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "saslpasswd2 {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if name != self.admin.0 {
            self.users.retain(|(u, _)| u != name);
            self.users.push((name.into(), password.into()));
        }
        Ok(())
    }

    /// Runs `/usr/lib/cyrus/bin/<tool> -C <imapd.conf> <args>` as the cyrus user and captures
    /// its output. A non-zero exit is not an error here: look at [`ToolOutput::status`].
    pub fn run_tool(&self, tool: &str, args: &[&str]) -> Result<ToolOutput> {
        self.run_tool_timeout(tool, args, Duration::from_secs(120))
    }

    /// [`Self::run_tool`] (whose timeout is 120 s) with a timeout after which the tool is killed (and an error returned).
    pub fn run_tool_timeout(
        &self,
        tool: &str,
        args: &[&str],
        timeout: Duration,
    ) -> Result<ToolOutput> {
        if tool.contains('/') {
            bail!("tool name must be a bare Cyrus program name: {tool}");
        }
        let mut child = Command::new(Path::new(CYRUS_BIN).join(tool))
            .arg("-C")
            .arg(self.imapd_conf())
            .args(args)
            .uid(self.cyrus_uid)
            .gid(self.mail_gid)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .with_context(|| format!("spawn {tool}"))?;
        // Drain the pipes on threads so a chatty tool cannot block on a full pipe.
        let mut so = child.stdout.take();
        let mut se = child.stderr.take();
        let t_out = std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(s) = so.as_mut() {
                let _ = io::Read::read_to_end(s, &mut v);
            }
            v
        });
        let t_err = std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(s) = se.as_mut() {
                let _ = io::Read::read_to_end(s, &mut v);
            }
            v
        });
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(st) = child.try_wait()? {
                break st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("{tool} {args:?} timed out after {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
        let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
        Ok(ToolOutput {
            status: status.code(),
            stdout,
            stderr,
        })
    }

    /// Starts a long-running tool (e.g. `sync_client -R`, which stays in the foreground) as the
    /// cyrus user in its own process group, with stdout and stderr going to a file under
    /// `log/`. It is stopped (SIGTERM to its group, then SIGKILL) when the handle drops.
    pub fn spawn_tool(&self, tool: &str, args: &[&str]) -> Result<ToolProcess> {
        if tool.contains('/') {
            bail!("tool name must be a bare Cyrus program name: {tool}");
        }
        let n = TOOL_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = self.dir.join("log").join(format!("{tool}-{n}.out"));
        let out = fs::File::create(&log)?;
        let err = out.try_clone()?;
        let child = Command::new(Path::new(CYRUS_BIN).join(tool))
            .arg("-C")
            .arg(self.imapd_conf())
            .args(args)
            .uid(self.cyrus_uid)
            .gid(self.mail_gid)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .with_context(|| format!("spawn {tool}"))?;
        Ok(ToolProcess {
            child: Some(child),
            log,
        })
    }

    /// Runs a tool and fails (with its output and the instance diagnostics) unless it exits 0.
    pub fn run_tool_ok(&self, tool: &str, args: &[&str]) -> Result<ToolOutput> {
        let out = self.run_tool(tool, args)?;
        if !out.success() {
            bail!(
                "{tool} {args:?} exited {:?}\nstdout: {}\nstderr: {}\n{}",
                out.status,
                out.stdout,
                out.stderr,
                self.diagnostics()
            );
        }
        Ok(out)
    }

    fn start_master(&mut self) -> Result<()> {
        let pidfile = self.dir.join("run/master.pid");
        let _ = fs::remove_file(&pidfile);
        let status = Command::new(Path::new(CYRUS_BIN).join("master"))
            .arg("-C")
            .arg(self.imapd_conf())
            .arg("-M")
            .arg(self.cyrus_conf())
            .arg("-p")
            .arg(&pidfile)
            .arg("-d")
            .arg("-L")
            .arg(self.dir.join("log/master.out"))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("spawn master")?;
        if !status.success() {
            bail!("master -d exited {status}\n{}", self.diagnostics());
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let pid = loop {
            if let Some(pid) = fs::read_to_string(&pidfile)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok())
                .filter(|p| *p > 0)
            {
                break pid;
            }
            if Instant::now() > deadline {
                bail!("master wrote no pid file\n{}", self.diagnostics());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.master_pid = Some(pid);
        let mut ports = vec![self.ports.imap, self.ports.lmtp];
        if self.pop3 {
            ports.push(self.ports.pop3);
        }
        if self.replica {
            ports.push(self.ports.sync);
        }
        if self.sieve {
            ports.push(self.ports.sieve);
        }
        ports.extend(self.extra_ports.iter().map(|(_, p)| *p));
        // Ready when every port is a LISTEN socket held by master itself. Checking ownership
        // (rather than connecting) catches a port another process grabbed between our probe
        // and master's bind, and starts no service child.
        let started = Instant::now();
        for port in ports {
            loop {
                if !pid_alive(pid) {
                    self.master_pid = None;
                    bail!("master exited during start-up\n{}", self.diagnostics());
                }
                let listeners = listen_inodes(port);
                let mine = pid_socket_inodes(pid);
                if listeners.iter().any(|i| mine.contains(i)) {
                    break;
                }
                let stolen = !listeners.is_empty() && started.elapsed() > Duration::from_secs(2);
                if stolen || Instant::now() > deadline {
                    self.stop();
                    bail!(
                        "port {port} {}\n{}",
                        if stolen {
                            "is held by another process"
                        } else {
                            "never listened"
                        },
                        self.diagnostics()
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    /// Stops master: SIGTERM to its pid, wait up to 10 s, then SIGKILL to its process group
    /// (only if master leads its own group, which `-d` arranges). Idempotent.
    pub fn stop(&mut self) {
        let Some(pid) = self.master_pid.take() else {
            return;
        };
        let Some(p) = rustix::process::Pid::from_raw(pid) else {
            return;
        };
        let pgid = rustix::process::getpgid(Some(p)).ok();
        let _ = rustix::process::kill_process(p, rustix::process::Signal::Term);
        // Cyrus 3.6.1's master sometimes never finishes a SIGTERM shutdown: its children exit,
        // but while a listener stays readable pselect() keeps returning before SIGCHLD is
        // delivered, so it spins at 100% CPU and never reaps them. Once every other member of
        // its group has been dead for a while there is nothing left to wait for.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut idle_since: Option<Instant> = None;
        while pid_alive(pid) && Instant::now() < deadline {
            if pgid.is_some_and(|g| g.as_raw_nonzero().get() == pid)
                && !group_has_live_children(pid)
            {
                let since = *idle_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_millis(500) {
                    break;
                }
            } else {
                idle_since = None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Only a group master itself leads; never a group we merely share.
        if let Some(g) = pgid.filter(|g| g.as_raw_nonzero().get() == pid) {
            if pid_alive(pid) {
                let _ = rustix::process::kill_process_group(g, rustix::process::Signal::Kill);
            } else {
                // Children master left behind in its group (it normally reaps them).
                let _ = rustix::process::kill_process_group(g, rustix::process::Signal::Term);
            }
        }
    }

    /// Stops master, then starts it again on the same ports and directory.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.start_master()
    }
}

impl Drop for CyrusInstance {
    fn drop(&mut self) {
        self.stop();
    }
}

fn pid_alive(pid: i32) -> bool {
    // A zombie counts as gone; master -d is not our child, so init reaps it.
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// True if a process other than `leader` in process group `leader` is alive (not a zombie).
fn group_has_live_children(leader: i32) -> bool {
    let Ok(rd) = fs::read_dir("/proc") else {
        return true;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if pid == leader {
            continue;
        }
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after "(comm) ": state ppid pgrp ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(leader) && f.first() != Some(&"Z") {
            return true;
        }
    }
    false
}

/// A port that is free now, below the ephemeral range (32768+) so outgoing connections do not
/// take it before master binds it.
fn free_port() -> Result<u16> {
    use rand::Rng as _;
    let mut rng = rand::thread_rng();
    for _ in 0..200 {
        let p = rng.gen_range(20_000..32_000);
        if TcpListener::bind(("127.0.0.1", p)).is_ok() && listen_inodes(p).is_empty() {
            return Ok(p);
        }
    }
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Inodes of IPv4 sockets listening on `port` (from /proc/net/tcp).
fn listen_inodes(port: u16) -> Vec<u64> {
    let Ok(t) = fs::read_to_string("/proc/net/tcp") else {
        return Vec::new();
    };
    t.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let local = f.get(1)?;
            let p = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
            (p == port && *f.get(3)? == "0A").then(|| f.get(9)?.parse().ok())?
        })
        .collect()
}

/// Socket inodes among `pid`'s open descriptors.
fn pid_socket_inodes(pid: i32) -> std::collections::HashSet<u64> {
    let mut out = std::collections::HashSet::new();
    if let Ok(rd) = fs::read_dir(format!("/proc/{pid}/fd")) {
        for e in rd.flatten() {
            if let Ok(t) = fs::read_link(e.path())
                && let Some(i) = t
                    .to_str()
                    .and_then(|s| s.strip_prefix("socket:["))
                    .and_then(|s| s.strip_suffix(']'))
                    .and_then(|s| s.parse().ok())
            {
                out.insert(i);
            }
        }
    }
    out
}

fn cyrus_ids() -> Result<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd")?;
    let uid = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&"cyrus"))
        .and_then(|f| f.get(2)?.parse().ok())
        .ok_or_else(|| anyhow!("no cyrus user in /etc/passwd"))?;
    let group = fs::read_to_string("/etc/group")?;
    let gid = group
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&"mail"))
        .and_then(|f| f.get(2)?.parse().ok())
        .ok_or_else(|| anyhow!("no mail group in /etc/group"))?;
    Ok((uid, gid))
}

fn chown_tree(p: &Path, uid: u32, gid: u32) -> Result<()> {
    std::os::unix::fs::chown(p, Some(uid), Some(gid))?;
    if p.is_dir() {
        for e in fs::read_dir(p)? {
            chown_tree(&e?.path(), uid, gid)?;
        }
    }
    Ok(())
}
