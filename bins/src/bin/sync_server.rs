//! `sync_server`: the replica end of Cyrus replication (csync), as Cyrus 3.6's sync_server.
//!
//! Usage: `sync_server [-C imapd.conf] [--listen ADDR] [-D] [-p N] [-f] [-U N] [-T N]`.
//! Without `--listen` it serves the socket inherited from `master`. It reads the replica's
//! imapd.conf (partitions, `admins`, `servername`, `allowplaintext`, `sasl_mech_list`,
//! `tls_server_cert`/`tls_server_key`, `sync_timeout`, `failedloginpause`, `allowusermoves`)
//! and logs every session to stderr.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use config::Opt;
use replication::server::session::{SessionConfig, options_from_conf, serve_listener};

fn main() -> anyhow::Result<()> {
    net::tune_allocator();
    let args = net::ServiceArgs::parse()?;
    net::init_tracing("sync_server", args.debug);
    for flag in &args.rest {
        match flag.as_str() {
            // Cyrus: -p (minimum SSF for plaintext), -f (force; non-functional in 3.6.1).
            "-f" | "-p" => tracing::debug!("ignoring {flag}"),
            f if f.starts_with('-') => anyhow::bail!("sync_server: unknown option {f}"),
            _ => {}
        }
    }
    let (conf, store) = cyrus_bins::open_store(&args.config, "sync_server")?;
    let tls = net::TlsAcceptor::from_conf(&conf).context("loading the TLS certificate")?;
    let opts = options_from_conf(&conf, tls.is_some());
    let idle = conf.duration(Opt::SyncTimeout).max(Duration::from_secs(3));
    let cfg = SessionConfig {
        store: Arc::new(store),
        opts: Arc::new(opts),
        tls,
        idle_timeout: idle,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = net::Listener::from_args(&args).await?;
        serve_listener(listener, cfg).await?;
        anyhow::Ok(())
    })
}
