//! A 1C client emulator: drives a site's exchange endpoint exactly as 1C:Enterprise does
//! (checkauth → init → file, chunked by the site's `file_limit` and zipped when offered →
//! import until `success`; for orders: query → success → file → import), recording a
//! transcript without the password.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dealbridge_sdk::http::{client, Timeouts};

use crate::ExchangeType;

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The endpoint URL, e.g. `http://127.0.0.1:8080/1c/exchange`.
    pub url: String,
    /// HTTP Basic user.
    pub login: String,
    /// HTTP Basic password (never written to the transcript).
    pub password: String,
    /// Pack the files into one archive when the site answers `zip=yes`.
    pub zip: bool,
    /// `version=` sent at init (new protocol); `None` speaks the old protocol.
    pub version: Option<String>,
    /// Most `progress` answers accepted for one import before giving up.
    pub max_progress: usize,
    /// Pause between `progress` polls.
    pub poll_interval: Duration,
    /// Cap on the chunk size, below the site's `file_limit` (tests use it to force chunking).
    pub chunk_limit: Option<u64>,
}

impl ClientOptions {
    /// Options with the defaults 1C uses (version 2.10, zip when offered).
    pub fn new(
        url: impl Into<String>,
        login: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        ClientOptions {
            url: url.into(),
            login: login.into(),
            password: password.into(),
            zip: true,
            version: Some("2.10".to_string()),
            max_progress: 10_000,
            poll_interval: Duration::from_millis(50),
            chunk_limit: None,
        }
    }
}

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The query string sent (no credentials are ever in it).
    pub query: String,
    /// Size of the request body, for uploads.
    pub body_len: Option<usize>,
    /// HTTP status.
    pub status: u16,
    /// The answer's text (lossy UTF-8).
    pub answer: String,
}

/// Everything that was said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// Requests in order.
    pub steps: Vec<Step>,
    /// The raw bytes answered to `mode=query`, if the exchange got that far.
    pub orders_xml: Option<Vec<u8>>,
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.steps {
            write!(f, "> {} ?{}", s.method, s.query)?;
            if let Some(n) = s.body_len {
                write!(f, " ({n} bytes)")?;
            }
            writeln!(f)?;
            let mut answer: String = s.answer.chars().take(300).collect();
            if answer.len() < s.answer.len() {
                answer.push('…');
            }
            for line in answer.lines() {
                writeln!(f, "< {line}")?;
            }
            if s.status != 200 {
                writeln!(f, "< (HTTP {})", s.status)?;
            }
        }
        Ok(())
    }
}

/// Why an exchange stopped. Each variant carries the transcript so far.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The request could not be sent or its answer not read.
    #[error("1C exchange: {step} to {url} failed: {message}; check the URL and that the site is running")]
    Transport {
        /// The step (`mode`).
        step: String,
        /// The endpoint.
        url: String,
        /// What the HTTP client said.
        message: String,
        /// The transcript so far.
        transcript: Transcript,
    },
    /// The site answered `failure`.
    #[error("1C exchange: the site answered failure to {step}: {reason}")]
    Failure {
        /// The step.
        step: String,
        /// The lines after `failure`.
        reason: String,
        /// The transcript so far.
        transcript: Transcript,
    },
    /// The answer is not the exchange protocol (what 1C reports as "unknown status").
    #[error("1C exchange: the answer to {step} is not success/progress/failure: {answer:?}; the site is not a 1C exchange endpoint or broke")]
    Protocol {
        /// The step.
        step: String,
        /// The first 200 characters of the answer.
        answer: String,
        /// The transcript so far.
        transcript: Transcript,
    },
    /// A local file could not be read or packed.
    #[error("1C exchange: cannot prepare {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
        /// The transcript so far.
        transcript: Transcript,
    },
}

impl ExchangeError {
    /// The transcript up to the error.
    pub fn transcript(&self) -> &Transcript {
        match self {
            ExchangeError::Transport { transcript, .. }
            | ExchangeError::Failure { transcript, .. }
            | ExchangeError::Protocol { transcript, .. }
            | ExchangeError::File { transcript, .. } => transcript,
        }
    }
}

/// What `init` said.
#[derive(Debug, Clone, Copy)]
struct InitAnswer {
    zip: bool,
    file_limit: u64,
}

struct Session {
    http: reqwest::Client,
    opts: ClientOptions,
    kind: ExchangeType,
    cookie: Option<String>,
    sessid: Option<String>,
    transcript: Transcript,
}

