//! broker-cluster: the etcd side of many-host deployments (spec §8), and the only crate
//! that speaks to etcd.
//!
//! A CDN runs many DNS engines, front proxies and edges, and several replicas of its
//! control component; etcd is their one shared store (not a store or consensus of our
//! own). What lives where under `[cluster] prefix` is listed in [`keys`]:
//!
//! - [`election`]: control replicas elect one leader on a lease; the leader key's create
//!   revision is the **epoch** that fences the leader's transactions to engines (§1
//!   `EPOCH`) and its writes to etcd; a leader whose lease may have run out stops at once.
//! - [`state`]: the control's run-time inputs (the §2 files as a seed, then a journal of
//!   accepted operator inputs, and what is known of each partner), written before they
//!   are acknowledged, so a new leader starts from exactly the old one's state.
//! - [`publish`] / [`plan_follower`]: the leader publishes each plan with the routing
//!   tables as one JSON document ([`plan_doc`]); proxies and edges on other hosts follow
//!   it into the same `ArcSwap` handles an in-process control feeds. The region table
//!   is a blob ([`blobs`]) written only when it changes.
//! - [`members`]: engines, proxies and edges register on leases, with the plan generation
//!   each serves; the leader drives every registered engine.
//! - [`follow`]: the one watch loop all of these use, resyncing after compaction and
//!   dead streams, keeping the last state while etcd is away.
//!
//! ```no_run
//! # async fn f(role: &broker_config::deploy::ClusterRole) -> Result<(), broker_cluster::ClusterError> {
//! use broker_cluster::{Cluster, LeaderInfo, campaign};
//! use tokio_util::sync::CancellationToken;
//!
//! let cluster = Cluster::connect(role).await?; // an error names the endpoints
//! let shutdown = CancellationToken::new();
//! let info = LeaderInfo { replica: "C@host-a".into(), ..LeaderInfo::default() };
//! if let Some(leader) = campaign(&cluster, &info, &shutdown).await {
//!     println!("leading with epoch {}", leader.epoch());
//! }
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod blobs;
mod connection;
pub mod election;
mod error;
pub mod follow;
pub mod inbox;
pub mod keys;
pub mod members;
pub mod plan_doc;
pub mod plan_follower;
pub mod publish;
pub mod state;

pub use connection::Cluster;
pub use election::{LeaderInfo, Leadership, campaign, current_leader};
pub use error::ClusterError;
pub use members::{MemberInfo, MemberRole, Members, register, watch_members};
pub use plan_doc::PlanDoc;
pub use plan_follower::{PlanTargets, follow_plan};
pub use publish::{Publication, Publisher, Written, current_plan};
pub use state::{Entry, Seed, SeedTexts, StoredState};
