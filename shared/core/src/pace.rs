//! How fast the payment provider may be called: calls spaced evenly at configured rates.
//!
//! Stripe limits each API endpoint (25 requests a second by default: creating transfers,
//! creating payouts and listing transfers are three endpoints, each with its own 25) and the
//! account in all (100 a second in live mode, 25 in a sandbox), and answers 429 beyond. When
//! most barbers are due at the same local time, a fleet of executors that called as fast as it
//! could would spend its requests on 429s. Each process keeps a pace of its share of every
//! endpoint's rate and of the total: the next free slot, one interval after the last one
//! given. A slot is reserved only if it comes within the caller's patience; a 429 holds every
//! slot back for a while. Calls that move money come first: a lookup takes a slot of the
//! total only when no call is waiting for one. Time is passed in.

use std::collections::BTreeSet;
use std::num::NonZeroU32;

use chrono::{DateTime, TimeDelta, Utc};

/// The rate one process may call the provider at: `requests_per_second` shared by `shares`
/// processes calling at once (the executor's maximum concurrency on Lambda, one for `serve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaceRate {
    pub requests_per_second: NonZeroU32,
    pub shares: NonZeroU32,
}

impl PaceRate {
    /// The time between two calls of one process: exact to the nanosecond.
    pub fn interval(self) -> TimeDelta {
        let nanos = 1_000_000_000_i64 * i64::from(self.shares.get())
            / i64::from(self.requests_per_second.get());
        TimeDelta::nanoseconds(nanos.max(1))
    }
}

/// A provider endpoint as its rate limits count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// Creating a transfer (Stripe: `POST /v1/transfers`).
    Transfers,
    /// Creating a payout from a connected account's balance (`POST /v1/payouts`).
    Payouts,
    /// Listing a payout's transfers (`GET /v1/transfers`): reconciliation and recovery.
    TransferLookups,
    /// Listing a connected account's payouts (`GET /v1/payouts`): recovery.
    PayoutLookups,
}

impl Endpoint {
    pub const ALL: [Endpoint; 4] = [
        Endpoint::Transfers,
        Endpoint::Payouts,
        Endpoint::TransferLookups,
        Endpoint::PayoutLookups,
    ];

    /// Its key in `[rail.limits]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Transfers => "transfers",
            Endpoint::Payouts => "payouts",
            Endpoint::TransferLookups => "transfer_lookups",
            Endpoint::PayoutLookups => "payout_lookups",
        }
    }

    /// Calls that move money wait for the account's total ahead of lookups.
    pub fn moves_money(self) -> bool {
        matches!(self, Endpoint::Transfers | Endpoint::Payouts)
    }

    fn index(self) -> usize {
        match self {
            Endpoint::Transfers => 0,
            Endpoint::Payouts => 1,
            Endpoint::TransferLookups => 2,
            Endpoint::PayoutLookups => 3,
        }
    }
}

/// What the provider accepts of the whole deployment, in requests a second: in all, and of
/// each endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RailLimits {
    pub total: NonZeroU32,
    per_endpoint: [NonZeroU32; 4],
}

/// Stripe's published default per endpoint (docs.stripe.com/rate-limits).
pub const STRIPE_PER_ENDPOINT: NonZeroU32 = NonZeroU32::new(25).expect("positive");
/// Stripe's published default for a live account in all.
pub const STRIPE_LIVE_TOTAL: NonZeroU32 = NonZeroU32::new(100).expect("positive");
/// Stripe's published default for a sandbox (`sk_test_` keys) in all.
pub const STRIPE_SANDBOX_TOTAL: NonZeroU32 = NonZeroU32::new(25).expect("positive");

impl RailLimits {
    /// `per_endpoint` for each endpoint, `total` in all.
    pub fn uniform(total: NonZeroU32, per_endpoint: NonZeroU32) -> Self {
        Self {
            total,
            per_endpoint: [per_endpoint; 4],
        }
    }

