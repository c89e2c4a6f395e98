//! `T:` lookups: the seed's triangle. The client's query goes on to the partner's server
//! in a UDP packet whose source is the client's own address and port, so the partner
//! answers the client directly. Forging the source needs a raw IPv4 socket
//! (CAP_NET_RAW); [`Triangle::open`] fails without it, and the engine then refuses
//! transactions with `T:` lookups at commit.

use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV4};

use socket2::{Domain, Protocol, Socket, Type};

/// A raw socket that sends UDP datagrams with any IPv4 source.
#[derive(Debug)]
pub struct Triangle {
    socket: Socket,
}

impl Triangle {
    /// Opens the raw socket; fails without CAP_NET_RAW.
    pub fn open() -> io::Result<Self> {
        // IPPROTO_RAW implies IP_HDRINCL: the packet carries its own IP header.
        let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(255)))?;
        socket.set_nonblocking(true)?;
        Ok(Self { socket })
    }

    /// Sends `payload` from `from` to `to`. Returns `Ok(false)` when it cannot be sent this
    /// way (an IPv6 end): the caller relays instead.
    pub fn send(&self, payload: &[u8], from: SocketAddr, to: SocketAddr) -> io::Result<bool> {
        let (from, to) = match (from, to) {
            (SocketAddr::V4(f), SocketAddr::V4(t)) => (f, t),
            (SocketAddr::V6(f), SocketAddr::V4(t)) => match f.ip().to_ipv4_mapped() {
                Some(ip) => (SocketAddrV4::new(ip, f.port()), t),
                None => return Ok(false),
            },
            _ => return Ok(false),
        };
        let packet = datagram(payload, from, to);
        let dest = SocketAddr::new(IpAddr::V4(*to.ip()), 0);
        self.socket.send_to(&packet, &dest.into())?;
        Ok(true)
    }
}

/// An IPv4 + UDP packet around `payload`.
fn datagram(payload: &[u8], from: SocketAddrV4, to: SocketAddrV4) -> Vec<u8> {
    let udp_len = 8 + payload.len();
    let total = 20 + udp_len;
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]); // id (kernel fills), DF, TTL, UDP
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
    pseudo[9] = 17;
    pseudo[10..12].copy_from_slice(&(udp_len as u16).to_be_bytes());
    let partial = sum_words(&pseudo, 0);
    let mut udp_sum = checksum(&p[20..], partial);
    if udp_sum == 0 {
        udp_sum = 0xffff;
    }
    p[26..28].copy_from_slice(&udp_sum.to_be_bytes());
    p
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
