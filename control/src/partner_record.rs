//! What a replicated control keeps in etcd of each partner (`<prefix>/state/partners/<name>`,
//! spec §8): its last alert and the wall-clock time it came, so that a new leader knows a
//! partner said `Unavailable` before the failover. A later successful poll clears it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use broker_config::status::Alert;
use serde::{Deserialize, Serialize};

/// One partner's stored record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PartnerRecord {
    /// The last alert's body (`<cdn> <report>`), until a later poll succeeded.
    pub(crate) alert: Option<String>,
    /// When it was written, milliseconds since the Unix epoch.
    pub(crate) at_unix_ms: u64,
}

impl PartnerRecord {
    /// A record of `alert`, now.
    pub(crate) fn alert(alert: &Alert) -> Self {
        Self {
            alert: Some(alert.to_string()),
            at_unix_ms: unix_ms(),
        }
    }

    /// A record saying the last alert no longer holds.
    pub(crate) fn cleared() -> Self {
        Self {
            alert: None,
            at_unix_ms: unix_ms(),
        }
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The record in `bytes`, or why it is not one (it is then ignored, never applied).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }

    /// The stored alert, if any, with its age now.
    pub(crate) fn pending_alert(&self) -> Option<Result<(Alert, Duration), String>> {
        let text = self.alert.as_ref()?;
        let age = Duration::from_millis(unix_ms().saturating_sub(self.at_unix_ms));
        Some(
            Alert::parse(text.as_bytes())
                .map(|a| (a, age))
                .map_err(|e| e.to_string()),
        )
    }
}

fn unix_ms() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_with_its_alert() {
        let alert = Alert::parse(b"G Unavailable").unwrap();
        let bytes = PartnerRecord::alert(&alert).to_bytes();
        let back = PartnerRecord::parse(&bytes).unwrap();
        let (again, age) = back.pending_alert().unwrap().unwrap();
        assert_eq!(again, alert);
        assert!(age < Duration::from_secs(5), "{age:?}");
        assert!(PartnerRecord::cleared().pending_alert().is_none());
        assert!(PartnerRecord::parse(b"{\"alert\": 3}").is_err());
    }
}