impl Session {
    fn new(opts: &ClientOptions, kind: ExchangeType) -> Result<Self, ExchangeError> {
        let http = client(Timeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(300),
        })
        .map_err(|e| ExchangeError::Transport {
            step: "setup".into(),
            url: opts.url.clone(),
            message: e.to_string(),
            transcript: Transcript::default(),
        })?;
        Ok(Session {
            http,
            opts: opts.clone(),
            kind,
            cookie: None,
            sessid: None,
            transcript: Transcript::default(),
        })
    }

    /// Sends one request; returns the raw answer bytes.
    async fn send(
        &mut self,
        mode: &str,
        extra: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, ExchangeError> {
        let mut params: Vec<(&str, &str)> = vec![("type", self.kind.as_str()), ("mode", mode)];
        params.extend_from_slice(extra);
        let sessid = self.sessid.clone();
        if let Some(s) = sessid.as_deref() {
            if mode != "checkauth" {
                params.push(("sessid", s));
            }
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        let body_len = body.as_ref().map(Vec::len);
        let method = if body.is_some() { "POST" } else { "GET" };
        let mut req = match body {
            Some(b) => self.http.post(&self.opts.url).body(b),
            None => self.http.get(&self.opts.url),
        }
        .query(&params);
        if mode == "checkauth" {
            req = req.basic_auth(&self.opts.login, Some(&self.opts.password));
        }
        if let Some(c) = &self.cookie {
            req = req.header(reqwest::header::COOKIE, c);
        }
        let transport = |e: reqwest::Error, t: &Transcript| ExchangeError::Transport {
            step: mode.to_string(),
            url: self.opts.url.clone(),
            message: e.to_string(),
            transcript: t.clone(),
        };
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Err(transport(e, &self.transcript)),
        };
        let status = resp.status().as_u16();
        let bytes = match resp.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => return Err(transport(e, &self.transcript)),
        };
        self.transcript.steps.push(Step {
            method,
            query,
            body_len,
            status,
            answer: String::from_utf8_lossy(&bytes).into_owned(),
        });
        Ok(bytes)
    }

    /// Sends one request and insists on `success`/`progress`; returns (word, rest lines).
    async fn status(
        &mut self,
        mode: &str,
        extra: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<(String, Vec<String>), ExchangeError> {
        let bytes = self.send(mode, extra, body).await?;
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_start_matches('\u{feff}');
        let mut lines = text.lines().map(|l| l.trim_end_matches('\r').to_string());
        let word = lines.next().unwrap_or_default().trim().to_string();
        let rest: Vec<String> = lines.collect();
        match word.as_str() {
            "success" | "progress" => Ok((word, rest)),
            "failure" => Err(ExchangeError::Failure {
                step: mode.to_string(),
                reason: rest.join(" "),
                transcript: self.transcript.clone(),
            }),
            _ => Err(ExchangeError::Protocol {
                step: mode.to_string(),
                answer: text.chars().take(200).collect(),
                transcript: self.transcript.clone(),
            }),
        }
    }

    async fn checkauth(&mut self) -> Result<(), ExchangeError> {
        let (_, lines) = self.status("checkauth", &[], None).await?;
        let (Some(name), Some(value)) = (lines.first(), lines.get(1)) else {
            return Err(ExchangeError::Protocol {
                step: "checkauth".into(),
                answer: lines.join("\n"),
                transcript: self.transcript.clone(),
            });
        };
        self.cookie = Some(format!("{}={}", name.trim(), value.trim()));
        self.sessid = lines
            .iter()
            .find_map(|l| l.strip_prefix("sessid="))
            .map(|s| s.trim().to_string());
        Ok(())
    }

    async fn init(&mut self) -> Result<InitAnswer, ExchangeError> {
        let version = self.opts.version.clone();
        let extra: Vec<(&str, &str)> = version
            .as_deref()
            .map(|v| ("version", v))
            .into_iter()
            .collect();
        let bytes = self.send("init", &extra, None).await?;
        let text = String::from_utf8_lossy(&bytes)
            .trim_start_matches('\u{feff}')
            .to_string();
        if text.starts_with("failure") {
            return Err(ExchangeError::Failure {
                step: "init".into(),
                reason: text.lines().skip(1).collect::<Vec<_>>().join(" "),
                transcript: self.transcript.clone(),
            });
        }
        let mut zip = None;
        let mut file_limit = None;
        for line in text.lines() {
            if let Some(v) = line.trim().strip_prefix("zip=") {
                zip = Some(v == "yes");
            } else if let Some(v) = line.trim().strip_prefix("file_limit=") {
                file_limit = v.parse::<u64>().ok();
            }
        }
        match (zip, file_limit) {
            (Some(zip), Some(file_limit)) if file_limit > 0 => Ok(InitAnswer { zip, file_limit }),
            _ => Err(ExchangeError::Protocol {
                step: "init".into(),
                answer: text.chars().take(200).collect(),
                transcript: self.transcript.clone(),
            }),
        }
    }

    /// Uploads `bytes` as `name` in chunks of at most `limit` bytes (1C appends by name).
    async fn upload(&mut self, name: &str, bytes: &[u8], limit: u64) -> Result<(), ExchangeError> {
        let limit = self.opts.chunk_limit.map_or(limit, |c| c.min(limit)).max(1) as usize;
        if bytes.is_empty() {
            self.status("file", &[("filename", name)], Some(Vec::new()))
                .await?;
        }
        for chunk in bytes.chunks(limit) {
            self.status("file", &[("filename", name)], Some(chunk.to_vec()))
                .await?;
        }
        Ok(())
    }

    /// `mode=import` until `success`.
    async fn import(&mut self, name: &str) -> Result<(), ExchangeError> {
        if self.kind == ExchangeType::Sale && self.opts.version.is_none() {
            // Old protocol: the site imported order files at upload; 1C sends no import.
            return Ok(());
        }
        for _ in 0..self.opts.max_progress {
            let (word, _) = self.status("import", &[("filename", name)], None).await?;
            if word == "success" {
                return Ok(());
            }
            tokio::time::sleep(self.opts.poll_interval).await;
        }
        Err(ExchangeError::Failure {
            step: "import".into(),
            reason: format!(
                "{name}: still `progress` after {} requests; giving up",
                self.opts.max_progress
            ),
            transcript: self.transcript.clone(),
        })
    }

    fn file_error(&self, path: &Path, message: String) -> ExchangeError {
        ExchangeError::File {
            path: path.to_path_buf(),
            message,
            transcript: self.transcript.clone(),
        }
    }

    /// Uploads `files` as 1C does and imports each; zipped into one archive when both sides
    /// agree.
    async fn send_files(
        &mut self,
        init: InitAnswer,
        files: &[PathBuf],
    ) -> Result<(), ExchangeError> {
        let mut named = Vec::new();
        for path in files {
            let bytes = std::fs::read(path).map_err(|e| self.file_error(path, e.to_string()))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| self.file_error(path, "not a file name".into()))?;
            named.push((name, bytes));
        }
        if init.zip && self.opts.zip {
            let archive = pack(&named).map_err(|e| {
                self.file_error(Path::new("archive"), format!("cannot zip the files: {e}"))
            })?;
            // 1C names its archive v8_<hex>_<hex>.zip.
            let archive_name = format!(
                "v8_{:04X}_{:x}.zip",
                std::process::id() & 0xffff,
                archive.len()
            );
            self.upload(&archive_name, &archive, init.file_limit)
                .await?;
            for (name, _) in &named {
                self.import(name).await?;
            }
        } else {
            for (name, bytes) in &named {
                self.upload(name, bytes, init.file_limit).await?;
                self.import(name).await?;
            }
        }
        Ok(())
    }
}

