//! Spec §11: the caps that keep every public port alive under abuse. Each key is optional;
//! `None` means the default below, so that a printed file says only what its author set.

use super::values::Token;

/// `[dns] max_tcp` when the file gives none: TCP clients served at once.
pub const DEFAULT_MAX_TCP: usize = 1024;
/// `[dns] relay_in_flight` when the file gives none: `R:`/`T:` queries awaiting partners.
pub const DEFAULT_RELAY_IN_FLIGHT: usize = 4096;
/// `[dns] max_transaction_mb` when the file gives none (spec §1).
pub const DEFAULT_MAX_TRANSACTION_MB: u64 = 1024;
/// `[proxy] max_connections` and `[edge] max_connections` when the file gives none.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// `[control] max_connections` when the file gives none (management, API and alerts
/// together).
pub const DEFAULT_CONTROL_CONNECTIONS: usize = 256;
/// The range of every connection cap (`max_tcp`, `relay_in_flight`, `max_connections`).
pub const CONNECTIONS: std::ops::RangeInclusive<u64> = 1..=1_000_000;
/// The range of `max_transaction_mb`: 1 MiB to 64 GiB.
pub const TRANSACTION_MB: std::ops::RangeInclusive<u64> = 1..=65_536;

/// `[dns] rrl = { ... }`: response rate limiting as NSD and BIND do it. Absent: off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rrl {
    /// Answers per second to one source prefix for one name and type (or error code).
    pub responses_per_s: u32,
    /// Every `slip`-th answer over the rate is sent empty with TC=1 (0: none).
    pub slip: u32,
    /// Source prefix length for IPv4 clients.
    pub ipv4_prefix: u8,
    /// Source prefix length for IPv6 clients.
    pub ipv6_prefix: u8,
}

impl Default for Rrl {
    fn default() -> Self {
        Self {
            responses_per_s: 100,
            slip: 2,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
        }
    }
}

/// The `[dns]` keys of spec §11.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsLimits {
    /// `rrl`: response rate limiting; `None`: off.
    pub rrl: Option<Rrl>,
    /// `max_tcp`: concurrent TCP clients.
    pub max_tcp: Option<usize>,
    /// `relay_in_flight`: relayed and triangle queries waiting on partners.
    pub relay_in_flight: Option<usize>,
    /// `max_transaction_mb`: the largest control transaction.
    pub max_transaction_mb: Option<u64>,
    /// `token`: the control port's credential (`AUTH <token>` first).
    pub token: Option<Token>,
}

impl DnsLimits {
    /// `max_tcp` or its default.
    pub fn max_tcp(&self) -> usize {
        self.max_tcp.unwrap_or(DEFAULT_MAX_TCP)
    }

    /// `relay_in_flight` or its default.
    pub fn relay_in_flight(&self) -> usize {
        self.relay_in_flight.unwrap_or(DEFAULT_RELAY_IN_FLIGHT)
    }

    /// `max_transaction_mb` or its default, in bytes.
    pub fn max_transaction_bytes(&self) -> usize {
        let mb = self
            .max_transaction_mb
            .unwrap_or(DEFAULT_MAX_TRANSACTION_MB);
        usize::try_from(mb << 20).unwrap_or(usize::MAX)
    }
}
