//! `imapd`: the IMAP server, as Cyrus 3.6's imapd.
//!
//! Usage: `imapd [-C imapd.conf] [--listen ADDR] [-D] [-s] [-U N] [-T N]`. Without `--listen`
//! it serves the socket inherited from `master`. Settings come from imapd.conf (see
//! `imapd::Server::from_conf`).

use std::sync::Arc;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    net::tune_allocator();
    let args = net::ServiceArgs::parse()?;
    net::init_tracing("imapd", args.debug);
    for flag in &args.rest {
        if flag.starts_with('-') {
            // Cyrus flags without meaning here (-N no TLS session cache, -p SSF, -a …).
            tracing::debug!("ignoring {flag}");
        }
    }
    let (conf, store) = cyrus_bins::open_store(&args.config, "imapd")?;
    let server = imapd::Server::from_conf(&conf, store)
        .map_err(anyhow::Error::msg)
        .context("configuring imapd")?;
    let mut server = server;
    server.tls_on_connect = args.tls_on_connect;
    if server.tls_on_connect && server.tls.is_none() {
        anyhow::bail!("imapd -s needs tls_server_cert and tls_server_key");
    }
    let server = Arc::new(server);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = net::Listener::from_args(&args).await?;
        tracing::info!("imapd listening on {}", listener.local_addr());
        net::serve(listener, move |conn| {
            imapd::serve_conn(conn, server.clone())
        })
        .await?;
        anyhow::Ok(())
    })
}
