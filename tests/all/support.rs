//! Shared fixtures: a wiremock server that plays token endpoint and API, and clients built on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use reqwest_spotify_auth::{Error, SpotifyAuthBuilder, SpotifyAuthMiddleware, TokenRetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const CLIENT_ID: &str = "test-client-id";
pub const CLIENT_SECRET: &str = "test-client-secret";
pub const TOKEN_PATH: &str = "/api/token";

/// A token endpoint that issues `token-1`, `token-2`, ... with a fixed `expires_in`.
#[derive(Clone)]
pub struct TokenIssuer {
    issued: Arc<AtomicUsize>,
    expires_in: Value,
    delay: Duration,
    /// Token requests after this many get their response after `delay`, earlier ones at once.
    prompt_tokens: usize,
}

impl TokenIssuer {
    pub fn new(expires_in: Value) -> Self {
        TokenIssuer {
            issued: Arc::new(AtomicUsize::new(0)),
            expires_in,
            delay: Duration::ZERO,
            prompt_tokens: 0,
        }
    }

    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Responds to the first `count` token requests at once and the later ones after the delay.
    pub fn prompt_for_first(mut self, count: usize) -> Self {
        self.prompt_tokens = count;
        self
    }

    pub fn issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }
}

impl Respond for TokenIssuer {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let number = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let delay = if number > self.prompt_tokens {
            self.delay
        } else {
            Duration::ZERO
        };
        ResponseTemplate::new(200)
            .set_body_json(json!({
                "access_token": format!("token-{number}"),
                "token_type": "Bearer",
                "expires_in": self.expires_in,
            }))
            .set_delay(delay)
    }
}

/// Mounts a token endpoint issuing numbered one-hour tokens and returns it for counting.
pub async fn mount_token_issuer(server: &MockServer) -> TokenIssuer {
    mount_issuer(server, TokenIssuer::new(json!(3600))).await
}

pub async fn mount_issuer(server: &MockServer, issuer: TokenIssuer) -> TokenIssuer {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(issuer.clone())
        .mount(server)
        .await;
    issuer
}

/// Mounts `GET /v1/...` returning 200 with an empty JSON object.
pub async fn mount_api_ok(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path_regex("^/v1/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(server)
        .await;
}

/// Returns a builder aimed at `server` for both token endpoint and API, with failure cool-downs and
/// token retries off so that error tests see each failure at once.
pub fn builder_for(server: &MockServer) -> SpotifyAuthBuilder {
    SpotifyAuthMiddleware::builder(CLIENT_ID, CLIENT_SECRET)
        .token_url(format!("{}{TOKEN_PATH}", server.uri()))
        .api_origins([server.uri()])
        .failure_cooldown(Duration::ZERO)
        .token_retry(TokenRetryPolicy::never())
}

pub fn client_with(auth: SpotifyAuthMiddleware) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(auth)
        .build()
}

/// Sends `GET {server}/v1/{suffix}` through `client`.
pub async fn get_api(
    client: &ClientWithMiddleware,
    server: &MockServer,
    suffix: &str,
) -> reqwest_middleware::Result<reqwest::Response> {
    client
        .get(format!("{}/v1/{suffix}", server.uri()))
        .send()
        .await
}

/// Returns the crate's error inside a middleware error, or fails the test.
pub fn auth_error(error: reqwest_middleware::Error) -> Error {
    match error {
        reqwest_middleware::Error::Middleware(inner) => inner
            .downcast_ref::<Error>()
            .cloned()
            .unwrap_or_else(|| panic!("middleware error is not ours: {inner:?}")),
        reqwest_middleware::Error::Reqwest(inner) => panic!("expected our error, got {inner:?}"),
    }
}

/// Returns the requests the server received on `request_path`.
pub async fn requests_to(server: &MockServer, request_path: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .into_iter()
        .filter(|request| request.url.path() == request_path)
        .collect()
}

pub async fn token_request_count(server: &MockServer) -> usize {
    requests_to(server, TOKEN_PATH).await.len()
}

/// Returns the `Authorization` values of the API requests the server received, in order.
pub async fn api_authorizations(server: &MockServer) -> Vec<Option<String>> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .into_iter()
        .filter(|request| request.url.path().starts_with("/v1/"))
        .map(|request| {
            request
                .headers
                .get("authorization")
                .map(|value| value.to_str().unwrap().to_owned())
        })
        .collect()
}

/// Returns the `Authorization` value of the last API request the server received.
pub async fn last_authorization(server: &MockServer) -> Option<String> {
    api_authorizations(server).await.pop().flatten()
}

/// Moves Tokio's clock forward while no request is in flight, then lets it run again, because a
/// paused clock skips ahead while the runtime waits on a socket and fires I/O timeouts early.
pub async fn jump(by: Duration) {
    tokio::time::pause();
    tokio::time::advance(by).await;
    tokio::time::resume();
}

/// Waits until `done` holds, checking every 5 ms for at most 10 s.
pub async fn wait_until(mut done: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("condition not reached within 10 s");
}

/// Returns an address on loopback where nothing listens.
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

/// The variable that marks a run of this test binary as the child of another of its tests.
const CHILD_MARKER: &str = "REQWEST_SPOTIFY_AUTH_TEST_CHILD";

/// Returns `true` inside a process started by [`run_child`].
pub fn is_child() -> bool {
    std::env::var_os(CHILD_MARKER).is_some()
}

/// Runs one test of this binary alone in a child process, with the given environment, and
/// returns what it printed. Tests that change process-wide state (environment variables, the
/// global `tracing` subscriber) run this way so they cannot race with the others.
pub fn run_child(test_name: &str, variables: &[(&str, &str)]) -> String {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(CHILD_MARKER, "1")
        .env_remove("SPOTIFY_CLIENT_ID")
        .env_remove("SPOTIFY_CLIENT_SECRET");
    for (name, value) in variables {
        command.env(name, value);
    }

    let output = command.output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
