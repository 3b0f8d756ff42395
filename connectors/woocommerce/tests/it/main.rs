//! The crate's integration tests, one module a subject, linked into one test binary:
//! one binary instead of one a file keeps the build's disk use and link time down.

mod catalog;
mod catalog_source;
mod client_emulator;
mod fixtures_catalog;
mod fixtures_convert;
mod sink;
mod throttling;
mod webhooks;
