//! The cost of `access_token()` on a warm cache, from one task and from eight at once.
//!
//! Run: `cargo bench --bench token_cache`. Baselines in the same run: a token behind a
//! `std::sync::RwLock` and behind a `tokio::sync::Mutex`, each read and checked for expiry as the
//! cache does. The eight-task variants run on a two-worker runtime and report the wall time per
//! call. Multiplied by the two workers, that gives the processor time per call, which compares
//! with the one-task figure.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use std::hint::black_box;

use criterion::Criterion;
use reqwest_spotify_auth::SpotifyAuthMiddleware;
use tokio::time::Instant;

#[path = "support/mod.rs"]
mod support;

use support::{BenchServer, format_ns, median_ns, print_ratio};

const GROUP: &str = "token_cache";
const TASKS: u64 = 8;
const WORKERS: usize = 2;

/// The shape of a simple cached token: a value and a deadline.
struct PlainToken {
    value: String,
    deadline: Instant,
}

fn read_rwlock(token: &RwLock<Arc<PlainToken>>) -> Option<Arc<PlainToken>> {
    let token = token.read().expect("not poisoned").clone();
    (token.deadline > Instant::now()).then_some(token)
}

async fn read_tokio_mutex(token: &tokio::sync::Mutex<Arc<PlainToken>>) -> Option<Arc<PlainToken>> {
    let token = token.lock().await.clone();
    (token.deadline > Instant::now()).then_some(token)
}

/// Runs `calls` calls of `call` spread over eight tasks and returns the wall time.
async fn spread_over_tasks<F, Fut>(calls: u64, call: F) -> Duration
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future + Send,
{
    let per_task = calls.div_ceil(TASKS);
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let call = call.clone();
            tokio::spawn(async move {
                for _ in 0..per_task {
                    black_box(call().await);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("bench task");
    }
    started.elapsed()
}

fn main() {
    let mut criterion = Criterion::default()
        .output_directory(&support::criterion_dir())
        .configure_from_args();

    let server = BenchServer::start(Duration::ZERO, 3600);
    let single = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .expect("runtime");

    let auth: SpotifyAuthMiddleware = server.auth(reqwest_spotify_auth::DEFAULT_REFRESH_AHEAD);
    single.block_on(auth.access_token()).expect("warm token");
    let plain = Arc::new(PlainToken {
        value: "bench-token".to_owned(),
        deadline: single.block_on(async { Instant::now() + Duration::from_secs(3000) }),
    });
    let rwlock = Arc::new(RwLock::new(Arc::clone(&plain)));
    let mutex = Arc::new(tokio::sync::Mutex::new(Arc::clone(&plain)));
    assert_eq!(plain.value.len(), 11);

    let mut group = criterion.benchmark_group(GROUP);
    group.bench_function("access_token_1_task", |bencher| {
        bencher.to_async(&single).iter(|| auth.access_token());
    });
    group.bench_function("baseline_rwlock_1_task", |bencher| {
        bencher
            .to_async(&single)
            .iter(|| async { read_rwlock(&rwlock) });
    });
    group.bench_function("baseline_tokio_mutex_1_task", |bencher| {
        bencher.to_async(&single).iter(|| read_tokio_mutex(&mutex));
    });

    group.bench_function("access_token_8_tasks", |bencher| {
        bencher.iter_custom(|calls| {
            let auth = auth.clone();
            multi.block_on(spread_over_tasks(calls, move || {
                let auth = auth.clone();
                async move { auth.access_token().await.is_ok() }
            }))
        });
    });
    group.bench_function("baseline_rwlock_8_tasks", |bencher| {
        bencher.iter_custom(|calls| {
            let rwlock = Arc::clone(&rwlock);
            multi.block_on(spread_over_tasks(calls, move || {
                let rwlock = Arc::clone(&rwlock);
                async move { read_rwlock(&rwlock).is_some() }
            }))
        });
    });
    group.bench_function("baseline_tokio_mutex_8_tasks", |bencher| {
        bencher.iter_custom(|calls| {
            let mutex = Arc::clone(&mutex);
            multi.block_on(spread_over_tasks(calls, move || {
                let mutex = Arc::clone(&mutex);
                async move { read_tokio_mutex(&mutex).await.is_some() }
            }))
        });
    });
    group.finish();
    criterion.final_summary();

    println!();
    print_ratio(
        "access_token vs RwLock, 1 task",
        (GROUP, "access_token_1_task"),
        (GROUP, "baseline_rwlock_1_task"),
    );
    print_ratio(
        "access_token vs tokio Mutex, 1 task",
        (GROUP, "access_token_1_task"),
        (GROUP, "baseline_tokio_mutex_1_task"),
    );
    print_ratio(
        "access_token vs RwLock, 8 tasks",
        (GROUP, "access_token_8_tasks"),
        (GROUP, "baseline_rwlock_8_tasks"),
    );
    print_ratio(
        "access_token vs tokio Mutex, 8 tasks",
        (GROUP, "access_token_8_tasks"),
        (GROUP, "baseline_tokio_mutex_8_tasks"),
    );
    if let (Some(one), Some(eight)) = (
        median_ns(GROUP, "access_token_1_task"),
        median_ns(GROUP, "access_token_8_tasks"),
    ) {
        let processor_time = eight * WORKERS as f64;
        println!(
            "access_token processor time per call: 1 task {}, 8 tasks on {WORKERS} workers {} (ratio {:.2}, target <= 2; 1-task target < 100 ns)",
            format_ns(one),
            format_ns(processor_time),
            processor_time / one
        );
    }
}
