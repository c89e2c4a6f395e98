//! Port ranges for tests that start `cdnbroker demo --port-base N`.

use std::net::{Ipv4Addr, TcpListener, UdpSocket};

/// The demo's ports are `base..base+SPAN` (its port layout ends at base+444).
const SPAN: u16 = 445;

/// Up to six bases whose ranges are free now, spread by process id and time so that
/// tests running at once rarely meet; the caller still retries when the demo exits
/// because a port was taken in between.
pub(crate) fn free_bases() -> impl Iterator<Item = u16> {
    let seed = u64::from(std::process::id()) * 7919
        + u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_micros(),
        );
    (0..6u64)
        // Below Linux's ephemeral range (32768+), where outgoing connections take ports.
        .map(move |attempt| 10_000 + ((seed + attempt * 3001) % 21_000) as u16)
        .filter(|&base| range_is_free(base))
}

/// Every TCP port of `base..base+SPAN` and the DNS UDP port are free now.
fn range_is_free(base: u16) -> bool {
    (base..base + SPAN).all(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, p)).is_ok())
        && UdpSocket::bind((Ipv4Addr::LOCALHOST, base + 53)).is_ok()
}
