//! The longest wait of a request under steady load across several token lifetimes, with refresh
//! ahead on and off. The first token is fetched before the load starts.
//!
//! Run: `cargo bench --bench refresh`. The token endpoint responds after 200 ms and issues 4-second
//! tokens; one request starts every 10 ms for three lifetimes. With refresh ahead on, the next
//! token arrives before the current one retires, so no request after the first should wait for a
//! fetch. With it off, the requests at each expiry wait for the fetch: the stall this benchmark
//! must be able to show.
//!
//! A maximum is one number per run, not a distribution, so this benchmark prints its own report
//! instead of criterion's per-iteration statistics.

use std::time::Duration;

use reqwest_middleware::ClientWithMiddleware;
use reqwest_spotify_auth::{DEFAULT_REFRESH_AHEAD, SpotifyAuthMiddleware};

#[path = "support/mod.rs"]
mod support;

use support::{BenchServer, client, is_smoke_run};

struct Settings {
    token_delay: Duration,
    lifetime_secs: u64,
    lifetimes: u32,
    interval: Duration,
}

struct Report {
    requests: usize,
    max: Duration,
    median: Duration,
    token_requests: u64,
}

/// Sends one request every `interval` for the given number of lifetimes, each in its own task,
/// and returns their latencies.
async fn steady_load(
    client: &ClientWithMiddleware,
    url: &str,
    settings: &Settings,
) -> Vec<Duration> {
    let total = Duration::from_secs(settings.lifetime_secs) * settings.lifetimes;
    let count = (total.as_millis() / settings.interval.as_millis()) as usize;
    let mut ticker = tokio::time::interval(settings.interval);
    let mut requests = Vec::with_capacity(count);

    for _ in 0..count {
        ticker.tick().await;
        let request = client.get(url);
        requests.push(tokio::spawn(async move {
            let started = std::time::Instant::now();
            let response = request.send().await.expect("loopback request");
            assert!(response.status().is_success(), "{}", response.status());
            response.bytes().await.expect("loopback body");
            started.elapsed()
        }));
    }

    let mut latencies = Vec::with_capacity(count);
    for request in requests {
        latencies.push(request.await.expect("request task"));
    }
    latencies
}

fn run(runtime: &tokio::runtime::Runtime, settings: &Settings, refresh_ahead: Duration) -> Report {
    let server = BenchServer::start(settings.token_delay, settings.lifetime_secs);
    let auth: SpotifyAuthMiddleware = server.auth(refresh_ahead);
    let client = client(
        &reqwest::Client::new(),
        Some(std::sync::Arc::new(auth.clone())),
    );

    // The first token is fetched before the load starts, so the cold start, which every request
    // waits for, is not counted; only renewals are.
    runtime.block_on(auth.access_token()).expect("first token");
    let mut latencies = runtime.block_on(steady_load(&client, &server.api_url(), settings));
    latencies.sort();

    Report {
        requests: latencies.len(),
        max: *latencies.last().expect("at least one request"),
        median: latencies[latencies.len() / 2],
        token_requests: server.token_requests(),
    }
}

fn main() {
    let settings = if is_smoke_run() {
        Settings {
            token_delay: Duration::from_millis(50),
            lifetime_secs: 1,
            lifetimes: 2,
            interval: Duration::from_millis(20),
        }
    } else {
        Settings {
            token_delay: Duration::from_millis(200),
            lifetime_secs: 4,
            lifetimes: 3,
            interval: Duration::from_millis(10),
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");

    println!(
        "refresh: token endpoint delay {:?}, {} s tokens, one request every {:?} for {} lifetimes",
        settings.token_delay, settings.lifetime_secs, settings.interval, settings.lifetimes
    );
    for (label, window) in [
        ("refresh ahead on", DEFAULT_REFRESH_AHEAD),
        ("refresh ahead off", Duration::ZERO),
    ] {
        let report = run(&runtime, &settings, window);
        let verdict = if report.max < settings.token_delay {
            "below the endpoint delay: no request waited for a fetch"
        } else {
            "at or above the endpoint delay: requests waited for a fetch"
        };
        println!(
            "{label}: {} requests, {} token requests, median {:?}, max {:?} ({:.2} x endpoint delay, {verdict})",
            report.requests,
            report.token_requests,
            report.median,
            report.max,
            report.max.as_secs_f64() / settings.token_delay.as_secs_f64()
        );
    }
}
