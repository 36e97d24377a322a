//! The access tokens the fake has issued, with their expiry on Tokio's clock.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// The length of an issued token, in alphanumeric characters.
const TOKEN_LENGTH: usize = 64;

/// The state of a presented token in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenStatus {
    Valid,
    /// Never issued, or revoked.
    Unknown,
    Expired,
}

/// Issued tokens and their expiry instants. Expired tokens are kept, so that the API can tell
/// an expired token from an unknown one.
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    tokens: Mutex<HashMap<String, Instant>>,
}

impl TokenStore {
    /// Issues a new random token that expires after `lifetime`.
    pub(crate) fn issue(&self, lifetime: Duration) -> String {
        let token: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(TOKEN_LENGTH)
            .collect();

        self.lock().insert(token.clone(), Instant::now() + lifetime);
        token
    }

    pub(crate) fn check(&self, token: &str) -> TokenStatus {
        match self.lock().get(token) {
            None => TokenStatus::Unknown,
            Some(expires_at) if Instant::now() >= *expires_at => TokenStatus::Expired,
            Some(_) => TokenStatus::Valid,
        }
    }

    /// Forgets every token, so that each one is unknown from now on.
    pub(crate) fn revoke_all(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Instant>> {
        // Each change is a single map operation, so a poisoned lock still holds a whole map.
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
