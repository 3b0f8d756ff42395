//! Refused webhook deliveries: counted per system, reason and minute, on SQLite and PostgreSQL.

use crate::common;

use common::TestDb;
use std::time::Duration;

both_backends!(
    rejections_are_counted_per_minute_and_read_per_hour_and_day,
    rejections_older_than_two_days_are_pruned,
);

/// Rows in the counter table (its size, which a flood must not grow).
async fn rows(db: &TestDb) -> i64 {
    use sqlx::Connection;
    let sql = "SELECT COUNT(*) AS n FROM webhook_rejections";
    if db.url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&mut c)
            .await
            .unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&mut c)
            .await
            .unwrap()
    }
}

async fn rejections_are_counted_per_minute_and_read_per_hour_and_day(db: TestDb) {
    let s = &db.store;
    s.record_webhook_rejection("shop", "bad_signature", "old one")
        .await
        .unwrap();
    db.clock.advance(Duration::from_secs(3 * 3600));
    // A flood within one minute is one row.
    for i in 0..50 {
        s.record_webhook_rejection("shop", "bad_signature", &format!("forged {i}"))
            .await
            .unwrap();
    }
    s.record_webhook_rejection("crm", "malformed", "not JSON")
        .await
        .unwrap();
    assert_eq!(rows(&db).await, 3, "one row per system, reason and minute");
    let stats = s.webhook_rejections().await.unwrap();
    let got: Vec<(&str, &str, i64, i64, &str)> = stats
        .iter()
        .map(|r| {
            (
                r.system.as_str(),
                r.reason.as_str(),
                r.last_hour,
                r.last_day,
                r.last_message.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("crm", "malformed", 1, 1, "not JSON"),
            ("shop", "bad_signature", 50, 51, "forged 49"),
        ]
    );
    // A day later the old ones fall out of both windows.
    db.clock.advance(Duration::from_secs(25 * 3600));
    assert!(s.webhook_rejections().await.unwrap().is_empty());
}

async fn rejections_older_than_two_days_are_pruned(db: TestDb) {
    let s = &db.store;
    s.record_webhook_rejection("shop", "bad_signature", "a")
        .await
        .unwrap();
    db.clock.advance(Duration::from_secs(47 * 3600));
    s.record_webhook_rejection("shop", "bad_signature", "b")
        .await
        .unwrap();
    assert_eq!(rows(&db).await, 2, "47 hours old is still kept");
    // The next minute's first refusal prunes what is older than two days.
    db.clock.advance(Duration::from_secs(2 * 3600));
    s.record_webhook_rejection("shop", "malformed", "c")
        .await
        .unwrap();
    assert_eq!(rows(&db).await, 2, "the 49-hour-old row went");
    assert_eq!(s.prune_webhook_rejections().await.unwrap(), 0);
    db.clock.advance(Duration::from_secs(3 * 86_400));
    assert_eq!(s.prune_webhook_rejections().await.unwrap(), 2);
    assert_eq!(rows(&db).await, 0);
}
