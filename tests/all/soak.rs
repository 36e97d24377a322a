//! A soak under a seeded fault schedule: many concurrent requests through the rate limiter and
//! the auth middleware to `FakeSpotify`, across several short token lifetimes, while token
//! requests fail, tokens are revoked and the API returns 429 in bursts.
//!
//! The CI-sized run is an ordinary test. The full size runs on demand:
//!
//! ```text
//! cargo test --release --test all soak_full_size -- --ignored --nocapture
//! ```
//!
//! `SOAK_SEED` replaces the default seed; the schedule of faults and revocations follows from it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::Extensions;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use reqwest_spotify_auth::testing::{CannedResponse, FakeSpotify, FakeStats, Fault};
use reqwest_spotify_auth::{Error, RateLimitMiddleware, TokenRetryPolicy};

const DEFAULT_SEED: u64 = 0x5EED_2026;
const CONCURRENCY: usize = 64;
const TOKEN_LIFETIME: Duration = Duration::from_secs(1);
const TOKEN_TIMEOUT: Duration = Duration::from_millis(1500);
/// Every block of this many token requests gets one fault: a fifth of them fail.
const TOKEN_FAULT_BLOCK: usize = 5;
/// The number of blocks in the schedule, more than any run uses.
const TOKEN_FAULT_BLOCKS: usize = 400;
/// How long a worker waits after a failed request before the next, as a scraper would.
const PAUSE_AFTER_ERROR: Duration = Duration::from_millis(20);
/// The maximum time a single request may take: two token fetches (a first one and one after a 401),
/// the rate limiter's three waits of one second, and the API latency, with room to spare.
const REQUEST_BOUND: Duration = Duration::from_secs(10);

struct SoakSize {
    requests: usize,
    min_lifetimes: u32,
    api_latency: Duration,
    /// The chance that an API request starts a burst of 429s.
    burst_rate: f64,
    /// The range of the gaps between revocations, in milliseconds.
    revocation_gap_ms: std::ops::Range<u64>,
}

const CI_SIZE: SoakSize = SoakSize {
    requests: 4_000,
    min_lifetimes: 5,
    api_latency: Duration::from_millis(40),
    burst_rate: 1.0 / 2_000.0,
    revocation_gap_ms: 500..2_000,
};

