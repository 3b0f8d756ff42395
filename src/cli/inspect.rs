//! `dealbridge inspect webhook <kind> --body FILE [--header 'Name: value']... [--secret S] [--json]`:
//! checks a saved delivery the way `/webhooks/<system>` would, and prints the canonical records
//! it yields. For operators debugging "why did this delivery not make a deal?".

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use dealbridge_sdk::model::Order;
use std::path::PathBuf;

/// What to inspect.
#[derive(Debug, Subcommand)]
pub enum InspectCommand {
    /// A saved webhook delivery: its body, and optionally its headers and the secret.
    Webhook {
        /// Which store sent it.
        kind: WebhookKind,
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

/// Stores whose deliveries can be inspected.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum WebhookKind {
    /// `X-WC-Webhook-*` deliveries.
    Woocommerce,
    /// `X-Shopify-*` deliveries.
    Shopify,
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
    let (signature, order, topic): (Result<(), String>, Option<Order>, Option<String>) = match kind
    {
        WebhookKind::Woocommerce => {
            let signature = match secret {
                Some(s) => dealbridge_woocommerce::webhook::verify(&map, &raw, s)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                None => Err("not checked (no --secret)".into()),
            };
            let topic = map
                .get("x-wc-webhook-topic")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let order = serde_json::from_slice::<dealbridge_woocommerce::WooOrder>(&raw)
                .ok()
                .map(|o| dealbridge_woocommerce::order_to_canonical("shop", &o))
                .transpose()?;
            (signature, order, topic)
        }
        WebhookKind::Shopify => {
            let signature = match secret {
                Some(s) => dealbridge_shopify::webhook::verify(&map, &raw, s)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                None => Err("not checked (no --secret)".into()),
            };
            let topic = map
                .get("x-shopify-topic")
                .or_else(|| map.get("shopify-topic"))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let order = serde_json::from_slice::<dealbridge_shopify::wire::ShopifyOrder>(&raw)
                .ok()
                .map(|o| dealbridge_shopify::convert::order_to_canonical("shop", &o))
                .transpose()?;
            (signature, order, topic)
        }
    };
    let verified = signature.is_ok();
    if *json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "kind": format!("{kind:?}").to_lowercase(),
                "topic": topic,
                "signature": match &signature { Ok(()) => "valid".to_string(), Err(e) => e.clone() },
                "verified": verified,
                "order": order,
            }))?
        );
    } else {
        println!(
            "topic:     {}",
            topic.as_deref().unwrap_or("(no topic header)")
        );
        match &signature {
            Ok(()) => println!("signature: valid"),
            Err(e) => println!("signature: {e}"),
        }
        match &order {
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
    // Without a secret there is nothing to fail; with one, a bad signature is the answer.
    Ok(if secret.is_some() && !verified {
        super::exit::FAILURE
    } else {
        super::exit::OK
    })
}
