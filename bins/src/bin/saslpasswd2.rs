//! `saslpasswd2`: add, change, delete and list users in the cyrus-rs password file, with the
//! flags of Cyrus SASL's tool so administrators' habits and scripts keep working.
//!
//! Owns: command-line parsing, locating the password file, reading the password (tty without
//! echo, or one line from stdin) and exit codes (0 ok, 1 failure, 2 usage error).
//!
//! Must not: know the file format or hashing; that is `auth::passwd`.
//!
//! ```text
//! saslpasswd2 [-p] [-c] [-d] [-n] [-u realm] [-f passwdfile] [-C imapd.conf] [-a app] userid
//! saslpasswd2 -l [-f passwdfile] [-C imapd.conf]
//! ```
//!
//! * `-c` create the user or replace their password; without it only an existing user's
//!   password is changed.
//! * `-d` delete the user. `-u realm` stores/deletes `userid@realm` (Cyrus: realm =
//!   `servername`).
//! * `-p` read the password from stdin (one line, trailing newline stripped) without
//!   prompting. Without `-p`, a terminal is prompted twice with echo off; a non-terminal
//!   stdin is read as with `-p`.
//! * `-f file` names the password file. Otherwise it comes from the imapd.conf given with `-C`
//!   (default `/etc/imapd.conf`, like every Cyrus tool): `sasl_sasldb_path` if set, else
//!   `<configdirectory>/passwd`. Only those two options are read here, as `key: value`
//!   lines.
//! * `-l` lists users, one `userid[@realm]: userPassword` line each, like `sasldblistusers2`.
//! * `-n` (do not store a plaintext copy) and `-a app` are accepted for compatibility and
//!   change nothing: we never store plaintext and have one database.
//! * `-v` prints the version.

#![forbid(unsafe_code)]
// Tests unwrap fixed, known-good data.
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use auth::passwd::{PasswdFile, SetMode, passwd_path};

const DEFAULT_IMAPD_CONF: &str = "/etc/imapd.conf";
const USAGE: &str = "usage: saslpasswd2 [-v] [-p] [-c] [-d] [-n] [-u realm] [-f passwdfile] \
                     [-C imapd.conf] [-a appname] userid\n       saslpasswd2 -l [-f passwdfile] \
                     [-C imapd.conf]";

#[derive(Debug, Default)]
struct Args {
    pipe: bool,
    create: bool,
    delete: bool,
    list: bool,
    version: bool,
    realm: Option<String>,
    file: Option<PathBuf>,
    config: Option<PathBuf>,
    userid: Option<String>,
}

/// getopt-style parsing: clustered flags (`-pc`), option values attached (`-urealm`) or
/// separate (`-u realm`), `--` ends options; options stop at the first operand.
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args::default();
    while let Some(arg) = argv.next() {
        if arg == "--" {
            args.userid = argv.next();
            break;
        }
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            args.userid = Some(arg);
            break;
        };
        for (i, c) in flags.char_indices() {
            let mut value = || -> Result<String, String> {
                let rest = &flags[i + c.len_utf8()..];
                if !rest.is_empty() {
                    Ok(rest.to_owned())
                } else {
                    argv.next()
                        .ok_or_else(|| format!("option -{c} requires an argument"))
                }
            };
            match c {
                'p' => args.pipe = true,
                'c' => args.create = true,
                'd' => args.delete = true,
                'l' => args.list = true,
                'n' => {}
                'v' => args.version = true,
                'u' => {
                    args.realm = Some(value()?);
                    break;
                }
                'f' => {
                    args.file = Some(PathBuf::from(value()?));
                    break;
                }
                'C' => {
                    args.config = Some(PathBuf::from(value()?));
                    break;
                }
                'a' => {
                    value()?;
                    break;
                }
                'h' => return Err(String::new()),
                other => return Err(format!("unknown option -{other}")),
            }
        }
    }
    if argv.next().is_some() {
        return Err("only one userid may be given".into());
    }
    if args.version {
        return Ok(args);
    }
    if args.list {
        if args.userid.is_some() || args.create || args.delete {
            return Err("-l takes no userid and cannot be combined with -c or -d".into());
        }
    } else if args.userid.is_none() {
        return Err("userid required".into());
    }
    if args.create && args.delete {
        return Err("-c and -d are mutually exclusive".into());
    }
    Ok(args)
}

/// The two options we need from imapd.conf, read as `key: value` lines.
fn passwd_file_from_config(conf: &Path) -> Result<PathBuf> {
    let text = std::fs::read_to_string(conf).with_context(|| {
        format!(
            "cannot read {} (give -f passwdfile or -C imapd.conf)",
            conf.display()
        )
    })?;
    let mut configdirectory = None;
    let mut sasldb_path = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "configdirectory" if !value.is_empty() => configdirectory = Some(PathBuf::from(value)),
            "sasl_sasldb_path" if !value.is_empty() => sasldb_path = Some(PathBuf::from(value)),
            _ => {}
        }
    }
    if let Some(path) = sasldb_path {
        return Ok(path);
    }
    let Some(dir) = configdirectory else {
        bail!(
            "{}: no configdirectory option (give -f passwdfile)",
            conf.display()
        );
    };
    Ok(passwd_path(&dir, None))
}