const FULL_SIZE: SoakSize = SoakSize {
    requests: 20_000,
    min_lifetimes: 30,
    api_latency: Duration::from_millis(60),
    burst_rate: 1.0 / 4_000.0,
    revocation_gap_ms: 1_000..4_000,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_ci_size() {
    let report = run_soak(&CI_SIZE, seed()).await;
    report.print();
    report.check(&CI_SIZE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "full size: run with --release --ignored, as the module documentation shows"]
async fn soak_full_size() {
    let report = run_soak(&FULL_SIZE, seed()).await;
    report.print();
    report.check(&FULL_SIZE);
}

fn seed() -> u64 {
    match std::env::var("SOAK_SEED") {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("SOAK_SEED={text:?} is not a whole number")),
        Err(_) => DEFAULT_SEED,
    }
}

/// The fault schedule, drawn from the seed before the run starts.
struct Schedule {
    token_faults: Vec<Fault>,
    token_faults_by_kind: BTreeMap<&'static str, usize>,
    api_faults: Vec<Fault>,
    bursts: usize,
    revocation_gaps: Vec<Duration>,
}

fn draw_schedule(size: &SoakSize, seed: u64) -> Schedule {
    let mut random = fastrand::Rng::with_seed(seed);

    // One fault in every block of five token requests, at a random place in the block, so that
    // a fifth of them fail even in a short run.
    let mut token_faults = Vec::new();
    let mut token_faults_by_kind = BTreeMap::new();
    for _ in 0..TOKEN_FAULT_BLOCKS {
        let faulty = random.usize(0..TOKEN_FAULT_BLOCK);
        for place in 0..TOKEN_FAULT_BLOCK {
            if place != faulty {
                token_faults.push(Fault::pass());
                continue;
            }
            let (kind, fault) = token_fault(random.u8(0..4));
            *token_faults_by_kind.entry(kind).or_default() += 1;
            token_faults.push(fault);
        }
    }

    let mut api_faults = Vec::new();
    let mut bursts = 0;
    while api_faults.len() < size.requests * 4 {
        if random.f64() < size.burst_rate {
            bursts += 1;
            let burst =
                CannedResponse::spotify_error(429, "API rate limit exceeded").retry_after(1);
            api_faults.extend(std::iter::repeat_n(
                Fault::respond(burst),
                random.usize(1..=3),
            ));
        } else {
            api_faults.push(Fault::pass());
        }
    }

    // Gaps of more than one lifetime on average, so tokens also reach their refresh point.
    let revocation_gaps = (0..1_000)
        .map(|_| Duration::from_millis(random.u64(size.revocation_gap_ms.clone())))
        .collect();

    Schedule {
        token_faults,
        token_faults_by_kind,
        api_faults,
        bursts,
        revocation_gaps,
    }
}

/// Returns one of the four token faults: a JSON 503, an HTML 502, a 429 whose `Retry-After` fits
/// the token timeout, and a response held back past the token timeout.
fn token_fault(choice: u8) -> (&'static str, Fault) {
    match choice {
        0 => (
            "503 JSON",
            Fault::respond(CannedResponse::oauth_error(
                503,
                "temporarily_unavailable",
                "Try again",
            )),
        ),
        1 => (
            "502 HTML",
            Fault::respond(CannedResponse::html(
                502,
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            )),
        ),
        2 => (
            "429 Retry-After 1",
            Fault::respond(
                CannedResponse::oauth_error(429, "slow_down", "Too many requests").retry_after(1),
            ),
        ),
        _ => ("timeout", Fault::delay(TOKEN_TIMEOUT * 2)),
    }
}

/// What one pass through the auth middleware did: the status of each send, and its result.
#[derive(Debug, Default, Clone)]
struct AuthCall {
    sends: Vec<u16>,
    result: Option<Result<u16, String>>,
}

/// Records each pass through the auth middleware. It sits just outside it and leaves an empty
/// [`AuthCall`] in the extensions for [`SendRecorder`] to fill.
#[derive(Clone, Default)]
struct CallRecorder {
    calls: Arc<Mutex<Vec<AuthCall>>>,
}

#[async_trait::async_trait]
impl Middleware for CallRecorder {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        extensions.insert(AuthCall::default());
        let result = next.run(request, extensions).await;

        let mut call = extensions.remove::<AuthCall>().expect("inserted above");
        call.result = Some(match &result {
            Ok(response) => Ok(response.status().as_u16()),
            Err(error) => Err(error.to_string()),
        });
        self.calls.lock().unwrap().push(call);
        result
    }
}

/// Records the status of every request that reaches the wire, just inside the auth middleware.
struct SendRecorder;

#[async_trait::async_trait]
impl Middleware for SendRecorder {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let result = next.run(request, extensions).await;

        let status = match &result {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        };
        extensions
            .get_mut::<AuthCall>()
            .expect("CallRecorder runs outside")
            .sends
            .push(status);
        result
    }
}

/// The outcome of one request as the caller sees it.
#[derive(Debug)]
enum Outcome {
    Success,
    /// A response with an error status after the middleware did what it could: a 429 the rate
    /// limiter gave up on, or a second 401.
    ErrorStatus(u16),
    /// This crate's error, by kind.
    Typed(String),
    /// Anything else: a transport error or an error of another middleware.
    Unexpected(String),
}

