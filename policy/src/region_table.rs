//! Region table: longest-prefix match of a client address to a region, IPv4 and IPv6.
//!
//! One prefix trie per address family (prefix-trie's multi-bit tree). IPv4-mapped IPv6
//! addresses (`::ffff:a.b.c.d`) and prefixes at or under `::ffff:0:0/96` are stored and
//! looked up as IPv4, so a dual-stack socket's peer finds the same region as a plain IPv4
//! one. A lookup returns the region and the length of the matched prefix: the DNS engine
//! echoes that length as the EDNS Client Subnet scope.

use std::net::IpAddr;

use ipnet::IpNet;
use prefix_trie::PrefixMap;

/// The result of a longest-prefix match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionMatch<R> {
    /// The region of the longest matching prefix.
    pub region: R,
    /// That prefix's length in bits, in the family the address was looked up in (an
    /// IPv4-mapped address matches IPv4 prefixes, so this is then at most 32).
    pub prefix_len: u8,
}

/// Maps prefixes to regions; `R` is the caller's region id (a small `Copy` index).
#[derive(Clone)]
pub struct RegionTable<R> {
    v4: PrefixMap<(u32, u8), R>,
    v6: PrefixMap<(u128, u8), R>,
}

impl<R> Default for RegionTable<R> {
    fn default() -> Self {
        Self {
            v4: PrefixMap::new(),
            v6: PrefixMap::new(),
        }
    }
}

impl<R: std::fmt::Debug> std::fmt::Debug for RegionTable<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegionTable")
            .field("v4_prefixes", &self.v4.len())
            .field("v6_prefixes", &self.v6.len())
            .finish()
    }
}

impl<R: Copy> RegionTable<R> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `net` for `region`, replacing and returning the region it had. Host bits are
    /// ignored.
    pub fn insert(&mut self, net: IpNet, region: R) -> Option<R> {
        match canonical_net(net) {
            Canonical::V4(bits, len) => self.v4.insert((mask4(bits, len), len), region),
            Canonical::V6(bits, len) => self.v6.insert((mask6(bits, len), len), region),
        }
    }

    /// The region of the longest prefix holding `addr`, or `None` (the caller's `DEFAULT`).
    pub fn lookup(&self, addr: IpAddr) -> Option<RegionMatch<R>> {
        let hit = match canonical_addr(addr) {
            Canonical::V4(bits, _) => self.v4.get_lpm(&(bits, 32)).map(|((_, l), r)| (l, r)),
            Canonical::V6(bits, _) => self.v6.get_lpm(&(bits, 128)).map(|((_, l), r)| (l, r)),
        };
        hit.map(|(prefix_len, &region)| RegionMatch { region, prefix_len })
    }

    /// Number of prefixes held (both families).
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// True when no prefix is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the two tries' nodes and values (for memory reports).
    pub fn mem_size(&self) -> usize {
        self.v4.mem_size() + self.v6.mem_size()
    }
}

enum Canonical {
    V4(u32, u8),
    V6(u128, u8),
}

const MAPPED_PREFIX: u128 = 0xffff_u128 << 32;

fn canonical_addr(addr: IpAddr) -> Canonical {
    match addr {
        IpAddr::V4(a) => Canonical::V4(a.to_bits(), 32),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => Canonical::V4(v4.to_bits(), 32),
            None => Canonical::V6(a.to_bits(), 128),
        },
    }
}

fn canonical_net(net: IpNet) -> Canonical {
    match net {
        IpNet::V4(n) => Canonical::V4(n.addr().to_bits(), n.prefix_len()),
        IpNet::V6(n) => {
            let bits = n.addr().to_bits();
            let len = n.prefix_len();
            if len >= 96 && bits >> 32 == MAPPED_PREFIX >> 32 {
                Canonical::V4(bits as u32, len - 96)
            } else {
                Canonical::V6(bits, len)
            }
        }
    }
}

fn mask4(bits: u32, len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        bits & (u32::MAX << (32 - u32::from(len)))
    }
}

