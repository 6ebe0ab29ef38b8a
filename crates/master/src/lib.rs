//! `master`, the Cyrus 3.6 supervisor (spec `replication-behaviour.md` §8): reads cyrus.conf,
//! runs START commands to completion, binds every SERVICES `listen=` socket itself and starts
//! one long-running process per socket with the socket inherited (`CYRUS_LISTEN_FD`), keeps
//! DAEMON processes running, launches EVENTS on `period=`/`at=`, restarts what dies with
//! back-off, reloads on SIGHUP and stops every child on SIGTERM/SIGINT/SIGQUIT.
//!
//! Owns: process supervision. Must not: speak any mail protocol, open the mailstore, or fork
//! a multi-threaded process (children are exec'd at once; see `spawn`).
//!
//! Design, and where we differ from Cyrus's master: `docs/design/master.md`.
//! Library use (tests): [`Master::new`] with a [`ManualClock`], [`Master::run`] on a thread,
//! [`Control::reload`] / [`Control::shutdown`] in place of signals.

#![allow(unsafe_code)]

mod cli;
mod clock;
mod control;
mod resolve;
mod socket;
mod spawn;
mod supervisor;

pub use cli::{DEFAULT_BACKLOG, DEFAULT_CYRUS_CONF, DEFAULT_PIDFILE, MasterArgs, main_with_args};
pub use clock::{Clock, ManualClock, SystemClock, local_time_on, next_at};
pub use control::{Control, install_signal_handlers};
pub use resolve::{CYRUS_TOOL_DIRS, ProgramPath};
pub use socket::{BoundSocket, bind_service};
pub use spawn::{ChildKind, MAXCHILD_ENV};
pub use supervisor::{Master, MasterError, MasterOptions};
