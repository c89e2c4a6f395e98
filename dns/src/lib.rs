//! broker-dns: the brokering DNS engine of the seed ("DNS Engine").
//!
//! It answers DNS queries over UDP and TCP for the domains bound in its tables: the
//! client's address (the EDNS Client Subnet when sent, else the packet's source) gives a
//! region by longest-prefix match, the query name gives the most specific bound customer,
//! the customer's coverage gives for that region a weighted list of lookups, and one drawn
//! lookup gives the answer (A/AAAA, CNAME, NS referral, relay or triangle). The tables
//! change only through transactions on the control port (spec §1), each compiled aside
//! into an immutable [`snapshot::Snapshot`] and swapped in whole. A transaction may be
//! fenced by a control leader's epoch (`EPOCH <n>!`): once one has committed, lower or
//! missing epochs are refused (see [`control`]). With `[dns] dnssec` (spec §10) the zones
//! its keys name are signed: every signature an answer can carry is made at commit
//! ([`snapshot::signed`], [`dnssec`]) and copied into answers to queries with DO.
//!
//! Depends on `broker-config` (the transaction codec and `Tables`) and `broker-policy`
//! (region table, weighted pick). Entry point: [`server::run`] with [`Listeners`] bound
//! beforehand and an [`Engine`]; the answer decision alone is [`answer::answer`]:
//!
//! ```
//! use std::sync::Arc;
//! use broker_dns::answer::{Send, Transport, answer};
//! use broker_dns::{Engine, Settings};
//!
//! let engine = Arc::new(Engine::new(Settings::default(), false));
//! let tx = b"ADD CVG c { DEFAULT, [1 = A:192.0.2.1;]; }!\nADD CST img.xyz.com { c; }!\nEND\n";
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! assert_eq!(rt.block_on(engine.commit(tx.to_vec())).unwrap().generation, 1);
//!
//! // `img.xyz.com A`, id 0x1234, from a client in no region (DEFAULT).
//! let query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03img\x03xyz\x03com\x00\x00\x01\x00\x01";
//! let mut out = Vec::new();
//! let client = "203.0.113.9".parse().unwrap();
//! let o = answer(&engine.snapshot(), query, client, 0, Transport::Udp, &mut out);
//! assert_eq!(o.send, Send::Reply);
//! assert_eq!(&out[..2], &[0x12, 0x34]);
//! assert_eq!(&out[out.len() - 4..], &[192, 0, 2, 1]);
//! ```
#![warn(missing_docs)]

pub mod answer;
pub mod control;
pub mod dnssec;
pub mod engine;
pub mod observe;
pub mod relay;
pub mod rrl;
pub mod server;
pub mod snapshot;
pub mod triangle;
pub mod wire;

mod limits;
mod metrics_http;
mod tcp;
mod udp;

pub use engine::{CommitError, Committed, Engine};
pub use server::{Listeners, Options, run};
pub use snapshot::Settings;