    /// Stripe's published defaults: 25 a second per endpoint; 100 in all in live mode, 25 in
    /// a sandbox.
    pub fn stripe(sandbox: bool) -> Self {
        let total = match sandbox {
            true => STRIPE_SANDBOX_TOTAL,
            false => STRIPE_LIVE_TOTAL,
        };
        Self::uniform(total, STRIPE_PER_ENDPOINT)
    }

    pub fn of(&self, endpoint: Endpoint) -> NonZeroU32 {
        self.per_endpoint[endpoint.index()]
    }

    /// The same with `endpoint`'s limit `limit` (an account whose limit Stripe raised).
    pub fn with(mut self, endpoint: Endpoint, limit: NonZeroU32) -> Self {
        self.per_endpoint[endpoint.index()] = limit;
        self
    }

    /// What `endpoint` can be called at: its own limit, within the total.
    pub fn effective(&self, endpoint: Endpoint) -> NonZeroU32 {
        self.of(endpoint).min(self.total)
    }
}

/// The limits a deployment sets over the provider's defaults (`[rail.limits]`): an account
/// whose limits Stripe raised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    pub total: Option<NonZeroU32>,
    pub per_endpoint: [Option<NonZeroU32>; 4],
}

impl LimitOverrides {
    /// `defaults` with what is set here in their place.
    pub fn over(&self, defaults: RailLimits) -> RailLimits {
        let mut limits = defaults;
        if let Some(total) = self.total {
            limits.total = total;
        }
        for endpoint in Endpoint::ALL {
            if let Some(limit) = self.per_endpoint[endpoint.index()] {
                limits = limits.with(endpoint, limit);
            }
        }
        limits
    }

    /// The same with `endpoint`'s limit set to `limit`.
    pub fn set(&mut self, endpoint: Endpoint, limit: Option<NonZeroU32>) {
        self.per_endpoint[endpoint.index()] = limit;
    }
}

/// How a process paces its calls to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaceSettings {
    /// The limits in force: the provider's defaults with `overrides` over them.
    pub limits: RailLimits,
    /// What the deployment sets over the provider's defaults (`[rail.limits]`).
    pub overrides: LimitOverrides,
    /// The processes calling at once that share them (the executors' and the planner's
    /// maximum concurrency on Lambda, one for `serve`).
    pub shares: NonZeroU32,
    /// The longest a transfer waits for its slot (never less than one interval).
    pub patience: TimeDelta,
    /// How long a 429 holds the pace back.
    pub hold_after_429: TimeDelta,
}

impl PaceSettings {
    /// This process's rate on `endpoint`.
    pub fn rate(&self, endpoint: Endpoint) -> PaceRate {
        PaceRate {
            requests_per_second: self.limits.effective(endpoint),
            shares: self.shares,
        }
    }

    /// This process's rate in all.
    pub fn total_rate(&self) -> PaceRate {
        PaceRate {
            requests_per_second: self.limits.total,
            shares: self.shares,
        }
    }

    /// The patience a caller gets: never less than one turn of its share of the slowest
    /// endpoint, or a process whose turn is further apart than its patience could never send.
    pub fn effective_patience(&self) -> TimeDelta {
        Endpoint::ALL
            .iter()
            .map(|endpoint| self.rate(*endpoint).interval())
            .fold(self.patience, TimeDelta::max)
    }
}

/// A process's pace on every endpoint and in all.
#[derive(Debug, Clone)]
pub struct EndpointPace {
    endpoints: [RailPace; 4],
    total: TotalCalendar,
    held_until: Option<DateTime<Utc>>,
}

impl EndpointPace {
    pub fn new(settings: &PaceSettings) -> Self {
        Self {
            endpoints: Endpoint::ALL.map(|endpoint| RailPace::new(settings.rate(endpoint))),
            total: TotalCalendar::new(settings.total_rate().interval()),
            held_until: None,
        }
    }

