//! OAuth token pairs shared by every OAuth connector: the pair, where it is persisted
//! ([`TokenStore`]), and the in-memory cache that refreshes it once for concurrent callers and
//! **saves a new pair before it is used** ([`TokenCache`]).
//!
//! Why the save comes first: Bitrix24 and amoCRM rotate the refresh token on every refresh and
//! revoke the old one. A new pair that is used but not yet saved is lost if the process stops;
//! the database then holds a revoked refresh token and the next start cannot refresh at all. So
//! a refresh is only finished once the store has the pair, and a failed save fails the request
//! that needed the token (transient: the queue retries it, and the retry saves again first).

use crate::error::{ConnectorError, ErrorKind};
use async_trait::async_trait;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// An access / refresh token pair.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthTokens {
    /// Sent with every call; short-lived.
    pub access_token: String,
    /// Exchanged for a new pair when the access token expires; rotates on every refresh.
    pub refresh_token: String,
}

impl std::fmt::Debug for OAuthTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Both are secrets: never in logs.
        f.write_str("OAuthTokens(***)")
    }
}

/// Where a refreshed pair goes so the next process start uses it (the engine's state database).
/// [`TokenCache`] awaits [`TokenStore::save`] before the new access token is sent anywhere.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Persists `tokens` durably; returns only once they would survive a crash.
    async fn save(&self, tokens: &OAuthTokens) -> Result<(), ConnectorError>;
}

/// Any `Fn(&OAuthTokens)` closure is a store that never fails (tests, in-memory use).
#[async_trait]
impl<F> TokenStore for F
where
    F: Fn(&OAuthTokens) + Send + Sync,
{
    async fn save(&self, tokens: &OAuthTokens) -> Result<(), ConnectorError> {
        self(tokens);
        Ok(())
    }
}

/// The current pair and whether the store has it yet.
struct Current {
    tokens: OAuthTokens,
    /// Issued by the provider but not yet saved: must not be used until it is.
    unsaved: bool,
}

