//! The wall clock, kept beside Tokio's monotonic clock so that a suspended machine cannot make an
//! expired token look valid.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

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
