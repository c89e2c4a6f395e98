//! `T:` lookups: the seed's triangle. The client's query goes on to the partner's server
//! in a UDP packet whose source is the client's own address and port, so the partner
//! answers the client directly. Forging the source needs raw sockets (CAP_NET_RAW):
//! an IPv4 one for v4 ends and an IPv6 one for v6 ends, each writing its own IP header
//! (IPPROTO_RAW implies IP_HDRINCL, and on Linux >= 4.5 IPV6_HDRINCL). [`Triangle::open`]
//! fails without the IPv4 socket, and the engine then refuses transactions with `T:`
//! lookups at commit; a host without IPv6 only loses the v6 socket, and v6 triangles are
//! relayed. A client and a server of different families are relayed too: a packet cannot
//! carry a source of the other family (v4-mapped v6 addresses count as IPv4).

use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};

use socket2::{Domain, Protocol, Socket, Type};

/// IPPROTO_RAW: the socket sends packets that carry their own IP header.
const IPPROTO_RAW: i32 = 255;
/// The IP protocol number of UDP (IPv4 protocol field, IPv6 next header).
const UDP: u8 = 17;
/// The TTL / hop limit of forged packets (Linux's default).
const HOPS: u8 = 64;

/// Raw sockets that send UDP datagrams with any source: IPv4 always, IPv6 where the host
/// has it.
#[derive(Debug)]
pub struct Triangle {
    v4: Socket,
    v6: Option<Socket>,
}

