//! broker-config: the vocabulary of cdnbroker.
//!
//! It holds the typed model of a deployment and one codec (parse and print) for every
//! format of `spec/protocols.md`: DNS control transactions (§1), the config agent files
//! (§2), load and management events (§3), status reports and alerts (§4), client
//! clustering output (§6) and the TOML deployment file (§7). Every parser reports the
//! first error as `LINE:COL: message` ([`ParseError`]) and never panics.
//!
//! It is the leaf of the crate graph: every other crate uses these types, none parses
//! these formats itself.
#![warn(missing_docs)]

pub mod agent_files;
pub mod cdn_file;
pub mod check;
pub mod customer_file;
pub mod deploy;
pub mod dnssec_key;
pub mod error;
pub mod events;
pub mod geo;
pub mod grammar;
pub mod lexer;
pub mod lookup_codec;
pub mod name;
mod prefix_hash;
pub mod region_list;
pub mod regions_file;
pub mod status;
pub mod tables;
pub mod transaction;
pub mod transaction_codec;

pub use agent_files::{AgentFile, AgentFileError, AgentFiles};
pub use cdn_file::{CdnDef, CdnFile, RegionCoverage};
pub use customer_file::{CustomerDef, CustomerFile};
pub use error::{ParseError, Pos};
pub use events::{Event, Events, Figure, ManagementBatch, Scope};
pub use name::{DnsName, Name};
pub use region_list::RegionList;
pub use regions_file::RegionsFile;
pub use tables::Tables;
pub use transaction::Transaction;
pub use transaction_codec::{EndDetector, epoch_line};
