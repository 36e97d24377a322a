//! Settings for [`SpotifyAuthMiddleware`], their defaults, and their validation.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::Error;
use crate::cache::{CacheSettings, TokenCache};
use crate::clock::WallClock;
use crate::credentials::Credentials;
use crate::middleware::SpotifyAuthMiddleware;
use crate::origin::{ApiOrigin, parse_token_url, redacted_url, redacted_url_text};
use crate::retry_policy::TokenRetryPolicy;
use crate::stats::StatsCounters;
use crate::token_request::TokenRequester;

/// Spotify's token endpoint for the client-credentials flow.
pub const SPOTIFY_TOKEN_URL: &str = "https://accounts.spotify.com/api/token";
/// The origin of Spotify's Web API, the only one that receives the token by default.
pub const SPOTIFY_API_ORIGIN: &str = "https://api.spotify.com";
/// How long before its stated expiry a token stops being used.
pub const DEFAULT_EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// How long one token fetch, retries included, may take.
pub const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long before the expiry margin a background fetch for the next token starts.
pub const DEFAULT_REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);
/// The first pause after a failed fetch, during which requests fail at once.
pub const DEFAULT_FAILURE_COOLDOWN: Duration = Duration::from_secs(1);
/// The maximum pause after failed fetches; the pause doubles up to it.
pub const DEFAULT_MAX_FAILURE_COOLDOWN: Duration = Duration::from_secs(30);

/// Configures a [`SpotifyAuthMiddleware`]. Created by [`SpotifyAuthMiddleware::builder`].
///
/// Setters only store values; [`build`](Self::build) checks them all.
///
/// ```
/// use std::time::Duration;
/// use reqwest_spotify_auth::SpotifyAuthMiddleware;
///
/// let auth = SpotifyAuthMiddleware::builder("client-id", "client-secret")
///     .expiry_margin(Duration::from_secs(30))
///     .token_timeout(Duration::from_secs(5))
///     .build()?;
/// # Ok::<(), reqwest_spotify_auth::Error>(())
/// ```
#[must_use = "a builder does nothing until build() is called"]
pub struct SpotifyAuthBuilder {
    credentials: Credentials,
    token_url: String,
    api_origins: Vec<String>,
    expiry_margin: Duration,
    token_timeout: Duration,
    refresh_ahead: Duration,
    failure_cooldown: Duration,
    max_failure_cooldown: Duration,
    retry: TokenRetryPolicy,
    http_client: Option<reqwest::Client>,
    wall_clock: WallClock,
    resend_unauthorized: bool,
}

impl SpotifyAuthBuilder {
    pub(crate) fn new(credentials: Credentials) -> Self {
        SpotifyAuthBuilder {
            credentials,
            token_url: SPOTIFY_TOKEN_URL.to_owned(),
            api_origins: vec![SPOTIFY_API_ORIGIN.to_owned()],
            expiry_margin: DEFAULT_EXPIRY_MARGIN,
            token_timeout: DEFAULT_TOKEN_TIMEOUT,
            refresh_ahead: DEFAULT_REFRESH_AHEAD,
            failure_cooldown: DEFAULT_FAILURE_COOLDOWN,
            max_failure_cooldown: DEFAULT_MAX_FAILURE_COOLDOWN,
            retry: TokenRetryPolicy::default(),
            http_client: None,
            wall_clock: WallClock::default(),
            resend_unauthorized: true,
        }
    }

