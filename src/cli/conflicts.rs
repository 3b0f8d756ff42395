//! `dealbridge conflicts list|show|resolve`: the conflict log, and the decision a `manual` field
//! waits for.
//!
//! A conflict is a field both systems changed since the last sync. A rule (the field's owner in
//! the mapping's `[fields]`) decides most of them at once; they are listed as `resolved` by
//! `rule:<owner>`. Under `manual` the conflict stays `open` and the pair (the order and its deal)
//! is written nowhere until someone resolves it here; the next sync then writes the chosen value
//! to both sides.

use crate::app::open_store;
use clap::Subcommand;
use dealbridge_store::{Conflict, ConflictFilter, ConflictState};
use serde_json::{json, Value};
use std::path::Path;
use std::str::FromStr;

/// Conflict subcommands.
#[derive(Debug, Subcommand)]
pub enum ConflictsCommand {
    /// List conflicts, newest first (open ones only unless --all or --state).
    List {
        /// Only this state: open or resolved.
        #[arg(long, conflicts_with = "all")]
        state: Option<String>,
        /// Open and resolved.
        #[arg(long)]
        all: bool,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One conflict with its base, both values, the rule and the decision.
    Show {
        /// Conflict id.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Decide an open conflict: take one system's value, or give the value yourself.
    Resolve {
        /// Conflict id.
        id: i64,
        /// The system whose value wins (one of the two named in `conflicts show`).
        #[arg(long, conflicts_with = "value", required_unless_present = "value")]
        take: Option<String>,
        /// The winning value as JSON (a stage: `--value '"WON"'`).
        #[arg(long)]
        value: Option<String>,
        /// Who decided, for the record.
        #[arg(long, env = "USER", default_value = "operator")]
        by: String,
    },
}

/// Runs a conflicts subcommand.
pub async fn conflicts(config: &Path, cmd: &ConflictsCommand) -> anyhow::Result<u8> {
    let store = open_store(config).await?;
    let code = match cmd {
        ConflictsCommand::List {
            state,
            all,
            limit,
            json,
        } => {
            let state = match (state, all) {
                (_, true) => None,
                (Some(s), false) => Some(ConflictState::from_str(s).map_err(anyhow::Error::msg)?),
                (None, false) => Some(ConflictState::Open),
            };
            let rows = store
                .conflicts(&ConflictFilter {
                    state,
                    limit: *limit,
                    ..ConflictFilter::default()
                })
                .await?;
            if *json {
                let rows: Vec<Value> = rows.iter().map(to_json).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!("no conflicts");
            } else {
                println!(
                    "{:>5}  {:<8} {:<16} {:<7} {:<8} {:<24} {:<24} winner",
                    "id", "state", "entity", "field", "rule", "ours", "theirs"
                );
                for c in &rows {
                    println!(
                        "{:>5}  {:<8} {:<16} {:<7} {:<8} {:<24} {:<24} {}",
                        c.id,
                        c.state.as_str(),
                        c.entity_id,
                        c.field,
                        c.rule,
                        short(&format!("{}={}", c.ours_system, c.ours)),
                        short(&format!("{}={}", c.theirs_system, c.theirs)),
                        c.chosen.as_deref().unwrap_or("— (waits for you)")
                    );
                }
            }
            super::exit::OK
        }
        ConflictsCommand::Show { id, json } => match store.conflict(*id).await? {
            Some(c) if *json => {
                println!("{}", serde_json::to_string_pretty(&to_json(&c))?);
                super::exit::OK
            }
            Some(c) => {
                print_one(&c);
                super::exit::OK
            }
            None => {
                eprintln!("no conflict {id}");
                super::exit::FAILURE
            }
        },
        ConflictsCommand::Resolve {
            id,
            take,
            value,
            by,
        } => {
            let Some(c) = store.conflict(*id).await? else {
                anyhow::bail!("no conflict {id}");
            };
            let (chosen, chosen_value) = match (take, value) {
                (Some(system), _) if *system == c.ours_system => (system.clone(), c.ours.clone()),
                (Some(system), _) if *system == c.theirs_system => {
                    (system.clone(), c.theirs.clone())
                }
                (Some(system), _) => anyhow::bail!(
                    "conflict {id} is between `{}` and `{}`; `--take {system}` names neither",
                    c.ours_system,
                    c.theirs_system
                ),
                (None, Some(v)) => {
                    let v: Value = serde_json::from_str(v).map_err(|e| {
                        anyhow::anyhow!(
                            "--value must be JSON (a string is quoted: --value '\"WON\"'): {e}"
                        )
                    })?;
                    ("custom".to_string(), v)
                }
                (None, None) => anyhow::bail!("say --take <system> or --value <json>"),
            };
            let reason = format!("resolved by {by}: took {chosen}");
            if store
                .resolve_conflict(*id, &chosen, Some(&chosen_value), by, &reason)
                .await?
            {
                println!(
                    "conflict {id} resolved: `{}` = {chosen_value}; the next sync writes it to both sides",
                    c.field
                );
                super::exit::OK
            } else {
                eprintln!("conflict {id} is not open (already resolved); nothing changed");
                super::exit::FAILURE
            }
        }
    };
    store.close().await;
    Ok(code)
}

fn to_json(c: &Conflict) -> Value {
    json!({
        "id": c.id, "state": c.state.as_str(), "kind": c.kind, "entity": c.entity_id,
        "field": c.field, "base": c.base, "ours_system": c.ours_system, "ours": c.ours,
        "theirs_system": c.theirs_system, "theirs": c.theirs, "rule": c.rule,
        "chosen": c.chosen, "chosen_value": c.chosen_value, "reason": c.reason,
        "created_at": c.created_at.to_rfc3339(),
        "resolved_at": c.resolved_at.map(|t| t.to_rfc3339()), "resolved_by": c.resolved_by,
    })
}

fn print_one(c: &Conflict) {
    println!("conflict {} ({})", c.id, c.state.as_str());
    println!("  entity:   {} {}", c.kind, c.entity_id);
    println!("  field:    {}", c.field);
    println!(
        "  base:     {}",
        c.base
            .as_ref()
            .map_or("(none)".to_string(), Value::to_string)
    );
    println!("  {:<9} {}", format!("{}:", c.ours_system), c.ours);
    println!("  {:<9} {}", format!("{}:", c.theirs_system), c.theirs);
    println!("  rule:     {}", c.rule);
    match (&c.chosen, &c.chosen_value) {
        (Some(s), Some(v)) => println!("  chosen:   {s} = {v}"),
        _ => println!(
            "  chosen:   nothing yet: `dealbridge conflicts resolve {} --take {}` (or --take {}, or --value JSON)",
            c.id, c.ours_system, c.theirs_system
        ),
    }
    println!("  reason:   {}", c.reason);
    println!("  found:    {}", c.created_at.to_rfc3339());
    if let (Some(at), Some(by)) = (c.resolved_at, &c.resolved_by) {
        println!("  decided:  {} by {by}", at.to_rfc3339());
    }
}

fn short(s: &str) -> String {
    if s.chars().count() <= 24 {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(23).collect();
        t.push('…');
        t
    }
}
