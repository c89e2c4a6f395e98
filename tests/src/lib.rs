//! End-to-end tests of cdnbroker live in `tests/`; this library is empty.
