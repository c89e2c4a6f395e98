//! Integration tests of the control component over real sockets: the management
//! interface over TCP, the HTTP API and the HTTPS alert receiver with curl. (Tests with
//! DNS engines and partner edges are in the workspace's `tests/tests/control_e2e.rs`.)

mod alerts;
mod api;
mod management;
mod support;
