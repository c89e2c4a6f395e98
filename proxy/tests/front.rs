//! Front proxy (issue 4) over real sockets: a real origin (hyper on port 0), the proxy on
//! port 0 with a plan made from spec §2 files, real clients (hyper, raw TCP). Modules
//! live in `front/`; `#[path]` keeps cargo from taking them for test targets.

#[path = "front/conditional.rs"]
mod conditional;
#[path = "front/encodings.rs"]
mod encodings;
#[path = "front/faults.rs"]
mod faults;
#[path = "front/plan_front.rs"]
mod plan_front;
#[path = "front/plans.rs"]
mod plans;
#[path = "front/rewriting.rs"]
mod rewriting;
#[path = "front/support.rs"]
mod support;
#[path = "front/tls.rs"]
mod tls;
// The edge tests' PKI (a CA and leaves written as PEM files), shared read-only.
#[allow(dead_code)]
#[path = "edge/pki.rs"]
mod pki;
