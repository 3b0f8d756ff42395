//! OAuth token pairs kept in the engine's durable state ([`SavedState`]) under one key per
//! system, as `{"access_token", "refresh_token"}` JSON (the format older versions wrote).

use super::SavedState;
use crate::auth::{OAuthTokens, TokenStore};
use crate::error::ConnectorError;
use std::sync::Arc;

/// The state key of a system's newest OAuth token pair.
pub fn oauth_key(system: &str) -> String {
    format!("oauth:{system}")
}

/// A [`TokenStore`] over [`SavedState`]: each refreshed pair is saved (and the save awaited)
/// before the client uses it.
pub struct SavedTokens {
    state: Arc<dyn SavedState>,
    key: String,
}

impl SavedTokens {
    /// The token pair of `system` in `state`.
    pub fn new(state: Arc<dyn SavedState>, system: &str) -> Self {
        SavedTokens {
            state,
            key: oauth_key(system),
        }
    }

    /// The newest saved pair; `None` when none was saved or only half of one (then the
    /// caller starts from the config's first pair: never a mix of two pairs).
    pub async fn load(&self) -> Result<Option<OAuthTokens>, ConnectorError> {
        let saved = self
            .state
            .load(&self.key)
            .await?
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok());
        Ok(saved.and_then(|v| {
            Some(OAuthTokens {
                access_token: v["access_token"].as_str()?.to_string(),
                refresh_token: v["refresh_token"].as_str()?.to_string(),
            })
        }))
    }
}

#[async_trait::async_trait]
impl TokenStore for SavedTokens {
    async fn save(&self, tokens: &OAuthTokens) -> Result<(), ConnectorError> {
        let value = serde_json::json!({
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
        })
        .to_string();
        self.state.save(&self.key, &value).await
    }
}
