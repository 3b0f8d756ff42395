use super::*;
use chrono::TimeZone;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn mins(n: i64) -> chrono::Duration {
    chrono::Duration::minutes(n)
}

fn quiet() -> Observations {
    Observations {
        now: t0(),
        started_at: t0() - mins(60),
        dead_jobs: Vec::new(),
        polls: Vec::new(),
        exchanges: Vec::new(),
        conflicts: Vec::new(),
    }
}

fn dead(id: i64, flow: &str, kind: &str, error: &str, at: DateTime<Utc>) -> DeadJob {
    DeadJob {
        id,
        flow: Some(flow.into()),
        target: "crm".into(),
        error_kind: Some(kind.into()),
        error: Some(error.into()),
        dead_at: at,
    }
}

fn poll(flow: &str, last_success: Option<DateTime<Utc>>) -> PollLoop {
    PollLoop {
        flow: flow.into(),
        system: Some("shop".into()),
        last_success,
        failing_since: None,
        last_error: None,
        last_error_kind: None,
    }
}

/// What `decide` would store: the incident a condition opens.
fn incident(c: &Condition, id: i64) -> Incident {
    Incident {
        id,
        key: c.key.clone(),
        rule: c.rule.as_str().into(),
        summary: c.summary.clone(),
        details: c.details.clone(),
        since: c.since,
        opened_at: c.since,
        resolved_at: None,
    }
}

fn none() -> BTreeSet<String> {
    BTreeSet::new()
}

fn keys(cs: &[Condition]) -> Vec<&str> {
    cs.iter().map(|c| c.key.as_str()).collect()
}

#[test]
fn dead_jobs_make_one_condition_per_flow_with_the_latest_error() {
    let mut obs = quiet();
    obs.dead_jobs = vec![
        dead(
            7,
            "orders",
            "mapping",
            "status `draft` has no stage",
            t0() - mins(1),
        ),
        dead(5, "orders", "invalid", "TITLE is empty", t0() - mins(9)),
        dead(9, "b2b", "transient", "HTTP 503", t0() - mins(2)),
    ];
    let cs = conditions(&obs, &AlertRules::default());
    assert_eq!(keys(&cs), ["job_dead:flow=b2b", "job_dead:flow=orders"]);
    let orders = &cs[1];
    assert_eq!(orders.rule, Rule::JobDead);
    assert_eq!(orders.since, t0() - mins(9), "since the first went dead");
    assert!(
        orders.summary.starts_with("2 jobs of flow orders in the dead letter; latest error (mapping): status `draft` has no stage"),
        "{}",
        orders.summary
    );
    assert!(orders
        .summary
        .contains("dealbridge queue retry --all --flow orders"));
    assert_eq!(orders.details["flow"], "orders");
    assert_eq!(orders.details["dead_jobs"], 2);
    assert_eq!(orders.details["error"], "status `draft` has no stage");
}

#[test]
fn an_incident_fires_once_and_clears_once() {
    let rules = AlertRules::default();
    let mut obs = quiet();
    obs.dead_jobs = vec![dead(1, "orders", "mapping", "no stage", t0())];
    let now = conditions(&obs, &rules);
    let first = decide(&[], &now, &none(), &rules);
    assert_eq!(first, vec![Action::Open(now[0].clone())]);

    // Next pass: same condition, incident open → nothing; a second dead job in the same flow
    // is the same incident.
    let open = vec![incident(&now[0], 1)];
    obs.dead_jobs
        .push(dead(2, "orders", "mapping", "no stage", t0()));
    let again = conditions(&obs, &rules);
    assert!(decide(&open, &again, &none(), &rules).is_empty());

    // The dead jobs were retried or dropped: resolve, once.
    obs.dead_jobs.clear();
    let gone = conditions(&obs, &rules);
    assert_eq!(
        decide(&open, &gone, &none(), &rules),
        vec![Action::Resolve(open[0].clone())]
    );
    assert!(decide(&[], &gone, &none(), &rules).is_empty());
}

#[test]
fn a_poll_is_stale_after_the_threshold_counting_from_start_when_it_never_succeeded() {
    let rules = AlertRules {
        poll_stale_after: Some(Duration::from_secs(15 * 60)),
        ..AlertRules::default()
    };
    let mut obs = quiet();
    let mut failing = poll("orders", Some(t0() - mins(17)));
    failing.failing_since = Some(t0() - mins(16));
    failing.last_error = Some("flow `orders`: cannot read the source: HTTP 502".into());
    obs.polls = vec![
        failing,
        poll("fresh", Some(t0() - mins(1))),
        poll("never", None),
    ];
    let cs = conditions(&obs, &rules);
    assert_eq!(
        keys(&cs),
        ["poll_stale:flow=never", "poll_stale:flow=orders"]
    );
    assert_eq!(cs[0].since, obs.started_at);
    assert_eq!(
        cs[1].summary,
        "flow orders has not polled successfully for 17m; last error: flow `orders`: cannot read the source: HTTP 502"
    );
    // Just started: a poll that has not run yet is not stale.
    obs.started_at = t0() - mins(1);
    obs.polls.retain(|p| p.flow == "never");
    assert!(conditions(&obs, &rules).is_empty());
}

