//! The policy core of cdnbroker, sans I/O: the region table (longest-prefix match, IPv4
//! and IPv6), the model of CDNs and customers with the seed's control operations, the
//! load-balancing algorithm ([`balance`]) that makes an immutable [`plan::Plan`], the DNS
//! tables a plan becomes ([`dns_tables`]), the plan as the data path reads it ([`live`])
//! and the routing tables beside it ([`routing`]), weighted picks and client clustering
//! ([`cluster`]).
pub mod balance;
pub mod cluster;
pub mod dns_tables;
pub mod live;
pub mod model;
pub mod plan;
pub mod plan_parts;
pub mod region_table;
pub mod routing;
pub mod weighted;
