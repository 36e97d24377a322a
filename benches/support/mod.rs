//! Shared pieces of the benchmarks: a loopback server, the baseline middlewares that the crate is
//! compared with, and the reading of criterion's results for the printed ratios.

#![allow(dead_code)] // Each benchmark uses a different part of this module.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use http::Extensions;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Request, Response};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use reqwest_spotify_auth::SpotifyAuthMiddleware;
use tokio::sync::oneshot;

pub const CLIENT_ID: &str = "bench-client";
pub const CLIENT_SECRET: &str = "bench-secret";

/// Returns `true` under `cargo bench -- --test`, the smoke mode that runs each benchmark once.
pub fn is_smoke_run() -> bool {
    std::env::args().any(|argument| argument == "--test")
}

/// Returns the folder criterion writes its results to, set explicitly so the ratios can be read
/// back.
pub fn criterion_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/criterion")
}

/// Reads the median, in nanoseconds, that criterion stored for one benchmark.
pub fn median_ns(group: &str, function: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let estimates: serde_json::Value = serde_json::from_str(&text).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

/// Prints `label: numerator / denominator = ratio`, when both medians exist.
pub fn print_ratio(label: &str, numerator: (&str, &str), denominator: (&str, &str)) {
    // A smoke run records no medians, and older ones on disk belong to another run.
    if is_smoke_run() {
        println!("{label}: no ratio in a smoke run");
        return;
    }
    let (Some(top), Some(bottom)) = (
        median_ns(numerator.0, numerator.1),
        median_ns(denominator.0, denominator.1),
    ) else {
        println!("{label}: no medians recorded (smoke run?)");
        return;
    };
    println!(
        "{label}: {}/{} {} / {}/{} {} = {:.3}",
        numerator.0,
        numerator.1,
        format_ns(top),
        denominator.0,
        denominator.1,
        format_ns(bottom),
        top / bottom
    );
}

pub fn format_ns(nanos: f64) -> String {
    match nanos {
        n if n >= 1e9 => format!("{:.3} s", n / 1e9),
        n if n >= 1e6 => format!("{:.3} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.2} µs", n / 1e3),
        n => format!("{n:.1} ns"),
    }
}

/// The loopback server: `GET /v1/ok` returns a small JSON body, `POST /api/token` returns a
/// token after a fixed delay. It runs on its own thread and runtime, so the client's runtime
/// measures only the client.
pub struct BenchServer {
    pub address: SocketAddr,
    token_requests: Arc<AtomicU64>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Clone)]
struct ServerState {
    token_delay: Duration,
    token_lifetime_secs: u64,
    token_requests: Arc<AtomicU64>,
}

impl BenchServer {
    pub fn start(token_delay: Duration, token_lifetime_secs: u64) -> Self {
        let token_requests = Arc::new(AtomicU64::new(0));
        let state = ServerState {
            token_delay,
            token_lifetime_secs,
            token_requests: Arc::clone(&token_requests),
        };
        let (address_sender, address_receiver) = std::sync::mpsc::channel();
        let (shutdown, shutdown_signal) = oneshot::channel::<()>();

        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind loopback");
                address_sender.send(listener.local_addr().unwrap()).unwrap();
                let app = Router::new()
                    .route("/v1/ok", get(|| async { r#"{"ok":true}"# }))
                    .route("/api/token", post(issue_token))
                    .with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = shutdown_signal.await;
                    })
                    .await
                    .expect("bench server");
            });
        });

        BenchServer {
            address: address_receiver.recv().expect("server address"),
            token_requests,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn api_url(&self) -> String {
        format!("{}/v1/ok", self.base())
    }

    pub fn token_url(&self) -> String {
        format!("{}/api/token", self.base())
    }

    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::SeqCst)
    }

    /// Builds a middleware aimed at this server, with the given refresh-ahead window.
    pub fn auth(&self, refresh_ahead: Duration) -> SpotifyAuthMiddleware {
        self.auth_builder(refresh_ahead)
            .build()
            .expect("valid bench settings")
    }

    pub fn auth_builder(
        &self,
        refresh_ahead: Duration,
    ) -> reqwest_spotify_auth::SpotifyAuthBuilder {
        SpotifyAuthMiddleware::builder(CLIENT_ID, CLIENT_SECRET)
            .token_url(self.token_url())
            .api_origins([self.base()])
            .refresh_ahead(refresh_ahead)
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn issue_token(State(state): State<ServerState>) -> axum::response::Response {
    let number = state.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
    if !state.token_delay.is_zero() {
        tokio::time::sleep(state.token_delay).await;
    }

    let body = format!(
        r#"{{"access_token":"bench-token-{number}","token_type":"Bearer","expires_in":{}}}"#,
        state.token_lifetime_secs
    );
    axum::response::Response::builder()
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap()
}

/// Builds a client with `middleware` over a shared `reqwest::Client`, or with none.
pub fn client(
    http: &reqwest::Client,
    middleware: Option<Arc<dyn Middleware>>,
) -> ClientWithMiddleware {
    let builder = ClientBuilder::new(http.clone());
    match middleware {
        Some(middleware) => builder.with_arc(middleware).build(),
        None => builder.build(),
    }
}

/// Baseline: fetches a new token before every request, as code that builds its headers per call
/// does.
pub struct PerRequestToken {
    http: reqwest::Client,
    token_url: String,
}

impl PerRequestToken {
    pub fn new(server: &BenchServer) -> Self {
        PerRequestToken {
            http: reqwest::Client::new(),
            token_url: server.token_url(),
        }
    }
}

#[async_trait::async_trait]
impl Middleware for PerRequestToken {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let token = fetch_token(&self.http, &self.token_url).await?;
        request.headers_mut().insert(AUTHORIZATION, token);
        next.run(request, extensions).await
    }
}

/// Baseline: a cache that holds a `tokio::sync::Mutex` across the token fetch, so every request
/// takes the lock and all wait while one fetches.
pub struct MutexCache {
    http: reqwest::Client,
    token_url: String,
    token: tokio::sync::Mutex<Option<(HeaderValue, tokio::time::Instant)>>,
}

impl MutexCache {
    pub fn new(server: &BenchServer) -> Self {
        MutexCache {
            http: reqwest::Client::new(),
            token_url: server.token_url(),
            token: tokio::sync::Mutex::new(None),
        }
    }
}

#[async_trait::async_trait]
impl Middleware for MutexCache {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let header = {
            let mut slot = self.token.lock().await;
            let now = tokio::time::Instant::now();
            match slot.as_ref() {
                Some((header, deadline)) if *deadline > now => header.clone(),
                _ => {
                    let header = fetch_token(&self.http, &self.token_url).await?;
                    *slot = Some((header.clone(), now + Duration::from_secs(3000)));
                    header
                }
            }
        };
        request.headers_mut().insert(AUTHORIZATION, header);
        next.run(request, extensions).await
    }
}

async fn fetch_token(
    http: &reqwest::Client,
    token_url: &str,
) -> reqwest_middleware::Result<HeaderValue> {
    let body = http
        .post(token_url)
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await?
        .bytes()
        .await?;
    let parsed: serde_json::Value =
        serde_json::from_slice(&body).map_err(reqwest_middleware::Error::middleware)?;
    let token = parsed["access_token"].as_str().unwrap_or_default();
    Ok(HeaderValue::try_from(format!("Bearer {token}")).expect("token is header text"))
}