impl Triangle {
    /// Opens the raw sockets; fails without CAP_NET_RAW. Without IPv6 on the host only
    /// the v6 socket is missing (logged once here), and v6 triangles are relayed.
    pub fn open() -> io::Result<Self> {
        let v4 = raw_socket(Domain::IPV4)?;
        let v6 = match raw_socket(Domain::IPV6) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::info!(error = %e, "no raw IPv6 socket: IPv6 T: lookups are relayed");
                None
            }
        };
        Ok(Self { v4, v6 })
    }

    /// True when IPv6 ends can be forged too.
    pub fn has_ipv6(&self) -> bool {
        self.v6.is_some()
    }

    /// Sends `payload` from `from` to `to`. Returns `Ok(false)` when it cannot be sent this
    /// way (ends of different families, or IPv6 ends without the v6 socket): the caller
    /// relays instead.
    pub fn send(&self, payload: &[u8], from: SocketAddr, to: SocketAddr) -> io::Result<bool> {
        match (unmapped(from), unmapped(to)) {
            (SocketAddr::V4(from), SocketAddr::V4(to)) => {
                let packet = datagram(payload, from, to);
                let dest = SocketAddr::new(IpAddr::V4(*to.ip()), 0);
                self.v4.send_to(&packet, &dest.into())?;
                Ok(true)
            }
            (SocketAddr::V6(from), SocketAddr::V6(to)) => {
                let Some(v6) = &self.v6 else {
                    return Ok(false);
                };
                let packet = datagram_v6(payload, from, to);
                // Port 0 (the protocol for raw sockets); the scope picks a link-local's link.
                let dest = SocketAddrV6::new(*to.ip(), 0, 0, to.scope_id());
                v6.send_to(&packet, &SocketAddr::V6(dest).into())?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

fn raw_socket(domain: Domain) -> io::Result<Socket> {
    let socket = Socket::new(domain, Type::RAW, Some(Protocol::from(IPPROTO_RAW)))?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// `a` with a v4-mapped v6 address (a client of a dual-stack socket) made IPv4.
fn unmapped(a: SocketAddr) -> SocketAddr {
    match a {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(ip) => SocketAddr::V4(SocketAddrV4::new(ip, v6.port())),
            None => a,
        },
        SocketAddr::V4(_) => a,
    }
}

/// An IPv4 + UDP packet around `payload`.
fn datagram(payload: &[u8], from: SocketAddrV4, to: SocketAddrV4) -> Vec<u8> {
    let udp_len = 8 + payload.len();
    let total = 20 + udp_len;
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, HOPS, UDP, 0, 0]); // id (kernel fills), DF, TTL, UDP
    p.extend_from_slice(&from.ip().octets());
    p.extend_from_slice(&to.ip().octets());
    let sum = checksum(&p[..20], 0);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(&from.port().to_be_bytes());
    p.extend_from_slice(&to.port().to_be_bytes());
    p.extend_from_slice(&(udp_len as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    // UDP checksum over the pseudo-header, header and payload.
    let mut pseudo = [0u8; 12];
    pseudo[..4].copy_from_slice(&from.ip().octets());
    pseudo[4..8].copy_from_slice(&to.ip().octets());
    pseudo[9] = UDP;
    pseudo[10..12].copy_from_slice(&(udp_len as u16).to_be_bytes());
    let partial = sum_words(&pseudo, 0);
    let mut udp_sum = checksum(&p[20..], partial);
    if udp_sum == 0 {
        udp_sum = 0xffff;
    }
    p[26..28].copy_from_slice(&udp_sum.to_be_bytes());
    p
}

/// An IPv6 + UDP packet around `payload`. IPv6 has no header checksum, but the UDP one is
/// mandatory (RFC 8200 §8.1): a receiver drops a datagram whose checksum is 0.
fn datagram_v6(payload: &[u8], from: SocketAddrV6, to: SocketAddrV6) -> Vec<u8> {
    let udp_len = 8 + payload.len();
    let mut p = Vec::with_capacity(40 + udp_len);
    p.extend_from_slice(&[0x60, 0, 0, 0]); // version 6, traffic class 0, flow label 0
    p.extend_from_slice(&(udp_len as u16).to_be_bytes()); // payload length
    p.extend_from_slice(&[UDP, HOPS]); // next header, hop limit
    p.extend_from_slice(&from.ip().octets());
    p.extend_from_slice(&to.ip().octets());
    p.extend_from_slice(&from.port().to_be_bytes());
    p.extend_from_slice(&to.port().to_be_bytes());
    p.extend_from_slice(&(udp_len as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    let mut udp_sum = checksum(&p[40..], sum_words(&pseudo_header_v6(&p), 0));
    if udp_sum == 0 {
        udp_sum = 0xffff;
    }
    p[46..48].copy_from_slice(&udp_sum.to_be_bytes());
    p
}

/// The IPv6 pseudo-header of the UDP checksum (RFC 8200 §8.1) of an IPv6 + UDP packet:
/// source, destination, upper-layer length (32 bits), three zeros, next header.
fn pseudo_header_v6(packet: &[u8]) -> [u8; 40] {
    let mut pseudo = [0u8; 40];
    pseudo[..32].copy_from_slice(&packet[8..40]);
    pseudo[34..36].copy_from_slice(&packet[4..6]);
    pseudo[39] = UDP;
    pseudo
}

fn sum_words(bytes: &[u8], mut acc: u32) -> u32 {
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn checksum(bytes: &[u8], acc: u32) -> u16 {
    let mut acc = sum_words(bytes, acc);
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_verify_to_zero() {
        let p = datagram(
            b"hello",
            "10.0.0.1:1234".parse().unwrap(),
            "10.0.0.2:53".parse().unwrap(),
        );
        assert_eq!(checksum(&p[..20], 0), 0);
        let mut pseudo = [0u8; 12];
        pseudo[..4].copy_from_slice(&p[12..16]);
        pseudo[4..8].copy_from_slice(&p[16..20]);
        pseudo[9] = 17;
        pseudo[10..12].copy_from_slice(&p[24..26]);
        assert_eq!(checksum(&p[20..], sum_words(&pseudo, 0)), 0);
    }

    /// The one's complement sum of `bytes` as 16-bit big-endian words (an odd last byte
    /// padded with zero), folded to 16 bits: written apart from the builder's helpers.
    fn ones_complement_sum(parts: &[&[u8]]) -> u16 {
        let bytes: Vec<u8> = parts.concat();
        let mut sum: u64 = 0;
        for (i, b) in bytes.iter().enumerate() {
            sum += u64::from(*b) << if i % 2 == 0 { 8 } else { 0 };
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    #[test]
    fn v6_packet_parses_back_and_its_udp_checksum_verifies() {
        let from: SocketAddrV6 = "[2001:db8::1234]:40000".parse().unwrap();
        let to: SocketAddrV6 = "[2001:db8:53::1]:5353".parse().unwrap();
        // An odd length exercises the checksum's zero padding.
        for payload in [&b"query"[..], &b"even"[..], &[0xff; 300][..]] {
            let p = datagram_v6(payload, from, to);
            assert_eq!(p.len(), 40 + 8 + payload.len());
            assert_eq!(p[0] >> 4, 6, "version");
            assert_eq!(
                u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & 0x0fff_ffff,
                0
            );
            let payload_len = u16::from_be_bytes([p[4], p[5]]);
            assert_eq!(usize::from(payload_len), 8 + payload.len());
            assert_eq!(p[6], 17, "next header: UDP");
            assert_eq!(p[7], 64, "hop limit");
            assert_eq!(&p[8..24], &from.ip().octets());
            assert_eq!(&p[24..40], &to.ip().octets());
            let udp = &p[40..];
            assert_eq!(u16::from_be_bytes([udp[0], udp[1]]), from.port());
            assert_eq!(u16::from_be_bytes([udp[2], udp[3]]), to.port());
            assert_eq!(u16::from_be_bytes([udp[4], udp[5]]), payload_len);
            assert_ne!(&udp[6..8], &[0, 0], "the UDP checksum is mandatory in IPv6");
            assert_eq!(&udp[8..], payload);
            // RFC 8200 §8.1 pseudo-header, built here from the parsed fields.
            let mut pseudo = Vec::new();
            pseudo.extend_from_slice(&p[8..40]);
            pseudo.extend_from_slice(&u32::from(payload_len).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, 17]);
            assert_eq!(ones_complement_sum(&[&pseudo, udp]), 0xffff);
        }
    }

    #[test]
    fn ends_of_different_families_are_left_to_the_relay() {
        let Ok(t) = Triangle::open() else {
            eprintln!("no CAP_NET_RAW here: the commit-time refusal is tested instead");
            return;
        };
        let v4: SocketAddr = "127.0.0.1:53".parse().unwrap();
        let v6: SocketAddr = "[::1]:53".parse().unwrap();
        assert!(!t.send(b"query", v4, v6).unwrap());
        assert!(!t.send(b"query", v6, v4).unwrap());
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:4321".parse().unwrap();
        assert!(!t.send(b"query", mapped, v6).unwrap());
    }

    #[test]
    fn spoofed_v6_datagram_arrives_with_the_forged_source() {
        let Ok(t) = Triangle::open() else {
            eprintln!("no CAP_NET_RAW here: the commit-time refusal is tested instead");
            return;
        };
        let Ok(rx) = std::net::UdpSocket::bind("[::1]:0") else {
            eprintln!("no IPv6 loopback here");
            return;
        };
        assert!(t.has_ipv6(), "a host with ::1 opens the raw IPv6 socket");
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let to = rx.local_addr().unwrap();
        let from: SocketAddr = "[::1]:4321".parse().unwrap();
        assert!(t.send(b"query6", from, to).unwrap());
        let mut buf = [0u8; 64];
        let (n, src) = rx.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"query6");
        assert_eq!(src, from);
    }

    #[test]
    fn spoofed_datagram_arrives_with_the_forged_source() {
        let Ok(t) = Triangle::open() else {
            eprintln!("no CAP_NET_RAW here: the commit-time refusal is tested instead");
            return;
        };
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let to = rx.local_addr().unwrap();
        let from: SocketAddr = "127.0.0.1:4321".parse().unwrap();
        assert!(t.send(b"query", from, to).unwrap());
        let mut buf = [0u8; 64];
        let (n, src) = rx.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"query");
        assert_eq!(src, from);
    }
}
