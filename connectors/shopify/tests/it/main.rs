//! The crate's integration tests, one module a subject, linked into one test binary:
//! one binary instead of one a file keeps the build's disk use and link time down.

mod common;

mod catalog;
mod catalog_source;
mod client_emulator;
mod edit;
mod fixtures;
mod sink;
mod webhooks;
