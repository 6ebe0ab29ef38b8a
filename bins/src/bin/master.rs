//! `master`: the Cyrus supervisor. Reads cyrus.conf (`-M`, default /etc/cyrus.conf), runs
//! START, serves SERVICES, keeps DAEMON running and launches EVENTS. See `master::cli` and
//! `docs/design/master.md`.

fn main() {
    std::process::exit(master::main_with_args(std::env::args_os().skip(1)));
}
