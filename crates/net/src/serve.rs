//! The accept loop: one tokio task per connection, stopped cleanly by SIGTERM, SIGINT or
//! SIGQUIT (what `master` sends), with a short grace period for sessions in flight.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::{Conn, Listener};

/// How long sessions may finish their current command after shutdown starts.
const GRACE: Duration = Duration::from_secs(5);

/// The environment variable by which `master` passes cyrus.conf's `maxchild`: the most
/// sessions served at once. Further connections wait in the listen backlog, as they wait
/// for a free child under Cyrus's master.
pub const MAXCHILD_ENV: &str = "CYRUS_MAXCHILD";

fn max_sessions() -> usize {
    std::env::var(MAXCHILD_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(usize::MAX)
}

/// Serve `listener` until SIGTERM, SIGINT or SIGQUIT.
pub async fn serve<H, F>(listener: Listener, handler: H) -> std::io::Result<()>
where
    H: Fn(Conn) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut quit = signal(SignalKind::quit())?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = quit.recv() => {}
        }
    };
    serve_limited(listener, handler, shutdown, max_sessions()).await;
    Ok(())
}

/// Serve `listener` until `shutdown` completes; then stop accepting, give open sessions
/// [`GRACE`] to end and abort the rest.
pub async fn serve_until<H, F, S>(listener: Listener, handler: H, shutdown: S)
where
    H: Fn(Conn) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
    S: Future<Output = ()>,
{
    serve_limited(listener, handler, shutdown, usize::MAX).await
}

/// [`serve_until`] with at most `max` sessions at once.
pub async fn serve_limited<H, F, S>(listener: Listener, handler: H, shutdown: S, max: usize)
where
    H: Fn(Conn) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
    S: Future<Output = ()>,
{
    let mut sessions = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept(), if sessions.len() < max => match accepted {
                Ok(conn) => {
                    tracing::debug!(peer = conn.peer_addr(), "accepted");
                    sessions.spawn(handler(conn));
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    drop(listener);
    let drain = async { while sessions.join_next().await.is_some() {} };
    if tokio::time::timeout(GRACE, drain).await.is_err() {
        tracing::info!(left = sessions.len(), "aborting sessions at shutdown");
        sessions.abort_all();
        while sessions.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn serves_tcp_and_unix_until_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        for addr in [
            "127.0.0.1:0".to_owned(),
            dir.path().join("sock").display().to_string(),
        ] {
            let listener = Listener::bind(&addr).await.unwrap();
            let target = listener.local_addr();
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(serve_until(
                listener,
                |mut c: Conn| async move {
                    let _ = c.write_all(b"* OK hi\r\n").await;
                    let _ = c.flush().await;
                },
                async {
                    let _ = rx.await;
                },
            ));
            let mut c = Conn::connect(&target).await.unwrap();
            let mut buf = Vec::new();
            c.read_to_end(&mut buf).await.unwrap();
            assert_eq!(buf, b"* OK hi\r\n");
            tx.send(()).unwrap();
            server.await.unwrap();
            assert!(
                Conn::connect(&target).await.is_err(),
                "{addr} still listening"
            );
        }
    }

    #[tokio::test]
    async fn maxchild_caps_concurrent_sessions() {
        let listener = Listener::bind("127.0.0.1:0").await.unwrap();
        let target = listener.local_addr();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_limited(
            listener,
            |mut c: Conn| async move {
                let _ = c.write_all(b"+\r\n").await;
                let _ = c.flush().await;
                let mut b = [0u8; 1];
                let _ = c.read(&mut b).await;
            },
            async {
                let _ = rx.await;
            },
            1,
        ));
        let mut first = Conn::connect(&target).await.unwrap();
        let mut b = [0u8; 3];
        first.read_exact(&mut b).await.unwrap();
        let mut second = Conn::connect(&target).await.unwrap();
        let waited =
            tokio::time::timeout(Duration::from_millis(300), second.read_exact(&mut b)).await;
        assert!(
            waited.is_err(),
            "second session served while the first is open"
        );
        drop(first);
        second.read_exact(&mut b).await.unwrap();
        tx.send(()).unwrap();
        drop(second);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn shutdown_aborts_stuck_sessions_after_grace() {
        tokio::time::pause();
        let listener = Listener::bind("127.0.0.1:0").await.unwrap();
        let target = listener.local_addr();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_until(
            listener,
            |_c: Conn| async move { std::future::pending::<()>().await },
            async {
                let _ = rx.await;
            },
        ));
        let _c = Conn::connect(&target).await.unwrap();
        tokio::task::yield_now().await;
        tx.send(()).unwrap();
        server.await.unwrap();
    }
}
