//! `dealbridge inspect webhook <kind> --body FILE [--header 'Name: value']... [--secret S] [--json]`:
//! checks a saved delivery the way `/webhooks/<system>` would, and prints the canonical records
//! it yields. For operators debugging "why did this delivery not make a deal?".

use anyhow::Context;
use clap::Subcommand;
use dealbridge_sdk::connector::Inspection;
use dealbridge_sdk::model::Order;
use std::path::PathBuf;

/// What to inspect.
#[derive(Debug, Subcommand)]
pub enum InspectCommand {
    /// A saved webhook delivery: its body, and optionally its headers and the secret.
    Webhook {
        /// Which kind of system sent it (a registered connector's `kind`, e.g. `woocommerce`).
        kind: String,
        /// The raw body, exactly as received.
        #[arg(long)]
        body: PathBuf,
        /// A header as received, `Name: value`; repeat for each.
        #[arg(long = "header")]
        headers: Vec<String>,
        /// The webhook secret: when given, the signature is verified as dealbridge would.
        #[arg(long, env = "DEALBRIDGE_INSPECT_SECRET")]
        secret: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Parses `Name: value` header lines.
fn header_map(headers: &[String]) -> anyhow::Result<axum::http::HeaderMap> {
    let mut map = axum::http::HeaderMap::new();
    for h in headers {
        let (name, value) = h
            .split_once(':')
            .with_context(|| format!("header `{h}` is not `Name: value`"))?;
        map.append(
            axum::http::HeaderName::from_bytes(name.trim().as_bytes())
                .with_context(|| format!("`{name}` is not a header name"))?,
            axum::http::HeaderValue::from_str(value.trim())
                .with_context(|| format!("the value of `{name}` is not a header value"))?,
        );
    }
    Ok(map)
}

/// Runs `inspect`. Exit 0 when the delivery checks out and yields its records, 1 otherwise.
pub fn inspect(cmd: &InspectCommand) -> anyhow::Result<u8> {
    let InspectCommand::Webhook {
        kind,
        body,
        headers,
        secret,
        json,
    } = cmd;
    let raw = std::fs::read(body).with_context(|| format!("cannot read {}", body.display()))?;
    let map = header_map(headers)?;
    let inspection = crate::connectors::kind(kind)
        .and_then(|k| {
            k.connector()
                .inspect_delivery(&map, &raw, secret.as_deref())
        })
        .with_context(|| {
            let known: Vec<&str> = crate::connectors::kinds()
                .filter(|k| k.connector().inspect_delivery(&map, b"", None).is_some())
                .map(|k| k.as_str())
                .collect();
            format!(
                "deliveries of `{kind}` cannot be inspected; kinds: {}",
                known.join(", ")
            )
        })?;
    let Inspection {
        topic,
        signature,
        order,
    } = inspection;
    let verified = signature.is_ok();
    if *json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "kind": kind,
                "topic": topic,
                "signature": match &signature { Ok(()) => "valid".to_string(), Err(e) => e.clone() },
                "verified": verified,
                "order": order,
            }))?
        );
    } else {
        print_inspection(topic.as_deref(), &signature, order.as_ref());
    }
    // Without a secret there is nothing to fail; with one, a bad signature is the answer.
    Ok(if secret.is_some() && !verified {
        super::exit::FAILURE
    } else {
        super::exit::OK
    })
}

/// The human-readable report.
fn print_inspection(topic: Option<&str>, signature: &Result<(), String>, order: Option<&Order>) {
    println!("topic:     {}", topic.unwrap_or("(no topic header)"));
    match signature {
        Ok(()) => println!("signature: valid"),
        Err(e) => println!("signature: {e}"),
    }
    match order {
        Some(o) => {
            println!(
                "order {} #{}: status {}, {} line(s), total {} {}, buyer {}",
                o.source.id,
                o.number,
                o.status,
                o.lines.len(),
                o.total,
                o.currency,
                o.customer.display_name()
            );
            for l in &o.lines {
                println!("  {} × {} = {}", l.quantity, l.name, l.total);
            }
        }
        None => println!("no order in the body (a ping, a deletion or another resource)"),
    }
}
