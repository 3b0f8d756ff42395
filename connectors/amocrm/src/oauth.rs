//! OAuth 2.0 for public amoCRM integrations: the access token is refreshed with
//! `POST /oauth2/access_token` (`grant_type=refresh_token`) when a call answers 401, once, and
//! the call is retried. amoCRM rotates the refresh token on every refresh (the old one stops
//! working), so the new pair is handed to a [`TokenSink`] for the engine to persist before
//! anything else happens.
//!
//! Request body (JSON): `client_id`, `client_secret`, `grant_type`, `refresh_token`,
//! `redirect_uri`; answer: `token_type`, `expires_in`, `server_time`, `access_token`,
//! `refresh_token` (developers.kommo.com/reference/get-token). Lifetimes (24 h access,
//! 3 months refresh) are UNCONFIRMED.

use async_trait::async_trait;
use dealbridge_sdk::error::ConnectorError;
use serde::Deserialize;

/// The OAuth integration an [`crate::AmoClient`] refreshes its access token with.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthSettings {
    /// The integration's ID (amoCRM: Settings → Integrations → your integration → Keys).
    pub client_id: String,
    /// The integration's secret key.
    pub client_secret: String,
    /// The redirect URI registered for the integration (amoCRM checks it on refresh).
    pub redirect_uri: String,
    /// The current refresh token (the last one amoCRM issued; each refresh replaces it).
    pub refresh_token: String,
}

impl std::fmt::Debug for OAuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets never appear in logs.
        f.debug_struct("OAuthSettings")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// A token pair amoCRM issued.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct OAuthTokens {
    /// The new access token (sent as `Authorization: Bearer`).
    pub access_token: String,
    /// The new refresh token; the previous one no longer works.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// When amoCRM issued it, Unix seconds.
    #[serde(default)]
    pub server_time: Option<i64>,
}

impl std::fmt::Debug for OAuthTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthTokens")
            .field("expires_in", &self.expires_in)
            .field("server_time", &self.server_time)
            .finish_non_exhaustive()
    }
}

/// Where a refreshed token pair goes so the next process start uses it (the engine's secret
/// store or database). Called after every successful refresh, before the failed call is
/// retried. An error is logged and the client keeps the new pair in memory: the refresh token
/// already rotated, so failing the call would not bring the old one back.
#[async_trait]
pub trait TokenSink: Send + Sync {
    /// Persists `tokens`.
    async fn persist(&self, tokens: &OAuthTokens) -> Result<(), ConnectorError>;
}

/// Any `Fn(&OAuthTokens)` closure is a sink (e.g. one that sends the pair over a channel).
#[async_trait]
impl<F> TokenSink for F
where
    F: Fn(&OAuthTokens) + Send + Sync,
{
    async fn persist(&self, tokens: &OAuthTokens) -> Result<(), ConnectorError> {
        self(tokens);
        Ok(())
    }
}
