//! Binding the listening sockets of SERVICES entries (spec §8.3).
//!
//! Owns: turning a `listen=`/`proto=` pair into bound, listening, close-on-exec sockets, one
//! per address (a bare port with `proto=tcp` gives an IPv4 and a v6-only IPv6 socket). Must
//! not: spawn processes or decide what a failure means for the service (the supervisor does).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use config::{Listen, ServiceEntry, resolve_port};
use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType, sockopt};

/// One bound listening socket.
#[derive(Debug)]
pub struct BoundSocket {
    /// The socket (close-on-exec; the spawner clears that flag in the child only).
    pub fd: OwnedFd,
    /// `ipv4`, `ipv6` or `unix`, as Cyrus names the families in its log lines.
    pub family: &'static str,
    /// What it is bound to (`127.0.0.1:2005`, `[::1]:143`, a socket path).
    pub addr: String,
}

/// Binds every socket `entry` asks for. Returns the sockets that could be bound and one
/// message per problem, worded as master logs it; no socket means the service is disabled.
pub fn bind_service(
    entry: &ServiceEntry,
    services_file: &Path,
    backlog: i32,
) -> (Vec<BoundSocket>, Vec<String>) {
    let name = &entry.name;
    let mut errors = Vec::new();
    let listen = match entry.listen_addr() {
        Ok(l) => l,
        Err(e) => return (Vec::new(), vec![format!("{e}, disabling {name}")]),
    };
    let datagram = entry.is_datagram();
    let (v4, v6) = match entry.proto.as_str() {
        "tcp" | "udp" => (true, true),
        "tcp4" | "udp4" => (true, false),
        "tcp6" | "udp6" => (false, true),
        other => {
            return (
                Vec::new(),
                vec![format!("invalid proto '{other}', disabling {name}")],
            );
        }
    };
    let addrs: Vec<SocketAddr> = match &listen {
        Listen::Unix(path) => {
            let mut out = Vec::new();
            match bind_unix(path, datagram, backlog) {
                Ok(fd) => out.push(BoundSocket {
                    fd,
                    family: "unix",
                    addr: path.display().to_string(),
                }),
                Err(e) => errors.push(format!("unable to bind to {name}/unix socket: {e}")),
            }
            return (out, errors);
        }
        Listen::Inet { host, port } => {
            let Some(port) = port else {
                return (
                    Vec::new(),
                    vec![format!(
                        "invalid listen '{}', disabling {name}",
                        entry.listen
                    )],
                );
            };
            let port = match resolve_port(port, &entry.proto, services_file) {
                Ok(p) => p,
                Err(e) => return (Vec::new(), vec![format!("{e}, disabling {name}")]),
            };
            match host {
                None => {
                    let mut a = Vec::new();
                    if v4 {
                        a.push(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)));
                    }
                    if v6 {
                        a.push(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)));
                    }
                    a
                }
                Some(h) => match (h.as_str(), port).to_socket_addrs() {
                    Ok(it) => {
                        let mut a: Vec<SocketAddr> = Vec::new();
                        for sa in it {
                            if ((sa.is_ipv4() && v4) || (sa.is_ipv6() && v6)) && !a.contains(&sa) {
                                a.push(sa);
                            }
                        }
                        a
                    }
                    Err(e) => {
                        return (Vec::new(), vec![format!("{h}: {e}, disabling {name}")]);
                    }
                },
            }
        }
    };
    if addrs.is_empty() {
        errors.push(format!(
            "no address of {} matches proto {}, disabling {name}",
            entry.listen, entry.proto
        ));
    }
    let mut out = Vec::new();
    for sa in addrs {
        let family = if sa.is_ipv4() { "ipv4" } else { "ipv6" };
        match bind_inet(sa, datagram, backlog) {
            Ok(fd) => out.push(BoundSocket {
                fd,
                family,
                addr: sa.to_string(),
            }),
            Err(e) => errors.push(format!("unable to bind to {name}/{family} socket: {e}")),
        }
    }
    (out, errors)
}

fn socket_type(datagram: bool) -> SocketType {
    if datagram {
        SocketType::DGRAM
    } else {
        SocketType::STREAM
    }
}

fn bind_inet(sa: SocketAddr, datagram: bool, backlog: i32) -> std::io::Result<OwnedFd> {
    let family = if sa.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let fd = rustix::net::socket_with(family, socket_type(datagram), SocketFlags::CLOEXEC, None)?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    if sa.is_ipv6() {
        sockopt::set_ipv6_v6only(&fd, true)?;
    }
    rustix::net::bind(&fd, &sa)?;
    if !datagram {
        rustix::net::listen(&fd, backlog)?;
    }
    Ok(fd)
}

fn bind_unix(path: &PathBuf, datagram: bool, backlog: i32) -> std::io::Result<OwnedFd> {
    let addr = SocketAddrUnix::new(path.as_path())?;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        socket_type(datagram),
        SocketFlags::CLOEXEC,
        None,
    )?;
    rustix::net::bind_unix(&fd, &addr)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777))?;
    if !datagram {
        rustix::net::listen(&fd, backlog)?;
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Write;

    use super::*;

    fn entry(listen: &str, proto: &str) -> ServiceEntry {
        ServiceEntry {
            name: "syncserver".into(),
            cmd: vec!["sync_server".into()],
            listen: listen.into(),
            proto: proto.into(),
            prefork: 0,
            maxchild: -1,
            maxfds: 0,
            maxforkrate: 0,
            babysit: false,
            line: 1,
        }
    }

    #[test]
    fn binds_forms_and_reports_missing_service_name() {
        let dir = tempfile::tempdir().unwrap();
        let services = dir.path().join("services");
        let mut f = std::fs::File::create(&services).unwrap();
        writeln!(f, "imap 143/tcp").unwrap();
        let (s, e) = bind_service(&entry("127.0.0.1:0", "tcp"), &services, 32);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].family, "ipv4");
        let (s, e) = bind_service(&entry("[::1]:0", "tcp6"), &services, 32);
        if e.is_empty() {
            assert_eq!(s[0].family, "ipv6");
        }
        let (s, e) = bind_service(&entry("[::1]:0", "tcp4"), &services, 32);
        assert!(
            s.is_empty() && e[0].contains("disabling syncserver"),
            "{e:?}"
        );
        let sock = dir.path().join("lmtp.sock");
        std::fs::write(&sock, "stale").unwrap();
        let (s, e) = bind_service(&entry(sock.to_str().unwrap(), "tcp"), &services, 32);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(s[0].family, "unix");
        let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o777);
        let (s, e) = bind_service(&entry("csync", "tcp"), &services, 32);
        assert!(s.is_empty());
        assert!(e[0].contains("add `csync 2005/tcp` to"), "{e:?}");
        assert!(e[0].ends_with("disabling syncserver"), "{e:?}");
        let (s, e) = bind_service(&entry("127.0.0.1:0", "sctp"), &services, 32);
        assert!(s.is_empty() && e[0].contains("invalid proto"), "{e:?}");
    }
}
