//! The engine's shared state: the current snapshot behind one atomic pointer, and the
//! commit path that replaces it.
//!
//! Queries call [`Engine::snapshot`] once and answer from that snapshot to the end. A
//! commit (one at a time, behind an async mutex that queries never touch) parses the
//! transaction, applies it to a copy of the plain tables (`Tables::apply` holds every rule
//! of spec §1), compiles the copy into a new snapshot on a blocking thread and stores it:
//! a failed commit leaves everything as it was. A commit that changes no region reuses the
//! current snapshot's compiled regions (see [`Snapshot::rebuild`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, Guard};
use broker_config::transaction::{Lookup, Statement};
use broker_config::{ParseError, Pos, Tables, Transaction};
use tokio::sync::Mutex;

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
}

impl CommitError {
    /// The control port's answer line for this error, without the line end.
    pub fn reply_line(&self) -> String {
        match self {
            Self::Invalid(e) => format!("ERR {}:{} {}", e.pos.line, e.pos.col, e.message),
            Self::Build(e) => format!("ERR 1:1 {e}"),
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

struct ControlState {
    tables: Tables,
    generation: u64,
}

/// The engine: current snapshot, settings, and the commit path.
pub struct Engine {
    snapshot: ArcSwap<Snapshot>,
    settings: Settings,
    triangle_allowed: bool,
    control: Mutex<ControlState>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("generation", &self.snapshot.load().generation())
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
            control: Mutex::new(ControlState {
                tables: Tables::new(),
                generation: 0,
            }),
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

    /// Parses, validates and commits a whole transaction atomically.
    pub async fn commit(self: &Arc<Self>, text: Vec<u8>) -> Result<Committed, CommitError> {
        let mut control = self.control.lock().await;
        let start = Instant::now();
        // The current snapshot was compiled from exactly these tables (both change only
        // here, under the lock).
        let built_from = control.tables.clone();
        let prev = self.snapshot_full();
        let generation = control.generation + 1;
        let me = Arc::clone(self);
        // Parsing and compiling a million prefixes takes a while: keep it off the workers
        // that answer queries.
        let built = tokio::task::spawn_blocking(move || -> Result<_, CommitError> {
            let tx = Transaction::parse_bytes(&text)?;
            if !me.triangle_allowed {
                refuse_triangles(&tx)?;
            }
            let mut tables = built_from.clone();
            tables.apply(&tx)?;
            let snap = prev.rebuild(&built_from, generation, &me.settings, &tables)?;
            let regions = if Arc::ptr_eq(prev.regions(), snap.regions()) {
                "kept"
            } else {
                "rebuilt"
            };
            Ok((tables, snap, regions))
        })
        .await
        .expect("the commit task does not panic");
        let (tables, snap, regions) = built?;
        let old = self.snapshot.swap(Arc::new(snap));
        control.tables = tables;
        control.generation = generation;
        let took = start.elapsed();
        tracing::info!(generation, ?took, regions, "transaction committed");
        // Freeing a replaced million-prefix trie takes a while too: not on a query worker.
        drop(tokio::task::spawn_blocking(move || drop(old)));
        Ok(Committed { generation, took })
    }

    /// The current generation (commits so far).
    pub fn generation(&self) -> u64 {
        self.snapshot.load().generation()
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
}
