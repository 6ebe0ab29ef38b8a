//! Feeds arbitrary bytes (in two chunks, split by the first byte) into the replica core, once
//! unauthenticated and once as the pre-authenticated admin, over one persistent store. The
//! core must never panic, must consume its input, and must only ever emit whole CRLF lines
//! (or a `* MESSAGE` header whose body the session streams).
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use auth::{Admins, StaticPasswords};
use libfuzzer_sys::fuzz_target;
use mailstore::{Store, StoreConfig};
use replication::server::{Action, ServerOptions, SyncCore};

struct Env {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    opts: Arc<ServerOptions>,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(StoreConfig::simple(dir.path())).expect("store"));
        let opts = Arc::new(ServerOptions {
            servername: "fuzz".into(),
            version: "3.6.1".into(),
            admins: Admins::parse("admin"),
            passwords: Arc::new(StaticPasswords::new().with("admin", b"pw")),
            allow_plaintext: true,
            sasl_mech_list: None,
            tls_available: false,
            offer_compress: true,
            offer_sieve_mailbox: true,
            allow_user_moves: false,
            failed_login_pause: Duration::ZERO,
        });
        Env {
            _dir: dir,
            store,
            opts,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let env = env();
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    for preauth in [false, true] {
        let mut core = SyncCore::csync(env.store.clone(), env.opts.clone(), "fuzz", preauth);
        let mut out = Vec::new();
        'feed: for chunk in [&data[..split], &data[split..]] {
            let mut input = chunk;
            while !input.is_empty() {
                let Ok(p) = core.feed(input, &mut out) else {
                    break 'feed;
                };
                assert!(p.consumed <= input.len());
                if p.consumed == 0 && !p.done {
                    panic!("no progress on {} bytes", input.len());
                }
                input = &input[p.consumed..];
                if p.stream.is_none() {
                    assert!(out.is_empty() || out.ends_with(b"\n"), "partial line");
                }
                if p.action == Some(Action::Close) {
                    break 'feed;
                }
            }
        }
        core.end();
    }
});
