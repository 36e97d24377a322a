//! Integration tests: the real `reqwest` client over loopback to wiremock and axum servers.

mod caching;
mod composition;
mod concurrency;
mod config;
mod fake;
mod origins;
mod rate_limit;
mod redaction;
mod refresh_ahead;
mod request_shape;
mod scraper;
mod soak;
mod support;
mod token_faults;
mod token_responses;
mod unauthorized;
