//! The current token, its deadlines, and the one shared fetch that replaces it.
//!
//! Reading a valid token costs one atomic load of an `ArcSwap`; no request waits on a lock that a
//! fetch holds. A fetch runs in its own Tokio task and publishes its result on a `watch` channel,
//! so every waiting request gets the same result and a caller that gives up cancels nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::Error;
use crate::clock::{WallClock, nanos_after};
use crate::credentials::Credentials;
use crate::retry_policy::later_by;
use crate::stats::{AuthStats, StatsCounters};
use crate::token::{AccessToken, Grant};
use crate::token_request::TokenRequester;

/// The expiry margin and the refresh-ahead window are each cut to this fraction of a token's
/// lifetime, so a short-lived token is used for most of its life instead of being refetched at
/// once.
const MAX_WINDOW_SHARE_OF_LIFETIME: u32 = 10;

/// The timing settings of a cache, checked by the builder.
#[derive(Debug, Clone)]
pub(crate) struct CacheSettings {
    pub(crate) expiry_margin: Duration,
    pub(crate) refresh_ahead: Duration,
    pub(crate) failure_cooldown: Duration,
    pub(crate) max_failure_cooldown: Duration,
}

/// A shared handle to one token cache. Clones share the token, the fetch and the counters.
#[derive(Clone, Debug)]
pub(crate) struct TokenCache {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    current: ArcSwapOption<CachedToken>,
    slot: Mutex<FetchSlot>,
    requester: Arc<TokenRequester>,
    settings: CacheSettings,
    stats: Arc<StatsCounters>,
    wall_clock: WallClock,
    /// The zero point of the nanosecond counts kept in atomics.
    epoch: Instant,
}

/// A token in the cache, with the moments at which it is due for refresh and stops being used.
#[derive(Debug)]
pub(crate) struct CachedToken {
    pub(crate) token: AccessToken,
    /// Counts the tokens this cache has stored, so that a 401 clears only the token that
    /// received it.
    pub(crate) generation: u64,
    refresh_at: Instant,
    wall_refresh_at: SystemTime,
    stale_at: Instant,
    wall_stale_at: SystemTime,
    /// Nanoseconds after the cache's epoch before which no request may start a refresh ahead;
    /// `u64::MAX` while one is being started or runs.
    refresh_not_before: AtomicU64,
}

#[derive(Debug, PartialEq, Eq)]
enum Freshness {
    Fresh,
    RefreshDue,
    Expired,
}

/// The single-flight slot: the fetch in flight, if any, and the cool-down after a failure.
#[derive(Debug)]
struct FetchSlot {
    in_flight: Option<InFlight>,
    cooldown: Option<Cooldown>,
    next_cooldown: Duration,
    generation: u64,
    next_fetch_id: u64,
}

#[derive(Debug)]
struct InFlight {
    id: u64,
    result: watch::Receiver<Option<FetchResult>>,
    task: AbortHandle,
    background: bool,
}

#[derive(Debug)]
struct Cooldown {
    until: Instant,
    error: Error,
}

type FetchResult = Result<Arc<CachedToken>, Error>;

impl TokenCache {
    pub(crate) fn new(
        requester: TokenRequester,
        settings: CacheSettings,
        wall_clock: WallClock,
    ) -> Self {
        let stats = Arc::clone(&requester.stats);
        let slot = FetchSlot {
            in_flight: None,
            cooldown: None,
            next_cooldown: settings.failure_cooldown,
            generation: 0,
            next_fetch_id: 0,
        };

        TokenCache {
            inner: Arc::new(Inner {
                current: ArcSwapOption::empty(),
                slot: Mutex::new(slot),
                requester: Arc::new(requester),
                settings,
                stats,
                wall_clock,
                epoch: Instant::now(),
            }),
        }
    }

    /// Reads a usable token with `read`, fetching one when there is none or it has expired.
    ///
    /// Inside the refresh-ahead window it reads the current token at once and starts a
    /// background fetch for the next one. On the fast path `read` runs under an `ArcSwap` guard,
    /// so no reference count shared between threads is touched. `read` copies out what the
    /// caller needs.
    pub(crate) async fn get_with<T>(&self, read: impl Fn(&CachedToken) -> T) -> Result<T, Error> {
        if let Some(value) = self.read_usable(&read) {
            return Ok(value);
        }

        let token = self.fetch_or_wait().await?;
        Ok(read(&token))
    }