/// One line from stdin without its line end.
fn read_line(input: &mut impl BufRead) -> Result<Vec<u8>> {
    let mut line = Vec::new();
    input
        .read_until(b'\n', &mut line)
        .context("cannot read password from stdin")?;
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

/// Turns terminal echo off until dropped.
struct NoEcho {
    saved: rustix::termios::Termios,
}

impl NoEcho {
    fn new() -> Result<Self> {
        use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).context("cannot read terminal settings")?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        tcsetattr(&stdin, OptionalActions::Flush, &quiet).context("cannot turn echo off")?;
        Ok(NoEcho { saved })
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        let stdin = std::io::stdin();
        let _ =
            rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &self.saved);
    }
}

fn prompt(text: &str) -> Result<Vec<u8>> {
    let mut err = std::io::stderr();
    write!(err, "{text}")?;
    err.flush()?;
    let line = {
        let _quiet = NoEcho::new()?;
        read_line(&mut std::io::stdin().lock())?
    };
    writeln!(err)?;
    Ok(line)
}

fn read_password(pipe: bool) -> Result<Vec<u8>> {
    if pipe || !rustix::termios::isatty(std::io::stdin()) {
        return read_line(&mut std::io::stdin().lock());
    }
    let first = prompt("Password: ")?;
    let again = prompt("Again (for verification): ")?;
    if first != again {
        bail!("passwords don't match");
    }
    Ok(first)
}

fn run(args: Args) -> Result<()> {
    if args.version {
        println!("saslpasswd2 (cyrus-rs) {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    let path = match (&args.file, &args.config) {
        (Some(f), _) => f.clone(),
        (None, Some(c)) => passwd_file_from_config(c)?,
        (None, None) => passwd_file_from_config(Path::new(DEFAULT_IMAPD_CONF))?,
    };
    let file = PasswdFile::new(&path);
    if args.list {
        let mut out = std::io::stdout().lock();
        for key in file.keys()? {
            writeln!(out, "{key}: userPassword")?;
        }
        return Ok(());
    }
    // parse_args guarantees a userid unless listing or printing the version.
    let Some(userid) = args.userid.as_deref() else {
        bail!("userid required")
    };
    let realm = args.realm.as_deref();
    // Validate before asking for a password, so a typo does not cost a prompt.
    auth::passwd::user_key(userid, realm)?;
    if args.delete {
        file.delete(userid, realm)?;
        return Ok(());
    }
    let password = read_password(args.pipe)?;
    let mode = if args.create {
        SetMode::CreateOrReplace
    } else {
        SetMode::ReplaceExisting
    };
    file.set_password(userid, realm, &password, mode)?;
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("saslpasswd2: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("saslpasswd2: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn cyrus_style_flags() {
        let a = parse(&[
            "-f",
            "/x/sasldb2",
            "-u",
            "cyrus-replica",
            "-p",
            "-c",
            "admin",
        ])
        .unwrap();
        assert!(a.pipe && a.create && !a.delete);
        assert_eq!(a.realm.as_deref(), Some("cyrus-replica"));
        assert_eq!(a.file.as_deref(), Some(Path::new("/x/sasldb2")));
        assert_eq!(a.userid.as_deref(), Some("admin"));
        let a = parse(&["-pcuR", "-f/tmp/p", "bob"]).unwrap();
        assert!(a.pipe && a.create);
        assert_eq!(a.realm.as_deref(), Some("R"));
        assert_eq!(a.file.as_deref(), Some(Path::new("/tmp/p")));
        let a = parse(&["-d", "-a", "cyrus", "-n", "--", "-odd"]).unwrap();
        assert!(a.delete);
        assert_eq!(a.userid.as_deref(), Some("-odd"));
        assert!(parse(&["-l"]).unwrap().list);
        assert!(parse(&["-v"]).unwrap().version);
    }

    #[test]
    fn usage_errors() {
        assert!(parse(&[]).is_err());
        assert!(parse(&["-c", "-d", "u"]).is_err());
        assert!(parse(&["-u"]).is_err());
        assert!(parse(&["-x", "u"]).is_err());
        assert!(parse(&["a", "b"]).is_err());
        assert!(parse(&["-l", "u"]).is_err());
        assert_eq!(parse(&["-h"]).unwrap_err(), "");
    }

    #[test]
    fn config_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("imapd.conf");
        std::fs::write(
            &conf,
            "# c\nconfigdirectory: /var/lib/cyrus\nadmins: admin\n",
        )
        .unwrap();
        assert_eq!(
            passwd_file_from_config(&conf).unwrap(),
            Path::new("/var/lib/cyrus/passwd")
        );
        std::fs::write(
            &conf,
            "configdirectory: /c\nsasl_sasldb_path: /etc/sasldb2\n",
        )
        .unwrap();
        assert_eq!(
            passwd_file_from_config(&conf).unwrap(),
            Path::new("/etc/sasldb2")
        );
        std::fs::write(&conf, "admins: x\n").unwrap();
        assert!(passwd_file_from_config(&conf).is_err());
        assert!(passwd_file_from_config(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn read_line_strips_line_end() {
        assert_eq!(read_line(&mut &b"pw\r\nrest"[..]).unwrap(), b"pw");
        assert_eq!(read_line(&mut &b"pw"[..]).unwrap(), b"pw");
        assert_eq!(read_line(&mut &b""[..]).unwrap(), b"");
    }
}
