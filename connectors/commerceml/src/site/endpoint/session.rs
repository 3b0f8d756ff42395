//! HTTP Basic at `checkauth`, then a cookie for every later request.

use axum::http::{header, HeaderMap};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The cookie name answered in line 2 of `checkauth`.
pub const COOKIE_NAME: &str = "DEALBRIDGE_1C";

/// Sessions older than this are forgotten (a whole exchange takes minutes, not a day).
const SESSION_TTL: Duration = Duration::from_secs(24 * 3600);

/// One authenticated 1C session. Kept in memory and, when the endpoint has a directory, in a
/// small JSON file there too, so a restart of dealbridge in the middle of an exchange does not
/// void 1C's cookie: 1C's next `mode=import` finds its session and its uploaded files again, and
/// the import (idempotent: unchanged rows are skipped by content hash) simply starts over.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Session {
    /// The `sessid=` token of line 4.
    pub sessid: String,
    /// `version=` sent at `init` (new protocol) or `None` (old protocol).
    pub version: Option<String>,
    /// Ids of the orders answered to the last `query`, confirmed by `success`.
    pub sent_orders: Vec<String>,
    /// Unix seconds; wall clock, so it means the same after a restart.
    created: i64,
}

impl Session {
    fn alive(&self) -> bool {
        let age = chrono::Utc::now().timestamp() - self.created;
        (0..SESSION_TTL.as_secs() as i64).contains(&age)
    }
}

/// Live sessions by cookie value.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    /// Where sessions are persisted (`<exchange dir>/.sessions`); `None` keeps them in memory.
    dir: Option<PathBuf>,
}

impl Sessions {
    /// Sessions persisted under `dir`.
    pub fn persisted(dir: PathBuf) -> Self {
        Sessions {
            map: Mutex::new(HashMap::new()),
            dir: Some(dir),
        }
    }

    fn file(&self, cookie: &str) -> Option<PathBuf> {
        // Our cookies are hex uuids; anything else never reaches the file system.
        if cookie.is_empty() || cookie.len() > 64 || !cookie.chars().all(|c| c.is_ascii_hexdigit())
        {
            return None;
        }
        self.dir.as_ref().map(|d| d.join(format!("{cookie}.json")))
    }

    fn save(&self, cookie: &str, session: &Session) {
        let Some(path) = self.file(cookie) else {
            return;
        };
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(path.parent().expect("has a parent"))?;
            let tmp = path.with_extension("tmp");
            std::fs::write(
                &tmp,
                serde_json::to_vec(session).map_err(std::io::Error::other)?,
            )?;
            std::fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            tracing::warn!(error = %e, "cannot persist the 1C exchange session; a restart will end it");
        }
    }

    fn load(&self, cookie: &str) -> Option<Session> {
        let bytes = std::fs::read(self.file(cookie)?).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Starts a session; returns (cookie value, sessid).
    pub fn open(&self) -> (String, String) {
        let cookie = uuid::Uuid::new_v4().simple().to_string();
        let sessid = uuid::Uuid::new_v4().simple().to_string();
        let session = Session {
            sessid: sessid.clone(),
            version: None,
            sent_orders: Vec::new(),
            created: chrono::Utc::now().timestamp(),
        };
        self.save(&cookie, &session);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.alive());
        map.insert(cookie.clone(), session);
        (cookie, sessid)
    }

    /// The cookie value of the request, when it names a live session (also one opened before a
    /// restart).
    pub fn find(&self, headers: &HeaderMap) -> Option<String> {
        let value = cookie_value(headers)?;
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(&value) {
            if let Some(s) = self.load(&value) {
                map.insert(value.clone(), s);
            }
        }
        map.get(&value).filter(|s| s.alive()).map(|_| value)
    }

    /// Runs `f` on the session `cookie` (and persists the result).
    pub fn with<T>(&self, cookie: &str, f: impl FnOnce(&mut Session) -> T) -> Option<T> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let session = map.get_mut(cookie)?;
        let out = f(session);
        self.save(cookie, session);
        Some(out)
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