    /// Clears the cached token if it is still the one with this generation, and reports whether
    /// it did. A burst of 401s for one token thus clears it once.
    pub(crate) fn invalidate(&self, generation: u64) -> bool {
        let current = self.inner.current.load();
        if current.as_ref().map(|token| token.generation) != Some(generation) {
            return false;
        }

        let previous = self.inner.current.compare_and_swap(&*current, None);
        let cleared = match (previous.as_ref(), current.as_ref()) {
            (Some(previous), Some(current)) => Arc::ptr_eq(previous, current),
            _ => false,
        };

        if cleared {
            tracing::debug!(generation, "cached token invalidated after a 401");
        }
        cleared
    }

    pub(crate) fn stats(&self) -> AuthStats {
        self.inner.stats.snapshot()
    }

    pub(crate) fn counters(&self) -> &StatsCounters {
        &self.inner.stats
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.inner.requester.credentials
    }

    /// Returns the token URL as messages show it, with any query hidden.
    pub(crate) fn redacted_token_url(&self) -> &str {
        &self.inner.requester.redacted_url
    }

    /// Reads the cached token with `read` unless it has expired, starting a refresh ahead if one
    /// is due.
    fn read_usable<T>(&self, read: impl Fn(&CachedToken) -> T) -> Option<T> {
        let guard = self.inner.current.load();
        let token = guard.as_ref()?;
        let now = Instant::now();

        match token.freshness(now, self.inner.wall_clock.now()) {
            Freshness::Fresh => Some(read(token)),
            Freshness::RefreshDue => {
                self.refresh_ahead(token, now);
                Some(read(token))
            }
            Freshness::Expired => None,
        }
    }

    /// Starts a background fetch for the next token, unless one runs, a cool-down holds, or
    /// another request has just claimed the job.
    fn refresh_ahead(&self, token: &CachedToken, now: Instant) {
        let now_nanos = self.nanos_since_epoch(now);
        let not_before = token.refresh_not_before.load(Ordering::Acquire);
        if now_nanos < not_before {
            return;
        }

        let claimed = token
            .refresh_not_before
            .compare_exchange(not_before, u64::MAX, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok();
        if !claimed {
            return;
        }

        let mut slot = self.inner.lock_slot();
        if slot.in_flight.is_some() {
            // The fetch in flight replaces this token, or resets the claim when it fails.
            return;
        }

        if let Some(cooldown) = slot.active_cooldown(now) {
            let until = self.nanos_since_epoch(cooldown.until);
            token.refresh_not_before.store(until, Ordering::Release);
            return;
        }

        StatsCounters::increment(&self.inner.stats.background_refreshes);
        tracing::debug!(
            expires_in_ms = token.token.expires_in().as_millis() as u64,
            "refreshing the token ahead of expiry"
        );
        self.start_fetch(&mut slot, true);
    }

    /// Joins the fetch in flight, or starts one, and waits for its result.
    async fn fetch_or_wait(&self) -> FetchResult {
        let mut result = {
            let mut slot = self.inner.lock_slot();
            let now = Instant::now();

            // A fetch may have finished between the first look and taking the lock.
            let wall_now = self.inner.wall_clock.now();
            let current = self.inner.current.load_full();
            if let Some(token) =
                current.filter(|token| token.freshness(now, wall_now) != Freshness::Expired)
            {
                return Ok(token);
            }

            match &slot.in_flight {
                Some(in_flight) => in_flight.result.clone(),
                None => {
                    if let Some(cooldown) = slot.active_cooldown(now) {
                        StatsCounters::increment(&self.inner.stats.cooldown_rejections);
                        return Err(Error::CoolingDown {
                            retry_in: cooldown.until - now,
                            last_error: Box::new(cooldown.error.clone()),
                        });
                    }
                    self.start_fetch(&mut slot, false)
                }
            }
        };

        match result.wait_for(Option::is_some).await {
            Ok(done) => done
                .as_ref()
                .expect("wait_for returned only once the result was set")
                .clone(),
            Err(_) => Err(Error::FetchCancelled),
        }
    }

    /// Spawns the fetch task and records it in the slot. The caller holds the slot's lock.
    fn start_fetch(
        &self,
        slot: &mut FetchSlot,
        background: bool,
    ) -> watch::Receiver<Option<FetchResult>> {
        let (sender, receiver) = watch::channel(None);
        slot.next_fetch_id += 1;

        let completion = Completion {
            cache: Arc::downgrade(&self.inner),
            fetch_id: slot.next_fetch_id,
            sender,
            finished: false,
        };
        let requester = Arc::clone(&self.inner.requester);
        let task = tokio::spawn(async move {
            let result = requester.fetch().await;
            completion.finish(result);
        });

        slot.in_flight = Some(InFlight {
            id: slot.next_fetch_id,
            result: receiver.clone(),
            task: task.abort_handle(),
            background,
        });
        receiver
    }

    fn nanos_since_epoch(&self, instant: Instant) -> u64 {
        self.inner.nanos_since_epoch(instant)
    }
}

impl Inner {
    fn lock_slot(&self) -> MutexGuard<'_, FetchSlot> {
        // The slot stays consistent even if a holder panicked, so a poisoned lock is still used.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn nanos_since_epoch(&self, instant: Instant) -> u64 {
        nanos_after(self.epoch, instant)
    }

