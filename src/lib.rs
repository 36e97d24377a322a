//! OAuth 2.0 client-credentials authentication for Spotify's Web API, as a
//! [`reqwest_middleware`] middleware.
//!
//! [`SpotifyAuthMiddleware`] fetches a token from the token endpoint (RFC 6749 section 4.4) and
//! caches it until shortly before it expires. It attaches the token to every request to the API,
//! and sends a request once more with a new token when the API responds with 401. However many
//! requests need a token at once, one token request is sent.
//!
//! ```no_run
//! use reqwest_middleware::ClientBuilder;
//! use reqwest_spotify_auth::SpotifyAuthMiddleware;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = SpotifyAuthMiddleware::from_env()?;
//! let client = ClientBuilder::new(reqwest::Client::new()).with(auth).build();
//!
//! let response = client
//!     .get("https://api.spotify.com/v1/search?type=artist&q=Miles%20Davis")
//!     .send()
//!     .await?;
//! println!("{}", response.status());
//! # Ok(())
//! # }
//! ```
//!
//! The same middleware serves any OAuth 2.0 server that issues bearer tokens for client
//! credentials: set [`SpotifyAuthBuilder::token_url`] and [`SpotifyAuthBuilder::api_origins`].

#![warn(missing_docs)]

mod builder;
mod cache;
mod clock;
mod credentials;
mod error;
mod middleware;
mod origin;
mod rate_limit;
mod retry_policy;
mod stats;
mod token;
mod token_request;
mod token_response;

#[cfg(feature = "test-util")]
pub mod testing;

/// Compiles and runs the examples in README.md as doctests, so the README cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use builder::{
    DEFAULT_EXPIRY_MARGIN, DEFAULT_FAILURE_COOLDOWN, DEFAULT_MAX_FAILURE_COOLDOWN,
    DEFAULT_REFRESH_AHEAD, DEFAULT_TOKEN_TIMEOUT, SPOTIFY_API_ORIGIN, SPOTIFY_TOKEN_URL,
    SpotifyAuthBuilder,
};
pub use credentials::{CLIENT_ID_VAR, CLIENT_SECRET_VAR, Credentials};
pub use error::{BODY_EXCERPT_LIMIT, Error};
pub use middleware::SpotifyAuthMiddleware;
pub use rate_limit::{
    DEFAULT_MAX_RATE_LIMIT_RETRIES, DEFAULT_MAX_RATE_LIMIT_WAIT, RateLimitMiddleware,
    RateLimitStats,
};
pub use retry_policy::{
    DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_BACKOFF, TokenRetryPolicy,
};
pub use stats::AuthStats;
pub use token::AccessToken;
pub use token_response::DEFAULT_TOKEN_LIFETIME;
