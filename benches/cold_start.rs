//! 1,000 concurrent requests on a cold cache, with a token endpoint that responds after 200 ms.
//!
//! Run: `cargo bench --bench cold_start`. Each sample builds a fresh middleware, sends 1,000
//! requests at once and waits for all. Compared in the same run: the same batch through a client
//! without middleware (the bare batch time), one bare request, and the two baseline designs from
//! `support`. The endpoint's token request count is checked after each sample.

use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use reqwest_middleware::{ClientWithMiddleware, Middleware};

#[path = "support/mod.rs"]
mod support;

use support::{
    BenchServer, MutexCache, PerRequestToken, client, format_ns, is_smoke_run, median_ns,
    print_ratio,
};

const GROUP: &str = "cold_start";
const TOKEN_DELAY: Duration = Duration::from_millis(200);

/// Sends `count` requests at once and returns the time until the last one finished.
async fn batch(client: &ClientWithMiddleware, url: &str, count: usize) -> Duration {
    let started = std::time::Instant::now();
    let requests: Vec<_> = (0..count)
        .map(|_| {
            let request = client.get(url);
            tokio::spawn(async move {
                let response = request.send().await.expect("loopback request");
                assert!(response.status().is_success(), "{}", response.status());
                response.bytes().await.expect("loopback body");
            })
        })
        .collect();
    for request in requests {
        request.await.expect("request task");
    }
    started.elapsed()
}

fn main() {
    let mut criterion = Criterion::default()
        .output_directory(&support::criterion_dir())
        .sample_size(10)
        .measurement_time(Duration::from_secs(6))
        .configure_from_args();
    let batch_size = if is_smoke_run() { 50 } else { 1_000 };

    let server = BenchServer::start(TOKEN_DELAY, 3600);
    let url = server.api_url();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("client runtime");
    let http = reqwest::Client::new();
    let bare = client(&http, None);
    runtime.block_on(batch(&bare, &url, batch_size));

    let mut group = criterion.benchmark_group(GROUP);
    group.bench_function("bare_single_request", |bencher| {
        bencher.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    total += batch(&bare, &url, 1).await;
                }
                total
            })
        });
    });
    group.bench_function("bare_batch", |bencher| {
        bencher.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    total += batch(&bare, &url, batch_size).await;
                }
                total
            })
        });
    });

    type Factory<'a> = Box<dyn Fn() -> Arc<dyn Middleware> + 'a>;
    let variants: [(&str, Factory<'_>, u64); 3] = [
        (
            "spotify_auth_cold",
            Box::new(|| Arc::new(server.auth(Duration::ZERO))),
            1,
        ),
        (
            "baseline_mutex_cache_cold",
            Box::new(|| Arc::new(MutexCache::new(&server))),
            1,
        ),
        (
            "baseline_token_per_request",
            Box::new(|| Arc::new(PerRequestToken::new(&server))),
            batch_size as u64,
        ),
    ];
    for (name, factory, expected_token_requests) in &variants {
        group.bench_function(*name, |bencher| {
            bencher.iter_custom(|iterations| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        let cold = client(&http, Some(factory()));
                        let before = server.token_requests();
                        total += batch(&cold, &url, batch_size).await;
                        assert_eq!(
                            server.token_requests() - before,
                            *expected_token_requests,
                            "{name}"
                        );
                    }
                    total
                })
            });
        });
    }
    group.finish();
    criterion.final_summary();

    println!();
    println!(
        "token requests per batch: spotify_auth_cold 1, baseline_mutex_cache_cold 1, baseline_token_per_request {batch_size} (checked on every sample)"
    );
    print_ratio(
        "cold batch vs bare batch",
        (GROUP, "spotify_auth_cold"),
        (GROUP, "bare_batch"),
    );
    print_ratio(
        "mutex cache cold batch vs bare batch",
        (GROUP, "baseline_mutex_cache_cold"),
        (GROUP, "bare_batch"),
    );
    print_ratio(
        "token per request batch vs bare batch",
        (GROUP, "baseline_token_per_request"),
        (GROUP, "bare_batch"),
    );
    if let (Some(cold), Some(bare_batch), Some(single)) = (
        median_ns(GROUP, "spotify_auth_cold"),
        median_ns(GROUP, "bare_batch"),
        median_ns(GROUP, "bare_single_request"),
    ) {
        let delay = TOKEN_DELAY.as_nanos() as f64;
        println!(
            "cold batch {} against endpoint delay + one request {} = {:.3}; target: within delay + 2 x bare batch = {} ({})",
            format_ns(cold),
            format_ns(delay + single),
            cold / (delay + single),
            format_ns(delay + 2.0 * bare_batch),
            if cold <= delay + 2.0 * bare_batch {
                "met"
            } else {
                "not met"
            }
        );
    }
}
