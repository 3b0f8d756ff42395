//! Background imports: `mode=import` starts one, later identical requests poll it, so no
//! request runs longer than a slice (1C's HTTP timeout and proxies end long requests).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

/// (exchange type, file name).
pub type JobKey = (String, String);
type Outcome = Option<Result<String, String>>;

/// What is known about one import.
pub enum JobState {
    /// Still running; the receiver fires when it ends.
    Running(watch::Receiver<Outcome>),
    /// Finished with this result.
    Done(Result<String, String>),
}

/// Imports by key.
#[derive(Default)]
pub struct ImportJobs {
    map: Mutex<HashMap<JobKey, watch::Receiver<Outcome>>>,
}

const CRASHED: &str =
    "the import stopped unexpectedly (see the dealbridge log); re-run the exchange";

impl ImportJobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<JobKey, watch::Receiver<Outcome>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state of `key`, if an import was started.
    pub fn state(&self, key: &JobKey) -> Option<JobState> {
        let map = self.lock();
        let rx = map.get(key)?;
        let value = rx.borrow().clone();
        Some(match value {
            Some(result) => JobState::Done(result),
            // Sender gone without a result: the task panicked.
            None if rx.has_changed().is_err() => JobState::Done(Err(CRASHED.to_string())),
            None => JobState::Running(rx.clone()),
        })
    }

    /// Starts `work` in the background under `key`.
    pub fn start<F, Fut>(&self, key: JobKey, work: F) -> watch::Receiver<Outcome>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<String, String>> + Send + 'static,
    {
        let (tx, rx) = watch::channel(None);
        self.lock().insert(key, rx.clone());
        let fut = work();
        tokio::spawn(async move {
            let result = fut.await;
            let _ = tx.send(Some(result));
        });
        rx
    }

    /// Waits up to `slice` for the import to end.
    pub async fn wait(
        &self,
        _key: &JobKey,
        mut rx: watch::Receiver<Outcome>,
        slice: Duration,
    ) -> Option<Result<String, String>> {
        match tokio::time::timeout(slice, rx.wait_for(|v| v.is_some())).await {
            Ok(Ok(v)) => v.clone(),
            Ok(Err(_)) => Some(Err(CRASHED.to_string())),
            Err(_) => None,
        }
    }

    /// Forgets `key` (its result was answered).
    pub fn forget(&self, key: &JobKey) {
        self.lock().remove(key);
    }

    /// Forgets every import of `kind` (a new exchange starts).
    pub fn clear(&self, kind: &str) {
        self.lock().retain(|(k, _), _| k != kind);
    }
}
