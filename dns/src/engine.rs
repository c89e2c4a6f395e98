//! The engine's shared state: the current snapshot behind one atomic pointer, and the
//! commit path that replaces it.
//!
//! Queries call [`Engine::snapshot`] once and answer from that snapshot to the end. A
//! commit (one at a time, behind an async mutex that queries never touch) parses the
//! transaction, applies it to a copy of the plain tables (`Tables::apply` holds every rule
//! of spec §1), compiles the copy into a new snapshot on a blocking thread and stores it:
//! a failed commit leaves everything as it was. A commit that changes no region reuses the
//! current snapshot's compiled regions (see [`Snapshot::rebuild`]).
//!
//! Fencing (spec §1, §8): the engine remembers the highest epoch it has committed, with
//! the tables under the same lock, so the check, the commit and the raise are one step. A
//! transaction whose `EPOCH` is lower is refused ([`CommitError::StaleEpoch`]); once an
//! epoch has committed, a transaction without one is refused
//! ([`CommitError::EpochRequired`]); an equal or higher epoch raises it only when its
//! transaction commits. `RESET!` empties the tables and keeps the epoch; a new engine has
//! none.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::{ArcSwap, Guard};
use broker_config::transaction::{Lookup, Statement};
use broker_config::{ParseError, Pos, Tables, Transaction};
use tokio::sync::Mutex;

use crate::dnssec::{KeyError, SigCache, Window, ZoneKeys};
use crate::snapshot::{BuildError, Settings, Snapshot};

/// Why a transaction was not committed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// The text or its meaning is wrong (`LINE:COL: message`).
    #[error(transparent)]
    Invalid(#[from] ParseError),
    /// The tables could not be compiled (an engine bug: `Tables` validated them).
    #[error("cannot compile the tables: {0}")]
    Build(#[from] BuildError),
    /// The transaction's `EPOCH` is below the highest epoch committed: its sender lost
    /// its leadership (spec §1, "Fencing").
    #[error("stale epoch {epoch} (engine at {current})")]
    StaleEpoch {
        /// The transaction's epoch.
        epoch: u64,
        /// The highest epoch committed.
        current: u64,
    },
    /// An epoch has committed and the transaction has no `EPOCH`.
    #[error("epoch required (engine at {current})")]
    EpochRequired {
        /// The highest epoch committed.
        current: u64,
    },
    /// The `[dns] dnssec` keys cannot sign the tables (spec §10).
    #[error("dnssec: {0}")]
    Keys(#[from] KeyError),
    /// Validating or compiling panicked (a bug): nothing was applied, the engine serves
    /// on from its previous state (spec §11).
    #[error("internal error while committing: nothing applied")]
    Panicked,
}

impl CommitError {
    /// The control port's answer line for this error, without the line end.
    pub fn reply_line(&self) -> String {
        match self {
            Self::Invalid(e) => format!("ERR {}:{} {}", e.pos.line, e.pos.col, e.message),
            Self::Build(_)
            | Self::StaleEpoch { .. }
            | Self::EpochRequired { .. }
            | Self::Keys(_)
            | Self::Panicked => {
                format!("ERR 1:1 {self}")
            }
        }
    }
}

/// A committed transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Committed {
    /// The new generation.
    pub generation: u64,
    /// Time spent applying and compiling (not reading).
    pub took: Duration,
}

/// What only the commit path changes, under one lock: the tables the current snapshot
/// was compiled from, its generation, and the highest epoch committed.
struct ControlState {
    tables: Tables,
    generation: u64,
    epoch: Option<u64>,
}

/// Online signing (spec §10): where the keys are and how long signatures last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dnssec {
    /// The folder of key pairs in BIND's format, read at every commit.
    pub folder: PathBuf,
    /// Validity of each signature, days; they are renewed at half of it.
    pub signature_days: u32,
}

/// The engine: current snapshot, settings, and the commit path.
pub struct Engine {
    snapshot: ArcSwap<Snapshot>,
    settings: Settings,
    triangle_allowed: bool,
    dnssec: Option<Dnssec>,
    control: Mutex<ControlState>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let snap = self.snapshot.load();
        f.debug_struct("Engine")
            .field("generation", &snap.generation())
            .field("epoch", &snap.epoch())
            .finish()
    }
}

impl Engine {
    /// An engine with empty tables. `triangle_allowed` says whether `T:` lookups can be
    /// carried out (raw sockets); when false, transactions using them are refused.
    pub fn new(settings: Settings, triangle_allowed: bool) -> Self {
        Self {
            snapshot: ArcSwap::from_pointee(Snapshot::empty(&settings)),
            settings,
            triangle_allowed,
            dnssec: None,
            control: Mutex::new(ControlState {
                tables: Tables::new(),
                generation: 0,
                epoch: None,
            }),
        }
    }

