//! The state that the fake's request handlers share with the [`FakeSpotify`](super::FakeSpotify)
//! handle.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use super::catalog::Catalog;
use super::faults::FaultQueue;
use super::stats::FakeCounters;
use super::token_store::TokenStore;

/// Everything the handlers read and change. All changes go through interior mutability, so
/// handlers and test code share it through an `Arc` without further locking.
#[derive(Debug)]
pub(crate) struct FakeState {
    /// `http://127.0.0.1:<port>`, the prefix of every link the fake sends.
    pub(crate) base_uri: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) token_lifetime: Duration,
    pub(crate) catalog: Catalog,
    pub(crate) tokens: TokenStore,
    pub(crate) token_faults: FaultQueue,
    pub(crate) api_faults: FaultQueue,
    pub(crate) token_delay: DurationSetting,
    pub(crate) api_latency: DurationSetting,
    pub(crate) counters: FakeCounters,
}

/// A duration that tests may change while the server runs.
#[derive(Debug, Default)]
pub(crate) struct DurationSetting(Mutex<Duration>);

impl DurationSetting {
    pub(crate) fn new(value: Duration) -> Self {
        DurationSetting(Mutex::new(value))
    }

    pub(crate) fn get(&self) -> Duration {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set(&self, value: Duration) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = value;
    }
}
