//! The cost of the middleware on a request with a warm token.
//!
//! Run: `cargo bench --bench overhead`. Each variant sends `GET /v1/ok` to a loopback server from
//! a current-thread runtime: with no middleware (the baseline), with `SpotifyAuthMiddleware` and a
//! warm token, and with the two baseline designs from `support`. After the timings it counts heap
//! allocations per request, on the client's thread only, with and without the middleware.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::Criterion;
use reqwest_middleware::{ClientWithMiddleware, Middleware};

#[path = "support/mod.rs"]
mod support;

use support::{BenchServer, MutexCache, PerRequestToken, client, is_smoke_run, print_ratio};

const GROUP: &str = "overhead";

/// Counts allocations made on threads that switched counting on, so the server thread, which
/// runs in the same process, is left out.
struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from `System.alloc` with this layout.
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(pointer, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

async fn get_ok(client: &ClientWithMiddleware, url: &str) {
    let response = client.get(url).send().await.expect("loopback request");
    assert!(response.status().is_success());
    response.bytes().await.expect("loopback body");
}

/// Returns the allocations per request on this thread over `requests` sequential requests.
fn allocations_per_request(
    runtime: &tokio::runtime::Runtime,
    client: &ClientWithMiddleware,
    url: &str,
    requests: u64,
) -> f64 {
    runtime.block_on(async {
        // Warm the connection pool and any lazily built state first.
        for _ in 0..100 {
            get_ok(client, url).await;
        }

        COUNTING.with(|counting| counting.set(true));
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..requests {
            get_ok(client, url).await;
        }
        let after = ALLOCATIONS.load(Ordering::Relaxed);
        COUNTING.with(|counting| counting.set(false));

        (after - before) as f64 / requests as f64
    })
}

/// Sends one request through each client in turn, round after round, and returns the median
/// latency of each client in nanoseconds. Taking turns exposes every variant to the same drift
/// of a shared machine, which criterion's one-after-the-other runs do not.
fn interleaved_medians(
    runtime: &tokio::runtime::Runtime,
    clients: &[(&str, ClientWithMiddleware)],
    url: &str,
    rounds: usize,
) -> Vec<f64> {
    runtime.block_on(async {
        let mut times = vec![Vec::with_capacity(rounds); clients.len()];

        for round in 0..rounds {
            // Start each round with a different client so that none always runs first.
            for step in 0..clients.len() {
                let index = (round + step) % clients.len();
                let started = std::time::Instant::now();
                get_ok(&clients[index].1, url).await;
                times[index].push(started.elapsed().as_nanos() as f64);
            }
        }

        times.iter_mut().map(|samples| median(samples)).collect()
    })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let mut criterion = Criterion::default()
        .output_directory(&support::criterion_dir())
        .measurement_time(Duration::from_secs(8))
        .configure_from_args();

    let server = BenchServer::start(Duration::ZERO, 3600);
    let url = server.api_url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let http = reqwest::Client::new();

    let auth = server.auth(reqwest_spotify_auth::DEFAULT_REFRESH_AHEAD);
    runtime.block_on(auth.access_token()).expect("warm token");
    let auth_no_resend = server
        .auth_builder(reqwest_spotify_auth::DEFAULT_REFRESH_AHEAD)
        .resend_on_unauthorized(false)
        .build()
        .expect("valid bench settings");
    runtime
        .block_on(auth_no_resend.access_token())
        .expect("warm token");
    let variants: [(&str, Option<Arc<dyn Middleware>>); 5] = [
        ("bare", None),
        ("spotify_auth_warm", Some(Arc::new(auth))),
        (
            "spotify_auth_warm_no_resend",
            Some(Arc::new(auth_no_resend)),
        ),
        (
            "baseline_token_per_request",
            Some(Arc::new(PerRequestToken::new(&server))),
        ),
        (
            "baseline_mutex_cache",
            Some(Arc::new(MutexCache::new(&server))),
        ),
    ];
    let clients: Vec<(&str, ClientWithMiddleware)> = variants
        .into_iter()
        .map(|(name, middleware)| (name, client(&http, middleware)))
        .collect();

    let mut group = criterion.benchmark_group(GROUP);
    for (name, client) in &clients {
        group.bench_function(*name, |bencher| {
            bencher.to_async(&runtime).iter(|| get_ok(client, &url));
        });
    }
    group.finish();
    criterion.final_summary();

    println!();
    print_ratio(
        "warm-token overhead (target <= 1.02)",
        (GROUP, "spotify_auth_warm"),
        (GROUP, "bare"),
    );
    print_ratio(
        "warm-token overhead without the 401 copy",
        (GROUP, "spotify_auth_warm_no_resend"),
        (GROUP, "bare"),
    );
    print_ratio(
        "token per request",
        (GROUP, "baseline_token_per_request"),
        (GROUP, "bare"),
    );
    print_ratio(
        "mutex cache, warm",
        (GROUP, "baseline_mutex_cache"),
        (GROUP, "bare"),
    );

    let rounds = if is_smoke_run() { 10 } else { 20_000 };
    let medians = interleaved_medians(&runtime, &clients, &url, rounds);
    println!(
        "interleaved medians over {rounds} rounds, each variant against bare (target for spotify_auth_warm: <= 1.02):"
    );
    for ((name, _), median) in clients.iter().zip(&medians) {
        println!(
            "  {name}: {} ({:.3})",
            support::format_ns(*median),
            median / medians[0]
        );
    }

    let requests = if is_smoke_run() { 10 } else { 5_000 };
    let bare = allocations_per_request(&runtime, &clients[0].1, &url, requests);
    let with_auth = allocations_per_request(&runtime, &clients[1].1, &url, requests);
    let no_resend = allocations_per_request(&runtime, &clients[2].1, &url, requests);
    println!(
        "heap allocations per request on the client thread (target: at most 2 more than bare):"
    );
    println!("  bare {bare:.2}");
    println!(
        "  SpotifyAuthMiddleware {with_auth:.2} (+{:.2})",
        with_auth - bare
    );
    println!(
        "  SpotifyAuthMiddleware, resend_on_unauthorized(false) {no_resend:.2} (+{:.2})",
        no_resend - bare
    );
}
