//! The caps of spec §11: connection counts, transaction size, RRL, tokens.

use super::Checker;
use crate::deploy::limits::{CONNECTIONS, DnsLimits, Rrl, TRANSACTION_MB};
use crate::deploy::raw::{RawDns, RawRrl, S};

impl Checker<'_> {
    /// `[dns] rrl`, `max_tcp`, `relay_in_flight`, `max_transaction_mb`, `token`.
    pub(super) fn dns_limits(&mut self, raw: &RawDns) -> Option<DnsLimits> {
        let rrl = raw.rrl.as_ref().map(|r| self.rrl(r.get_ref()));
        let max_tcp = self.cap(raw.max_tcp.as_ref());
        let relay_in_flight = self.cap(raw.relay_in_flight.as_ref());
        let max_transaction_mb = self.bounded(
            raw.max_transaction_mb.as_ref(),
            TRANSACTION_MB,
            "expected MiB from 1 to 65536",
        );
        let token = raw.token.as_ref().map(|t| self.token(t));
        Some(DnsLimits {
            rrl: rrl.map_or(Some(None), |v| v.map(Some))?,
            max_tcp: max_tcp?,
            relay_in_flight: relay_in_flight?,
            max_transaction_mb: max_transaction_mb?,
            token: token.map_or(Some(None), |v| v.map(Some))?,
        })
    }

    /// A connection or in-flight cap, 1 to a million; `Some(None)`: not set.
    pub(super) fn cap(&mut self, raw: Option<&S<u64>>) -> Option<Option<usize>> {
        self.bounded(raw, CONNECTIONS, "expected a count from 1 to 1000000")
    }

    fn rrl(&mut self, raw: &RawRrl) -> Option<Rrl> {
        let d = Rrl::default();
        let rate = self.bounded(
            raw.responses_per_s.as_ref(),
            1..=1_000_000,
            "expected responses per second from 1 to 1000000",
        );
        let slip = self.bounded(
            raw.slip.as_ref(),
            0..=100,
            "expected 0 (never) to 100: every slip-th dropped answer is sent with TC=1",
        );
        let v4 = self.bounded(raw.ipv4_prefix.as_ref(), 0..=32, "expected 0 to 32 bits");
        let v6 = self.bounded(raw.ipv6_prefix.as_ref(), 0..=128, "expected 0 to 128 bits");
        Some(Rrl {
            responses_per_s: rate?.unwrap_or(d.responses_per_s),
            slip: slip?.unwrap_or(d.slip),
            ipv4_prefix: v4?.unwrap_or(d.ipv4_prefix),
            ipv6_prefix: v6?.unwrap_or(d.ipv6_prefix),
        })
    }
}