struct Report {
    seed: u64,
    elapsed: Duration,
    outcomes: Vec<(Outcome, Duration)>,
    calls: Vec<AuthCall>,
    fake: FakeStats,
    auth: reqwest_spotify_auth::AuthStats,
    rate_limit: reqwest_spotify_auth::RateLimitStats,
    schedule_bursts: usize,
    token_faults_scheduled: BTreeMap<&'static str, usize>,
}

async fn run_soak(size: &SoakSize, seed: u64) -> Report {
    let schedule = draw_schedule(size, seed);
    let fake = Arc::new(
        FakeSpotify::builder()
            .token_lifetime(TOKEN_LIFETIME)
            .api_latency(size.api_latency)
            .start()
            .await,
    );
    fake.queue_token_faults(schedule.token_faults);
    fake.queue_api_faults(schedule.api_faults);

    let auth = fake
        .auth_builder()
        .token_timeout(TOKEN_TIMEOUT)
        .token_retry(
            TokenRetryPolicy::default()
                .max_attempts(3)
                .initial_backoff(Duration::from_millis(50))
                .max_backoff(Duration::from_millis(200)),
        )
        .failure_cooldown(Duration::from_millis(100))
        .max_failure_cooldown(Duration::from_secs(1))
        .build()
        .unwrap();
    let rate_limit = RateLimitMiddleware::new();
    let recorder = CallRecorder::default();
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(rate_limit.clone())
        .with(recorder.clone())
        .with(auth.clone())
        .with(SendRecorder)
        .build();
    let artist_urls: Vec<String> = fake
        .catalog()
        .artists()
        .iter()
        .map(|artist| format!("{}/artists/{}", fake.api_url(), artist.id))
        .collect();

    let started = Instant::now();
    let min_duration = TOKEN_LIFETIME * size.min_lifetimes;
    let finished = Arc::new(AtomicBool::new(false));
    let revoker = tokio::spawn(revoke_on_schedule(
        Arc::clone(&fake),
        schedule.revocation_gaps,
        Arc::clone(&finished),
    ));

    let next_request = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let client = client.clone();
            let urls = artist_urls.clone();
            let next_request = Arc::clone(&next_request);
            let total = size.requests;
            tokio::spawn(async move {
                work(&client, &urls, &next_request, total, started, min_duration).await
            })
        })
        .collect();

    let mut outcomes = Vec::new();
    let all_done = async {
        for worker in workers {
            outcomes.extend(worker.await.expect("worker"));
        }
    };
    tokio::time::timeout(Duration::from_secs(600), all_done)
        .await
        .expect("every worker finishes: no request hangs");
    finished.store(true, Ordering::SeqCst);
    let revocations_done = revoker.await.expect("revoker");
    assert_eq!(fake.stats().revocations, revocations_done);

    let calls = std::mem::take(&mut *recorder.calls.lock().unwrap());
    Report {
        seed,
        elapsed: started.elapsed(),
        outcomes,
        calls,
        fake: fake.stats(),
        auth: auth.stats(),
        rate_limit: rate_limit.stats(),
        schedule_bursts: schedule.bursts,
        token_faults_scheduled: schedule.token_faults_by_kind,
    }
}

async fn revoke_on_schedule(
    fake: Arc<FakeSpotify>,
    gaps: Vec<Duration>,
    finished: Arc<AtomicBool>,
) -> u64 {
    let mut revocations = 0;
    for gap in gaps {
        tokio::time::sleep(gap).await;
        if finished.load(Ordering::SeqCst) {
            break;
        }
        fake.revoke_all_tokens();
        revocations += 1;
    }
    revocations
}

