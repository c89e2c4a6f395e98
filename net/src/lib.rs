//! broker-net: what every listening port of cdnbroker shares (spec §11), so that no port
//! has a second, weaker copy.
//!
//! - [`ConnectionCap`]: at most N connections; at the cap a new client is not made to
//!   wait: the connection that has gone longest without progress is closed instead
//!   ([`Slot`]).
//! - [`Deadlines`]: a stream whose reads and writes fail once they make no progress for
//!   a set time, and which marks its slot's progress on every write.
//! - [`serve`]: the accept loop: admits each connection into the cap, backs off when
//!   `accept` fails (descriptors exhausted) instead of spinning, stops on shutdown.
//!
//! Used by `dns`, `proxy` and `control`; depends on tokio only (and prometheus-client
//! for its counters). Nothing here knows a protocol.
//!
//! ```
//! # async fn f() -> std::io::Result<()> {
//! use broker_net::{ConnectionCap, Deadlines, serve};
//! use std::time::Duration;
//! use tokio::io::AsyncWriteExt;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let cap = ConnectionCap::new(256);
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! let tracker = tokio_util::task::TaskTracker::new();
//! serve(listener, cap, shutdown, tracker, |stream, _peer, slot| async move {
//!     let limit = Some(Duration::from_secs(5));
//!     let mut s = Deadlines::new(stream, limit, limit).track(&slot);
//!     let _ = s.write_all(b"hello\n").await;
//! }).await;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod accept;
mod cap;
mod deadline;

pub use accept::{Backoff, serve};
pub use cap::{ConnectionCap, Progress, Slot};
pub use deadline::Deadlines;