    /// The least patience a call of `endpoints` needs to ever be sent on an idle pace: a turn
    /// of each endpoint, and a turn of the total for each request.
    fn least_patience(&self, endpoints: &[Endpoint]) -> TimeDelta {
        let requests = i32::try_from(endpoints.len()).unwrap_or(i32::MAX);
        endpoints
            .iter()
            .map(|endpoint| self.endpoints[endpoint.index()].interval)
            .fold(self.total.interval() * requests, TimeDelta::max)
    }

    /// Reserves, for a call that makes one request of each of `endpoints`, the first slot at
    /// or after `now` free on each of them and, for each request, on the total, when it comes
    /// within `patience` (never less than the call needs on an idle pace); `None` leaves the
    /// pace as it was. A call that moves no money is sent only at once: it never holds a later
    /// turn of the total that a transfer could take.
    pub fn reserve(
        &mut self,
        endpoints: &[Endpoint],
        now: DateTime<Utc>,
        patience: TimeDelta,
    ) -> Option<DateTime<Utc>> {
        if endpoints.is_empty() {
            return Some(now);
        }
        let moves_money = endpoints.iter().any(|endpoint| endpoint.moves_money());
        let earliest = endpoints
            .iter()
            .map(|endpoint| self.endpoints[endpoint.index()].free_from(now))
            .fold(self.held_until.unwrap_or(now).max(now), DateTime::max);
        self.total.forget_before(now);
        let turns = self.total.free_turns(earliest, endpoints.len());
        let slot = self.total.start_of(*turns.last()?).max(earliest);
        let waits = slot - now;
        let patience = patience.max(self.least_patience(endpoints));
        if waits > patience || (!moves_money && waits > TimeDelta::zero()) {
            return None;
        }
        for endpoint in endpoints {
            self.endpoints[endpoint.index()].take(slot);
        }
        self.total.take(&turns);
        Some(slot)
    }

    /// The provider said to slow down: no slot before `until`, on any endpoint.
    pub fn hold_until(&mut self, until: DateTime<Utc>) {
        self.held_until = Some(self.held_until.map_or(until, |held| held.max(until)));
    }
}

/// The account's total as turns of one interval each (the process's share of the total), each
/// taken by one request: endpoints paced apart fill the turns between each other's, and the
/// process keeps to its share of the total over time (a call of several requests sends them
/// one after another from its last turn, which the provider's token bucket absorbs).
#[derive(Debug, Clone)]
struct TotalCalendar {
    interval_nanos: i64,
    taken: BTreeSet<i64>,
}

impl TotalCalendar {
    fn new(interval: TimeDelta) -> Self {
        Self {
            interval_nanos: interval.num_nanoseconds().unwrap_or(i64::MAX).max(1),
            taken: BTreeSet::new(),
        }
    }

    fn interval(&self) -> TimeDelta {
        TimeDelta::nanoseconds(self.interval_nanos)
    }

    fn turn_of(&self, at: DateTime<Utc>) -> i64 {
        at.timestamp_nanos_opt().unwrap_or(i64::MAX) / self.interval_nanos
    }

    fn start_of(&self, turn: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(turn.saturating_mul(self.interval_nanos))
    }

    /// The first `count` free turns from the one `at` falls in.
    fn free_turns(&self, at: DateTime<Utc>, count: usize) -> Vec<i64> {
        (self.turn_of(at)..)
            .filter(|turn| !self.taken.contains(turn))
            .take(count)
            .collect()
    }

    fn take(&mut self, turns: &[i64]) {
        self.taken.extend(turns);
    }

    /// Turns before `now`'s are past: forgotten, so the calendar holds only what is ahead.
    fn forget_before(&mut self, now: DateTime<Utc>) {
        let current = self.turn_of(now);
        self.taken = self.taken.split_off(&current);
    }
}

#[derive(Debug, Clone)]
pub struct RailPace {
    interval: TimeDelta,
    next_slot: Option<DateTime<Utc>>,
}

impl RailPace {
    pub fn new(rate: PaceRate) -> Self {
        Self {
            interval: rate.interval(),
            next_slot: None,
        }
    }

