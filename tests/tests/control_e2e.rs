//! End-to-end tests of the control component with real peers: in-process DNS engines
//! queried over UDP, partner edges serving status reports over HTTPS and POSTing alerts,
//! all on port 0 of 127.0.0.1. (Modules live in `control_e2e/`; `#[path]` keeps cargo
//! from taking them for test targets.)

#[path = "control_e2e/abuse.rs"]
mod abuse;
#[path = "control_e2e/alert_to_dns.rs"]
mod alert_to_dns;
#[path = "control_e2e/engines.rs"]
mod engines;
#[path = "control_e2e/load_agent.rs"]
mod load_agent;
#[path = "control_e2e/support.rs"]
mod support;
