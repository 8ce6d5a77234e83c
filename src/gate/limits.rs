//! Allowances that hold across isolates: how many L402 invoices a client (and a route in
//! all) may cause per minute, how many smart-wallet payments a client may have the
//! facilitator verify, and an answer kept for reuse (one unexpired invoice per client and
//! route). The rules are [`Book`]'s: uses counted per key and in all, per one-minute window.
//! The Worker keeps one book per scope (a client, a route) in a Durable Object, tests in
//! memory.
//!
//! Clients are counted by [`client_bucket`]: an IPv6 client by its /64, which one subscriber
//! holds whole, so rotating addresses inside it gains nothing.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// The length of an allowance's window.
pub const WINDOW_S: u64 = 60;
/// A book holds at most this many keys' counts and kept answers; past it, a new key is
/// refused until the window turns (the overall limit, when there is one, is far below it).
pub const MAX_KEYS: usize = 10_000;

/// What a client is counted as: an IPv4 address as is, an IPv6 address by its /64 prefix
/// (`2001:db8:1:2::/64`), anything else (no `CF-Connecting-IP`, a value that is no address)
/// as one shared `unknown` client.
pub fn client_bucket(client: Option<&str>) -> String {
    match client.and_then(|c| c.trim().parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        None => "unknown".into(),
    }
}

/// One request for an allowance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ask {
    /// Whose uses are counted (`l402-client 203.0.113.7`, `l402-route GET /ln/*`): one book
    /// each.
    pub scope: String,
    /// What the use is for within the scope (a route, a client).
    pub key: String,
    /// Uses per key and window.
    pub per_key: u32,
    /// Uses per window for the whole scope, if limited.
    pub overall: Option<u32>,
    /// Whether an answer kept for this key may be returned instead of a new use.
    pub reuse: bool,
}

impl Ask {
    /// One use of `scope` in all, at most `per_window` a window.
    pub fn one_of(scope: String, per_window: u32) -> Self {
        Self {
            key: scope.clone(),
            scope,
            per_key: per_window,
            overall: None,
            reuse: false,
        }
    }
}

/// The answer to an [`Ask`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Allowance {
    /// One use is counted: go ahead.
    Granted,
    /// An answer kept for this key, still valid: send it again (nothing is counted).
    Reuse(String),
    /// Over the key's or the scope's allowance for this window.
    Limited,
}

/// Allowances, across isolates (a Durable Object per scope in the Worker).
#[allow(async_fn_in_trait)] // Workers futures are not Send; no bound is wanted.
pub trait Allowances {
    /// Asks for one use at unix time `now`. An error is the book's being unreachable.
    async fn ask(&self, ask: &Ask, now: u64) -> Result<Allowance, String>;
    /// Keeps `answer` for `key` in `scope` until `until`, at unix time `now` (for
    /// [`Ask::reuse`]).
    async fn keep(
        &self,
        scope: &str,
        key: &str,
        answer: String,
        until: u64,
        now: u64,
    ) -> Result<(), String>;
}

/// One scope's counts for the current window and its kept answers.
#[derive(Clone, Debug, Default)]
pub struct Book {
    window: u64,
    total: u32,
    counts: HashMap<String, u32>,
    kept: HashMap<String, (u64, String)>,
}

impl Book {
    /// Answers `ask` at `now`, counting the use when granted.
    pub fn ask(&mut self, ask: &Ask, now: u64) -> Allowance {
        self.turn(now);
        if ask.reuse {
            if let Some((until, answer)) = self.kept.get(&ask.key) {
                if *until > now {
                    return Allowance::Reuse(answer.clone());
                }
            }
        }
        let count = self.counts.get(&ask.key).copied();
        if count.unwrap_or(0) >= ask.per_key
            || ask.overall.is_some_and(|overall| self.total >= overall)
            || (count.is_none() && self.counts.len() >= MAX_KEYS)
        {
            return Allowance::Limited;
        }
        self.counts.insert(ask.key.clone(), count.unwrap_or(0) + 1);
        self.total += 1;
        Allowance::Granted
    }

    /// Keeps `answer` for `key` until `until`.
    pub fn keep(&mut self, key: &str, answer: String, until: u64, now: u64) {
        self.turn(now);
        if self.kept.len() < MAX_KEYS || self.kept.contains_key(key) {
            self.kept.insert(key.to_owned(), (until, answer));
        }
    }

