//! `R:` lookups: send a query to the named server over UDP and wait for its answer.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::wire::{self, Edns};

/// The largest relayed answer kept (a client's EDNS payload size rarely goes past it).
const MAX_RELAYED: usize = 4096;

/// Sends `query` to `server` from a fresh socket (a random port: an off-path attacker
/// must guess it and the id) and returns the first response with the query's id.
pub async fn exchange(query: &[u8], server: SocketAddr, timeout: Duration) -> io::Result<Vec<u8>> {
    let bind: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(bind).await?;
    sock.connect(server).await?;
    sock.send(query).await?;
    // Room for the largest answer a client may ask for over UDP, plus one byte to tell a
    // longer (cut) datagram; not 64 KiB each: up to relay_in_flight of these wait at once.
    let mut buf = vec![0u8; MAX_RELAYED + 1];
    let wait = async {
        loop {
            let n = sock.recv(&mut buf).await?;
            if n >= 12 && buf[..2] == query[..2] && buf[2] & 0x80 != 0 {
                buf.truncate(n);
                return Ok::<_, io::Error>(());
            }
        }
    };
    tokio::time::timeout(timeout, wait)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "relay: no answer in time"))??;
    if buf.len() > MAX_RELAYED {
        // The datagram was longer than we keep: the client gets TC and retries over TCP.
        truncate(&mut buf);
    }
    Ok(buf)
}

/// Makes a relayed response the client's: its id, no EDNS parts it did not ask for (the
/// engine adds a subnet to every relayed query), and over UDP no more than `limit` bytes
/// (else header and question only, with TC, so the client retries over TCP).
pub fn adapt(resp: &mut Vec<u8>, client_id: u16, client_edns: Option<&Edns>, limit: usize) {
    resp[..2].copy_from_slice(&client_id.to_be_bytes());
    if client_edns.and_then(|e| e.subnet).is_none() {
        // A malformed far answer is passed on as it is: the client judges it.
        let _ = strip_unsolicited(resp, client_edns.is_some());
    }
    if resp.len() <= limit {
        return;
    }
    truncate(resp);
}

/// Cuts a response to its header and question with TC set, so that the client retries
/// over TCP (too big for UDP, or slipped by rate limiting).
pub(crate) fn truncate(resp: &mut Vec<u8>) {
    if resp.len() < 12 {
        return;
    }
    let question_end = question_end(resp).unwrap_or(12);
    resp.truncate(question_end);
    resp[2] |= 0x02;
    let qd = u8::from(question_end > 12);
    resp[4..12].copy_from_slice(&[0, qd, 0, 0, 0, 0, 0, 0]);
}

fn be16(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]))
}

/// Removes the OPT record (`keep_opt` false: RFC 6891 §7) or only its Client Subnet
/// option (RFC 7871 §7.2.2: no ECS in an answer to a query without one).
fn strip_unsolicited(resp: &mut Vec<u8>, keep_opt: bool) -> Option<()> {
    let counts = |i: usize| be16(resp, 6 + 2 * i);
    let (an, ns, ar) = (counts(0)?, counts(1)?, counts(2)?);
    let mut at = question_end(resp)?;
    let rr_end = |p: &[u8], at: usize| -> Option<(usize, u16, usize)> {
        let name_end = wire::skip_name(p, at)?;
        let rtype = be16(p, name_end)?;
        let rdlen = usize::from(be16(p, name_end + 8)?);
        let end = name_end + 10 + rdlen;
        (end <= p.len()).then_some((name_end, rtype, end))
    };
    for _ in 0..u32::from(an) + u32::from(ns) {
        at = rr_end(resp, at)?.2;
    }
    for _ in 0..ar {
        let (name_end, rtype, end) = rr_end(resp, at)?;
        if rtype == wire::rtype::OPT {
            if !keep_opt {
                resp.drain(at..end);
                resp[10..12].copy_from_slice(&(ar - 1).to_be_bytes());
                return Some(());
            }
            let rdata = name_end + 10;
            let mut kept = Vec::with_capacity(end - rdata);
            let mut o = rdata;
            while o + 4 <= end {
                let len = usize::from(be16(resp, o + 2)?);
                let next = (o + 4 + len).min(end);
                if be16(resp, o)? != 8 {
                    kept.extend_from_slice(&resp[o..next]);
                }
                o = next;
            }
            let new_len = kept.len() as u16;
            resp.splice(rdata..end, kept);
            resp[name_end + 8..name_end + 10].copy_from_slice(&new_len.to_be_bytes());
            return Some(());
        }
        at = end;
    }
    Some(())
}

