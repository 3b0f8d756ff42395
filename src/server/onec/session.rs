//! HTTP Basic at `checkauth`, then a cookie for every later request.

use axum::http::{header, HeaderMap};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// The cookie name answered in line 2 of `checkauth`.
pub const COOKIE_NAME: &str = "DEALBRIDGE_1C";

/// Sessions older than this are forgotten (a whole exchange takes minutes, not a day).
const SESSION_TTL: Duration = Duration::from_secs(24 * 3600);

/// One authenticated 1C session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The `sessid=` token of line 4.
    pub sessid: String,
    /// `version=` sent at `init` (new protocol) or `None` (old protocol).
    pub version: Option<String>,
    /// Ids of the orders answered to the last `query`, confirmed by `success`.
    pub sent_orders: Vec<String>,
    created: Instant,
}

/// Live sessions by cookie value.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Starts a session; returns (cookie value, sessid).
    pub fn open(&self) -> (String, String) {
        let cookie = uuid::Uuid::new_v4().simple().to_string();
        let sessid = uuid::Uuid::new_v4().simple().to_string();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.created.elapsed() < SESSION_TTL);
        map.insert(
            cookie.clone(),
            Session {
                sessid: sessid.clone(),
                version: None,
                sent_orders: Vec::new(),
                created: Instant::now(),
            },
        );
        (cookie, sessid)
    }

    /// The cookie value of the request, when it names a live session.
    pub fn find(&self, headers: &HeaderMap) -> Option<String> {
        let value = cookie_value(headers)?;
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&value)
            .filter(|s| s.created.elapsed() < SESSION_TTL)
            .map(|_| value)
    }

    /// Runs `f` on the session `cookie`.
    pub fn with<T>(&self, cookie: &str, f: impl FnOnce(&mut Session) -> T) -> Option<T> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get_mut(cookie).map(f)
    }
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    for h in headers.get_all(header::COOKIE) {
        let Ok(text) = h.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                if k.trim() == COOKIE_NAME {
                    return Some(v.trim().to_string());
                }
            }
        }
    }
    None
}

/// Whether the request carries HTTP Basic credentials equal to `login`/`password`. Compared
/// in constant time over SHA-256 digests, so neither content nor length leaks through timing.
pub fn basic_matches(headers: &HeaderMap, login: &str, password: &str) -> bool {
    let Some((user, pass)) = basic_credentials(headers) else {
        return false;
    };
    let d = |s: &str| Sha256::digest(s.as_bytes());
    let user_ok = d(&user).as_slice().ct_eq(d(login).as_slice());
    let pass_ok = d(&pass).as_slice().ct_eq(d(password).as_slice());
    bool::from(user_ok & pass_ok)
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    // 1C sends the credentials in UTF-8; a Cyrillic login must still work.
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}
