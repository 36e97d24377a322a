//! Counters of the requests the fake received and the responses it sent.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use http::StatusCode;

/// A snapshot of the fake's counters, from [`FakeSpotify::stats`](super::FakeSpotify::stats).
///
/// Every token request has exactly one outcome, so `token_requests` equals `tokens_issued +
/// token_rejections + token_faults` once no token request is in flight. The outcome is counted
/// before any delay, so a request whose client gives up during the delay still counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FakeStats {
    /// Requests to `/api/token`, whatever their method and outcome.
    pub token_requests: u64,
    /// Token requests that received a new token.
    pub tokens_issued: u64,
    /// Token requests rejected with an RFC 6749 error: bad method, content type, credentials or
    /// grant type.
    pub token_rejections: u64,
    /// Token requests that received an injected [`CannedResponse`](super::CannedResponse).
    pub token_faults: u64,
    /// Token requests whose response was held back by an injected or configured delay.
    pub token_delays: u64,
    /// Calls to [`FakeSpotify::revoke_all_tokens`](super::FakeSpotify::revoke_all_tokens).
    pub revocations: u64,
    /// Requests under `/v1`, whatever their outcome.
    pub api_requests: u64,
    /// Responses to requests under `/v1`, counted by status code.
    pub api_statuses: BTreeMap<u16, u64>,
    /// API requests that received an injected [`CannedResponse`](super::CannedResponse).
    pub api_faults: u64,
    /// 401 responses to API requests without a bearer token (`No token provided`).
    pub missing_token_rejections: u64,
    /// 401 responses to API requests with a token the fake never issued or has revoked
    /// (`Invalid access token`).
    pub invalid_token_rejections: u64,
    /// 401 responses to API requests with an expired token (`The access token expired`).
    pub expired_token_rejections: u64,
}

impl FakeStats {
    /// Returns how many API responses had `status`.
    pub fn api_status_count(&self, status: u16) -> u64 {
        self.api_statuses.get(&status).copied().unwrap_or(0)
    }
}

/// The live counters behind [`FakeStats`].
#[derive(Debug, Default)]
pub(crate) struct FakeCounters {
    pub(crate) token_requests: AtomicU64,
    pub(crate) tokens_issued: AtomicU64,
    pub(crate) token_rejections: AtomicU64,
    pub(crate) token_faults: AtomicU64,
    pub(crate) token_delays: AtomicU64,
    pub(crate) revocations: AtomicU64,
    pub(crate) api_requests: AtomicU64,
    pub(crate) api_faults: AtomicU64,
    pub(crate) missing_token_rejections: AtomicU64,
    pub(crate) invalid_token_rejections: AtomicU64,
    pub(crate) expired_token_rejections: AtomicU64,
    api_statuses: Mutex<BTreeMap<u16, u64>>,
}

impl FakeCounters {
    pub(crate) fn increment(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_api_status(&self, status: StatusCode) {
        let mut statuses = self
            .api_statuses
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *statuses.entry(status.as_u16()).or_default() += 1;
    }

    pub(crate) fn snapshot(&self) -> FakeStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let api_statuses = self
            .api_statuses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();

        FakeStats {
            token_requests: read(&self.token_requests),
            tokens_issued: read(&self.tokens_issued),
            token_rejections: read(&self.token_rejections),
            token_faults: read(&self.token_faults),
            token_delays: read(&self.token_delays),
            revocations: read(&self.revocations),
            api_requests: read(&self.api_requests),
            api_statuses,
            api_faults: read(&self.api_faults),
            missing_token_rejections: read(&self.missing_token_rejections),
            invalid_token_rejections: read(&self.invalid_token_rejections),
            expired_token_rejections: read(&self.expired_token_rejections),
        }
    }
}
