//! DNS over TCP (RFC 7766): length-prefixed messages, several per connection, read and
//! write deadlines, a connection cap that closes the most stalled client, relayed lookups
//! answered on the same connection.

use std::net::SocketAddr;
use std::sync::Arc;

use broker_net::{ConnectionCap, Deadlines};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::answer::{Send, Transport, answer};
use crate::observe::QueryEvent;
use crate::server::Context;
use crate::{relay, wire};

/// Accepts connections until `shutdown`, at most `cap` at once: at the cap the client
/// that has gone longest without a query answered is closed (spec §11). Reads and writes
/// each have the idle deadline: a client that stops reading its answers is cut too.
pub(crate) async fn serve(
    listener: TcpListener,
    ctx: Context,
    cap: ConnectionCap,
    shutdown: CancellationToken,
) {
    let tracker = TaskTracker::new();
    broker_net::serve(
        listener,
        cap,
        shutdown.clone(),
        tracker.clone(),
        |stream, peer, slot| {
            let ctx = ctx.clone();
            let shutdown = shutdown.clone();
            async move {
                let idle = Some(ctx.tcp_idle);
                let stream = Deadlines::new(stream, idle, idle).track(&slot);
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    () = connection(stream, peer, ctx) => {}
                }
            }
        },
    )
    .await;
    tracker.close();
    tracker.wait().await;
}

async fn connection(mut stream: Deadlines<TcpStream>, peer: SocketAddr, ctx: Context) {
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    let mut buf = vec![0u8; usize::from(u16::MAX)];
    let mut out = Vec::new();
    let mut frame = Vec::new();
    loop {
        let Ok(len) = stream.read_u16().await else {
            return;
        };
        let packet = &mut buf[..usize::from(len)];
        if stream.read_exact(packet).await.is_err() {
            return;
        }
        let packet = &buf[..usize::from(len)];
        let snap = ctx.engine.snapshot_full();
        let o = answer(
            &snap,
            packet,
            peer.ip(),
            rng.next_u64(),
            Transport::Tcp,
            &mut out,
        );
        let reply: &[u8] = match o.send {
            Send::Nothing => return,
            Send::Reply => &out,
            Send::Relay(server) | Send::Triangle(server) => {
                // Over TCP the answer must come back on this connection: relay (a
                // triangle's raw query goes on as sent), within relay_in_flight.
                let permit = ctx.limits.relay();
                let relayed = match permit {
                    Some(_) => relay::exchange(&out, server, ctx.relay_timeout).await,
                    None => Err(std::io::Error::other("relay_in_flight reached")),
                };
                drop(permit);
                match relayed {
                    Ok(mut resp) => {
                        let edns = wire::parse_query(packet).ok().and_then(|q| q.edns);
                        relay::adapt(&mut resp, o.info.id, edns.as_ref(), usize::from(u16::MAX));
                        out = resp;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, %server, "relay failed");
                        match wire::parse_query(packet) {
                            Ok(q) => crate::answer::servfail(&q, &mut out),
                            Err(_) => return,
                        }
                    }
                }
                &out
            }
        };
        frame.clear();
        frame.extend_from_slice(&(reply.len() as u16).to_be_bytes());
        frame.extend_from_slice(reply);
        if let Some(obs) = &ctx.observer {
            obs.record(QueryEvent::new(
                peer,
                Transport::Tcp,
                o.info,
                packet,
                Arc::clone(&snap),
            ));
        }
        if stream.write_all(&frame).await.is_err() {
            return;
        }
    }
}