fn question_end(p: &[u8]) -> Option<usize> {
    if p.get(4..6)? != [0, 1] {
        return None;
    }
    let mut at = 12;
    loop {
        let len = usize::from(*p.get(at)?);
        if len == 0 {
            at += 1;
            break;
        }
        if len > 63 {
            return None;
        }
        at += 1 + len;
    }
    (at + 4 <= p.len()).then_some(at + 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn exchange_skips_foreign_ids_and_returns_the_answer() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let echo = tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let (n, peer) = server.recv_from(&mut buf).await.unwrap();
            let mut wrong = buf[..n].to_vec();
            wrong[0] ^= 0xff;
            wrong[2] |= 0x80;
            server.send_to(&wrong, peer).await.unwrap();
            let mut right = buf[..n].to_vec();
            right[2] |= 0x80;
            server.send_to(&right, peer).await.unwrap();
        });
        let q = [
            0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 0, 0, 1, 0, 1,
        ];
        let r = exchange(&q, addr, Duration::from_secs(5)).await.unwrap();
        assert_eq!(&r[..2], &[0x12, 0x34]);
        assert_eq!(r[2] & 0x80, 0x80);
        echo.await.unwrap();
    }

    #[test]
    fn adapt_sets_the_id_and_truncates_big_answers() {
        let mut r = vec![
            0x12, 0x34, 0x81, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, b'a', 0, 0, 1, 0, 1,
        ];
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 1, 2, 3, 4]);
        let mut small = r.clone();
        adapt(&mut small, 7, None, 512);
        assert_eq!(&small[..2], &[0, 7]);
        assert_eq!(small.len(), r.len());
        adapt(&mut r, 7, None, 20);
        assert_eq!(r.len(), 19);
        assert_eq!(r[2] & 0x02, 0x02);
        assert_eq!(&r[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
    }

    /// A response to `a A` with one answer and an OPT holding ECS and a cookie option.
    fn with_opt() -> Vec<u8> {
        let mut r = vec![
            0x12, 0x34, 0x81, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1, b'a', 0, 0, 1, 0, 1,
        ];
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 1, 2, 3, 4]);
        r.extend_from_slice(&[0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 19]);
        r.extend_from_slice(&[0, 8, 0, 7, 0, 1, 24, 24, 10, 1, 2]);
        r.extend_from_slice(&[0, 10, 0, 4, 9, 9, 9, 9]);
        r
    }

    #[test]
    fn unsolicited_ecs_is_removed_and_other_options_kept() {
        let mut r = with_opt();
        let edns = Edns {
            payload: 1232,
            version: 0,
            dnssec_ok: false,
            subnet: None,
        };
        adapt(&mut r, 7, Some(&edns), 1232);
        let opt = &r[35..];
        assert_eq!(
            opt,
            &[0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 8, 0, 10, 0, 4, 9, 9, 9, 9]
        );
        assert_eq!(&r[10..12], &[0, 1]);
    }

    #[test]
    fn opt_is_removed_for_a_client_without_edns() {
        let mut r = with_opt();
        adapt(&mut r, 7, None, 1232);
        assert_eq!(r.len(), 35);
        assert_eq!(&r[10..12], &[0, 0]);
    }

    #[test]
    fn a_client_subnet_keeps_the_answer_as_is() {
        let mut r = with_opt();
        let before = r.clone();
        let subnet = wire::ClientSubnet {
            addr: "10.1.2.0".parse().unwrap(),
            source_len: 24,
        };
        let edns = Edns {
            payload: 1232,
            version: 0,
            dnssec_ok: false,
            subnet: Some(subnet),
        };
        adapt(&mut r, 0x1234, Some(&edns), 1232);
        assert_eq!(r, before);
    }
}
