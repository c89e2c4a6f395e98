//! End-to-end tests of the brokering DNS engine with real clients: dig, hickory's
//! resolver, unbound in front of the engine and NSD as a partner's server, and the real
//! `cdnbroker dns` binary. Engines run in-process on port 0 unless a test says otherwise.
//! (Modules live in `dns_e2e/`; `#[path]` keeps cargo from taking them for test targets.)

#[path = "dns_e2e/abuse.rs"]
mod abuse;
#[path = "dns_e2e/binary.rs"]
mod binary;
#[path = "dns_e2e/control.rs"]
mod control;
#[path = "dns_e2e/dig.rs"]
mod dig;
#[path = "dns_e2e/dnssec.rs"]
mod dnssec;
#[path = "dns_e2e/epoch.rs"]
mod epoch;
#[path = "dns_e2e/errors.rs"]
mod errors;
#[path = "dns_e2e/forwarding.rs"]
mod forwarding;
#[path = "dns_e2e/resolvers.rs"]
mod resolvers;
#[path = "dns_e2e/support.rs"]
mod support;
#[path = "dns_e2e/weights.rs"]
mod weights;
