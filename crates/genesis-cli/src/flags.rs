//! Flags given on the command line, as the TOML keys they override (the engine layers them
//! over the preset and the config file).

use serde::Serialize;

/// A table of kebab-case keys, filled from `Option` flags that were given.
#[derive(Default)]
pub struct Flags(pub toml::Table);

impl Flags {
    /// Sets `key` when `value` was given.
    pub fn set<T: Serialize>(mut self, key: &str, value: Option<&T>) -> anyhow::Result<Self> {
        if let Some(v) = value {
            self.0.insert(key.into(), toml::Value::try_from(v)?);
        }
        Ok(self)
    }
}
