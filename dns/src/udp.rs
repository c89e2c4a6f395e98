//! DNS over UDP on dedicated threads with batched system calls.
//!
//! System calls dominate a small authoritative answer, so each UDP socket gets a thread
//! that takes up to [`BATCH`] queries per `recvmmsg`, answers them all from one snapshot
//! load, and sends the answers with one `sendmmsg`. Relay and triangle outcomes go to the
//! tokio runtime. The thread polls its stop flag every [`POLL`] (the socket's receive
//! timeout), so shutdown needs no extra wake-up.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::answer::{Send, Transport, answer};
use crate::observe::QueryEvent;
use crate::rrl::{Limiter, Verdict};
use crate::server::Context;
use crate::{relay, wire};

/// Queries taken per system call.
pub(crate) const BATCH: usize = 32;
/// Largest query read; EDNS queries are far smaller, longer ones get FORMERR.
const MAX_QUERY: usize = 4096;
/// How often an idle thread looks at its stop flag.
const POLL: Duration = Duration::from_millis(100);

/// Answers queries on `socket` until `stop` is set. Runs on its own thread.
pub(crate) fn serve(
    socket: UdpSocket,
    ctx: Context,
    rt: tokio::runtime::Handle,
    stop: Arc<AtomicBool>,
) {
    if let Err(e) = socket
        .set_nonblocking(false)
        .and_then(|()| socket.set_read_timeout(Some(POLL)))
    {
        tracing::error!(error = %e, "udp socket setup failed");
        return;
    }
    let socket = Arc::new(socket);
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    let mut batch = Batch::new();
    let mut rrl = ctx.rrl.map(Limiter::new);
    let started = std::time::Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let n = match batch.receive(socket.as_raw_fd()) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                        | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => {
                tracing::debug!(error = %e, "udp receive failed");
                continue;
            }
        };
        let snap = ctx.engine.snapshot();
        let second = u32::try_from(started.elapsed().as_secs()).unwrap_or(u32::MAX);
        let mut replies = 0;
        for i in 0..n {
            let Some(peer) = sockaddr(&batch.addr[i]) else {
                continue;
            };
            let len = (batch.hdr[i].msg_len as usize).min(MAX_QUERY);
            let packet = &batch.bufs[i][..len];
            let out = &mut batch.out[replies];
            let o = answer(
                &snap,
                packet,
                peer.ip(),
                rng.next_u64(),
                Transport::Udp,
                out,
            );
            if let Some(obs) = &ctx.observer {
                obs.record(QueryEvent::new(
                    peer,
                    Transport::Udp,
                    o.info,
                    packet,
                    Arc::clone(&snap),
                ));
            }
            match o.send {
                Send::Nothing => {}
                Send::Reply => {
                    if let Some(rrl) = rrl.as_mut() {
                        let at = usize::from(wire::QNAME_OFFSET);
                        let end = (at + usize::from(o.info.qname_len)).min(packet.len());
                        let qname = packet.get(at..end).unwrap_or(&[]);
                        match rrl.check(second, peer.ip(), qname, o.info.qtype, o.info.rcode) {
                            Verdict::Send => {}
                            Verdict::Drop => {
                                ctx.limits.rrl_dropped.inc();
                                continue;
                            }
                            Verdict::Slip => {
                                ctx.limits.rrl_slipped.inc();
                                relay::truncate(out);
                            }
                        }
                    }
                    batch.out_addr[replies] = batch.addr[i];
                    batch.out_addr_len[replies] = batch.hdr[i].msg_hdr.msg_namelen;
                    replies += 1;
                }
                Send::Relay(server) => {
                    let forward = out.clone();
                    spawn_relay(&ctx, &rt, &socket, forward, server, peer, packet);
                }
                Send::Triangle(server) => {
                    match ctx.triangle.as_ref().map(|t| t.send(packet, peer, server)) {
                        Some(Ok(true)) => {}
                        Some(Err(e)) => tracing::debug!(error = %e, "triangle send failed"),
                        // No raw socket for this pair of addresses: relay the query as sent.
                        _ => spawn_relay(&ctx, &rt, &socket, packet.to_vec(), server, peer, packet),
                    }
                }
            }
        }
        if let Err(e) = batch.send(socket.as_raw_fd(), replies) {
            tracing::debug!(error = %e, "udp send failed");
        }
    }
}

