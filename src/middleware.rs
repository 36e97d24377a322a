//! [`SpotifyAuthMiddleware`]: attach the token, send, and retry once on 401.

use std::fmt;
use std::sync::Arc;

use http::Extensions;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next};

use crate::Error;
use crate::builder::SpotifyAuthBuilder;
use crate::cache::TokenCache;
use crate::credentials::Credentials;
use crate::origin::ApiOrigin;
use crate::stats::{AuthStats, StatsCounters};
use crate::token::AccessToken;

/// A [`reqwest_middleware::Middleware`] that authenticates requests to Spotify's Web API with
/// the OAuth 2.0 client-credentials flow.
///
/// For each request to an API origin it attaches `Authorization: Bearer <token>`, fetching a
/// token when there is none or it is about to expire, and sends the request once more with a new
/// token if the API responds with 401. Clones share one token cache, so one middleware can serve many
/// clients.
///
/// ```no_run
/// use reqwest_middleware::ClientBuilder;
/// use reqwest_spotify_auth::SpotifyAuthMiddleware;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = ClientBuilder::new(reqwest::Client::new())
///     .with(SpotifyAuthMiddleware::from_env()?)
///     .build();
///
/// let artist = client
///     .get("https://api.spotify.com/v1/artists/0TnOYISbd1XYRBk9myaseg")
///     .send()
///     .await?
///     .error_for_status()?
///     .text()
///     .await?;
/// println!("{artist}");
/// # Ok(())
/// # }
/// ```
///
/// A request that already has an `Authorization` header, or goes to another origin, passes
/// through untouched. 403, 429 and 5xx responses are returned as they are; put
/// `reqwest_retry::RetryTransientMiddleware` around this middleware to retry them.
#[derive(Clone)]
pub struct SpotifyAuthMiddleware {
    cache: TokenCache,
    origins: Arc<[ApiOrigin]>,
    resend_unauthorized: bool,
}

impl SpotifyAuthMiddleware {
    /// Creates a middleware for Spotify with default settings.
    ///
    /// It does not fail: an empty client ID or secret is reported as [`Error::Config`] by the
    /// first request, and wrong credentials as [`Error::InvalidClient`].
    ///
    /// # Panics
    ///
    /// If the default HTTP client for token requests cannot be built, as
    /// [`reqwest::Client::new`] panics when its TLS backend fails to start.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self::builder(client_id, client_secret)
            .build_unchecked_credentials()
            .expect("the default settings are valid")
    }

    /// Creates a middleware with default settings from `SPOTIFY_CLIENT_ID` and
    /// `SPOTIFY_CLIENT_SECRET`, trimming surrounding whitespace from both.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable that is unset, empty or not valid UTF-8.
    pub fn from_env() -> Result<Self, Error> {
        Self::builder_from_env()?.build()
    }

    /// Starts a builder for custom settings.
    pub fn builder(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> SpotifyAuthBuilder {
        SpotifyAuthBuilder::new(Credentials::new(client_id, client_secret))
    }

    /// Starts a builder with the credentials read as [`from_env`](Self::from_env) reads them.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable that is unset, empty or not valid UTF-8.
    pub fn builder_from_env() -> Result<SpotifyAuthBuilder, Error> {
        Ok(SpotifyAuthBuilder::new(Credentials::from_env()?))
    }

    /// Starts a builder from [`Credentials`] obtained elsewhere.
    pub fn builder_with_credentials(credentials: Credentials) -> SpotifyAuthBuilder {
        SpotifyAuthBuilder::new(credentials)
    }

    pub(crate) fn from_parts(
        cache: TokenCache,
        origins: Arc<[ApiOrigin]>,
        resend_unauthorized: bool,
    ) -> Self {
        SpotifyAuthMiddleware {
            cache,
            origins,
            resend_unauthorized,
        }
    }

    /// Returns a valid token, fetching one if needed, for callers outside `reqwest`.
    ///
    /// # Errors
    ///
    /// The error of the token fetch: see [`Error`].
    pub async fn access_token(&self) -> Result<AccessToken, Error> {
        self.cache.get_with(|cached| cached.token.clone()).await
    }

    /// Returns a snapshot of the counters shared by all clones.
    pub fn stats(&self) -> AuthStats {
        self.cache.stats()
    }

    /// Returns `true` when the request goes to an API origin and has no `Authorization` header.
    fn should_authorize(&self, request: &Request) -> bool {
        let url = request.url();
        !request.headers().contains_key(AUTHORIZATION)
            && self.origins.iter().any(|origin| origin.matches(url))
    }

    /// Copies the current token's header value out of the cache, fetching a token if needed.
    async fn bearer(&self) -> reqwest_middleware::Result<Bearer> {
        self.cache
            .get_with(|cached| Bearer {
                header: cached.token.header().clone(),
                generation: cached.generation,
            })
            .await
            .map_err(reqwest_middleware::Error::middleware)
    }

    /// Handles a 401: drops the token that failed and, if a copy of the request exists, sends it
    /// again once with a fresh token. A second 401 is returned to the caller.
    async fn retry_unauthorized(
        &self,
        response: Response,
        failed_generation: u64,
        copy: Option<Request>,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        self.cache.invalidate(failed_generation);

        let Some(copy) = copy else {
            tracing::debug!(
                url = %response.url(),
                "API responded with 401; the request is not resent (resending is off or the body cannot be cloned)"
            );
            return Ok(response);
        };

        let fresh = self.bearer().await?;
        StatsCounters::increment(&self.cache.counters().unauthorized_retries);
        tracing::debug!(
            url = %response.url(),
            generation = fresh.generation,
            "API responded with 401; resending once with a new token"
        );

        next.run(with_token(copy, fresh.header), extensions).await
    }
}

#[async_trait::async_trait]
impl Middleware for SpotifyAuthMiddleware {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if !self.should_authorize(&request) {
            return next.run(request, extensions).await;
        }

        let Bearer { header, generation } = self.bearer().await?;
        // The copy for a resend after 401 costs four allocations in reqwest's try_clone.
        let copy = if self.resend_unauthorized {
            request.try_clone()
        } else {
            None
        };

        let response = next
            .clone()
            .run(with_token(request, header), extensions)
            .await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }

        self.retry_unauthorized(response, generation, copy, extensions, next)
            .await
    }
}

/// The `Authorization` value of one token, and the generation that identifies the token in the
/// cache.
struct Bearer {
    header: HeaderValue,
    generation: u64,
}

/// Sets the token's pre-built, sensitive `Authorization` value on the request.
fn with_token(mut request: Request, header: HeaderValue) -> Request {
    request.headers_mut().insert(AUTHORIZATION, header);
    request
}

impl fmt::Debug for SpotifyAuthMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origins: Vec<String> = self.origins.iter().map(ToString::to_string).collect();

        f.debug_struct("SpotifyAuthMiddleware")
            .field("credentials", self.cache.credentials())
            .field("token_url", &self.cache.redacted_token_url())
            .field("api_origins", &origins)
            .field("stats", &self.stats())
            .finish()
    }
}