#[test]
fn a_rejected_credential_is_one_incident_per_system_from_jobs_and_loops() {
    let mut obs = quiet();
    obs.dead_jobs = vec![dead(
        3,
        "orders",
        "auth",
        "bitrix24: token revoked",
        t0() - mins(3),
    )];
    let mut pull = poll("deals-back", Some(t0() - mins(5)));
    pull.system = Some("crm".into());
    pull.failing_since = Some(t0() - mins(4));
    pull.last_error_kind = Some("auth".into());
    pull.last_error = Some("bitrix24: token revoked".into());
    let mut outage = poll("orders", Some(t0() - mins(5)));
    outage.failing_since = Some(t0() - mins(4));
    outage.last_error_kind = Some("transient".into());
    obs.polls = vec![pull, outage];
    let rules = AlertRules {
        job_dead: false,
        poll_stale_after: None,
        ..AlertRules::default()
    };
    let cs = conditions(&obs, &rules);
    assert_eq!(
        keys(&cs),
        ["auth_failed:system=crm"],
        "an outage is not an auth failure"
    );
    assert_eq!(cs[0].since, t0() - mins(4));
    assert_eq!(
        cs[0].details["seen_in"],
        json!(["job 3", "the poll of flow deals-back"])
    );
    assert!(cs[0].summary.contains("[systems.crm]"));
}

#[test]
fn a_failed_1c_exchange_holds_until_a_later_step_succeeds() {
    let mut obs = quiet();
    obs.exchanges = vec![
        ExchangeOutcome {
            exchange: "catalog".into(),
            failed: true,
            detail: "import of import.xml failed: not CommerceML".into(),
            at: t0() - mins(2),
        },
        ExchangeOutcome {
            exchange: "sale".into(),
            failed: false,
            detail: "imported".into(),
            at: t0(),
        },
    ];
    let cs = conditions(&obs, &AlertRules::default());
    assert_eq!(keys(&cs), ["exchange_1c_failed:type=catalog"]);
    assert!(cs[0].summary.contains("not CommerceML"));
    assert_eq!(cs[0].since, t0() - mins(2));
}

#[test]
fn conflicts_count_once_they_waited_longer_than_the_threshold() {
    let mut obs = quiet();
    let c = |id, since| WaitingConflict {
        id,
        entity: format!("deal shop:{id}"),
        field: "status".into(),
        since,
    };
    obs.conflicts = vec![
        c(1, t0() - mins(90)),
        c(2, t0() - mins(61)),
        c(3, t0() - mins(5)),
    ];
    let cs = conditions(&obs, &AlertRules::default());
    assert_eq!(keys(&cs), ["conflicts_waiting"]);
    assert_eq!(cs[0].details["conflicts"], 2);
    assert_eq!(cs[0].since, t0() - mins(90));
    assert!(cs[0].summary.starts_with(
        "2 conflicts have waited more than 1h for a person (oldest: deal shop:1 field status)"
    ));
    obs.conflicts.truncate(0);
    obs.conflicts.push(c(3, t0() - mins(5)));
    assert!(conditions(&obs, &AlertRules::default()).is_empty());
}

#[test]
fn rules_turned_off_raise_nothing_and_leave_their_incidents_alone() {
    let off = AlertRules {
        job_dead: false,
        poll_stale_after: None,
        auth_failed: false,
        exchange_1c_failed: false,
        conflicts_waiting_after: None,
    };
    let mut obs = quiet();
    obs.dead_jobs = vec![dead(1, "orders", "auth", "revoked", t0())];
    obs.polls = vec![poll("orders", None)];
    assert!(conditions(&obs, &off).is_empty());
    let on = conditions(&obs, &AlertRules::default());
    let open: Vec<Incident> = on
        .iter()
        .enumerate()
        .map(|(i, c)| incident(c, i as i64))
        .collect();
    assert!(!open.is_empty());
    assert!(decide(&open, &[], &none(), &off).is_empty());
}

#[test]
fn durations_read_as_a_person_says_them() {
    let cases = [
        (45, "45s"),
        (17 * 60, "17m"),
        (3600, "1h"),
        (3600 + 5 * 60, "1h 5m"),
        (2 * 86_400, "2d"),
        (3 * 86_400 + 4 * 3600, "3d 4h"),
    ];
    for (secs, want) in cases {
        assert_eq!(human(Duration::from_secs(secs)), want);
    }
}

#[test]
fn a_restarted_process_does_not_clear_what_its_loops_have_not_looked_at_yet() {
    let rules = AlertRules {
        poll_stale_after: Some(Duration::from_secs(15 * 60)),
        ..AlertRules::default()
    };
    // Before the restart: the shop's key was rejected for 20 minutes.
    let mut before = quiet();
    let mut failing = poll("orders", Some(t0() - mins(20)));
    failing.failing_since = Some(t0() - mins(20));
    failing.last_error = Some("woocommerce: 401".into());
    failing.last_error_kind = Some("auth".into());
    before.polls = vec![failing];
    let fired = conditions(&before, &rules);
    assert_eq!(
        keys(&fired),
        ["auth_failed:system=shop", "poll_stale:flow=orders"]
    );
    let open: Vec<Incident> = fired
        .iter()
        .enumerate()
        .map(|(i, c)| incident(c, i as i64))
        .collect();

    // Just restarted: the poll has not finished a pass. Nothing holds, nothing is cleared.
    let mut after = quiet();
    after.started_at = t0();
    after.polls = vec![poll("orders", None)];
    let now = conditions(&after, &rules);
    assert!(now.is_empty());
    let wait = undecided(&after);
    assert!(decide(&open, &now, &wait, &rules).is_empty());

    // Its first pass succeeded: both clear.
    after.polls = vec![poll("orders", Some(t0()))];
    let now = conditions(&after, &rules);
    let actions = decide(&open, &now, &undecided(&after), &rules);
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert!(actions.iter().all(|a| matches!(a, Action::Resolve(_))));
}
