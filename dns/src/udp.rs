//! DNS over UDP: receive, answer from the current snapshot, send.

use std::net::SocketAddr;
use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::answer::{Send, Transport, answer};
use crate::observe::QueryEvent;
use crate::server::Context;
use crate::{relay, wire};

/// Largest query read; EDNS queries are far smaller, longer ones get FORMERR.
const MAX_QUERY: usize = 4096;

/// Answers queries on `socket` until `shutdown`.
pub(crate) async fn serve(socket: Arc<UdpSocket>, ctx: Context, shutdown: CancellationToken) {
    let mut buf = vec![0u8; MAX_QUERY];
    let mut out = Vec::with_capacity(wire::EDNS_UDP_LIMIT as usize);
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    loop {
        let (n, peer) = tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(error = %e, "udp receive failed");
                    continue;
                }
            },
        };
        let packet = &buf[..n];
        let snap = ctx.engine.snapshot();
        let o = answer(
            &snap,
            packet,
            peer.ip(),
            rng.next_u64(),
            Transport::Udp,
            &mut out,
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
                if let Err(e) = socket.send_to(&out, peer).await {
                    tracing::debug!(error = %e, %peer, "udp send failed");
                }
            }
            Send::Relay(server) => spawn_relay(&ctx, &socket, out.clone(), server, peer, packet),
            Send::Triangle(server) => {
                let sent = ctx.triangle.as_ref().map(|t| t.send(packet, peer, server));
                match sent {
                    Some(Ok(true)) => {}
                    Some(Err(e)) => tracing::debug!(error = %e, "triangle send failed"),
                    // No raw socket for this pair of addresses: relay the query as sent.
                    _ => spawn_relay(&ctx, &socket, out.clone(), server, peer, packet),
                }
            }
        }
    }
}

fn spawn_relay(
    ctx: &Context,
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
    let mut failure = Vec::new();
    crate::answer::servfail(&q, &mut failure);
    let socket = Arc::clone(socket);
    let timeout = ctx.relay_timeout;
    tokio::spawn(async move {
        let reply = match relay::exchange(&forward, server, timeout).await {
            Ok(mut resp) => {
                relay::adapt(&mut resp, client_id, limit);
                resp
            }
            Err(e) => {
                tracing::debug!(error = %e, %server, "relay failed");
                failure
            }
        };
        let _ = socket.send_to(&reply, peer).await;
    });
}