fn mask6(bits: u128, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        bits & (u128::MAX << (128 - u32::from(len)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn longest_prefix_wins_and_reports_its_length() {
        let mut t = RegionTable::new();
        t.insert(net("196.8.0.0/16"), 1u32);
        t.insert(net("196.8.4.0/23"), 2);
        t.insert(net("2001:db8:de::/48"), 3);
        assert_eq!(
            t.lookup(ip("196.8.5.1")),
            Some(RegionMatch {
                region: 2,
                prefix_len: 23
            })
        );
        assert_eq!(
            t.lookup(ip("196.8.9.1")),
            Some(RegionMatch {
                region: 1,
                prefix_len: 16
            })
        );
        assert_eq!(
            t.lookup(ip("2001:db8:de:1::5")),
            Some(RegionMatch {
                region: 3,
                prefix_len: 48
            })
        );
        assert_eq!(t.lookup(ip("10.0.0.1")), None);
        assert_eq!(t.lookup(ip("2001:db8:df::1")), None);
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn mapped_v6_address_finds_the_v4_region() {
        let mut t = RegionTable::new();
        t.insert(net("198.54.234.0/23"), 7u32);
        assert_eq!(
            t.lookup(ip("::ffff:198.54.235.9")),
            Some(RegionMatch {
                region: 7,
                prefix_len: 23
            })
        );
    }

    #[test]
    fn mapped_v6_prefix_is_stored_as_v4() {
        let mut t = RegionTable::new();
        t.insert(net("::ffff:10.1.0.0/112"), 4u32);
        assert_eq!(
            t.lookup(ip("10.1.2.3")),
            Some(RegionMatch {
                region: 4,
                prefix_len: 16
            })
        );
    }

    #[test]
    fn host_bits_are_ignored_and_insert_replaces() {
        let mut t = RegionTable::new();
        assert_eq!(t.insert(net("10.1.2.3/8"), 1u32), None);
        assert_eq!(t.insert(net("10.0.0.0/8"), 2), Some(1));
        assert_eq!(t.lookup(ip("10.200.0.1")).map(|m| m.region), Some(2));
    }

    #[test]
    fn zero_length_prefix_matches_everything_of_its_family() {
        let mut t = RegionTable::new();
        t.insert(net("0.0.0.0/0"), 9u32);
        assert_eq!(
            t.lookup(ip("203.0.113.1")),
            Some(RegionMatch {
                region: 9,
                prefix_len: 0
            })
        );
        assert_eq!(t.lookup(ip("2001:db8::1")), None);
    }

    fn linear<R: Copy>(entries: &[(IpNet, R)], addr: IpAddr) -> Option<RegionMatch<R>> {
        // Later inserts replace earlier ones of the same prefix, as in the trie.
        let mut best: Option<(u8, R)> = None;
        for (n, r) in entries {
            if n.contains(&addr) && best.is_none_or(|(l, _)| n.prefix_len() >= l) {
                best = Some((n.prefix_len(), *r));
            }
        }
        best.map(|(prefix_len, region)| RegionMatch { region, prefix_len })
    }

    fn arb_v4() -> impl Strategy<Value = (IpNet, u16)> {
        // Few distinct high bits so that prefixes nest and collide often.
        (0u32..16, any::<u32>(), 0u8..=32, 0u16..8).prop_map(|(hi, lo, len, r)| {
            let bits = (hi << 28) | (lo >> 4);
            (
                IpNet::V4(ipnet::Ipv4Net::new(bits.into(), len).unwrap().trunc()),
                r,
            )
        })
    }

    fn arb_v6() -> impl Strategy<Value = (IpNet, u16)> {
        (0u128..16, any::<u128>(), 0u8..=128, 0u16..8).prop_map(|(hi, lo, len, r)| {
            let bits = (hi << 124) | (lo >> 4);
            (
                IpNet::V6(ipnet::Ipv6Net::new(bits.into(), len).unwrap().trunc()),
                r,
            )
        })
    }

    proptest! {
        #[test]
        fn lpm_agrees_with_linear_scan(
            v4 in proptest::collection::vec(arb_v4(), 0..40),
            v6 in proptest::collection::vec(arb_v6(), 0..40),
            probes4 in proptest::collection::vec((0u32..16, any::<u32>()), 20),
            probes6 in proptest::collection::vec((0u128..16, any::<u128>()), 20),
        ) {
            let entries: Vec<_> = v4.into_iter().chain(v6).collect();
            let mut t = RegionTable::new();
            for (n, r) in &entries {
                t.insert(*n, *r);
            }
            for (hi, lo) in probes4 {
                let a = IpAddr::V4(((hi << 28) | (lo >> 4)).into());
                prop_assert_eq!(t.lookup(a), linear(&entries, a));
            }
            for (hi, lo) in probes6 {
                let a = IpAddr::V6(((hi << 124) | (lo >> 4)).into());
                prop_assert_eq!(t.lookup(a), linear(&entries, a));
            }
        }
    }
}