    /// This engine signing the zones its keys name (spec §10). The folder is read now,
    /// so that a bad key or an unreadable folder stops the start with a clear error; it
    /// is read again at every commit (keys added or removed take effect then).
    pub fn with_dnssec(mut self, dnssec: Dnssec) -> Result<Self, KeyError> {
        ZoneKeys::read(&dnssec.folder)?;
        self.dnssec = Some(dnssec);
        Ok(self)
    }

    /// `snap` signed with the keys of the folder, when the engine signs: the window of
    /// `prev` (and its signatures) holds until half of it has passed.
    fn sign(
        &self,
        snap: Snapshot,
        tables: &Tables,
        prev: &Snapshot,
        now: u64,
    ) -> Result<Snapshot, KeyError> {
        let Some(d) = &self.dnssec else {
            return Ok(snap);
        };
        let keys = ZoneKeys::read(&d.folder)?;
        keys.check_bound(tables)?;
        let previous = &prev.signing().cache;
        let window = match prev.signing().window {
            Some(w) if !w.needs_renewal(now) => w,
            _ => Window::starting(now, d.signature_days),
        };
        let snap = snap.signed(Arc::new(keys), window, previous);
        for gap in snap.signing_gaps() {
            tracing::warn!("dnssec: {gap}");
        }
        Ok(snap)
    }

    /// Signs the current tables anew when half of the signatures' validity has passed at
    /// `now` (seconds since the epoch), with the keys of the last commit; returns whether
    /// it did. Answers keep coming from the old snapshot until the new one is stored.
    pub async fn renew_signatures_at(self: &Arc<Self>, now: u64) -> bool {
        let Some(d) = self.dnssec.clone() else {
            return false;
        };
        let control = self.control.lock().await;
        let prev = self.snapshot_full();
        if !prev.signing().window.is_some_and(|w| w.needs_renewal(now)) {
            return false;
        }
        let tables = control.tables.clone();
        let me = Arc::clone(self);
        let built = tokio::task::spawn_blocking(move || {
            let keys = Arc::clone(&prev.signing().keys);
            let snap = prev
                .rebuild(&tables, prev.generation(), &me.settings, &tables)
                .map(|s| s.with_epoch(prev.epoch()));
            snap.map(|s| {
                s.signed(
                    keys,
                    Window::starting(now, d.signature_days),
                    &SigCache::new(),
                )
            })
        })
        .await
        .expect("the signing task does not panic");
        match built {
            Ok(snap) => {
                let old = self.snapshot.swap(Arc::new(snap));
                drop(control);
                tracing::info!(generation = old.generation(), "signatures renewed");
                drop(tokio::task::spawn_blocking(move || drop(old)));
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "signatures not renewed");
                false
            }
        }
    }

    /// Renews signatures before they run out (see [`Self::renew_signatures_at`]),
    /// checking every hour, until `shutdown`.
    pub async fn keep_signatures_fresh(
        self: Arc<Self>,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        if self.dnssec.is_none() {
            return;
        }
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            }
            self.renew_signatures_at(unix_now()).await;
        }
    }

    /// The current snapshot; hold the guard for one query.
    pub fn snapshot(&self) -> Guard<Arc<Snapshot>> {
        self.snapshot.load()
    }

    /// The current snapshot as an owned pointer (for work that outlives a query).
    pub fn snapshot_full(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// The settings answers are built with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Parses, validates and commits a whole transaction atomically; refuses it when its
    /// epoch is stale or missing (see the module docs).
    pub async fn commit(self: &Arc<Self>, text: Vec<u8>) -> Result<Committed, CommitError> {
        let mut control = self.control.lock().await;
        let start = Instant::now();
        // The current snapshot was compiled from exactly these tables (both change only
        // here, under the lock).
        let built_from = control.tables.clone();
        let prev = self.snapshot_full();
        let generation = control.generation + 1;
        let current_epoch = control.epoch;
        let me = Arc::clone(self);
        // Parsing and compiling a million prefixes takes a while: keep it off the workers
        // that answer queries.
        let built = tokio::task::spawn_blocking(move || -> Result<_, CommitError> {
            let tx = Transaction::parse_bytes(&text)?;
            let epoch = fence(&tx, current_epoch)?;
            if !me.triangle_allowed {
                refuse_triangles(&tx)?;
            }
            let mut tables = built_from.clone();
            tables.apply(&tx)?;
            let snap = prev
                .rebuild(&built_from, generation, &me.settings, &tables)?
                .with_epoch(epoch);
            let signing = Instant::now();
            let snap = me.sign(snap, &tables, &prev, unix_now())?;
            let signing = signing.elapsed();
            let regions = if Arc::ptr_eq(prev.regions(), snap.regions()) {
                "kept"
            } else {
                "rebuilt"
            };
            Ok((tables, snap, regions, epoch, signing))
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "commit task panicked; previous state kept");
            CommitError::Panicked
        });
        let (tables, snap, regions, epoch, signing) = built??;
        let old = self.snapshot.swap(Arc::new(snap));
        control.tables = tables;
        control.generation = generation;
        control.epoch = epoch;
        let took = start.elapsed();
        tracing::info!(
            generation,
            ?epoch,
            ?took,
            ?signing,
            regions,
            "transaction committed"
        );
        // Freeing a replaced million-prefix trie takes a while too: not on a query worker.
        drop(tokio::task::spawn_blocking(move || drop(old)));
        Ok(Committed { generation, took })
    }

    /// The current generation (commits so far).
    pub fn generation(&self) -> u64 {
        self.snapshot.load().generation()
    }

    /// The highest epoch committed, `None` until a transaction with `EPOCH` commits.
    pub fn epoch(&self) -> Option<u64> {
        self.snapshot.load().epoch()
    }
}

