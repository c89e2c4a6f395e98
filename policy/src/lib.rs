//! placeholder
pub mod region_table;
pub mod weighted;
