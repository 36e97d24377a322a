//! The access token handed to callers, and the grant it is made from.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

/// The grant of a successful token response: the token and its lifetime.
pub(crate) struct Grant {
    pub(crate) value: SecretString,
    pub(crate) lifetime: Duration,
    /// When the successful request was sent. Counting the lifetime from the send time, not the
    /// arrival time, keeps the local deadline a little ahead of the server's.
    pub(crate) sent_at: Instant,
    pub(crate) wall_sent_at: SystemTime,
}

/// An OAuth 2.0 bearer token, as returned by
/// [`SpotifyAuthMiddleware::access_token`](crate::SpotifyAuthMiddleware::access_token).
///
/// The value is reachable only through [`secret`](Self::secret); `Debug` prints `[redacted]` in its
/// place. Cloning is cheap: clones share one allocation.
///
/// ```no_run
/// # async fn run() -> Result<(), reqwest_spotify_auth::Error> {
/// use reqwest_spotify_auth::SpotifyAuthMiddleware;
///
/// let auth = SpotifyAuthMiddleware::from_env()?;
/// let token = auth.access_token().await?;
/// println!("token valid for another {:?}", token.expires_in());
/// let header = format!("Bearer {}", token.secret());
/// # let _ = header;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct AccessToken {
    inner: Arc<TokenData>,
}

struct TokenData {
    value: SecretString,
    header: HeaderValue,
    lifetime: Duration,
    deadline: Instant,
    wall_deadline: SystemTime,
}

impl AccessToken {
    /// Builds the token from a grant, with its `Bearer` header value ready for every request.
    pub(crate) fn from_grant(grant: Grant) -> Self {
        let deadline = grant.sent_at + grant.lifetime;
        let wall_deadline = grant
            .wall_sent_at
            .checked_add(grant.lifetime)
            .unwrap_or(grant.wall_sent_at);

        // The response parser accepts only tokens that are valid header text.
        let mut header = HeaderValue::try_from(format!("Bearer {}", grant.value.expose_secret()))
            .expect("the token response parser accepts only visible ASCII tokens");
        header.set_sensitive(true);

        AccessToken {
            inner: Arc::new(TokenData {
                value: grant.value,
                header,
                lifetime: grant.lifetime,
                deadline,
                wall_deadline,
            }),
        }
    }

    /// Returns the token's secret value, as sent after `Bearer ` in the `Authorization` header.
    pub fn secret(&self) -> &str {
        self.inner.value.expose_secret()
    }

    /// Returns the time left until the server's stated expiry, zero once it has passed.
    ///
    /// The middleware stops using a token `expiry_margin` before this point.
    pub fn expires_in(&self) -> Duration {
        self.inner
            .deadline
            .saturating_duration_since(Instant::now())
    }

    /// Returns the lifetime the token endpoint granted (`expires_in` of its response).
    pub fn lifetime(&self) -> Duration {
        self.inner.lifetime
    }

    pub(crate) fn header(&self) -> &HeaderValue {
        &self.inner.header
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.inner.deadline
    }

    pub(crate) fn wall_deadline(&self) -> SystemTime {
        self.inner.wall_deadline
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[redacted]")
            .field("lifetime", &self.inner.lifetime)
            .field("expires_in", &self.expires_in())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(value: &str, lifetime: Duration) -> Grant {
        Grant {
            value: SecretString::from(value),
            lifetime,
            sent_at: Instant::now(),
            wall_sent_at: SystemTime::now(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn header_is_bearer_and_sensitive() {
        let token = AccessToken::from_grant(grant("abc.DEF-123", Duration::from_secs(3600)));

        assert_eq!(token.header().to_str().unwrap(), "Bearer abc.DEF-123");
        assert!(token.header().is_sensitive());
        assert_eq!(token.secret(), "abc.DEF-123");
    }

    #[tokio::test(start_paused = true)]
    async fn expires_in_counts_down_to_zero() {
        let token = AccessToken::from_grant(grant("t", Duration::from_secs(10)));

        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(token.expires_in(), Duration::from_secs(6));

        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(token.expires_in(), Duration::ZERO);
        assert_eq!(token.lifetime(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn debug_hides_value() {
        let token = AccessToken::from_grant(grant("very-secret-token", Duration::from_secs(60)));

        let printed = format!("{token:?}");

        assert!(printed.contains("[redacted]"));
        assert!(!printed.contains("very-secret-token"));
    }
}
