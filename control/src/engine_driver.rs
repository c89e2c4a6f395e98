//! Engine drivers: one task per DNS engine keeps it on the newest plan (spec §1).
//!
//! A driver remembers the last plan its engine acknowledged. The first transaction, and
//! the first after any failure or a probe that found the engine gone, is the whole state
//! (`RESET!`, regions, coverages, customers); otherwise it sends the difference between
//! the acknowledged plan and the newest (`UPDATE CVG` when only weights moved). Plans
//! published while a transaction is on its way are coalesced: the driver always goes
//! from what the engine has to the newest plan. A failure is retried with exponential
//! back-off (capped). Each driver's [`EngineStatus`] is visible in the API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use broker_config::deploy::Token;
use broker_policy::dns_tables::{full_transaction, update_transaction};
use serde::Serialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::authority::Authority;
use crate::core::Published;
use crate::dns_names::DnsNames;
use crate::metrics::Metrics;
use crate::settings::ControlSettings;

/// What the control component knows of one DNS engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EngineStatus {
    /// Its control port.
    pub addr: SocketAddr,
    /// The last exchange (transaction or probe) reached it.
    pub connected: bool,
    /// The plan generation it acknowledged last (`None`: none yet, or lost since).
    pub plan_generation: Option<u64>,
    /// The engine's own commit counter, from its last `OK <generation>`.
    pub engine_generation: Option<u64>,
    /// Why the last exchange failed, while it is not repaired.
    pub last_error: Option<String>,
    /// Failures since the last success.
    pub retries: u64,
    /// Transactions it committed.
    pub transactions_ok: u64,
    /// Transactions that failed (not reached, refused, no answer).
    pub transactions_failed: u64,
}

impl EngineStatus {
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            connected: false,
            plan_generation: None,
            engine_generation: None,
            last_error: None,
            retries: 0,
            transactions_ok: 0,
            transactions_failed: 0,
        }
    }
}

/// One engine's driver.
pub(crate) struct Driver {
    pub(crate) addr: SocketAddr,
    pub(crate) plans: watch::Receiver<Arc<Published>>,
    pub(crate) status: watch::Sender<EngineStatus>,
    pub(crate) names: Arc<DnsNames>,
    pub(crate) settings: ControlSettings,
    pub(crate) metrics: Arc<Metrics>,
    /// Whether this replica may drive engines, and under which epoch.
    pub(crate) authority: watch::Receiver<Authority>,
    /// `[control] engine_token`, sent as `AUTH` before each transaction (spec §11).
    pub(crate) engine_token: Option<Token>,
}

/// Why a transaction did not commit.
#[derive(Debug)]
enum SendError {
    /// The engine could not be reached or did not answer.
    Unreachable(String),
    /// The engine answered `ERR ...`.
    Refused(String),
}

