//! Which CDN serves a page's offloadable content: per offload group, the plan's pick for
//! (client address, plan customer), or the partner of the special port the request came
//! in on. A pick of this CDN, of a CDN we have no `[[partner]]` for, or of nothing (an
//! unknown customer, an empty cell) leaves the URLs as they are.

use std::net::IpAddr;

use broker_config::Name;
use broker_policy::live::LivePlan;

use super::sites::{CustomerRoute, PartnerRoute};

/// The partner (index into the partner routes) each offload group goes to; `None`: stays
/// with us.
pub(crate) type Picks = Vec<Option<u16>>;

/// Picks for every group of `customer`. `forced`: the special port's partner.
pub(crate) fn choose(
    live: &LivePlan,
    customer: &CustomerRoute,
    client: IpAddr,
    node: &Name,
    partners: &[PartnerRoute],
    forced: Option<u16>,
) -> Picks {
    customer
        .groups
        .iter()
        .map(|group| {
            if forced.is_some() {
                return forced;
            }
            // The first key the plan knows; stable per (client, key) while it is unchanged.
            let key = group
                .plan_keys
                .iter()
                .find(|k| live.plan().group_of(k).is_some())?;
            let cdn = live.pick(key, client).cdn?;
            if cdn == node {
                return None;
            }
            partners
                .iter()
                .position(|p| p.name == *cdn)
                .and_then(|i| u16::try_from(i).ok())
        })
        .collect()
}
