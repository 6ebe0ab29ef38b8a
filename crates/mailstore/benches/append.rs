//! Append throughput with full durability (body fsync + directory fsync + sync log fsync +
//! SQLite WAL commit with synchronous=FULL), at 4 KiB and 100 KiB per message.
//! Run: `cargo bench -p mailstore --bench append`. Messages/s = 1 / time per iteration.

use std::path::Path;

use divan::{Bencher, black_box};
use mailstore::sync_log::{Channel, SyncLogConfig};
use mailstore::types::MboxName;
use mailstore::{AppendOptions, Store, StoreConfig};

fn main() {
    divan::main();
}

fn store(dir: &Path) -> Store {
    let mut cfg = StoreConfig::simple(dir);
    cfg.sync_log = SyncLogConfig {
        enabled: true,
        config_dir: cfg.config_dir.clone(),
        channels: vec![Channel::Default],
    };
    Store::open(cfg).expect("open store")
}

fn body(size: usize, i: u64) -> Vec<u8> {
    let mut b = format!("Subject: bench {i}\r\n\r\n").into_bytes();
    b.resize(size, b'x');
    b
}

#[divan::bench(args = [4 * 1024, 100 * 1024], sample_count = 20, sample_size = 10)]
fn append_fsync(bencher: Bencher<'_, '_>, size: usize) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = store(tmp.path());
    let inbox = MboxName::new("user.bench").expect("name");
    s.create_mailbox(&inbox, Default::default())
        .expect("create");
    let mut i = 0u64;
    bencher
        .counter(divan::counter::BytesCount::new(size))
        .bench_local(|| {
            i += 1;
            let staged = s.stage_bytes("default", &body(size, i)).expect("stage");
            black_box(
                s.append(&inbox, &staged, &AppendOptions::default())
                    .expect("append"),
            );
        });
}

/// Ten 4 KiB messages per call through `append_batch`: one sync-log write and one commit for
/// all ten (bodies are still fsynced one by one). Time per iteration covers ten messages.
#[divan::bench(sample_count = 20, sample_size = 5)]
fn append_batch_of_10_fsync(bencher: Bencher<'_, '_>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = store(tmp.path());
    let inbox = MboxName::new("user.bench").expect("name");
    s.create_mailbox(&inbox, Default::default())
        .expect("create");
    let mut i = 0u64;
    bencher
        .counter(divan::counter::ItemsCount::new(10usize))
        .bench_local(|| {
            let staged: Vec<_> = (0..10)
                .map(|_| {
                    i += 1;
                    s.stage_bytes("default", &body(4096, i)).expect("stage")
                })
                .collect();
            let items: Vec<_> = staged
                .iter()
                .map(|b| (b, AppendOptions::default()))
                .collect();
            black_box(s.append_batch(&inbox, &items).expect("append"));
        });
}
