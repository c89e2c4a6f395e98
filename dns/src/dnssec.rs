//! DNSSEC signing primitives (spec §10): RRSIG over an RRset in canonical form (RFC 4034
//! §3.1.8.1, §6), NSEC type bitmaps, the signature validity window, and the keys of a
//! `[dns] dnssec` folder grouped by zone.
//!
//! Nothing here runs per query: a commit signs every RRset an answer can hold (see
//! [`crate::snapshot::signed`]) and queries copy the signatures. Signatures are memoized
//! by the exact bytes they sign ([`SigCache`]), so a commit that changes one coverage
//! re-signs only what changed while the window holds.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use broker_config::Tables;
use broker_config::dnssec_key::{self, KeyPair, wire_name};

use crate::wire::CLASS_IN;

/// Types that appear in NSEC bitmaps besides the answer types.
pub mod rtype {
    /// DNAME (RFC 6672): how a suffix CNAME below a signed apex is proven.
    pub const DNAME: u16 = 39;
    /// Delegation signer.
    pub const DS: u16 = 43;
    /// Signature.
    pub const RRSIG: u16 = 46;
    /// Next secure.
    pub const NSEC: u16 = 47;
    /// A zone's public keys.
    pub const DNSKEY: u16 = 48;
    /// RFC 9824: the name does not exist (compact denial).
    pub const NXNAME: u16 = 128;
}

/// When signatures are valid: `[inception, expiration]`, seconds since the epoch
/// (RFC 4034 serial arithmetic wraps past 2106; `u32` as on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Not valid before (an hour back, for resolvers whose clocks lag).
    pub inception: u32,
    /// Not valid after.
    pub expiration: u32,
}

/// Clock skew allowed for before a signature's inception.
const SKEW_S: u64 = 3600;

impl Window {
    /// A window of `days` starting about now (`now`: seconds since the epoch).
    pub fn starting(now: u64, days: u32) -> Self {
        let inception = now.saturating_sub(SKEW_S);
        Self {
            inception: inception as u32,
            expiration: (inception + SKEW_S + u64::from(days) * 86_400) as u32,
        }
    }

    /// True when half of the window's validity has passed at `now`: time to sign anew,
    /// so that resolvers never hold an answer whose signature ran out.
    pub fn needs_renewal(&self, now: u64) -> bool {
        let start = u64::from(self.inception);
        let end = u64::from(self.expiration);
        now >= start + end.saturating_sub(start) / 2
    }
}

/// The key pairs of a folder, by zone (lower-case wire form).
#[derive(Clone, Debug, Default)]
pub struct ZoneKeys {
    by_zone: HashMap<Box<[u8]>, Vec<Arc<KeyPair>>>,
}

/// Why the keys cannot sign the tables.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The folder or a key in it is unreadable or wrong (`FILE:LINE:COL: message`, `; `
    /// between several).
    #[error("{0}")]
    Files(String),
    /// A key names a zone that the tables do not bind.
    #[error("key {tag} signs {zone}, which no ADD CST binds")]
    Unbound {
        /// The zone.
        zone: String,
        /// Its key tag.
        tag: u16,
    },
}

