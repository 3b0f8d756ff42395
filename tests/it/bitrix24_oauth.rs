//! Bitrix24 through a local app's OAuth tokens instead of an incoming webhook: the expired access
//! token is refreshed once, the rotated pair is saved in the state database (the config's pair is
//! spent after the first refresh), a restarted engine uses the saved pair, and `status` never
//! shows it.

use crate::common;

use common::{spawn_world, Tuning};
use dealbridge::app::{oauth_cursor, App};
use dealbridge_sdk::http::Timeouts;
use dealbridge_woocommerce::{NewOrder, WooClient};
use serde_json::json;

async fn order(base_url: &str, n: usize) {
    let client = WooClient::new(base_url, "ck_test", "cs_test", Timeouts::default()).unwrap();
    let order: NewOrder = serde_json::from_value(json!({
        "status": "processing",
        "billing": {"first_name": format!("O{n}"), "email": format!("o{n}@example.com")},
        "line_items": [{"name": "Tea", "sku": "T-1", "quantity": 1, "subtotal": "10.00", "total": "10.00"}]
    }))
    .unwrap();
    client.create_order(&order).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_tokens_are_refreshed_saved_and_reused_after_a_restart() {
    let w = spawn_world(Tuning::default()).await;
    let portal = format!("http://{}", w.crm.addr);
    w.crm
        .handle
        .enable_oauth("local.app", "app-secret", "at-1", "rt-1");
    let webhook_line = format!("webhook_url = \"{}\"", w.crm.webhook_url);
    w.edit_file(
        "dealbridge.toml",
        &webhook_line,
        &format!(
            "portal_url = \"{portal}\"\nclient_id = \"local.app\"\nclient_secret = \"app-secret\"\naccess_token = \"at-1\"\nrefresh_token = \"rt-1\"\noauth_token_url = \"{portal}/oauth/token/\""
        ),
    );
    order(&w.shop.base_url, 1).await;
    let app = App::load(&w.config).await.unwrap();
    let s = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!((s.created, s.dead), (1, 0), "{s:?}");

    // The hour passes: the access token expires. The next write refreshes once and goes on.
    w.crm.handle.expire_access_token();
    order(&w.shop.base_url, 2).await;
    let s = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!((s.created, s.dead), (1, 0), "{s:?}");
    assert_eq!(w.crm.handle.deal_count(), 2);
    let (_, rotated) = w.crm.handle.oauth_tokens().unwrap();
    assert_ne!(rotated, "rt-1", "Bitrix24 rotated the refresh token");
    // Saved before the new token was used: already there when the write returned.
    let saved = app.store.cursor(&oauth_cursor("crm")).await.unwrap();
    assert!(saved.unwrap().contains(&rotated));
    app.store.close().await;

    // A restart with the config's spent pair still works: the saved pair is used.
    w.crm.handle.expire_access_token();
    order(&w.shop.base_url, 3).await;
    let app = App::load(&w.config).await.unwrap();
    let s = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!((s.created, s.dead), (1, 0), "{s:?}");
    app.store.close().await;

    // The tokens are secrets: `status` does not list them.
    let status = w.cli(&["status", "--json"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success());
    assert!(
        !text.contains("oauth:") && !text.contains(&rotated),
        "{text}"
    );
}