    /// Stores the outcome of fetch `fetch_id`: the new token, or the cool-down after a failure.
    fn record(&self, fetch_id: u64, result: Result<Grant, Error>) -> FetchResult {
        let mut slot = self.lock_slot();
        let background = match slot.in_flight.take_if(|in_flight| in_flight.id == fetch_id) {
            Some(in_flight) => in_flight.background,
            None => false,
        };

        match result {
            Ok(grant) => {
                slot.generation += 1;
                let token = Arc::new(CachedToken::new(
                    AccessToken::from_grant(grant),
                    slot.generation,
                    &self.settings,
                ));
                self.current.store(Some(Arc::clone(&token)));
                slot.cooldown = None;
                slot.next_cooldown = self.settings.failure_cooldown;
                Ok(token)
            }
            Err(error) => {
                if background {
                    StatsCounters::increment(&self.stats.background_refresh_failures);
                }
                self.start_cooldown(&mut slot, &error);
                Err(error)
            }
        }
    }

    /// Holds off new fetches after a failure: for the current cool-down step, which doubles up to
    /// the maximum, or for the server's `Retry-After` if that is longer.
    fn start_cooldown(&self, slot: &mut FetchSlot, error: &Error) {
        let pause = slot
            .next_cooldown
            .max(error.server_wait().unwrap_or_default());
        slot.next_cooldown = slot
            .next_cooldown
            .saturating_mul(2)
            .min(self.settings.max_failure_cooldown);

        let until = later_by(Instant::now(), pause);
        if pause > Duration::ZERO {
            slot.cooldown = Some(Cooldown {
                until,
                error: error.clone(),
            });
        }

        // A still-valid token keeps serving; its next refresh ahead waits for the cool-down.
        if let Some(current) = self.current.load_full() {
            let not_before = self.nanos_since_epoch(until);
            current
                .refresh_not_before
                .store(not_before, Ordering::Release);
        }
    }
}

impl Drop for Inner {
    /// Stops a fetch still running once every handle to the cache is gone.
    fn drop(&mut self) {
        let slot = self.slot.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(in_flight) = slot.in_flight.take() {
            in_flight.task.abort();
        }
    }
}

impl FetchSlot {
    fn active_cooldown(&self, now: Instant) -> Option<&Cooldown> {
        self.cooldown
            .as_ref()
            .filter(|cooldown| now < cooldown.until)
    }
}

impl CachedToken {
    fn new(token: AccessToken, generation: u64, settings: &CacheSettings) -> Self {
        let share = token.lifetime() / MAX_WINDOW_SHARE_OF_LIFETIME;
        let margin = settings.expiry_margin.min(share);
        let window = settings.refresh_ahead.min(share);

        let stale_at = token.deadline() - margin;
        let wall_stale_at = earlier_by(token.wall_deadline(), margin);

        CachedToken {
            generation,
            refresh_at: stale_at - window,
            wall_refresh_at: earlier_by(wall_stale_at, window),
            stale_at,
            wall_stale_at,
            refresh_not_before: AtomicU64::new(0),
            token,
        }
    }

    /// Places `now` among the token's moments. A token is past a moment when either clock has
    /// passed it, because the monotonic clock stops while a machine sleeps and the wall clock does
    /// not.
    fn freshness(&self, now: Instant, wall_now: SystemTime) -> Freshness {
        if now >= self.stale_at || wall_now >= self.wall_stale_at {
            Freshness::Expired
        } else if now >= self.refresh_at || wall_now >= self.wall_refresh_at {
            Freshness::RefreshDue
        } else {
            Freshness::Fresh
        }
    }
}

