//! Where each thing lives under `[cluster] prefix` (spec §8). One place, so that the
//! layout reads at a glance:
//!
//! | key | what |
//! |---|---|
//! | `<prefix>/leader` | the control leader's [`crate::LeaderInfo`], on its lease; its create revision is the epoch |
//! | `<prefix>/plan` | the published plan ([`crate::PlanDoc`], JSON) |
//! | `<prefix>/blobs/<digest>/<n>` | large texts (region tables, the §2 seed files) in chunks, written once |
//! | `<prefix>/state/seed` | the §2 files the state started from ([`crate::Seed`]) |
//! | `<prefix>/state/journal/<seq>` | run-time inputs since the seed, in order ([`crate::Entry`]) |
//! | `<prefix>/state/partners/<name>` | what the leader knows of a partner's reports and alerts |
//! | `<prefix>/inbox/<id>` | alerts a follower accepted, for the leader (short lease) |
//! | `<prefix>/members/<role>/<address>` | a registered engine, proxy or edge ([`crate::MemberInfo`]), on its lease |

/// The keys of one prefix.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.trim_end_matches('/').to_owned(),
        }
    }
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }
    pub(crate) fn leader(&self) -> String {
        format!("{}/leader", self.prefix)
    }
    pub(crate) fn plan(&self) -> String {
        format!("{}/plan", self.prefix)
    }
    pub(crate) fn blob_dir(&self, digest: &str) -> String {
        format!("{}/blobs/{digest}/", self.prefix)
    }
    pub(crate) fn blob_chunk(&self, digest: &str, n: usize) -> String {
        format!("{}/blobs/{digest}/{n:05}", self.prefix)
    }
    pub(crate) fn blobs(&self) -> String {
        format!("{}/blobs/", self.prefix)
    }
    pub(crate) fn seed(&self) -> String {
        format!("{}/state/seed", self.prefix)
    }
    pub(crate) fn journal_dir(&self) -> String {
        format!("{}/state/journal/", self.prefix)
    }
    pub(crate) fn journal(&self, seq: u64) -> String {
        format!("{}/state/journal/{seq:016}", self.prefix)
    }
    pub(crate) fn partners_dir(&self) -> String {
        format!("{}/state/partners/", self.prefix)
    }
    pub(crate) fn partner(&self, name: &str) -> String {
        format!("{}/state/partners/{name}", self.prefix)
    }
    pub(crate) fn inbox_dir(&self) -> String {
        format!("{}/inbox/", self.prefix)
    }
    pub(crate) fn members_dir(&self) -> String {
        format!("{}/members/", self.prefix)
    }
    pub(crate) fn member(&self, role: &str, address: &str) -> String {
        format!("{}/members/{role}/{address}", self.prefix)
    }
}
