//! The rewriter's [`UrlMapper`] for one page: origin-map's spec §5 encoding with the
//! partner picked for each offload group.

use std::sync::Arc;

use origin_map::Scheme;

use super::pick::Picks;
use super::plans::RewriteTally;
use super::sites::{CustomerRoute, PartnerRoute};
use crate::rewrite::UrlMapper;
use crate::rewrite::may_name_host;

/// Maps the URLs of one page.
pub(crate) struct FrontMapper {
    pub(crate) customer: Arc<CustomerRoute>,
    pub(crate) partners: Arc<[PartnerRoute]>,
    pub(crate) picks: Picks,
    /// The page's scheme: on an `https` page, `http` URLs become `https` partner URLs.
    pub(crate) page: Scheme,
    /// URLs rewritten per partner.
    pub(crate) tally: Arc<RewriteTally>,
}

impl FrontMapper {
    /// The offload keys this page's picks may map to.
    fn picked_hosts(&self) -> impl Iterator<Item = &origin_map::OriginKey> {
        self.customer
            .groups
            .iter()
            .zip(&self.picks)
            .filter(|(_, pick)| pick.is_some_and(|i| usize::from(i) < self.partners.len()))
            .flat_map(|(group, _)| group.hosts.iter())
    }
}

impl UrlMapper for FrontMapper {
    /// origin-map maps a URL when its canonical origin key is offloaded; an ASCII value
    /// without `%` can give one only if it holds the key's host name. IPv4 literals have
    /// other spellings (`0x7f.1`, `2130706433`): with one offloaded, every value may map.
    fn may_map(&self, value: &[u8]) -> bool {
        if self.picked_hosts().any(|key| key.is_ip()) {
            return true;
        }
        may_name_host(value, self.picked_hosts().map(|key| key.host()))
    }

    fn map_url(&self, url: &str, out: &mut String) -> bool {
        for (group, pick) in self.customer.groups.iter().zip(&self.picks) {
            let Some((i, partner)) = pick
                .map(usize::from)
                .and_then(|i| Some((i, self.partners.get(i)?)))
            else {
                continue;
            };
            if partner.form.encode_into(url, self.page, &group.hosts, out) {
                self.tally.add(i, 1);
                return true;
            }
        }
        false
    }
}
