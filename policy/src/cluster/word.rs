//! The unsigned integers behind the address families, and CIDR arithmetic on them.

use std::fmt::Debug;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Calls `f(start, len)` for the fewest CIDR blocks covering `s..=e`, in order.
pub(super) fn blocks<A: Word>(mut s: A, e: A, mut f: impl FnMut(A, u32)) {
    loop {
        let span = e.sub(s); // addresses in the rest, minus one
        // The largest aligned block at `s` that fits: limited by alignment and by size.
        let fit = A::WIDTH - span.checked_succ().map_or(0, |n| n.leading_zeros() + 1);
        let size_bits = s.trailing_zeros().min(fit);
        f(s, A::WIDTH - size_bits);
        let last = s.or(A::host_mask(A::WIDTH - size_bits));
        match last.checked_succ() {
            Some(next) if last < e => s = next,
            _ => return,
        }
    }
}

/// Addresses in disjoint intervals, saturating.
pub(super) fn count<A: Word>(intervals: &[(A, A)]) -> u128 {
    intervals.iter().fold(0u128, |n, &(s, e)| {
        n.saturating_add(e.sub(s).to_u128()).saturating_add(1)
    })
}

/// The unsigned integer behind an address family: `u32` for IPv4, `u128` for IPv6, so
/// IPv4 tables take a quarter of the memory.
pub(super) trait Word: Copy + Ord + Debug {
    const WIDTH: u32;
    const ZERO: Self;
    /// The low `WIDTH - len` bits set: the host part of a `/len`.
    fn host_mask(len: u32) -> Self;
    /// The single bit just below the first `len` bits (`len < WIDTH`).
    fn bit(len: u32) -> Self;
    fn or(self, other: Self) -> Self;
    fn sub(self, other: Self) -> Self;
    fn checked_succ(self) -> Option<Self>;
    fn pred(self) -> Self;
    fn leading_zeros(self) -> u32;
    fn trailing_zeros(self) -> u32;
    fn to_u128(self) -> u128;
    fn to_net(self, len: u32) -> IpNet;
}

macro_rules! word {
    ($t:ty, $variant:ident, $net:ty, $addr:ty) => {
        impl Word for $t {
            const WIDTH: u32 = <$t>::BITS;
            const ZERO: Self = 0;
            fn host_mask(len: u32) -> Self {
                <$t>::MAX.checked_shr(len).unwrap_or(0)
            }
            fn bit(len: u32) -> Self {
                1 << (Self::WIDTH - 1 - len)
            }
            fn or(self, other: Self) -> Self {
                self | other
            }
            fn sub(self, other: Self) -> Self {
                self - other
            }
            fn checked_succ(self) -> Option<Self> {
                self.checked_add(1)
            }
            fn pred(self) -> Self {
                self - 1
            }
            fn leading_zeros(self) -> u32 {
                <$t>::leading_zeros(self)
            }
            fn trailing_zeros(self) -> u32 {
                <$t>::trailing_zeros(self)
            }
            fn to_u128(self) -> u128 {
                u128::from(self)
            }
            fn to_net(self, len: u32) -> IpNet {
                // Every length here comes from a prefix of this family, so it fits.
                IpNet::$variant(
                    <$net>::new(<$addr>::from(self), len as u8).expect("prefix length fits"),
                )
            }
        }
    };
}

word!(u32, V4, Ipv4Net, Ipv4Addr);
word!(u128, V6, Ipv6Net, Ipv6Addr);