/// Buffers and message headers for one `recvmmsg`/`sendmmsg` round, reused.
struct Batch {
    bufs: Box<[[u8; MAX_QUERY]]>,
    addr: [libc::sockaddr_storage; BATCH],
    iov: [libc::iovec; BATCH],
    hdr: [libc::mmsghdr; BATCH],
    out: Vec<Vec<u8>>,
    out_addr: [libc::sockaddr_storage; BATCH],
    out_addr_len: [libc::socklen_t; BATCH],
    out_iov: [libc::iovec; BATCH],
    out_hdr: [libc::mmsghdr; BATCH],
}

// SAFETY (for the whole impl): the raw pointers put in the headers point into `self`'s
// own arrays (boxed or inline), set right before each system call while `self` is
// borrowed mutably, and the lengths given are those arrays' lengths.
impl Batch {
    fn new() -> Self {
        // SAFETY: these C structs are plain data for which all-zero is a valid value.
        unsafe {
            Self {
                bufs: vec![[0u8; MAX_QUERY]; BATCH].into_boxed_slice(),
                addr: zeroed(),
                iov: zeroed(),
                hdr: zeroed(),
                out: (0..BATCH)
                    .map(|_| Vec::with_capacity(usize::from(wire::EDNS_UDP_LIMIT)))
                    .collect(),
                out_addr: zeroed(),
                out_addr_len: [0; BATCH],
                out_iov: zeroed(),
                out_hdr: zeroed(),
            }
        }
    }

    /// Receives at least one datagram (waiting up to the socket's timeout), at most BATCH.
    fn receive(&mut self, fd: i32) -> io::Result<usize> {
        for i in 0..BATCH {
            self.iov[i] = libc::iovec {
                iov_base: self.bufs[i].as_mut_ptr().cast(),
                iov_len: MAX_QUERY,
            };
            let h = &mut self.hdr[i].msg_hdr;
            h.msg_name = (&raw mut self.addr[i]).cast();
            h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &raw mut self.iov[i];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            h.msg_flags = 0;
            self.hdr[i].msg_len = 0;
        }
        // SAFETY: see the impl comment; MSG_WAITFORONE returns once one datagram is in.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.hdr.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// Sends the first `n` answers, each to its saved address.
    fn send(&mut self, fd: i32, n: usize) -> io::Result<()> {
        for i in 0..n {
            self.out_iov[i] = libc::iovec {
                iov_base: self.out[i].as_mut_ptr().cast(),
                iov_len: self.out[i].len(),
            };
            let h = &mut self.out_hdr[i].msg_hdr;
            h.msg_name = (&raw mut self.out_addr[i]).cast();
            h.msg_namelen = self.out_addr_len[i];
            h.msg_iov = &raw mut self.out_iov[i];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            h.msg_flags = 0;
        }
        let mut sent = 0;
        while sent < n {
            // SAFETY: see the impl comment.
            let r = unsafe {
                libc::sendmmsg(fd, self.out_hdr[sent..].as_mut_ptr(), (n - sent) as u32, 0)
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // Skip the datagram that failed (e.g. an unreachable peer), keep the rest.
                sent += 1;
                if sent >= n {
                    return Err(e);
                }
                continue;
            }
            sent += r as usize;
        }
        Ok(())
    }
}

fn sockaddr(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

fn spawn_relay(
    ctx: &Context,
    rt: &tokio::runtime::Handle,
    socket: &Arc<UdpSocket>,
    forward: Vec<u8>,
    server: SocketAddr,
    peer: SocketAddr,
    query: &[u8],
) {
    let Ok(q) = wire::parse_query(query) else {
        return;
    };
    let limit = wire::udp_limit(q.edns.as_ref());
    let client_id = q.id;
    let client_edns = q.edns;
    let mut failure = Vec::new();
    crate::answer::servfail(&q, &mut failure);
    let Some(permit) = ctx.limits.relay() else {
        // relay_in_flight queries already wait on partners: say so now (spec §11).
        let _ = socket.send_to(&failure, peer);
        return;
    };
    let socket = Arc::clone(socket);
    let timeout = ctx.relay_timeout;
    rt.spawn(async move {
        let _permit = permit;
        let reply = match relay::exchange(&forward, server, timeout).await {
            Ok(mut resp) => {
                relay::adapt(&mut resp, client_id, client_edns.as_ref(), limit);
                resp
            }
            Err(e) => {
                tracing::debug!(error = %e, %server, "relay failed");
                failure
            }
        };
        // A UDP send does not block for long; the socket is shared with its thread.
        let _ = socket.send_to(&reply, peer);
    });
}