/// Sends requests one after another until the run has sent `total` and lasted `min_duration`.
async fn work(
    client: &ClientWithMiddleware,
    urls: &[String],
    next_request: &AtomicUsize,
    total: usize,
    started: Instant,
    min_duration: Duration,
) -> Vec<(Outcome, Duration)> {
    let mut outcomes = Vec::new();
    loop {
        let index = next_request.fetch_add(1, Ordering::SeqCst);
        if index >= total && started.elapsed() >= min_duration {
            return outcomes;
        }

        let request_started = Instant::now();
        let outcome = classify(client.get(&urls[index % urls.len()]).send().await).await;
        let failed = !matches!(outcome, Outcome::Success);
        outcomes.push((outcome, request_started.elapsed()));
        if failed {
            tokio::time::sleep(PAUSE_AFTER_ERROR).await;
        }
    }
}

async fn classify(result: reqwest_middleware::Result<reqwest::Response>) -> Outcome {
    match result {
        Ok(response) if response.status().is_success() => {
            let body = response.bytes().await;
            if body.is_ok() {
                Outcome::Success
            } else {
                Outcome::Unexpected("body read failed".to_owned())
            }
        }
        Ok(response) => Outcome::ErrorStatus(response.status().as_u16()),
        Err(error) => match Error::find(&error) {
            Some(ours) => Outcome::Typed(kind_of(ours)),
            None => Outcome::Unexpected(error.to_string()),
        },
    }
}

fn kind_of(error: &Error) -> String {
    match error {
        Error::CoolingDown { last_error, .. } => {
            format!("CoolingDown after {}", kind_of(last_error))
        }
        Error::TokenEndpoint { status, .. } => format!("TokenEndpoint {}", status.as_u16()),
        Error::InvalidClient { .. } => "InvalidClient".to_owned(),
        Error::MalformedTokenResponse { field, .. } => format!("MalformedTokenResponse {field}"),
        Error::Timeout { .. } => "Timeout".to_owned(),
        Error::Transport { .. } => "Transport".to_owned(),
        Error::Config { .. } => "Config".to_owned(),
        Error::FetchCancelled => "FetchCancelled".to_owned(),
        other => format!("{other:?}"),
    }
}

impl Report {
    fn lifetimes(&self) -> f64 {
        self.elapsed.as_secs_f64() / TOKEN_LIFETIME.as_secs_f64()
    }

    fn print(&self) {
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for (outcome, _) in &self.outcomes {
            let kind = match outcome {
                Outcome::Success => "success".to_owned(),
                Outcome::ErrorStatus(status) => format!("status {status}"),
                Outcome::Typed(kind) => kind.clone(),
                Outcome::Unexpected(text) => format!("unexpected: {text}"),
            };
            *kinds.entry(kind).or_default() += 1;
        }
        let longest = self
            .outcomes
            .iter()
            .map(|(_, took)| *took)
            .max()
            .unwrap_or_default();

        println!(
            "soak: seed {}, {:.1} s, {:.1} token lifetimes, {} requests at concurrency {CONCURRENCY}",
            self.seed,
            self.elapsed.as_secs_f64(),
            self.lifetimes(),
            self.outcomes.len()
        );
        println!("soak: outcomes {kinds:?}");
        println!("soak: longest request {longest:?}");
        println!(
            "soak: token faults in the schedule, one per {TOKEN_FAULT_BLOCK} token requests: {:?}",
            self.token_faults_scheduled
        );
        println!(
            "soak: fake: {} token requests ({} issued, {} injected failures, {} delayed, {} rejected), {} revocations, {} API requests {:?}, 401s: {} missing, {} invalid, {} expired",
            self.fake.token_requests,
            self.fake.tokens_issued,
            self.fake.token_faults,
            self.fake.token_delays,
            self.fake.token_rejections,
            self.fake.revocations,
            self.fake.api_requests,
            self.fake.api_statuses,
            self.fake.missing_token_rejections,
            self.fake.invalid_token_rejections,
            self.fake.expired_token_rejections,
        );
        println!("soak: middleware {:?}", self.auth);
        println!(
            "soak: rate limiter {:?}, 429 bursts scheduled {}",
            self.rate_limit, self.schedule_bursts
        );
    }