/// Packs files into one deflated zip archive in memory.
fn pack(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        w.start_file(name.as_str(), options)?;
        w.write_all(bytes)?;
    }
    Ok(w.finish()?.into_inner())
}

/// Runs a catalog exchange: checkauth → init → file → import (per file) → complete.
pub async fn run_catalog_exchange(
    opts: &ClientOptions,
    files: &[PathBuf],
) -> Result<Transcript, ExchangeError> {
    let mut s = Session::new(opts, ExchangeType::Catalog)?;
    s.checkauth().await?;
    let init = s.init().await?;
    s.send_files(init, files).await?;
    if opts.version.is_some() {
        s.status("complete", &[], None).await?;
    }
    Ok(s.transcript)
}

/// Runs an order exchange: checkauth → init → query → success, then uploads and imports
/// `status_files` (order statuses and payments from 1C). The orders XML is in
/// [`Transcript::orders_xml`].
pub async fn run_sale_exchange(
    opts: &ClientOptions,
    status_files: &[PathBuf],
) -> Result<Transcript, ExchangeError> {
    let mut s = Session::new(opts, ExchangeType::Sale)?;
    s.checkauth().await?;
    let init = s.init().await?;
    let xml = s.send("query", &[], None).await?;
    let head = String::from_utf8_lossy(&xml[..xml.len().min(64)]).into_owned();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    if !head.starts_with("<?xml") && !head.starts_with('<') {
        return Err(if head.starts_with("failure") {
            ExchangeError::Failure {
                step: "query".into(),
                reason: String::from_utf8_lossy(&xml)
                    .lines()
                    .skip(1)
                    .collect::<Vec<_>>()
                    .join(" "),
                transcript: s.transcript.clone(),
            }
        } else {
            ExchangeError::Protocol {
                step: "query".into(),
                answer: head.to_string(),
                transcript: s.transcript.clone(),
            }
        });
    }
    s.transcript.orders_xml = Some(xml);
    s.status("success", &[], None).await?;
    if !status_files.is_empty() {
        s.send_files(init, status_files).await?;
    }
    Ok(s.transcript)
}