impl ZoneKeys {
    /// Reads every pair of `dir`.
    pub fn read(dir: &Path) -> Result<Self, KeyError> {
        let pairs = dnssec_key::read_folder(dir).map_err(|errors| {
            KeyError::Files(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let mut by_zone: HashMap<Box<[u8]>, Vec<Arc<KeyPair>>> = HashMap::new();
        for pair in pairs {
            by_zone
                .entry(wire_name(&pair.public.zone).into())
                .or_default()
                .push(Arc::new(pair));
        }
        Ok(Self { by_zone })
    }

    /// The keys of a zone (lower-case wire form); empty when it has none.
    pub fn of(&self, zone_wire: &[u8]) -> &[Arc<KeyPair>] {
        self.by_zone.get(zone_wire).map_or(&[], Vec::as_slice)
    }

    /// True when no key was found.
    pub fn is_empty(&self) -> bool {
        self.by_zone.is_empty()
    }

    /// Every key must sign a zone that `tables` bind (spec §10); tables that bind nothing
    /// yet (an engine just started, a `RESET!`) are not held against the keys.
    pub fn check_bound(&self, tables: &Tables) -> Result<(), KeyError> {
        if tables.customers().is_empty() {
            return Ok(());
        }
        let mut zones: Vec<&Arc<KeyPair>> = self.by_zone.values().flatten().collect();
        zones.sort_by(|a, b| a.public.zone.cmp(&b.public.zone));
        for pair in zones {
            if !tables.customers().contains_key(&pair.public.zone) {
                return Err(KeyError::Unbound {
                    zone: pair.public.zone.to_string(),
                    tag: pair.public.key_tag(),
                });
            }
        }
        Ok(())
    }
}

/// Signatures by the bytes they sign: what an earlier commit signed in the same window is
/// not signed again.
pub type SigCache = HashMap<Box<[u8]>, Arc<[u8]>>;

/// Number of labels of a wire-form name (the root not counted).
pub fn label_count(wire: &[u8]) -> u8 {
    let mut n = 0;
    let mut at = 0;
    while let Some(&len) = wire.get(at) {
        if len == 0 {
            break;
        }
        n += 1;
        at += 1 + usize::from(len);
    }
    n
}

/// Signs an RRset and returns the RRSIG rdata. `owner` is the lower-case wire name the
/// signature is computed over (`*.<zone>` for a wildcard), `labels` its label count
/// without a leading `*`; the rdatas are in canonical form (lower-case names).
#[allow(clippy::too_many_arguments, reason = "the fields of RFC 4034 §3.1")]
pub fn rrsig(
    key: &KeyPair,
    zone_wire: &[u8],
    owner: &[u8],
    labels: u8,
    rtype: u16,
    ttl: u32,
    rdatas: &[&[u8]],
    window: Window,
    cache: &mut SigCache,
    previous: &SigCache,
) -> Box<[u8]> {
    let mut rdata = Vec::with_capacity(18 + zone_wire.len() + 64);
    rdata.extend_from_slice(&rtype.to_be_bytes());
    rdata.push(key.public.algorithm.number());
    rdata.push(labels);
    rdata.extend_from_slice(&ttl.to_be_bytes());
    rdata.extend_from_slice(&window.expiration.to_be_bytes());
    rdata.extend_from_slice(&window.inception.to_be_bytes());
    rdata.extend_from_slice(&key.public.key_tag().to_be_bytes());
    rdata.extend_from_slice(zone_wire);
    let mut data = rdata.clone();
    // RFC 4034 §6.3: RRs sorted by rdata, duplicates removed.
    let mut sorted: Vec<&[u8]> = rdatas.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for rd in sorted {
        data.extend_from_slice(owner);
        data.extend_from_slice(&rtype.to_be_bytes());
        data.extend_from_slice(&CLASS_IN.to_be_bytes());
        data.extend_from_slice(&ttl.to_be_bytes());
        data.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        data.extend_from_slice(rd);
    }
    let data: Box<[u8]> = data.into();
    let sig = match cache.get(&data).or_else(|| previous.get(&data)) {
        Some(sig) => Arc::clone(sig),
        None => Arc::from(key.sign(&data)),
    };
    rdata.extend_from_slice(&sig);
    cache.insert(data, sig);
    rdata.into()
}

/// An NSEC type bitmap (RFC 4034 §4.1.2) of `types`.
pub fn type_bitmap(types: &[u16]) -> Vec<u8> {
    let mut types = types.to_vec();
    types.sort_unstable();
    types.dedup();
    let mut out = Vec::new();
    let mut i = 0;
    while i < types.len() {
        let window = (types[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut len = 0;
        while i < types.len() && (types[i] >> 8) as u8 == window {
            let low = (types[i] & 0xFF) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            len = low / 8 + 1;
            i += 1;
        }
        out.push(window);
        out.push(len as u8);
        out.extend_from_slice(&bits[..len]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmaps_match_rfc_4034_example() {
        // RFC 4034 §4.3: A MX RRSIG NSEC TYPE1234.
        let mut want = vec![0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b];
        want.extend_from_slice(&[0; 26]);
        want.push(0x20);
        assert_eq!(type_bitmap(&[1, 15, 46, 47, 1234]), want);
        // RRSIG NSEC NXNAME (RFC 9824): one window of 17 bytes.
        let mut want = vec![0, 17, 0, 0, 0, 0, 0, 3];
        want.extend_from_slice(&[0; 10]);
        want.push(0x80);
        assert_eq!(type_bitmap(&[rtype::NXNAME, 46, 47]), want);
    }

    #[test]
    fn windows_renew_at_half_life() {
        let w = Window::starting(1_000_000, 2);
        assert_eq!(w.inception, 1_000_000 - 3600);
        assert_eq!(w.expiration, 1_000_000 + 2 * 86_400);
        assert!(!w.needs_renewal(1_000_000 + 86_400 - 3600));
        assert!(w.needs_renewal(1_000_000 + 86_400));
    }

    #[test]
    fn labels_are_counted_without_the_root() {
        assert_eq!(label_count(b"\x03img\x03xyz\x03com\x00"), 3);
        assert_eq!(label_count(b"\x00"), 0);
    }
}