/// One OAuth account's token pair in memory: concurrent callers that all saw an expired token
/// share one refresh, and a new pair is saved in the [`TokenStore`] before any request uses it.
pub struct TokenCache {
    system: &'static str,
    current: Mutex<Current>,
    /// Held across a refresh and a save, so both happen once at a time.
    refreshing: tokio::sync::Mutex<()>,
    store: Mutex<Option<Arc<dyn TokenStore>>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("system", &self.system)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache starting from `tokens` (the newest saved pair, or the config's first one), for
    /// error messages of `system` (`bitrix24`, `amocrm`). No store: call
    /// [`TokenCache::set_store`] to persist refreshed pairs.
    pub fn new(system: &'static str, tokens: OAuthTokens) -> Self {
        TokenCache {
            system,
            current: Mutex::new(Current {
                tokens,
                unsaved: false,
            }),
            refreshing: tokio::sync::Mutex::new(()),
            store: Mutex::new(None),
        }
    }

    /// Sets where refreshed pairs are saved.
    pub fn set_store(&self, store: Arc<dyn TokenStore>) {
        *self.store.lock().unwrap_or_else(|p| p.into_inner()) = Some(store);
    }

    /// The current pair, saved or not (for display and tests; requests use
    /// [`TokenCache::access_token`]).
    pub fn tokens(&self) -> OAuthTokens {
        self.lock().tokens.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The access token to send. If the newest pair is not saved yet (an earlier save failed),
    /// saves it first and fails when that fails again: `config_name` (`[systems.<name>]`)
    /// names the system in the message.
    pub async fn access_token(&self, config_name: &str) -> Result<String, ConnectorError> {
        let unsaved = self.lock().unsaved;
        if unsaved {
            let _one = self.refreshing.lock().await;
            self.save_pending(config_name).await?;
        }
        Ok(self.lock().tokens.access_token.clone())
    }

    /// Refreshes the pair with `exchange` (given the current refresh token, it asks the
    /// provider for a new pair), saves the new pair, and returns it. With `used` = the access
    /// token a refused call sent, a caller that finds the token already replaced by another
    /// call's refresh just gets the newer pair; `None` always refreshes.
    pub async fn refresh<F, Fut>(
        &self,
        used: Option<&str>,
        config_name: &str,
        exchange: F,
    ) -> Result<OAuthTokens, ConnectorError>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<OAuthTokens, ConnectorError>>,
    {
        let _one = self.refreshing.lock().await;
        // Decided in a plain function: a std guard must not live across an await.
        let Some(refresh_token) = self.refresh_token_if_current(used) else {
            // Someone else refreshed (or a save is pending): that pair, once saved, is it.
            self.save_pending(config_name).await?;
            return Ok(self.tokens());
        };
        let new = exchange(refresh_token).await?;
        // Kept even if the save fails: the provider has revoked the old refresh token, so the
        // new pair is the only one that still works. `unsaved` keeps it from being used.
        self.replace(new.clone());
        self.save_pending(config_name).await?;
        Ok(new)
    }

    /// The refresh token to spend, or `None` when the pair was already replaced since `used`
    /// was sent or is still waiting for its save.
    fn refresh_token_if_current(&self, used: Option<&str>) -> Option<String> {
        let current = self.lock();
        let replaced = used.is_some_and(|u| u != current.tokens.access_token);
        (!replaced && !current.unsaved).then(|| current.tokens.refresh_token.clone())
    }

    fn snapshot(&self) -> (OAuthTokens, bool) {
        let c = self.lock();
        (c.tokens.clone(), c.unsaved)
    }

    fn replace(&self, tokens: OAuthTokens) {
        *self.lock() = Current {
            tokens,
            unsaved: true,
        };
    }

    fn mark_saved(&self) {
        self.lock().unsaved = false;
    }

    /// Saves the current pair if it is unsaved. Call with `refreshing` held.
    async fn save_pending(&self, config_name: &str) -> Result<(), ConnectorError> {
        let (tokens, unsaved) = self.snapshot();
        if !unsaved {
            return Ok(());
        }
        let store = self.store.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(store) = store {
            store.save(&tokens).await.map_err(|e| {
                ConnectorError::new(
                    ErrorKind::Transient,
                    self.system,
                    format!(
                        "systems.{config_name}: the refreshed OAuth tokens could not be saved ({e}); \
                         they are not used until they are, because the old refresh token is revoked \
                         and the next start could not refresh; will retry (check the state database)"
                    ),
                )
                .with_source(e)
            })?;
        }
        self.mark_saved();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    fn pair(a: &str, r: &str) -> OAuthTokens {
        OAuthTokens {
            access_token: a.into(),
            refresh_token: r.into(),
        }
    }

    /// Fails while `fail` is set; counts saves.
    struct Flaky {
        fail: AtomicBool,
        saves: AtomicUsize,
    }

    #[async_trait]
    impl TokenStore for Flaky {
        async fn save(&self, _: &OAuthTokens) -> Result<(), ConnectorError> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(ConnectorError::new(
                    ErrorKind::Transient,
                    "store",
                    "disk full",
                ));
            }
            self.saves.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_new_pair_is_not_used_until_it_is_saved() {
        let cache = TokenCache::new("x", pair("a0", "r0"));
        let store = Arc::new(Flaky {
            fail: AtomicBool::new(true),
            saves: AtomicUsize::new(0),
        });
        cache.set_store(store.clone());
        let e = cache
            .refresh(Some("a0"), "crm", |r| async move {
                assert_eq!(r, "r0");
                Ok(pair("a1", "r1"))
            })
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Transient);
        assert!(e.message.contains("next start could not refresh"), "{e}");
        assert!(e.message.contains("systems.crm"), "{e}");
        // Still unsaved: the token is refused, and the rotated pair is kept (not r0 again).
        assert!(cache.access_token("crm").await.is_err());
        assert_eq!(cache.tokens().refresh_token, "r1");
        // The store recovers: the next use saves first, then sends.
        store.fail.store(false, Ordering::SeqCst);
        assert_eq!(cache.access_token("crm").await.unwrap(), "a1");
        assert_eq!(store.saves.load(Ordering::SeqCst), 1);
        assert_eq!(cache.access_token("crm").await.unwrap(), "a1");
        assert_eq!(store.saves.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_caller_with_an_old_token_gets_the_newer_pair_without_refreshing() {
        let cache = TokenCache::new("x", pair("a0", "r0"));
        cache
            .refresh(Some("a0"), "crm", |_| async { Ok(pair("a1", "r1")) })
            .await
            .unwrap();
        let got = cache
            .refresh(Some("a0"), "crm", |_| async {
                panic!("must not refresh twice")
            })
            .await
            .unwrap();
        assert_eq!(got, pair("a1", "r1"));
    }
}