impl Driver {
    pub(crate) async fn run(mut self, shutdown: CancellationToken) {
        let mut acked: Option<Arc<Published>> = None;
        let mut backoff = self.settings.retry_min;
        let mut epoch: Option<u64> = None;
        loop {
            // A follower (or a leader whose lease may be gone) sends nothing; a new
            // leadership starts from the whole tables, since another leader may have
            // changed the engine meanwhile.
            let authority = self.authority.borrow_and_update().clone();
            if !authority.may_act() {
                acked = None;
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    changed = self.authority.changed() => if changed.is_err() { return },
                    // A leader past its deadline turns `may_act` false without a change.
                    () = tokio::time::sleep(self.settings.retry_max) => {}
                }
                continue;
            }
            if authority.epoch() != epoch {
                epoch = authority.epoch();
                acked = None;
            }
            let target = Arc::clone(&self.plans.borrow_and_update());
            if acked
                .as_ref()
                .is_some_and(|a| a.generation == target.generation)
            {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    changed = self.plans.changed() => if changed.is_err() { return },
                    changed = self.authority.changed() => if changed.is_err() { return },
                    () = tokio::time::sleep(self.settings.engine_probe) => {
                        if let Err(e) = probe(self.addr, self.settings.engine_timeout).await {
                            // Gone: it may come back empty, so it gets everything again.
                            acked = None;
                            self.status.send_modify(|s| {
                                s.connected = false;
                                s.plan_generation = None;
                                s.last_error = Some(format!("probe: {e}"));
                            });
                        }
                    }
                }
                continue;
            }
            let (kind, tx) = match &acked {
                Some(a) if Arc::ptr_eq(&a.regions, &target.regions) => {
                    ("update", update_transaction(&a.plan, &target.plan))
                }
                _ => ("full", full_transaction(&target.plan, &target.regions)),
            };
            if kind == "update" && tx.statements.is_empty() {
                // Nothing the engine would see: it is on the new plan already.
                self.status
                    .send_modify(|s| s.plan_generation = Some(target.generation));
                acked = Some(target);
                continue;
            }
            let tx = match epoch {
                Some(n) => tx.with_epoch(n),
                None => tx,
            };
            let text = self.names.apply(tx).to_string();
            // Checked again at the last moment: a process resumed after a pause must not
            // send under a lease that ran out meanwhile (the engine would refuse the
            // stale epoch anyway, spec §1).
            if !self.authority.borrow().may_act() {
                continue;
            }
            let engine = self.addr.to_string();
            let sent = tokio::select! {
                () = shutdown.cancelled() => return,
                r = send(self.addr, self.engine_token.as_ref(), &text, self.settings.engine_timeout) => r,
            };
            match sent {
                Ok(engine_generation) => {
                    self.metrics.transaction(&engine, kind, "ok");
                    self.status.send_modify(|s| {
                        s.connected = true;
                        s.plan_generation = Some(target.generation);
                        s.engine_generation = Some(engine_generation);
                        s.last_error = None;
                        s.retries = 0;
                        s.transactions_ok += 1;
                    });
                    tracing::info!(%engine, kind, generation = target.generation, "engine on plan");
                    acked = Some(target);
                    backoff = self.settings.retry_min;
                }
                Err(e) => {
                    self.metrics.transaction(&engine, kind, "failed");
                    let (connected, why) = match e {
                        SendError::Unreachable(w) => (false, w),
                        SendError::Refused(w) => (true, format!("refused: {w}")),
                    };
                    tracing::warn!(%engine, kind, error = %why, ?backoff, "engine transaction failed");
                    self.status.send_modify(|s| {
                        s.connected = connected;
                        s.plan_generation = None;
                        s.last_error = Some(why);
                        s.retries += 1;
                        s.transactions_failed += 1;
                    });
                    acked = None;
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(self.settings.retry_max);
                }
            }
        }
    }
}

/// Sends one transaction (the text ends with `END`), after `AUTH <token>` when there is
/// a token, and reads the engine's answer.
async fn send(
    addr: SocketAddr,
    token: Option<&Token>,
    text: &str,
    timeout: Duration,
) -> Result<u64, SendError> {
    let exchange = async {
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(|e| SendError::Unreachable(format!("connect: {e}")))?;
        if let Some(t) = token {
            s.write_all(format!("AUTH {}\n", t.expose()).as_bytes())
                .await
                .map_err(|e| SendError::Unreachable(format!("write: {e}")))?;
        }
        s.write_all(text.as_bytes())
            .await
            .map_err(|e| SendError::Unreachable(format!("write: {e}")))?;
        s.shutdown()
            .await
            .map_err(|e| SendError::Unreachable(format!("write: {e}")))?;
        let mut reply = Vec::with_capacity(64);
        (&mut s)
            .take(4096)
            .read_to_end(&mut reply)
            .await
            .map_err(|e| SendError::Unreachable(format!("read: {e}")))?;
        Ok(reply)
    };
    let reply = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| SendError::Unreachable(format!("no answer within {timeout:?}")))??;
    let line = String::from_utf8_lossy(&reply);
    let line = line.trim();
    match line.strip_prefix("OK ") {
        Some(n) => n
            .trim()
            .parse()
            .map_err(|_| SendError::Refused(format!("unexpected answer {line:?}"))),
        None if line.is_empty() => Err(SendError::Unreachable("closed without an answer".into())),
        None => Err(SendError::Refused(line.to_owned())),
    }
}

/// Checks that the engine accepts connections; the connection is reset before sending
/// anything, so the engine applies nothing.
async fn probe(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let s = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| format!("no connection within {timeout:?}"))?
        .map_err(|e| e.to_string())?;
    // SO_LINGER 0: closing sends RST, which the engine reads as an aborted transaction.
    let _ = s.set_zero_linger();
    drop(s);
    Ok(())
}
