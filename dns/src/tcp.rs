//! DNS over TCP (RFC 7766): length-prefixed messages, several per connection, an idle
//! timeout, relayed lookups answered on the same connection.

use std::net::SocketAddr;
use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::answer::{Send, Transport, answer};
use crate::observe::QueryEvent;
use crate::server::Context;
use crate::{relay, wire};

/// Connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 1024;

/// Accepts connections until `shutdown`.
pub(crate) async fn serve(listener: TcpListener, ctx: Context, shutdown: CancellationToken) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            () = shutdown.cancelled() => return,
            p = Arc::clone(&slots).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!(error = %e, "tcp accept failed");
                    continue;
                }
            },
        };
        let ctx = ctx.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _permit = permit;
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = connection(stream, peer, ctx) => {}
            }
        });
    }
}

async fn connection(mut stream: TcpStream, peer: SocketAddr, ctx: Context) {
    let _ = stream.set_nodelay(true);
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    let mut buf = vec![0u8; usize::from(u16::MAX)];
    let mut out = Vec::new();
    let mut frame = Vec::new();
    loop {
        let Ok(Ok(len)) = tokio::time::timeout(ctx.tcp_idle, stream.read_u16()).await else {
            return;
        };
        let packet = &mut buf[..usize::from(len)];
        if !matches!(
            tokio::time::timeout(ctx.tcp_idle, stream.read_exact(packet)).await,
            Ok(Ok(_))
        ) {
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
                // triangle's raw query goes on as sent).
                match relay::exchange(&out, server, ctx.relay_timeout).await {
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
