//! `lmtpd`: local delivery over LMTP, as Cyrus 3.6's lmtpd.
//!
//! Usage: `lmtpd [-C imapd.conf] [--listen ADDR] [-a] [-D] [-U N] [-T N]`. `-a` pre-authorises
//! TCP connections (UNIX-socket connections always are). Without `--listen` it serves the
//! socket inherited from `master`. `ADDR` is `host:port` or a UNIX socket path (for example
//! the `lmtpsocket` of imapd.conf).

use std::sync::Arc;

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    net::tune_allocator();
    let args = net::ServiceArgs::parse()?;
    net::init_tracing("lmtpd", args.debug);
    let mut preauth = false;
    for flag in &args.rest {
        match flag.as_str() {
            "-a" => preauth = true,
            // Cyrus flags without meaning here (-N no TLS cache, -q ignore quota is not one).
            f => tracing::debug!("ignoring {f}"),
        }
    }
    let (conf, store) = cyrus_bins::open_store(&args.config, "lmtpd")?;
    let server =
        lmtpd::Server::from_conf(&conf, Arc::new(store), preauth).context("configuring lmtpd")?;
    let server = Arc::new(server);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = net::Listener::from_args(&args).await?;
        tracing::info!("lmtpd listening on {}", listener.local_addr());
        net::serve(listener, move |conn| {
            lmtpd::serve_conn(server.clone(), conn)
        })
        .await?;
        anyhow::Ok(())
    })
}
