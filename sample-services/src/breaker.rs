//! A circuit breaker: closed → open after consecutive failures → half-open after a cool-down
//! (one trial call at a time) → closed on success, open again on failure.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Clone, Copy, Debug)]
pub struct BreakerConfig {
    /// Consecutive failures that open the circuit.
    pub failure_threshold: u32,
    /// How long the circuit stays open before a trial call is let through.
    pub cooldown: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            cooldown: Duration::from_secs(5),
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    trial_in_flight: bool,
}

/// A circuit breaker for one upstream.
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

/// The call was refused without being attempted: the circuit is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected;

impl CircuitBreaker {
    pub fn new(config: BreakerConfig) -> Self {
        CircuitBreaker {
            config,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                opened_at: None,
                trial_in_flight: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state as callers would see it now (an open circuit past its cool-down reads
    /// half-open).
    pub fn state(&self) -> BreakerState {
        let mut inner = self.lock();
        self.advance(&mut inner, Instant::now());
        inner.state
    }

    fn advance(&self, inner: &mut Inner, now: Instant) {
        if inner.state == BreakerState::Open
            && inner
                .opened_at
                .is_some_and(|t| now.duration_since(t) >= self.config.cooldown)
        {
            inner.state = BreakerState::HalfOpen;
            inner.trial_in_flight = false;
            tracing::info!("circuit half-open: letting one trial call through");
        }
    }

    /// Asks to make a call. In half-open state only one trial call at a time is allowed.
    pub fn acquire(&self) -> Result<(), Rejected> {
        let mut inner = self.lock();
        self.advance(&mut inner, Instant::now());
        match inner.state {
            BreakerState::Closed => Ok(()),
            BreakerState::Open => Err(Rejected),
            BreakerState::HalfOpen if inner.trial_in_flight => Err(Rejected),
            BreakerState::HalfOpen => {
                inner.trial_in_flight = true;
                Ok(())
            }
        }
    }

    pub fn on_success(&self) {
        let mut inner = self.lock();
        if inner.state != BreakerState::Closed {
            tracing::info!("circuit closed");
        }
        inner.state = BreakerState::Closed;
        inner.consecutive_failures = 0;
        inner.opened_at = None;
        inner.trial_in_flight = false;
    }

    pub fn on_failure(&self) {
        let mut inner = self.lock();
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        let trip = match inner.state {
            BreakerState::HalfOpen => true,
            BreakerState::Closed => inner.consecutive_failures >= self.config.failure_threshold,
            BreakerState::Open => false,
        };
        if trip {
            tracing::warn!(
                failures = inner.consecutive_failures,
                "circuit open for {:?}",
                self.config.cooldown
            );
            inner.state = BreakerState::Open;
            inner.opened_at = Some(Instant::now());
            inner.trial_in_flight = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(cooldown_ms: u64) -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            failure_threshold: 3,
            cooldown: Duration::from_millis(cooldown_ms),
        })
    }

    #[test]
    fn opens_after_the_threshold_and_refuses_calls() {
        let b = breaker(60_000);
        for _ in 0..2 {
            assert_eq!(b.acquire(), Ok(()));
            b.on_failure();
        }
        assert_eq!(b.state(), BreakerState::Closed);
        b.on_failure();
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.acquire(), Err(Rejected));
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let b = breaker(60_000);
        b.on_failure();
        b.on_failure();
        b.on_success();
        b.on_failure();
        b.on_failure();
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn half_open_lets_one_trial_through_then_closes_or_reopens() {
        let b = breaker(0);
        for _ in 0..3 {
            b.on_failure();
        }
        // Cool-down of zero: the next look finds it half-open.
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.acquire(), Ok(()));
        assert_eq!(b.acquire(), Err(Rejected), "only one trial at a time");
        b.on_failure();
        // Reopened (and, with no cool-down, immediately half-open again).
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.acquire(), Ok(()));
        b.on_success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.acquire(), Ok(()));
    }

    #[test]
    fn stays_open_during_the_cooldown() {
        let b = breaker(60_000);
        for _ in 0..3 {
            b.on_failure();
        }
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.acquire(), Err(Rejected));
    }
}
