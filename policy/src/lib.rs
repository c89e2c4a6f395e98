//! placeholder
pub mod cluster;
pub mod region_table;
pub mod weighted;
pub mod balance;
pub mod dns_tables;
pub mod model;
pub mod plan;
