//! `dealbridge queue list|retry|drop`: one job by id, or every job a filter matches (`--all`).
//! Bulk actions touch each job once, print how many they touched, are journalled (who, when,
//! what, how many) and do nothing more when repeated.

use crate::app::load_config;
use crate::config::Config;
use crate::sync::selection::{flow_of, ErrorFilter, Selection};
use clap::{Args, Subcommand};
use dealbridge_store::{Job, JobKind, JobState, Store};
use std::path::Path;
use std::str::FromStr;

/// Queue subcommands.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// List jobs, most recently changed first.
    List {
        /// Which jobs.
        #[command(flatten)]
        filter: FilterArgs,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Put a dead (or dropped) job back in the queue, to run now with the current config and
    /// mapping; or, with `--all`, every dead job the filters match.
    Retry {
        /// Job id (or `--all`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every job the filters match (default state: dead).
        #[arg(long)]
        all: bool,
        /// Which jobs, with `--all`.
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Take a pending or dead job out of the queue for good (it stays listed as dropped); or,
    /// with `--all`, every job the filters match (default state: dead).
    Drop {
        /// Job id (or `--all`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        /// Every job the filters match.
        #[arg(long)]
        all: bool,
        /// Which jobs, with `--all`.
        #[command(flatten)]
        filter: FilterArgs,
        /// Why, for the record.
        #[arg(long, default_value = "dropped by operator")]
        reason: String,
    },
}

/// The filters of `queue` commands.
#[derive(Debug, Args, Clone, Default)]
pub struct FilterArgs {
    /// Only jobs in this state: pending, running, done, dead, dropped.
    #[arg(long)]
    pub state: Option<String>,
    /// Only jobs of this flow (`[[flows]] name`).
    #[arg(long)]
    pub flow: Option<String>,
    /// Only jobs whose last failure is of this class: transient (network, 5xx, throttled),
    /// permanent (validation, mapping, auth, not found), or one failure code (e.g. auth).
    #[arg(long)]
    pub error_class: Option<String>,
    /// Only jobs of this kind: deal.upsert, deal.pull, deal.payments, alert.
    #[arg(long)]
    pub kind: Option<String>,
}

impl FilterArgs {
    /// The selection these flags describe; `default_state` applies when `--state` is absent.
    fn selection(
        &self,
        config: &Config,
        default_state: Option<JobState>,
    ) -> anyhow::Result<Selection> {
        let states = match &self.state {
            Some(s) => vec![JobState::from_str(s).map_err(|_| {
                anyhow::anyhow!(
                    "unknown job state `{s}`; use pending, running, done, dead or dropped"
                )
            })?],
            None => default_state.into_iter().collect(),
        };
        if let Some(f) = &self.flow {
            anyhow::ensure!(
                config.flow(f).is_some(),
                "no flow called `{f}` in {}; flows: {}",
                config.path.display(),
                config
                    .flows
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let error = self
            .error_class
            .as_deref()
            .map(ErrorFilter::from_str)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--error-class: {e}"))?;
        let kind = self
            .kind
            .as_deref()
            .map(JobKind::from_str)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--kind: {e}"))?;
        Ok(Selection {
            states,
            flow: self.flow.clone(),
            error,
            kind,
        })
    }
}

/// Runs a queue subcommand.
pub async fn queue(config_path: &Path, cmd: &QueueCommand) -> anyhow::Result<u8> {
    let config = load_config(config_path)?;
    let store = crate::app::open_store(config_path).await?;
    let code = match cmd {
        QueueCommand::List {
            filter,
            limit,
            json,
        } => {
            let selection = filter.selection(&config, None)?;
            let jobs = selection.jobs(&store, &config, Some(*limit)).await?;
            print_jobs(&jobs, &config, *json)?;
            super::exit::OK
        }
        QueueCommand::Retry { id: Some(id), .. } => retry_one(&store, *id).await?,
        QueueCommand::Retry { filter, .. } => {
            let selection = filter.selection(&config, Some(JobState::Dead))?;
            retry_all(&store, &config, &selection).await?
        }
        QueueCommand::Drop {
            id: Some(id),
            reason,
            ..
        } => drop_one(&store, *id, reason).await?,
        QueueCommand::Drop { filter, reason, .. } => {
            let selection = filter.selection(&config, Some(JobState::Dead))?;
            drop_all(&store, &config, &selection, reason).await?
        }
    };
    store.close().await;
    Ok(code)
}

fn print_jobs(jobs: &[Job], config: &Config, json: bool) -> anyhow::Result<()> {
    if json {
        let rows: Vec<_> = jobs
            .iter()
            .map(|j| {
                let class = j
                    .last_error_kind
                    .as_deref()
                    .map(|c| crate::sync::selection::ErrorClass::of(c).as_str());
                serde_json::json!({
                    "id": j.id, "state": j.state.as_str(), "kind": j.kind, "target": j.target,
                    "flow": flow_of(j, config),
                    "key": j.coalesce_key, "attempts": j.attempts, "max_attempts": j.max_attempts,
                    "run_at": j.run_at.to_rfc3339(), "last_error": j.last_error,
                    "last_error_kind": j.last_error_kind, "error_class": class,
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
        for j in jobs {
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
    Ok(())
}

async fn retry_one(store: &Store, id: i64) -> anyhow::Result<u8> {
    if store.queue().retry(id).await? {
        println!("job {id} queued again");
        journal(store, "retry", &format!("job {id}"), 1).await?;
        Ok(super::exit::OK)
    } else {
        eprintln!("job {id} is not dead or dropped (or does not exist); nothing changed");
        Ok(super::exit::FAILURE)
    }
}

async fn drop_one(store: &Store, id: i64, reason: &str) -> anyhow::Result<u8> {
    if store.queue().drop_job(id, reason).await? {
        println!("job {id} dropped");
        journal(store, "drop", &format!("job {id}: {reason}"), 1).await?;
        Ok(super::exit::OK)
    } else {
        eprintln!("job {id} is not pending or dead (or does not exist); nothing changed");
        Ok(super::exit::FAILURE)
    }
}

async fn retry_all(store: &Store, config: &Config, selection: &Selection) -> anyhow::Result<u8> {
    let jobs = selection.jobs(store, config, None).await?;
    let report = store.queue().retry_many(&jobs).await?;
    println!(
        "{} job(s) queued again ({})",
        report.retried,
        selection.describe()
    );
    if !report.superseded.is_empty() {
        println!(
            "{} not retried: a newer job for the same record is pending or retried with them: {:?}",
            report.superseded.len(),
            report.superseded
        );
    }
    let what = format!("{} ({} matched)", selection.describe(), jobs.len());
    journal(store, "retry-all", &what, report.retried).await?;
    Ok(super::exit::OK)
}

async fn drop_all(
    store: &Store,
    config: &Config,
    selection: &Selection,
    reason: &str,
) -> anyhow::Result<u8> {
    let jobs = selection.jobs(store, config, None).await?;
    let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
    let dropped = store.queue().drop_many(&ids, reason).await?;
    println!("{dropped} job(s) dropped ({})", selection.describe());
    let what = format!("{}: {reason}", selection.describe());
    journal(store, "drop-all", &what, dropped).await?;
    Ok(super::exit::OK)
}

/// Records an operator's queue action: who (the OS user at the CLI), what, how many.
async fn journal(store: &Store, action: &str, what: &str, count: u64) -> anyhow::Result<()> {
    let who = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    );
    crate::sync::selection::journal_action(store, &who, action, what, count).await?;
    Ok(())
}