fn earlier_by(time: SystemTime, span: Duration) -> SystemTime {
    time.checked_sub(span).unwrap_or(time)
}

/// The fetch task's link back to the cache. Dropped without `finish`, because the task was
/// aborted or panicked, it frees the slot, and the dropped sender wakes the waiters with
/// [`Error::FetchCancelled`].
struct Completion {
    cache: Weak<Inner>,
    fetch_id: u64,
    sender: watch::Sender<Option<FetchResult>>,
    finished: bool,
}

impl Completion {
    fn finish(mut self, result: Result<Grant, Error>) {
        self.finished = true;
        let Some(inner) = self.cache.upgrade() else {
            return;
        };

        let outcome = inner.record(self.fetch_id, result);
        self.sender.send_replace(Some(outcome));
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let Some(inner) = self.cache.upgrade() else {
            return;
        };

        let mut slot = inner.lock_slot();
        slot.in_flight
            .take_if(|in_flight| in_flight.id == self.fetch_id);
        if let Some(current) = inner.current.load_full() {
            current.refresh_not_before.store(0, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use reqwest::StatusCode;
    use secrecy::SecretString;
    use url::Url;

    use super::*;
    use crate::retry_policy::TokenRetryPolicy;

    const HOUR: Duration = Duration::from_secs(3600);

    fn settings() -> CacheSettings {
        CacheSettings {
            expiry_margin: Duration::from_secs(60),
            refresh_ahead: Duration::from_secs(300),
            failure_cooldown: Duration::from_secs(1),
            max_failure_cooldown: Duration::from_secs(4),
        }
    }

    /// Builds a cache whose token endpoint is never contacted, because these tests store grants
    /// directly.
    fn cache_with(settings: CacheSettings, wall_clock: WallClock) -> TokenCache {
        let requester = TokenRequester {
            http: reqwest::Client::new(),
            token_url: Url::parse("http://127.0.0.1:9/unused").unwrap(),
            redacted_url: "http://127.0.0.1:9/unused".to_owned(),
            credentials: Credentials::new("id", "secret"),
            timeout: Duration::from_secs(10),
            retry: TokenRetryPolicy::never(),
            wall_clock: wall_clock.clone(),
            stats: Arc::new(StatsCounters::default()),
        };
        TokenCache::new(requester, settings, wall_clock)
    }

    fn grant(lifetime: Duration, wall_clock: &WallClock) -> Grant {
        Grant {
            value: SecretString::from("token"),
            lifetime,
            sent_at: Instant::now(),
            wall_sent_at: wall_clock.now(),
        }
    }

    fn store(cache: &TokenCache, lifetime: Duration) -> Arc<CachedToken> {
        let wall_clock = cache.inner.wall_clock.clone();
        cache
            .inner
            .record(0, Ok(grant(lifetime, &wall_clock)))
            .unwrap()
    }

    fn freshness_now(cache: &TokenCache) -> Freshness {
        let token = cache.inner.current.load_full().expect("a token is stored");
        token.freshness(Instant::now(), cache.inner.wall_clock.now())
    }

    fn server_error() -> Error {
        Error::TokenEndpoint {
            token_url: "http://127.0.0.1:9/unused".to_owned(),
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: None,
            description: None,
            body_excerpt: String::new(),
            retry_after: None,
        }
    }

    fn cooldown_left(cache: &TokenCache) -> Option<Duration> {
        let slot = cache.inner.lock_slot();
        let now = Instant::now();
        slot.active_cooldown(now)
            .map(|cooldown| cooldown.until - now)
    }

    #[tokio::test(start_paused = true)]
    async fn hour_token_moves_through_windows() {
        let cache = cache_with(settings(), WallClock::default());
        store(&cache, HOUR);

        tokio::time::advance(Duration::from_secs(3239)).await;
        assert_eq!(freshness_now(&cache), Freshness::Fresh);

        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(freshness_now(&cache), Freshness::RefreshDue);

        tokio::time::advance(Duration::from_secs(299)).await;
        assert_eq!(freshness_now(&cache), Freshness::RefreshDue);

        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(freshness_now(&cache), Freshness::Expired);
        assert!(cache.read_usable(|_| ()).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn short_token_windows_are_tenths() {
        let cache = cache_with(settings(), WallClock::default());
        store(&cache, Duration::from_secs(4));

        tokio::time::advance(Duration::from_millis(3199)).await;
        assert_eq!(freshness_now(&cache), Freshness::Fresh);

        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(freshness_now(&cache), Freshness::RefreshDue);

        tokio::time::advance(Duration::from_millis(400)).await;
        assert_eq!(freshness_now(&cache), Freshness::Expired);
    }

    #[tokio::test(start_paused = true)]
    async fn refresh_ahead_off_goes_fresh_to_expired() {
        let mut no_refresh = settings();
        no_refresh.refresh_ahead = Duration::ZERO;
        let cache = cache_with(no_refresh, WallClock::default());
        store(&cache, HOUR);

        tokio::time::advance(Duration::from_secs(3539)).await;
        assert_eq!(freshness_now(&cache), Freshness::Fresh);

        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(freshness_now(&cache), Freshness::Expired);
    }

    /// The monotonic clock stops during a suspend, while the wall clock moves on.
    #[tokio::test(start_paused = true)]
    async fn wall_clock_jump_expires_token() {
        let wall_now = Arc::new(StdMutex::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        ));
        let reader = Arc::clone(&wall_now);
        let wall_clock = WallClock::from_fn(move || *reader.lock().unwrap());
        let cache = cache_with(settings(), wall_clock);
        store(&cache, HOUR);

        *wall_now.lock().unwrap() += Duration::from_secs(3300);
        assert_eq!(freshness_now(&cache), Freshness::RefreshDue);

        *wall_now.lock().unwrap() += Duration::from_secs(2 * 3600);
        assert_eq!(freshness_now(&cache), Freshness::Expired);
        assert!(cache.read_usable(|_| ()).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn invalidate_clears_only_matching_generation() {
        let cache = cache_with(settings(), WallClock::default());
        let first = store(&cache, HOUR);
        let second = store(&cache, HOUR);

        assert_eq!((first.generation, second.generation), (1, 2));
        assert!(!cache.invalidate(first.generation));
        assert!(cache.read_usable(|_| ()).is_some());

        assert!(cache.invalidate(second.generation));
        assert!(cache.read_usable(|_| ()).is_none());
        assert!(!cache.invalidate(second.generation));
    }

    #[tokio::test(start_paused = true)]
    async fn cooldown_doubles_to_cap_and_resets() {
        let cache = cache_with(settings(), WallClock::default());

        let mut pauses = Vec::new();
        for _ in 0..4 {
            let _ = cache.inner.record(0, Err(server_error()));
            pauses.push(cooldown_left(&cache).unwrap());
        }
        assert_eq!(pauses, [1, 2, 4, 4].map(Duration::from_secs));

        store(&cache, HOUR);
        assert_eq!(cooldown_left(&cache), None);

        let _ = cache.inner.record(0, Err(server_error()));
        assert_eq!(cooldown_left(&cache), Some(Duration::from_secs(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn cooldown_rejects_without_fetching() {
        let cache = cache_with(settings(), WallClock::default());
        let _ = cache.inner.record(0, Err(server_error()));

        let error = cache.get_with(|_| ()).await.unwrap_err();

        let Error::CoolingDown {
            retry_in,
            last_error,
        } = &error
        else {
            panic!("expected CoolingDown, got {error:?}");
        };
        assert_eq!(*retry_in, Duration::from_secs(1));
        assert!(matches!(**last_error, Error::TokenEndpoint { .. }));
        assert!(matches!(error.root(), Error::TokenEndpoint { .. }));
        assert_eq!(cache.stats().cooldown_rejections, 1);
        assert_eq!(cache.stats().token_requests, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn longer_retry_after_sets_cooldown() {
        let cache = cache_with(settings(), WallClock::default());
        let mut error = server_error();
        if let Error::TokenEndpoint { retry_after, .. } = &mut error {
            *retry_after = Some(Duration::from_secs(90));
        }

        let _ = cache.inner.record(0, Err(error));

        assert_eq!(cooldown_left(&cache), Some(Duration::from_secs(90)));
    }

    #[tokio::test(start_paused = true)]
    async fn failed_refresh_waits_for_cooldown() {
        let cache = cache_with(settings(), WallClock::default());
        let token = store(&cache, HOUR);
        tokio::time::advance(Duration::from_secs(3300)).await;

        let _ = cache.inner.record(0, Err(server_error()));

        let not_before = token.refresh_not_before.load(Ordering::Acquire);
        let expected = cache.nanos_since_epoch(Instant::now() + Duration::from_secs(1));
        assert_eq!(not_before, expected);
        assert!(cache.read_usable(|_| ()).is_some());
        assert_eq!(cache.stats().background_refreshes, 0);
    }
}
