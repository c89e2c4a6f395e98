//! Response rate limiting as NSD and BIND do it (spec §11): answers to one source prefix
//! for one name and type (or, for errors, one response code) above `responses_per_s`
//! in a second are dropped, except every `slip`-th, which goes out empty with TC=1 so
//! that a real resolver behind a spoofed flood still gets through over TCP.
//!
//! One table per UDP thread, no locks: a fixed array of buckets indexed by a keyed hash
//! (a collision shares a bucket, as in NSD; the random key stops an attacker from
//! aiming collisions). SO_REUSEPORT spreads one source over the threads by its port, so
//! with N UDP sockets a source may get up to N times the rate.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::net::IpAddr;

use broker_config::deploy::Rrl as RrlConfig;

use crate::wire::Rcode;

/// Buckets per table: 64 Ki × 16 bytes = 1 MiB per UDP thread.
const BUCKETS: usize = 1 << 16;

/// What to do with one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the rate: send it.
    Send,
    /// Over the rate: send nothing.
    Drop,
    /// Over the rate, the `slip`-th: send it empty with TC=1.
    Slip,
}

#[derive(Clone, Copy, Default)]
struct Bucket {
    key: u64,
    second: u32,
    sent: u32,
}

/// One thread's rate limiter.
pub struct Limiter {
    config: RrlConfig,
    hasher: RandomState,
    buckets: Box<[Bucket]>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Limiter {
    /// An empty table.
    pub fn new(config: RrlConfig) -> Self {
        Self {
            config,
            hasher: RandomState::new(),
            buckets: vec![Bucket::default(); BUCKETS].into_boxed_slice(),
        }
    }

    /// Counts one answer to `client` at second `now` (any clock in whole seconds): the
    /// answer to `qname` (wire form) and `qtype` for NOERROR, the `rcode` otherwise.
    pub fn check(
        &mut self,
        now: u32,
        client: IpAddr,
        qname: &[u8],
        qtype: u16,
        rcode: Rcode,
    ) -> Verdict {
        let mut h = self.hasher.build_hasher();
        match client {
            IpAddr::V4(a) => {
                let bits = u32::from(a) & mask32(self.config.ipv4_prefix);
                h.write_u32(bits);
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a) & mask128(self.config.ipv6_prefix);
                h.write_u128(bits);
            }
        }
        if rcode == Rcode::NoError {
            // Names compare case-insensitively: one name, one bucket.
            for &b in qname {
                h.write_u8(b.to_ascii_lowercase());
            }
            h.write_u16(qtype);
        } else {
            h.write_u8(0xff);
            h.write_u16(rcode as u16);
        }
        let key = h.finish() | 1; // 0 marks an unused bucket
        let bucket = &mut self.buckets[(key as usize) & (BUCKETS - 1)];
        if bucket.key != key || bucket.second != now {
            *bucket = Bucket {
                key,
                second: now,
                sent: 0,
            };
        }
        bucket.sent = bucket.sent.saturating_add(1);
        if bucket.sent <= self.config.responses_per_s {
            return Verdict::Send;
        }
        let over = bucket.sent - self.config.responses_per_s;
        if self.config.slip > 0 && over.is_multiple_of(self.config.slip) {
            Verdict::Slip
        } else {
            Verdict::Drop
        }
    }
}

fn mask32(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0)
}

fn mask128(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: u32, slip: u32) -> Limiter {
        Limiter::new(RrlConfig {
            responses_per_s: rate,
            slip,
            ..RrlConfig::default()
        })
    }

    #[test]
    fn over_the_rate_answers_drop_and_every_slip_th_slips() {
        let mut l = limiter(3, 2);
        let c: IpAddr = "198.51.100.7".parse().unwrap();
        let v: Vec<_> = (0..7)
            .map(|_| l.check(10, c, b"\x01a\x00", 1, Rcode::NoError))
            .collect();
        use Verdict::*;
        assert_eq!(v, [Send, Send, Send, Drop, Slip, Drop, Slip]);
        // The next second starts afresh.
        assert_eq!(l.check(11, c, b"\x01a\x00", 1, Rcode::NoError), Send);
    }

    #[test]
    fn prefixes_names_and_types_are_counted_apart() {
        let mut l = limiter(1, 0);
        let a: IpAddr = "198.51.100.7".parse().unwrap();
        let same_24: IpAddr = "198.51.100.200".parse().unwrap();
        let other: IpAddr = "198.51.101.7".parse().unwrap();
        assert_eq!(
            l.check(1, a, b"\x01a\x00", 1, Rcode::NoError),
            Verdict::Send
        );
        assert_eq!(
            l.check(1, same_24, b"\x01A\x00", 1, Rcode::NoError),
            Verdict::Drop,
            "same /24, same name (any case), same type"
        );
        assert_eq!(
            l.check(1, other, b"\x01a\x00", 1, Rcode::NoError),
            Verdict::Send
        );
        assert_eq!(
            l.check(1, a, b"\x01a\x00", 28, Rcode::NoError),
            Verdict::Send
        );
        assert_eq!(
            l.check(1, a, b"\x01b\x00", 1, Rcode::NoError),
            Verdict::Send
        );
        // Errors are counted per code, whatever the name.
        assert_eq!(
            l.check(1, a, b"\x01x\x00", 1, Rcode::Refused),
            Verdict::Send
        );
        assert_eq!(
            l.check(1, a, b"\x01y\x00", 1, Rcode::Refused),
            Verdict::Drop
        );
    }

    #[test]
    fn masks() {
        assert_eq!(mask32(24), 0xffff_ff00);
        assert_eq!(mask32(0), 0);
        assert_eq!(mask32(32), u32::MAX);
        assert_eq!(mask128(56), u128::MAX << 72);
        assert_eq!(mask128(0), 0);
    }
}