    fn check(&self, size: &SoakSize) {
        // The run was as large and as long as asked.
        assert!(
            self.outcomes.len() >= size.requests,
            "{} requests",
            self.outcomes.len()
        );
        assert!(
            self.lifetimes() >= f64::from(size.min_lifetimes),
            "{:.1} lifetimes",
            self.lifetimes()
        );

        // No hang: every request finished, and within the bound.
        let longest = self.outcomes.iter().map(|(_, took)| *took).max().unwrap();
        assert!(longest <= REQUEST_BOUND, "a request took {longest:?}");

        // Each request succeeded, or ended with a typed error or an error status the chain
        // passed on after doing what it could.
        let unexpected: Vec<&Outcome> = self
            .outcomes
            .iter()
            .map(|(outcome, _)| outcome)
            .filter(|outcome| matches!(outcome, Outcome::Unexpected(_)))
            .collect();
        assert!(unexpected.is_empty(), "untyped failures: {unexpected:?}");
        let odd_statuses: Vec<u16> = self
            .outcomes
            .iter()
            .filter_map(|(outcome, _)| match outcome {
                Outcome::ErrorStatus(status) if *status != 429 && *status != 401 => Some(*status),
                _ => None,
            })
            .collect();
        assert!(
            odd_statuses.is_empty(),
            "unexpected statuses: {odd_statuses:?}"
        );

        // The API never received a request without a token, nor one with an expired token.
        assert_eq!(self.fake.missing_token_rejections, 0);
        assert_eq!(self.fake.expired_token_rejections, 0);

        // After a revocation, exactly one resend per affected pass through the auth middleware.
        self.check_unauthorized_resends();

        // Token requests stay within what lifetimes, revocations and injected faults explain.
        assert_eq!(
            self.fake.token_rejections, 0,
            "the fake rejected a token request's shape"
        );
        let by_lifetime =
            (self.elapsed.as_secs_f64() / (TOKEN_LIFETIME.as_secs_f64() * 0.8)).ceil() as u64;
        let issued_bound = by_lifetime + 2 * self.fake.revocations + self.fake.token_delays + 2;
        assert!(
            self.fake.tokens_issued <= issued_bound,
            "{} tokens issued, bound {issued_bound}",
            self.fake.tokens_issued
        );
        assert_eq!(
            self.fake.token_requests,
            self.fake.tokens_issued + self.fake.token_faults
        );
        assert!(
            self.fake.token_faults + self.fake.token_delays > 0,
            "the schedule injected no token failure"
        );
        assert!(self.fake.revocations > 0, "the schedule revoked no token");
        assert!(
            self.rate_limit.responses_429 > 0,
            "the schedule sent no 429"
        );
    }

    fn check_unauthorized_resends(&self) {
        let mut first_send_401s = 0;
        let mut resends = 0;
        for call in &self.calls {
            let result = call.result.as_ref().expect("every call recorded a result");
            assert!(
                call.sends.len() <= 2,
                "a pass sent {} times: {call:?}",
                call.sends.len()
            );
            if call.sends.len() == 2 {
                assert_eq!(call.sends[0], 401, "a resend without a 401: {call:?}");
                resends += 1;
            }
            if call.sends.first() == Some(&401) {
                first_send_401s += 1;
                match result {
                    Ok(_) => assert_eq!(call.sends.len(), 2, "a 401 not resent: {call:?}"),
                    Err(_) => assert_eq!(
                        call.sends.len(),
                        1,
                        "a failed fetch after 401 still sent: {call:?}"
                    ),
                }
            }
        }

        assert!(first_send_401s > 0, "no request met a revoked token");
        assert_eq!(resends, self.auth.unauthorized_retries);
        let sent_401s: u64 = self
            .calls
            .iter()
            .flat_map(|call| &call.sends)
            .filter(|status| **status == 401)
            .count() as u64;
        assert_eq!(sent_401s, self.fake.invalid_token_rejections);
    }
}
