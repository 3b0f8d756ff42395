//! Who may use the console: a login form checks `[server] console_token` (constant time) and
//! sets an HttpOnly, SameSite=Strict session cookie; every state-changing request carries the
//! session's CSRF token. Sessions live in memory: a restart asks for the token again.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use dealbridge_sdk::config::Secret;
use rand::RngCore;
use std::collections::HashMap;
use std::sync::Mutex;
use subtle::ConstantTimeEq;

/// Why a request was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No (valid) session: 401 with the login form.
    NoSession,
    /// The form's CSRF token is not the session's: 403, nothing changes.
    Csrf,
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::NoSession => {
                (StatusCode::UNAUTHORIZED, super::pages::login(None)).into_response()
            }
            Denied::Csrf => (
                StatusCode::FORBIDDEN,
                "the form is stale or forged (CSRF token mismatch); reload the page and try again\n",
            )
                .into_response(),
        }
    }
}

/// The session cookie's name.
pub const COOKIE: &str = "dealbridge_console";

/// One logged-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The cookie value.
    pub id: String,
    /// The token every form of this session posts back.
    pub csrf: String,
}

/// The console's access rule and its sessions.
pub struct ConsoleAuth {
    /// `None`: open (only ever served on a loopback address, see `cli::run`).
    token: Option<Secret>,
    sessions: Mutex<HashMap<String, Session>>,
}

impl ConsoleAuth {
    /// Access by `token`, or open when `None`.
    pub fn new(token: Option<Secret>) -> Self {
        ConsoleAuth {
            token,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a login is asked for.
    pub fn closed(&self) -> bool {
        self.token.is_some()
    }

    /// A new session when `given` is the token (or the console is open).
    pub fn login(&self, given: &str) -> Option<Session> {
        if let Some(token) = &self.token {
            if !bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
                return None;
            }
        }
        let session = Session {
            id: random_hex(),
            csrf: random_hex(),
        };
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(session.id.clone(), session.clone());
        Some(session)
    }

    /// Forgets the session of `headers`' cookie.
    pub fn logout(&self, headers: &HeaderMap) {
        if let Some(id) = cookie(headers) {
            self.sessions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
        }
    }

    /// The session of the request, or the answer to give instead: 401 with the login form.
    /// An open console hands every request one shared session (its CSRF check still applies).
    pub fn session(&self, headers: &HeaderMap) -> Result<Session, Denied> {
        let found = cookie(headers).and_then(|id| {
            self.sessions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&id)
                .cloned()
        });
        match found {
            Some(s) => Ok(s),
            None if !self.closed() => Ok(self.open_session()),
            None => Err(Denied::NoSession),
        }
    }

    /// The request's session when its form carries that session's CSRF token; 403 otherwise.
    pub fn check_csrf(&self, headers: &HeaderMap, csrf: &str) -> Result<Session, Denied> {
        let session = self.session(headers)?;
        if bool::from(csrf.as_bytes().ct_eq(session.csrf.as_bytes())) {
            Ok(session)
        } else {
            Err(Denied::Csrf)
        }
    }

    /// The one session of an open console.
    fn open_session(&self) -> Session {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = sessions.get("open") {
            return s.clone();
        }
        let s = Session {
            id: "open".to_string(),
            csrf: random_hex(),
        };
        sessions.insert(s.id.clone(), s.clone());
        s
    }
}

/// The `Set-Cookie` value for `session`.
pub fn set_cookie(session: &Session) -> String {
    format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", session.id)
}

/// The session id in the request's cookies.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// 24 random bytes as hex: session ids, CSRF tokens, the sandbox's one-time console token.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_cookie(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn a_closed_console_wants_the_token_and_the_session_csrf() {
        let auth = ConsoleAuth::new(Some(Secret::new("s3cret")));
        assert!(auth.login("wrong").is_none());
        assert!(auth.session(&HeaderMap::new()).is_err());
        let s = auth.login("s3cret").expect("right token");
        let h = with_cookie(&format!("other=1; {COOKIE}={}", s.id));
        assert_eq!(auth.session(&h).unwrap(), s);
        assert!(auth.check_csrf(&h, &s.csrf).is_ok());
        assert!(auth.check_csrf(&h, "forged").is_err());
        auth.logout(&h);
        assert!(auth.session(&h).is_err());
        assert!(set_cookie(&s).contains("HttpOnly; SameSite=Strict"));
    }

    #[test]
    fn an_open_console_still_checks_csrf() {
        let auth = ConsoleAuth::new(None);
        let s = auth.session(&HeaderMap::new()).unwrap();
        assert_eq!(auth.session(&HeaderMap::new()).unwrap(), s);
        assert!(auth.check_csrf(&HeaderMap::new(), "x").is_err());
        assert!(auth.check_csrf(&HeaderMap::new(), &s.csrf).is_ok());
    }
}
