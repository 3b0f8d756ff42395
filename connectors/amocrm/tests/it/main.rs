//! The crate's integration tests, one module a subject, linked into one test binary:
//! one binary instead of one a file keeps the build's disk use and link time down.

mod common;

mod catalog;
mod crm_flow;
mod fixtures;
mod leads;
mod limits_auth_faults;
mod reader_payments_webhooks_oauth;
mod throttling;
