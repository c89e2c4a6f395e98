//! placeholder
pub mod balance;
pub mod cluster;
pub mod dns_tables;
pub mod model;
pub mod plan;
pub mod region_table;
pub mod weighted;
