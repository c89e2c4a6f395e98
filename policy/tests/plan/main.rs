//! Integration tests of the policy model, the load-balancing algorithm, hysteresis and
//! the DNS tables made from a plan: one binary, a module per topic.

mod fixture;
mod hysteresis;
mod invariants;
mod scenarios;
mod tables;
