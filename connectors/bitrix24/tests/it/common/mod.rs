//! Shared set-up: an emulator on a free loopback port and a client pointed at it.
#![allow(dead_code)]

use dealbridge_bitrix24::emulator::{spawn, EmulatorConfig, RunningEmulator};
use dealbridge_bitrix24::{Bitrix24Client, ClientLimits};
use dealbridge_sdk::http::Timeouts;
use std::time::Duration;

/// Starts an emulator with `config` on 127.0.0.1, port chosen by the OS.
pub async fn emulator(config: EmulatorConfig) -> RunningEmulator {
    spawn(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("emulator starts")
}

/// A client with a generous local rate (tests are not the portal's budget) and short timeouts.
pub fn client(url: &str) -> Bitrix24Client {
    Bitrix24Client::new(
        url,
        ClientLimits::rate(200, 200),
        Timeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(2),
        },
    )
    .expect("valid webhook url")
}

/// An emulator with limits that never throttle, and a client for it.
pub async fn setup() -> (RunningEmulator, Bitrix24Client) {
    let mut config = EmulatorConfig::default();
    config.limits.capacity = 100_000;
    let emu = emulator(config).await;
    let c = client(&emu.webhook_url);
    (emu, c)
}

/// A bare HTTP client for raw requests (through the sdk so the TLS provider is installed).
pub fn raw() -> reqwest::Client {
    dealbridge_sdk::http::client(Timeouts::default()).expect("http client")
}

/// A vendor example from `tests/fixtures`.
pub fn fixture(name: &str) -> serde_json::Value {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The JSON type of a value, for shape comparisons.
pub fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Asserts that `ours` (an emulator record) has exactly the field names of `theirs` (a vendor
/// example record), custom properties (`propertyNNN`) aside, and that every field set on both
/// sides has the same JSON type. `null` on either side is accepted: the vendor example fills
/// optional fields (pictures, dimensions) a fresh record leaves empty.
pub fn assert_same_shape(ours: &serde_json::Value, theirs: &serde_json::Value) {
    let (o, t) = (ours.as_object().unwrap(), theirs.as_object().unwrap());
    let custom = |k: &String| k.starts_with("property");
    let ok: Vec<&String> = o.keys().filter(|k| !custom(k)).collect();
    let tk: Vec<&String> = t.keys().filter(|k| !custom(k)).collect();
    let mut ok_sorted = ok.clone();
    ok_sorted.sort();
    let mut tk_sorted = tk.clone();
    tk_sorted.sort();
    assert_eq!(
        ok_sorted, tk_sorted,
        "field names differ from the vendor example"
    );
    for k in tk {
        let (a, b) = (&o[k], &t[k]);
        if a.is_null() || b.is_null() {
            continue;
        }
        assert_eq!(
            json_type(a),
            json_type(b),
            "field `{k}`: emulator {a}, vendor example {b}"
        );
    }
}
