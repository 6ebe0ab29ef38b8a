//! `pop3d`: the POP3 server, as Cyrus 3.6's pop3d.
//!
//! Usage: `pop3d [-C imapd.conf] [--listen ADDR] [-s] [-D] [-U N] [-T N]` (`-s`: pop3s). Without `--listen` it
//! serves the socket inherited from `master`. Settings come from imapd.conf (see
//! `pop3d::PopConfig::from_conf`).

use std::sync::Arc;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    net::tune_allocator();
    let args = net::ServiceArgs::parse()?;
    net::init_tracing("pop3d", args.debug);
    for flag in &args.rest {
        // Cyrus flags without meaning here (-k kpop, -p SSF, -N).
        tracing::debug!("ignoring {flag}");
    }
    let (conf, store) = cyrus_bins::open_store(&args.config, "pop3d")?;
    let mut server =
        pop3d::Server::from_conf(&conf, Arc::new(store)).context("configuring pop3d")?;
    server.tls_on_connect = args.tls_on_connect;
    let server = Arc::new(server);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = net::Listener::from_args(&args).await?;
        tracing::info!("pop3d listening on {}", listener.local_addr());
        net::serve(listener, move |conn| {
            pop3d::serve_conn(server.clone(), conn)
        })
        .await?;
        anyhow::Ok(())
    })
}
