//! `dealbridge status [--json]`.

use crate::app::open_store;
use crate::status::StatusReport;
use std::path::Path;

/// Prints the status report.
pub async fn status(config: &Path, json: bool) -> anyhow::Result<u8> {
    let store = open_store(config).await?;
    let report = StatusReport::gather(&store).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    store.close().await;
    Ok(super::exit::OK)
}