/// Seconds since the epoch, for signature windows.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The epoch the engine holds once `tx` commits, or why `tx` may not commit while the
/// engine holds `current` (spec §1, "Fencing").
fn fence(tx: &Transaction, current: Option<u64>) -> Result<Option<u64>, CommitError> {
    match (tx.epoch.as_ref().map(|e| e.value), current) {
        (Some(epoch), Some(current)) if epoch < current => {
            Err(CommitError::StaleEpoch { epoch, current })
        }
        (None, Some(current)) => Err(CommitError::EpochRequired { current }),
        (epoch, _) => Ok(epoch),
    }
}

fn refuse_triangles(tx: &Transaction) -> Result<(), ParseError> {
    let triangle = |choices: &[broker_config::transaction::Weighted]| {
        choices
            .iter()
            .any(|w| matches!(w.lookup, Lookup::Triangle(_)))
    };
    for st in &tx.statements {
        let pos: Option<Pos> = match &st.value {
            Statement::AddCoverage(def) => def
                .entries
                .iter()
                .find(|(_, a)| triangle(&a.choices))
                .map(|(region, _)| region.pos),
            Statement::UpdateCoverage { region, action, .. } if triangle(&action.choices) => {
                Some(region.pos)
            }
            _ => None,
        };
        if let Some(pos) = pos {
            return Err(ParseError::new(
                pos,
                "T: (triangle) needs raw sockets (CAP_NET_RAW), which this engine does not have; use R: (relay) or N: instead",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLES: &str = "ADD REG FRANCE { 198.54.234.0, 23; }!
ADD CVG two { FRANCE, [1 = A:192.0.2.10;]; DEFAULT, [1 = A:192.0.2.20;]; }!
ADD CST img.xyz.com { two; }!
";

    fn label(snap: &Snapshot, addr: [u8; 4]) -> String {
        let region = snap.region_of(addr.into()).region;
        let entry = snap.entry(0, region).expect("an entry");
        snap.choice(entry.other.pick(0)).label.to_string()
    }

    #[tokio::test]
    async fn commits_keep_the_regions_until_one_changes_them_and_a_failure_keeps_all() {
        let engine = Arc::new(Engine::new(Settings::default(), false));
        engine.commit(TABLES.into()).await.unwrap();
        let first = engine.snapshot_full();
        let update = "UPDATE CVG two, FRANCE : [1 = A:192.0.2.30;]!";
        engine.commit(update.into()).await.unwrap();
        let second = engine.snapshot_full();
        assert!(Arc::ptr_eq(first.regions(), second.regions()));
        assert_eq!(label(&second, [198, 54, 235, 1]), "192.0.2.30");
        assert_eq!(label(&second, [10, 0, 0, 1]), "192.0.2.20");
        // Refused midway: the snapshot in force stays, regions and all.
        let bad = "ADD REG SPAIN { 10.0.0.0, 8; }!\nUPDATE CVG nope, DEFAULT : [1 = A:192.0.2.1;]!";
        assert!(engine.commit(bad.into()).await.is_err());
        assert!(Arc::ptr_eq(&engine.snapshot_full(), &second));
        engine
            .commit("ADD REG SPAIN { 10.0.0.0, 8; }!".into())
            .await
            .unwrap();
        let third = engine.snapshot_full();
        assert!(!Arc::ptr_eq(second.regions(), third.regions()));
        assert_eq!(
            &**third.region_name(third.region_of([10, 0, 0, 1].into()).region),
            "SPAIN"
        );
        assert_eq!(label(&third, [198, 54, 235, 1]), "192.0.2.30");
    }

    async fn reply(engine: &Arc<Engine>, text: &str) -> String {
        match engine.commit(text.into()).await {
            Ok(c) => format!("OK {}", c.generation),
            Err(e) => e.reply_line(),
        }
    }

    #[tokio::test]
    async fn epochs_fence_commits_and_rise_only_with_a_commit() {
        let engine = Arc::new(Engine::new(Settings::default(), false));
        // Before any epoch, transactions without one commit.
        assert_eq!(reply(&engine, TABLES).await, "OK 1");
        assert_eq!(engine.epoch(), None);
        assert_eq!(reply(&engine, &format!("EPOCH 5!\n{TABLES}")).await, "OK 2");
        assert_eq!(engine.epoch(), Some(5));
        let at_five = engine.snapshot_full();
        let update = "UPDATE CVG two, FRANCE : [1 = A:192.0.2.30;]!";
        assert_eq!(
            reply(&engine, &format!("EPOCH 3!\n{update}")).await,
            "ERR 1:1 stale epoch 3 (engine at 5)"
        );
        assert_eq!(
            reply(&engine, update).await,
            "ERR 1:1 epoch required (engine at 5)"
        );
        assert!(Arc::ptr_eq(&engine.snapshot_full(), &at_five));
        assert_eq!(reply(&engine, &format!("EPOCH 5!\n{update}")).await, "OK 3");
        assert_eq!(label(&engine.snapshot(), [198, 54, 235, 1]), "192.0.2.30");
        // A higher epoch whose transaction fails does not raise the epoch.
        let bad = "EPOCH 9!\nUPDATE CVG nope, DEFAULT : [1 = A:192.0.2.1;]!";
        assert!(reply(&engine, bad).await.starts_with("ERR 2:"));
        assert_eq!(engine.epoch(), Some(5));
        assert_eq!(reply(&engine, "EPOCH 6!\nRESET!").await, "OK 4");
        // RESET! empties the tables, not the epoch.
        assert_eq!(engine.snapshot().customer_count(), 0);
        assert_eq!(engine.epoch(), Some(6));
        assert_eq!(
            reply(&engine, "EPOCH 5!\nRESET!").await,
            "ERR 1:1 stale epoch 5 (engine at 6)"
        );
        assert_eq!(engine.generation(), 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_commits_never_commit_an_epoch_below_one_committed_before() {
        let engine = Arc::new(Engine::new(Settings::default(), false));
        let mut tasks = tokio::task::JoinSet::new();
        for epoch in [
            7u64, 2, 19, 11, 0, 15, 3, 18, 5, 12, 1, 9, 16, 4, 13, 6, 17, 8, 14, 10,
        ] {
            let engine = Arc::clone(&engine);
            let text = format!("EPOCH {epoch}!\nADD REG R{epoch} {{ 10.{epoch}.0.0, 16; }}!");
            tasks.spawn(async move { (epoch, engine.commit(text.into_bytes()).await) });
        }
        let mut committed = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done.unwrap() {
                (epoch, Ok(c)) => committed.push((c.generation, epoch)),
                (epoch, Err(e)) => assert!(
                    matches!(e, CommitError::StaleEpoch { epoch: n, current } if n == epoch && current > epoch),
                    "{e}"
                ),
            }
        }
        committed.sort_unstable();
        // Generations are the commit order: epochs never go down along it.
        assert!(
            committed.windows(2).all(|w| w[0].1 <= w[1].1),
            "{committed:?}"
        );
        let generations: Vec<u64> = committed.iter().map(|c| c.0).collect();
        assert_eq!(
            generations,
            (1..=committed.len() as u64).collect::<Vec<_>>()
        );
        assert_eq!(committed.last().map(|c| c.1), Some(19));
        assert_eq!(engine.epoch(), Some(19));
    }

    #[test]
    fn fencing_refuses_lower_and_missing_epochs_only() {
        let tx = |text: &str| Transaction::parse(text).unwrap();
        assert_eq!(fence(&tx("RESET!"), None), Ok(None));
        assert_eq!(fence(&tx("EPOCH 0!"), None), Ok(Some(0)));
        assert_eq!(fence(&tx("EPOCH 4!"), Some(4)), Ok(Some(4)));
        assert_eq!(fence(&tx("EPOCH 9!"), Some(4)), Ok(Some(9)));
        assert_eq!(
            fence(&tx("EPOCH 3!"), Some(4)),
            Err(CommitError::StaleEpoch {
                epoch: 3,
                current: 4
            })
        );
        assert_eq!(
            fence(&tx("RESET!"), Some(0)),
            Err(CommitError::EpochRequired { current: 0 })
        );
    }
}
