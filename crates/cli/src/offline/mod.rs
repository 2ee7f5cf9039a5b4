//! The offline side of the catalog: reading RecBole atomic datasets
//! ([`dataset`]) or an app's own item and interaction files
//! ([`record_files`], [`from_records`], images by [`images`]), training the
//! sequence model ([`train`]) and building the checksummed catalog bundle
//! ([`build`]) that the browser loads.

pub mod build;
pub mod dataset;
pub mod from_records;
pub mod images;
mod record_csv;
pub mod record_files;
pub mod train;
