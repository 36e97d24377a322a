//! The wall clock, kept beside Tokio's monotonic clock so that a suspended machine cannot make an
//! expired token look valid.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::time::Instant;

/// Returns the nanoseconds from `epoch` to `instant`, for keeping moments in an `AtomicU64`.
///
/// It saturates at zero before the epoch and just below `u64::MAX`, which callers may use as a
/// marker.
pub(crate) fn nanos_after(epoch: Instant, instant: Instant) -> u64 {
    let nanos = instant.saturating_duration_since(epoch).as_nanos();
    u64::try_from(nanos).unwrap_or(u64::MAX - 1)
}

/// Reads the wall-clock time: `SystemTime::now`, or a function put in its place by tests.
#[derive(Clone, Default)]
pub(crate) struct WallClock {
    replacement: Option<Arc<dyn Fn() -> SystemTime + Send + Sync>>,
}

impl WallClock {
    #[cfg_attr(not(feature = "test-util"), allow(dead_code))]
    pub(crate) fn from_fn(now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        WallClock {
            replacement: Some(Arc::new(now)),
        }
    }

    pub(crate) fn now(&self) -> SystemTime {
        match &self.replacement {
            Some(now) => now(),
            None => SystemTime::now(),
        }
    }
}

impl fmt::Debug for WallClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.replacement.is_some() {
            "replaced"
        } else {
            "system"
        };
        f.write_str(kind)
    }
}
