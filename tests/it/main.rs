//! The crate's integration tests, one module a subject, linked into one test binary:
//! one binary instead of one a file keeps the build's disk use and link time down.

mod common;

mod alerts;
mod bitrix24_oauth;
mod catalog_sync;
mod cli;
mod client_layer;
mod config_check;
mod console_errors;
mod console_pages;
mod logs;
mod metrics;
mod metrics_families;
mod onec_exchange;
mod onec_import;
mod onec_quality;
mod onec_run;
mod onec_split;
mod orders_to_amocrm;
mod orders_to_deals;
mod payments;
mod reconcile;
mod scale_out;
mod schedule;
mod shopify_to_bitrix24;
mod supervision;
mod two_way;
mod webhooks;
