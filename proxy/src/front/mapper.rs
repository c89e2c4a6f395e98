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

#[cfg(test)]
mod tests {
    use broker_config::Name;
    use origin_map::{OffloadHosts, PartnerForm};
    use prometheus_client::metrics::counter::Counter;

    use super::*;
    use crate::front::sites::OffloadGroup;

    /// A page's mapper offloading `hosts` (one group) to an embedded-form partner, or
    /// to no partner when `picked` is false.
    fn mapper(hosts: &[&str], picked: bool) -> FrontMapper {
        let partner = PartnerRoute {
            name: Name::new("g").expect("a valid name"),
            form: PartnerForm::embedded("foo.cdn-g.example").expect("a valid form"),
            form_kind: "embedded",
            form_digest: 0,
            rewrites: Counter::default(),
            pages: Counter::default(),
        };
        let partners: Arc<[PartnerRoute]> = Arc::from(vec![partner]);
        let group = OffloadGroup {
            plan_keys: Vec::new(),
            hosts: OffloadHosts::new(hosts).expect("valid hosts"),
            digest: 0,
        };
        FrontMapper {
            customer: Arc::new(CustomerRoute {
                groups: vec![group],
            }),
            tally: Arc::new(RewriteTally::new(Arc::clone(&partners))),
            partners,
            picks: vec![picked.then_some(0)],
            page: Scheme::Http,
        }
    }

    /// The prefilter's answer, checked against the mapper: `false` must mean no URL of
    /// the value maps.
    fn may_map(m: &FrontMapper, value: &str) -> bool {
        let may = m.may_map(value.as_bytes());
        let mut out = String::new();
        assert!(
            may || !m.map_url(value, &mut out),
            "{value}: maps, prefilter says no"
        );
        may
    }

    #[test]
    fn prefilter_looks_for_the_offloaded_host_names() {
        let m = mapper(&["img.xyz.com", "img.xyz.com:8080"], true);
        assert!(may_map(&m, "http://img.xyz.com/a"));
        let mut out = String::new();
        assert!(
            m.map_url("//IMG.XYZ.com:8080/a", &mut out),
            "the mapper maps"
        );
        assert!(may_map(&m, "//IMG.XYZ.com:8080/a"));
        assert!(may_map(&m, "http://img.xyz.com.:80/a"));
        // Spellings that canonicalise to the host without naming it.
        assert!(may_map(&m, "http://img%2Exyz.com/a"));
        assert!(may_map(&m, "http://\u{0130}mg.xyz.com/a"));
        assert!(!may_map(&m, "http://www.xyz.com/img.xyz/com"));
        assert!(!may_map(&m, "//cdn.example/a 1x, //cdn.example/b 2x"));
    }

    #[test]
    fn prefilter_passes_everything_with_an_ip_literal_offloaded() {
        let m = mapper(&["img.xyz.com", "127.0.0.1"], true);
        // Other spellings of 127.0.0.1 map.
        let mut out = String::new();
        assert!(m.map_url("http://0x7f.1/a", &mut out), "the mapper maps");
        assert!(may_map(&m, "http://2130706433/a"));
        assert!(may_map(&m, "http://0x7f.1/a"));
        assert!(may_map(&m, "http://other.example/a"));
    }

    #[test]
    fn prefilter_ignores_groups_without_a_partner() {
        let m = mapper(&["img.xyz.com"], false);
        assert!(!may_map(&m, "http://img.xyz.com/a"));
        let m = mapper(&["127.0.0.1"], false);
        assert!(!may_map(&m, "http://127.0.0.1/a"));
    }
}
