//! The rewriter's [`UrlMapper`] for one page: origin-map's spec §5 encoding with the
//! partner picked for each offload group.

use std::sync::Arc;

use origin_map::Scheme;

use super::pick::Picks;
use super::plans::RewriteTally;
use super::sites::{CustomerRoute, PartnerRoute};
use crate::rewrite::UrlMapper;

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

impl UrlMapper for FrontMapper {
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
