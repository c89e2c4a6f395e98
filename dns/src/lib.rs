//! broker-dns: the brokering DNS engine of the seed ("DNS Engine").
//!
//! It answers DNS queries over UDP and TCP for the domains bound in its tables: the
//! client's address (the EDNS Client Subnet when sent, else the packet's source) gives a
//! region by longest-prefix match, the query name gives the most specific bound customer,
//! the customer's coverage gives for that region a weighted list of lookups, and one drawn
//! lookup gives the answer (A/AAAA, CNAME, NS referral, relay or triangle). The tables
//! change only through transactions on the control port (spec §1), each compiled aside
//! into an immutable [`snapshot::Snapshot`] and swapped in whole.
//!
//! Depends on `broker-config` (the transaction codec and `Tables`) and `broker-policy`
//! (region table, weighted pick). Entry point: [`server::run`].
#![warn(missing_docs)]

pub mod answer;
pub mod control;
pub mod engine;
pub mod observe;
pub mod relay;
pub mod server;
pub mod snapshot;
pub mod triangle;
pub mod wire;

mod metrics_http;
mod tcp;
mod udp;

pub use engine::{CommitError, Committed, Engine};
pub use server::{Listeners, Options, run};
pub use snapshot::Settings;
