//! What `dealbridge run` writes to its log stream (stderr): `--log-json` gives one JSON object a
//! line in tracing-subscriber's documented shape, and an idle engine stays quiet at the default
//! level (a poll pass that found nothing is DEBUG; issue 11). The real binary, against the
//! emulators on loopback.

use crate::common;

use common::{dealbridge, spawn_world, wait_until, ChildGuard, Tuning, World};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// How long any wait in this file may take before the test fails.
const WAIT: Duration = Duration::from_secs(20);

/// Short, so three idle intervals pass in about a second.
const TUNING: Tuning = Tuning {
    sync: "poll_interval = \"250ms\"",
    crm: "",
    crm_limits: None,
};

/// `dealbridge [--log-json] run` on `world`, its stderr in `log`. `rust_log: None` leaves
/// `RUST_LOG` unset, so the binary's own default filter is what is tested.
fn start_run(world: &World, json: bool, rust_log: Option<&str>, log: &Path) -> ChildGuard {
    let mut cmd = dealbridge();
    if json {
        cmd.arg("--log-json");
    }
    cmd.arg("--config").arg(&world.config).arg("run");
    match rust_log {
        Some(filter) => cmd.env("RUST_LOG", filter),
        None => cmd.env_remove("RUST_LOG"),
    };
    cmd.stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    ChildGuard::spawn(cmd, "dealbridge run")
}

/// SIGTERM, and a clean exit within 10 s (so the log is complete when read).
async fn stop(mut engine: ChildGuard, log: &Path) {
    let kill = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(engine.pid().to_string())
        .status()
        .unwrap();
    assert!(kill.success());
    let status = engine
        .wait_exit(Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("run did not stop within 10 s of SIGTERM\n{}", read(log)));
    assert_eq!(status.code(), Some(0), "{}", read(log));
}

fn read(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// The level of a text-format line (`<timestamp> <LEVEL> <target>: …`; colours are off when
/// stderr is not a terminal, which the test asserts).
fn text_level(line: &str) -> Option<&str> {
    line.split_whitespace().nth(1)
}

/// How many order listings the shop has served: one per poll pass.
fn listings(world: &World) -> u64 {
    world.shop.handle.counters().get("GET /orders").served
}

/// Waits until the shop has served `n` more listings than now, i.e. `n` more poll passes
/// started (each after the previous one logged its line).
async fn wait_passes(world: &World, n: u64) {
    let target = listings(world) + n;
    wait_until(&format!("{n} more poll passes"), WAIT, || async {
        listings(world) >= target
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_json_writes_one_object_a_line_with_level_timestamp_and_message() {
    let world = spawn_world(TUNING).await;
    world.shop.handle.seed_orders(3, 7);
    let log: PathBuf = world.dir.path().join("run.json.log");
    let engine = start_run(&world, true, None, &log);

    wait_until("3 deals", WAIT, || async {
        world.crm.handle.deal_count() >= 3
    })
    .await;
    // The pass that queued the orders logs after queueing them: wait for its line, not a time.
    wait_until("the INFO line of the pass that queued", WAIT, || async {
        read(&log).contains("\"queued\":3")
    })
    .await;
    stop(engine, &log).await;

    let text = read(&log);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}\nwhole log:\n{text}"))
        })
        .collect();
    assert!(!lines.is_empty(), "nothing logged");
    for l in &lines {
        let level = l["level"].as_str().unwrap_or_default();
        assert!(
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&level),
            "{l}"
        );
        // The default filter is INFO: an idle pass (DEBUG) is not in the stream.
        assert_ne!(level, "DEBUG", "{l}");
        let at = l["timestamp"].as_str().unwrap_or_default();
        assert!(
            chrono::DateTime::parse_from_rfc3339(at).is_ok(),
            "timestamp {at:?} in {l}"
        );
        assert!(l["fields"]["message"].is_string(), "{l}");
        assert!(l["target"].is_string(), "{l}");
    }
    // What changed is INFO, with its counts as fields.
    let queued = lines.iter().find(|l| {
        l["level"] == "INFO"
            && l["fields"]["message"] == "poll pass done"
            && l["fields"]["flow"] == "orders"
            && l["fields"]["queued"] == 3
    });
    assert!(
        queued.is_some(),
        "no INFO line for the pass that queued:\n{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "engine stopped"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_run_logs_no_line_per_poll_at_the_default_level_and_debug_shows_the_passes() {
    let world = spawn_world(TUNING).await;
    world.shop.handle.seed_orders(2, 11);

    // The default level: after the orders landed, nothing more is logged however often the
    // engine polls.
    let log = world.dir.path().join("run.log");
    let engine = start_run(&world, false, None, &log);
    wait_until("2 deals", WAIT, || async {
        world.crm.handle.deal_count() >= 2
    })
    .await;
    // A pass that raced the worker may queue the order once more (it finds the deal right);
    // three passes later that is logged and done.
    wait_passes(&world, 3).await;
    let settled = read(&log).len();
    // Three idle intervals, plus one so the third pass has written its line.
    wait_passes(&world, 4).await;
    let text = read(&log);
    let idle = &text[settled..];
    assert!(
        idle.is_empty(),
        "an idle engine logged at the default level:\n{idle}\nwhole log:\n{text}"
    );
    assert!(
        text.contains("poll pass done"),
        "the first pass is INFO:\n{text}"
    );
    assert!(
        !text.contains('\x1b'),
        "colour codes in a log file:\n{text}"
    );
    stop(engine, &log).await;

    // RUST_LOG=debug: the same idle passes, each a DEBUG line with its counts.
    let log = world.dir.path().join("run-debug.log");
    let engine = start_run(&world, false, Some("debug"), &log);
    let idle_passes = |text: &str| {
        text.lines()
            .filter(|l| l.contains("poll pass done"))
            .map(|l| (text_level(l).unwrap_or_default().to_string(), l.to_string()))
            .collect::<Vec<_>>()
    };
    wait_until("3 DEBUG poll passes", WAIT, || async {
        idle_passes(&read(&log)).len() >= 3
    })
    .await;
    stop(engine, &log).await;
    let text = read(&log);
    for (level, line) in idle_passes(&text) {
        assert_eq!(level, "DEBUG", "{line}");
        assert!(line.contains("queued=0"), "{line}");
    }
}
