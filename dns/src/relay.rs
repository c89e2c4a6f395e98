//! `R:` lookups: send a query to the named server over UDP and wait for its answer.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

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
    let mut buf = vec![0u8; 65535];
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
    Ok(buf)
}

/// Makes a relayed response the client's: its id, and over UDP no more than `limit`
/// bytes (else header and question only, with TC, so the client retries over TCP).
pub fn adapt(resp: &mut Vec<u8>, client_id: u16, limit: usize) {
    resp[..2].copy_from_slice(&client_id.to_be_bytes());
    if resp.len() <= limit {
        return;
    }
    let question_end = question_end(resp).unwrap_or(12);
    resp.truncate(question_end);
    resp[2] |= 0x02;
    let qd = u8::from(question_end > 12);
    resp[4..12].copy_from_slice(&[0, qd, 0, 0, 0, 0, 0, 0]);
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
        adapt(&mut small, 7, 512);
        assert_eq!(&small[..2], &[0, 7]);
        assert_eq!(small.len(), r.len());
        adapt(&mut r, 7, 20);
        assert_eq!(r.len(), 19);
        assert_eq!(r[2] & 0x02, 0x02);
        assert_eq!(&r[4..12], &[0, 1, 0, 0, 0, 0, 0, 0]);
    }
}
