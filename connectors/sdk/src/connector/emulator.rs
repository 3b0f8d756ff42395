//! `dealbridge emulate <kind>`: a connector's emulator, described so the CLI can offer its flags
//! without knowing the vendor.

use crate::fault::FaultConfig;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

/// One flag of an emulator (`--seed-orders 20`), turned into a CLI option by the engine.
#[derive(Debug, Clone, Copy)]
pub struct EmulatorFlag {
    /// The long name without dashes (`seed-orders`).
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// The value when the flag is not given (`None`: no value; for a switch, ignored).
    pub default: Option<&'static str>,
    /// An environment variable that supplies it (for secrets, kept off the command line).
    pub env: Option<&'static str>,
    /// A switch (`--enterprise`): present or not, no value.
    pub switch: bool,
}

impl EmulatorFlag {
    /// A flag taking a value, with a default.
    pub const fn value(name: &'static str, help: &'static str, default: &'static str) -> Self {
        EmulatorFlag {
            name,
            help,
            default: Some(default),
            env: None,
            switch: false,
        }
    }

    /// A flag taking a value, without a default.
    pub const fn optional(name: &'static str, help: &'static str) -> Self {
        EmulatorFlag {
            name,
            help,
            default: None,
            env: None,
            switch: false,
        }
    }

    /// A switch.
    pub const fn switch(name: &'static str, help: &'static str) -> Self {
        EmulatorFlag {
            name,
            help,
            default: None,
            env: None,
            switch: true,
        }
    }

    /// The same flag, also read from environment variable `env`.
    pub const fn from_env(mut self, env: &'static str) -> Self {
        self.env = Some(env);
        self
    }
}

/// The flag values given on the command line (switches as `"true"`).
#[derive(Debug, Clone, Default)]
pub struct EmulatorOptions(pub BTreeMap<String, String>);

impl EmulatorOptions {
    /// The value of flag `name`, if given or defaulted.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of `name` as text (empty when absent).
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }

    /// The value of `name` parsed as `T`; an unparsable value is an error naming the flag.
    pub fn parse<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        self.get(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| format!("--{name} `{v}` is not a valid value"))
            })
            .transpose()
    }

    /// Whether switch `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.get(name) == Some("true")
    }
}

/// A future that resolves when the emulator should stop (Ctrl-C, SIGTERM).
pub type StopSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A connector's emulator, run by `dealbridge emulate <kind>`.
#[async_trait::async_trait]
pub trait Emulator: Send + Sync {
    /// One line for `--help`.
    fn about(&self) -> &'static str;

    /// The default `--listen` address.
    fn default_listen(&self) -> &'static str;

    /// Its own flags (the engine adds `--listen` and the fault flags).
    fn flags(&self) -> &'static [EmulatorFlag];

    /// Serves on `listen` with `faults` until `stop` resolves, printing where it listens.
    async fn run(
        &self,
        listen: SocketAddr,
        options: &EmulatorOptions,
        faults: FaultConfig,
        stop: StopSignal,
    ) -> Result<(), String>;
}