    /// Sets the token endpoint. Default: [`SPOTIFY_TOKEN_URL`].
    ///
    /// It must use `https`, or `http` on a loopback host (127.0.0.0/8, `::1`, `localhost`).
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = url.into();
        self
    }

    /// Sets the origins (scheme, host and port) whose requests receive the token, replacing the
    /// default, which is [`SPOTIFY_API_ORIGIN`] alone.
    ///
    /// Requests to any other origin pass through untouched. The same `https` rule as for the
    /// token URL applies.
    pub fn api_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.api_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Sets how long before its stated expiry a token stops being used. Default: 60 s.
    ///
    /// For a short-lived token the margin is cut to a tenth of its lifetime, so the token is
    /// still used for most of its life.
    pub fn expiry_margin(mut self, margin: Duration) -> Self {
        self.expiry_margin = margin;
        self
    }

    /// Sets how long one token fetch may take, retries and their delays included. Default: 10 s.
    /// Must be greater than zero.
    pub fn token_timeout(mut self, timeout: Duration) -> Self {
        self.token_timeout = timeout;
        self
    }

    /// Sets how long before the expiry margin a request starts a background fetch of the next
    /// token while it goes on with the current one. Default: 5 minutes; zero turns it off.
    ///
    /// Like the margin, the window is cut to a tenth of a token's lifetime.
    pub fn refresh_ahead(mut self, window: Duration) -> Self {
        self.refresh_ahead = window;
        self
    }

    /// Sets the pause after a failed fetch during which requests needing a token fail at once
    /// with [`Error::CoolingDown`] instead of starting new fetches. Default: 1 s; zero turns it
    /// off.
    ///
    /// Each further failure doubles the pause up to
    /// [`max_failure_cooldown`](Self::max_failure_cooldown); a success resets it. A longer
    /// `Retry-After` from the token endpoint wins.
    pub fn failure_cooldown(mut self, pause: Duration) -> Self {
        self.failure_cooldown = pause;
        self
    }

    /// Sets the cap on the pause after repeated failed fetches. Default: 30 s. Must not be less
    /// than the first pause.
    pub fn max_failure_cooldown(mut self, pause: Duration) -> Self {
        self.max_failure_cooldown = pause;
        self
    }

    /// Sets how a token fetch retries transient failures. Default:
    /// [`TokenRetryPolicy::default`].
    pub fn token_retry(mut self, policy: TokenRetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sets whether a request that gets a 401 is sent once more with a new token. Default: on.
    ///
    /// Either way the token that got the 401 is dropped, so the next request gets a new one.
    /// Turning resending off saves the copy of each request kept for it (four heap allocations
    /// in `reqwest`'s `Request::try_clone`), and suits requests that must never be sent twice.
    pub fn resend_on_unauthorized(mut self, resend: bool) -> Self {
        self.resend_unauthorized = resend;
        self
    }

    /// Sets the client that sends token requests, so that its proxy, TLS and timeout settings
    /// apply. Default: a client that follows no redirects.
    ///
    /// Token requests never pass through the middleware chain they serve.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Replaces the wall clock that guards against a suspended machine, for tests that need to
    /// move it. Only with the `test-util` feature.
    #[cfg(feature = "test-util")]
    pub fn wall_clock(
        mut self,
        now: impl Fn() -> std::time::SystemTime + Send + Sync + 'static,
    ) -> Self {
        self.wall_clock = WallClock::from_fn(now);
        self
    }

    /// Checks every setting and builds the middleware.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the first invalid setting. The checks:
    ///
    /// - the client ID and secret are not empty or blank;
    /// - the token URL and each API origin parse, and use `https`, or `http` on a loopback host;
    /// - there is at least one API origin;
    /// - the token timeout is not zero;
    /// - the maximum cool-down is not below the first;
    /// - the retry policy is valid.
    pub fn build(self) -> Result<SpotifyAuthMiddleware, Error> {
        self.credentials.validate()?;
        self.build_unchecked_credentials()
    }

    /// Builds without checking the credentials, for the infallible constructors. Empty
    /// credentials then surface as an error on the first request.
    pub(crate) fn build_unchecked_credentials(self) -> Result<SpotifyAuthMiddleware, Error> {
        let token_url = parse_token_url(&self.token_url)?;
        let origins = self.parse_origins()?;
        self.check_durations()?;
        self.retry.validate()?;

        let http = match self.http_client {
            Some(client) => client,
            None => default_token_client()?,
        };

        let requester = TokenRequester {
            http,
            redacted_url: redacted_url(&token_url),
            token_url,
            credentials: self.credentials,
            timeout: self.token_timeout,
            retry: self.retry,
            wall_clock: self.wall_clock.clone(),
            stats: Arc::new(StatsCounters::default()),
        };
        let settings = CacheSettings {
            expiry_margin: self.expiry_margin,
            refresh_ahead: self.refresh_ahead,
            failure_cooldown: self.failure_cooldown,
            max_failure_cooldown: self.max_failure_cooldown,
        };

        let cache = TokenCache::new(requester, settings, self.wall_clock);
        Ok(SpotifyAuthMiddleware::from_parts(
            cache,
            origins,
            self.resend_unauthorized,
        ))
    }

    fn parse_origins(&self) -> Result<Arc<[ApiOrigin]>, Error> {
        if self.api_origins.is_empty() {
            return Err(Error::config(
                "api_origins",
                "the list is empty, so no request would receive the token; give at least one \
                 origin, such as https://api.spotify.com",
            ));
        }

        self.api_origins
            .iter()
            .map(|origin| ApiOrigin::parse(origin))
            .collect()
    }

    fn check_durations(&self) -> Result<(), Error> {
        if self.token_timeout.is_zero() {
            return Err(Error::config(
                "token_timeout",
                "it is zero, so every token fetch would time out; give a positive duration",
            ));
        }

        if self.max_failure_cooldown < self.failure_cooldown {
            return Err(Error::config(
                "max_failure_cooldown",
                format!(
                    "{:?} is less than failure_cooldown ({:?})",
                    self.max_failure_cooldown, self.failure_cooldown
                ),
            ));
        }

        Ok(())
    }
}

impl fmt::Debug for SpotifyAuthBuilder {
    /// Shows every setting, with the secret redacted and URLs shown without user information or
    /// query.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origins: Vec<String> = self
            .api_origins
            .iter()
            .map(|origin| redacted_url_text(origin))
            .collect();

        f.debug_struct("SpotifyAuthBuilder")
            .field("credentials", &self.credentials)
            .field("token_url", &redacted_url_text(&self.token_url))
            .field("api_origins", &origins)
            .field("expiry_margin", &self.expiry_margin)
            .field("token_timeout", &self.token_timeout)
            .field("refresh_ahead", &self.refresh_ahead)
            .field("failure_cooldown", &self.failure_cooldown)
            .field("max_failure_cooldown", &self.max_failure_cooldown)
            .field("retry", &self.retry)
            .field("resend_unauthorized", &self.resend_unauthorized)
            .field("http_client", &self.http_client)
            .field("wall_clock", &self.wall_clock)
            .finish()
    }
}

/// Builds the default client for token requests. It follows no redirects, because a redirected
/// token request would carry the Basic credentials to a URL that was never configured.
fn default_token_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| {
            Error::config(
                "http_client",
                format!("the default HTTP client could not be built ({error}); pass one with http_client()"),
            )
        })
}