    /// Reserves the first free slot at or after `now` when it comes within `patience`, and
    /// says when the call may go; `None` leaves the pace as it was.
    pub fn reserve(&mut self, now: DateTime<Utc>, patience: TimeDelta) -> Option<DateTime<Utc>> {
        let slot = self.free_from(now);
        if slot - now > patience {
            return None;
        }
        self.take(slot);
        Some(slot)
    }

    /// The first free slot at or after `now`.
    fn free_from(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.next_slot.map_or(now, |next| next.max(now))
    }

    /// Takes the free slot `slot` (at or after the first free one): the next is an interval
    /// after it.
    fn take(&mut self, slot: DateTime<Utc>) {
        let next = self.next_slot.map_or(slot, |next| next.max(slot));
        self.next_slot = Some(next + self.interval);
    }

    /// The provider said to slow down: no slot before `until`.
    pub fn hold_until(&mut self, until: DateTime<Utc>) {
        self.next_slot = Some(self.next_slot.map_or(until, |next| next.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rate(requests_per_second: u32, shares: u32) -> PaceRate {
        PaceRate {
            requests_per_second: NonZeroU32::new(requests_per_second).unwrap(),
            shares: NonZeroU32::new(shares).unwrap(),
        }
    }

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 22, 0, 0).unwrap()
    }

    #[test]
    fn a_share_of_the_rate_is_a_longer_interval() {
        assert_eq!(rate(100, 1).interval(), TimeDelta::milliseconds(10));
        assert_eq!(rate(100, 40).interval(), TimeDelta::milliseconds(400));
        assert_eq!(rate(3, 1).interval(), TimeDelta::nanoseconds(333_333_333));
    }

    #[test]
    fn calls_are_spaced_by_the_interval_and_an_idle_pace_starts_now() {
        let mut pace = RailPace::new(rate(100, 1));
        let patience = TimeDelta::seconds(1);
        assert_eq!(pace.reserve(start(), patience), Some(start()));
        assert_eq!(
            pace.reserve(start(), patience),
            Some(start() + TimeDelta::milliseconds(10))
        );
        let later = start() + TimeDelta::seconds(5);
        assert_eq!(pace.reserve(later, patience), Some(later));
    }

    #[test]
    fn a_slot_beyond_the_patience_is_not_reserved() {
        let mut pace = RailPace::new(rate(10, 1));
        let patience = TimeDelta::milliseconds(250);
        let slots: Vec<_> = (0..4).map(|_| pace.reserve(start(), patience)).collect();
        assert_eq!(
            slots,
            vec![
                Some(start()),
                Some(start() + TimeDelta::milliseconds(100)),
                Some(start() + TimeDelta::milliseconds(200)),
                None,
            ]
        );
        // The refusal took nothing: the next slot is still 300 ms away.
        let a_bit_later = start() + TimeDelta::milliseconds(60);
        assert_eq!(
            pace.reserve(a_bit_later, patience),
            Some(start() + TimeDelta::milliseconds(300))
        );
    }

    fn settings(total: u32, per_endpoint: u32, shares: u32, patience: TimeDelta) -> PaceSettings {
        PaceSettings {
            limits: RailLimits::uniform(
                NonZeroU32::new(total).unwrap(),
                NonZeroU32::new(per_endpoint).unwrap(),
            ),
            overrides: LimitOverrides::default(),
            shares: NonZeroU32::new(shares).unwrap(),
            patience,
            hold_after_429: TimeDelta::seconds(2),
        }
    }

    #[test]
    fn the_patience_is_at_least_one_turn() {
        let second = TimeDelta::seconds(1);
        assert_eq!(settings(10, 10, 1, second).effective_patience(), second);
        assert_eq!(
            settings(100, 10, 40, second).effective_patience(),
            TimeDelta::seconds(4)
        );
    }

    #[test]
    fn each_endpoint_keeps_its_own_limit_within_the_total() {
        let limits =
            RailLimits::stripe(false).with(Endpoint::Transfers, NonZeroU32::new(200).unwrap());
        assert_eq!(limits.effective(Endpoint::Transfers).get(), 100);
        assert_eq!(limits.effective(Endpoint::Payouts).get(), 25);
        assert_eq!(
            RailLimits::stripe(true).effective(Endpoint::Payouts).get(),
            25
        );
        assert_eq!(RailLimits::stripe(true).total.get(), 25);

        // 25 a second per endpoint: transfers 40 ms apart, and lookups beside them at their
        // own 40 ms, the total (100 a second) leaving room for both.
        let mut pace = EndpointPace::new(&settings(100, 25, 1, TimeDelta::seconds(1)));
        let patience = TimeDelta::seconds(1);
        let transfers: Vec<_> = (0..3)
            .map(|_| pace.reserve(&[Endpoint::Transfers], start(), patience))
            .collect();
        let ms = |n| Some(start() + TimeDelta::milliseconds(n));
        assert_eq!(transfers, vec![ms(0), ms(40), ms(80)]);
        let later = start() + TimeDelta::milliseconds(30);
        assert_eq!(
            pace.reserve(&[Endpoint::TransferLookups], later, patience),
            Some(later)
        );
    }

    #[test]
    fn a_call_of_several_requests_is_sent_whatever_the_patience() {
        // A sandbox's 25 a second in all shared by 200 processes: a turn of the total every
        // 8 s, more than the patience; a resumed instant payout's three requests still go.
        let mut pace = EndpointPace::new(&settings(25, 25, 200, TimeDelta::seconds(5)));
        let resume = [
            Endpoint::TransferLookups,
            Endpoint::PayoutLookups,
            Endpoint::Payouts,
        ];
        let slot = pace.reserve(&resume, start(), TimeDelta::seconds(5));
        assert_eq!(slot, Some(start() + TimeDelta::seconds(16)));
    }

    #[test]
    fn lookups_never_queue_ahead_of_transfers_for_the_total() {
        // 10 a second in all: transfers reserve the total 100 ms apart.
        let mut pace = EndpointPace::new(&settings(10, 10, 1, TimeDelta::seconds(1)));
        let patience = TimeDelta::seconds(1);
        let lookup = [Endpoint::TransferLookups];
        assert_eq!(pace.reserve(&lookup, start(), patience), Some(start()));
        let soon = start() + TimeDelta::milliseconds(50);
        // The total is taken until 100 ms: the lookup waits, the transfer queues.
        assert_eq!(pace.reserve(&lookup, soon, patience), None);
        let transfer = pace.reserve(&[Endpoint::Transfers], soon, patience);
        assert_eq!(transfer, Some(start() + TimeDelta::milliseconds(100)));
        // An instant payout's two requests take two turns of the total, and go at the later.
        let both = [Endpoint::Transfers, Endpoint::Payouts];
        let instant = pace.reserve(&both, soon, patience);
        assert_eq!(instant, Some(start() + TimeDelta::milliseconds(300)));
        let next = pace.reserve(&[Endpoint::Payouts], soon, patience);
        assert_eq!(next, Some(start() + TimeDelta::milliseconds(400)));
        // Once the total is free again, the lookup goes.
        let free = start() + TimeDelta::milliseconds(500);
        assert_eq!(pace.reserve(&lookup, free, patience), Some(free));
    }

    #[test]
    fn a_hold_delays_every_slot_and_never_brings_one_forward() {
        let mut pace = RailPace::new(rate(100, 1));
        pace.hold_until(start() + TimeDelta::seconds(2));
        pace.hold_until(start() + TimeDelta::seconds(1));
        assert_eq!(pace.reserve(start(), TimeDelta::seconds(1)), None);
        assert_eq!(
            pace.reserve(start(), TimeDelta::seconds(3)),
            Some(start() + TimeDelta::seconds(2))
        );
    }
}
