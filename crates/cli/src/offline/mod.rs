//! The offline side of the catalog: reading RecBole atomic datasets
//! ([`dataset`]), training the sequence model ([`train`]) and building the
//! checksummed catalog bundle ([`build`]) that the browser loads.

pub mod build;
pub mod dataset;
pub mod train;
