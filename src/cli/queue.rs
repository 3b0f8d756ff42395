//! `dealbridge queue list|retry|drop`.

use crate::app::open_store;
use clap::Subcommand;
use dealbridge_store::{JobFilter, JobState};
use std::path::Path;
use std::str::FromStr;

/// Queue subcommands.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// List jobs, newest first.
    List {
        /// Only jobs in this state: pending, running, done, dead, dropped.
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Put a dead (or dropped) job back in the queue, to run now.
    Retry {
        /// Job id.
        id: i64,
    },
    /// Take a pending or dead job out of the queue for good (it stays listed as dropped).
    Drop {
        /// Job id.
        id: i64,
        /// Why, for the record.
        #[arg(long, default_value = "dropped by operator")]
        reason: String,
    },
}

/// Runs a queue subcommand.
pub async fn queue(config: &Path, cmd: &QueueCommand) -> anyhow::Result<u8> {
    let store = open_store(config).await?;
    let q = store.queue();
    let code = match cmd {
        QueueCommand::List { state, limit, json } => {
            let states = match state {
                Some(s) => vec![JobState::from_str(s).map_err(|_| {
                    anyhow::anyhow!(
                        "unknown job state `{s}`; use pending, running, done, dead or dropped"
                    )
                })?],
                None => vec![],
            };
            let jobs = q
                .list(&JobFilter {
                    states,
                    limit: *limit,
                    ..JobFilter::default()
                })
                .await?;
            if *json {
                let rows: Vec<_> = jobs
                    .iter()
                    .map(|j| {
                        serde_json::json!({
                            "id": j.id, "state": j.state.as_str(), "kind": j.kind, "target": j.target,
                            "key": j.coalesce_key, "attempts": j.attempts, "max_attempts": j.max_attempts,
                            "run_at": j.run_at.to_rfc3339(), "last_error": j.last_error,
                            "last_error_kind": j.last_error_kind,
                            "lease_owner": j.lease_owner,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if jobs.is_empty() {
                println!("no jobs");
            } else {
                println!(
                    "{:>6}  {:<8} {:>8}  {:<28} last error",
                    "id", "state", "attempts", "key"
                );
                for j in &jobs {
                    println!(
                        "{:>6}  {:<8} {:>8}  {:<28} {}",
                        j.id,
                        j.state.as_str(),
                        format!("{}/{}", j.attempts, j.max_attempts),
                        j.coalesce_key,
                        j.last_error.as_deref().unwrap_or("")
                    );
                }
            }
            super::exit::OK
        }
        QueueCommand::Retry { id } => {
            if q.retry(*id).await? {
                println!("job {id} queued again");
                super::exit::OK
            } else {
                eprintln!("job {id} is not dead or dropped (or does not exist); nothing changed");
                super::exit::FAILURE
            }
        }
        QueueCommand::Drop { id, reason } => {
            if q.drop_job(*id, reason).await? {
                println!("job {id} dropped");
                super::exit::OK
            } else {
                eprintln!("job {id} is not pending or dead (or does not exist); nothing changed");
                super::exit::FAILURE
            }
        }
    };
    store.close().await;
    Ok(code)
}