    /// Starts a new window when `now` is past the current one, dropping its counts and the
    /// kept answers that have expired.
    fn turn(&mut self, now: u64) {
        let window = now / WINDOW_S;
        if window != self.window {
            self.window = window;
            self.total = 0;
            self.counts.clear();
            self.kept.retain(|_, (until, _)| *until > now);
        }
    }
}

/// The allowances of one process: a [`Book`] per scope, as the Worker keeps one per
/// Durable Object. They hold across requests of the process only (a Node server; not
/// several isolates).
#[derive(Debug, Default)]
pub struct ProcessAllowances {
    books: RefCell<HashMap<String, Book>>,
}

impl Allowances for ProcessAllowances {
    async fn ask(&self, ask: &Ask, now: u64) -> Result<Allowance, String> {
        let mut books = self.books.borrow_mut();
        Ok(books.entry(ask.scope.clone()).or_default().ask(ask, now))
    }

    async fn keep(
        &self,
        scope: &str,
        key: &str,
        answer: String,
        until: u64,
        now: u64,
    ) -> Result<(), String> {
        let mut books = self.books.borrow_mut();
        books
            .entry(scope.to_owned())
            .or_default()
            .keep(key, answer, until, now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn ask(key: &str, per_key: u32, overall: Option<u32>, reuse: bool) -> Ask {
        Ask {
            scope: "l402-client 203.0.113.7".into(),
            key: key.into(),
            per_key,
            overall,
            reuse,
        }
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let a = client_bucket(Some("2001:db8:1:2:aaaa::1"));
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(client_bucket(Some("2001:0db8:0001:0002:ffff:1:2:3")), a);
        assert_ne!(client_bucket(Some("2001:db8:1:3::1")), a);
        assert_eq!(client_bucket(Some("203.0.113.7")), "203.0.113.7");
        assert_eq!(client_bucket(Some("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(client_bucket(Some("not an address")), "unknown");
        assert_eq!(client_bucket(None), "unknown");
    }

    #[test]
    fn a_key_gets_its_allowance_per_window_and_a_scope_its_overall_cap() {
        let mut book = Book::default();
        let now = 6_000;
        for _ in 0..3 {
            assert_eq!(
                book.ask(&ask("a", 3, Some(5), false), now),
                Allowance::Granted
            );
        }
        assert_eq!(
            book.ask(&ask("a", 3, Some(5), false), now),
            Allowance::Limited
        );
        assert_eq!(
            book.ask(&ask("b", 3, Some(5), false), now + 1),
            Allowance::Granted
        );
        assert_eq!(
            book.ask(&ask("c", 3, Some(5), false), now + 2),
            Allowance::Granted
        );
        // The scope's fifth use this minute was the last.
        assert_eq!(
            book.ask(&ask("d", 3, Some(5), false), now + 3),
            Allowance::Limited
        );
        // A new window.
        assert_eq!(
            book.ask(&ask("a", 3, Some(5), false), now + WINDOW_S),
            Allowance::Granted
        );
    }

    #[test]
    fn a_kept_answer_is_reused_until_it_expires_and_only_when_asked() {
        let mut book = Book::default();
        let now = 6_000;
        assert_eq!(book.ask(&ask("a", 1, None, true), now), Allowance::Granted);
        book.keep("a", "invoice-1".into(), now + 30, now);
        for _ in 0..5 {
            assert_eq!(
                book.ask(&ask("a", 1, None, true), now + 1),
                Allowance::Reuse("invoice-1".into())
            );
        }
        // A fresh invoice (after a spent token) is a new use, over the allowance here.
        assert_eq!(
            book.ask(&ask("a", 1, None, false), now + 1),
            Allowance::Limited
        );
        assert_eq!(
            book.ask(&ask("b", 1, None, true), now + 1),
            Allowance::Granted
        );
        // Expired: counted again (a new window here, so granted).
        assert_eq!(
            book.ask(&ask("a", 1, None, true), now + WINDOW_S),
            Allowance::Granted
        );
    }

    #[test]
    fn a_book_holds_a_bounded_number_of_keys() {
        let mut book = Book::default();
        for i in 0..MAX_KEYS {
            assert_eq!(
                book.ask(&ask(&i.to_string(), 1, None, false), 0),
                Allowance::Granted
            );
        }
        assert_eq!(
            book.ask(&ask("one more", 1, None, false), 0),
            Allowance::Limited
        );
        assert_eq!(
            book.ask(&ask("one more", 1, None, false), WINDOW_S),
            Allowance::Granted
        );
    }
}
