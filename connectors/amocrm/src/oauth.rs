//! OAuth 2.0 for public amoCRM integrations: the access token is refreshed with
//! `POST /oauth2/access_token` (`grant_type=refresh_token`) when a call answers 401, once, and
//! the call is retried. amoCRM rotates the refresh token on every refresh (the old one stops
//! working), so the new pair is saved in the engine's [`TokenStore`] (the sdk's, shared with
//! Bitrix24) and the save is awaited before the new access token is used; a failed save fails
//! the call (see [`dealbridge_sdk::auth::TokenCache`]).
//!
//! Request body (JSON): `client_id`, `client_secret`, `grant_type`, `refresh_token`,
//! `redirect_uri`; answer: `token_type`, `expires_in`, `server_time`, `access_token`,
//! `refresh_token` (developers.kommo.com/reference/get-token). Lifetimes (24 h access,
//! 3 months refresh) are UNCONFIRMED.

pub use dealbridge_sdk::auth::{OAuthTokens, TokenStore};
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

/// amoCRM's answer to a refresh: the pair and its lifetime.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct TokenAnswer {
    /// The new access token (sent as `Authorization: Bearer`).
    pub access_token: String,
    /// The new refresh token; the previous one no longer works.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

impl TokenAnswer {
    /// The pair, for the token cache and store.
    pub(crate) fn tokens(self) -> OAuthTokens {
        OAuthTokens {
            access_token: self.access_token,
            refresh_token: self.refresh_token,
        }
    }
}
