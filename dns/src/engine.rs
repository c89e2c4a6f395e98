//! The engine's shared state: the current snapshot behind one atomic pointer, and the
//! commit path that replaces it.
//!
//! Queries call [`Engine::snapshot`] once and answer from that snapshot to the end. A
//! commit (one at a time, behind an async mutex that queries never touch) parses the
//! transaction, applies it to a copy of the plain tables (`Tables::apply` holds every rule
//! of spec §1), compiles the copy into a new snapshot on a blocking thread and stores it:
//! a failed commit leaves everything as it was.

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
        let tables = control.tables.clone();
        let generation = control.generation + 1;
        let me = Arc::clone(self);
        // Parsing and compiling a million prefixes takes a while: keep it off the workers
        // that answer queries.
        let built = tokio::task::spawn_blocking(move || -> Result<_, CommitError> {
            let tx = Transaction::parse_bytes(&text)?;
            if !me.triangle_allowed {
                refuse_triangles(&tx)?;
            }
            let mut tables = tables;
            tables.apply(&tx)?;
            let snap = Snapshot::build(generation, &me.settings, &tables)?;
            Ok((tables, snap))
        })
        .await
        .expect("the commit task does not panic");
        let (tables, snap) = built?;
        self.snapshot.store(Arc::new(snap));
        control.tables = tables;
        control.generation = generation;
        let took = start.elapsed();
        tracing::info!(generation, ?took, "transaction committed");
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
