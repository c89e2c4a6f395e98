//! origin-map integration tests: the seed's examples, the hostile-request table, and the
//! round-trip and guard properties.

mod fixture;
mod hostile;
mod roundtrip;
mod seed_examples;
