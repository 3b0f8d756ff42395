//! The emulator as `dealbridge sandbox` uses it: a portal whose deals a manager can win.

use super::{spawn, BucketLimits, EmulatorConfig, RunningEmulator};
use dealbridge_sdk::connector::{SandboxCrm, SandboxDeal};
use serde_json::Value;
use std::net::SocketAddr;

/// A running Bitrix24 emulator seen as the sandbox's CRM.
pub struct Bitrix24Sandbox {
    handle: super::EmulatorHandle,
    webhook_url: String,
    running: tokio::sync::Mutex<Option<RunningEmulator>>,
}

impl From<RunningEmulator> for Bitrix24Sandbox {
    fn from(emu: RunningEmulator) -> Self {
        Bitrix24Sandbox {
            handle: emu.handle.clone(),
            webhook_url: emu.webhook_url.clone(),
            running: tokio::sync::Mutex::new(Some(emu)),
        }
    }
}

impl Bitrix24Sandbox {
    /// Starts the emulator on a free loopback port with an Enterprise budget (the demo should
    /// not wait on a standard portal's 2 requests/s).
    pub async fn start() -> std::io::Result<Bitrix24Sandbox> {
        let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let emu = spawn(
            EmulatorConfig {
                limits: BucketLimits::enterprise(),
                ..Default::default()
            },
            any,
        )
        .await?;
        Ok(emu.into())
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

#[async_trait::async_trait]
impl SandboxCrm for Bitrix24Sandbox {
    fn config_table(&self) -> String {
        format!(
            "kind = \"bitrix24\"\nwebhook_url = \"{}\"\nrate_limit_per_second = 5\nrate_limit_burst = 50\n",
            self.webhook_url
        )
    }

    fn describe(&self) -> String {
        format!("Bitrix24 emulator:    {}", self.webhook_url)
    }

    fn deals(&self) -> Vec<SandboxDeal> {
        let handle = &self.handle;
        handle
            .deals()
            .iter()
            .map(|d| {
                let rows = d["ID"]
                    .as_str()
                    .and_then(|i| i.parse::<u64>().ok())
                    .map(|id| handle.deal_rows(id))
                    .unwrap_or_default();
                let linked_rows = rows
                    .iter()
                    .filter(|r| {
                        let id = &r["PRODUCT_ID"];
                        id.as_u64()
                            .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
                            .unwrap_or(0)
                            > 0
                    })
                    .count();
                SandboxDeal {
                    id: text(&d["ID"]),
                    title: text(&d["TITLE"]),
                    stage: text(&d["STAGE_ID"]),
                    amount: text(&d["OPPORTUNITY"]),
                    currency: text(&d["CURRENCY_ID"]),
                    contact: d["CONTACT_ID"].as_str().map(str::to_string),
                    origin_id: d["ORIGIN_ID"].as_str().map(str::to_string),
                    open: !matches!(d["STAGE_ID"].as_str(), Some("WON" | "LOSE")),
                    rows: rows.len(),
                    linked_rows,
                }
            })
            .collect()
    }

    fn win_deal(&self, id: &str) -> bool {
        let Ok(id) = id.parse::<u64>() else {
            return false;
        };
        self.handle
            .manager_update_deal(id, serde_json::json!({"STAGE_ID": "WON"}))
    }

    async fn shutdown(&self) {
        if let Some(emu) = self.running.lock().await.take() {
            emu.shutdown().await;
        }
    }
}
