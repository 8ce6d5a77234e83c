//! A bounded map whose entries are kept until a time: what a shell keeps per isolate of
//! remote answers (pricing endpoints' prices, agents' key directories).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// Values kept until a time each, at most `max` of them: past the bound, the expired ones
/// are dropped, then all (a flood of distinct keys empties it rather than growing it).
#[derive(Debug)]
pub struct Expiring<K, V> {
    entries: HashMap<K, (V, u64)>,
    max: usize,
}

impl<K: Eq + Hash, V: Clone> Expiring<K, V> {
    /// An empty map of at most `max` entries.
    pub fn new(max: usize) -> Self {
        Self {
            entries: HashMap::new(),
            max,
        }
    }

    /// The value of `key`, if it is still kept at `now`.
    pub fn get<Q>(&self, key: &Q, now: u64) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let (value, until) = self.entries.get(key)?;
        (now < *until).then(|| value.clone())
    }

    /// Keeps `value` for `key` for `ttl_s` seconds from `now` (0: not at all).
    pub fn put(&mut self, key: K, value: V, ttl_s: u64, now: u64) {
        if ttl_s == 0 {
            return;
        }
        if self.entries.len() >= self.max {
            self.entries.retain(|_, (_, until)| now < *until);
            if self.entries.len() >= self.max {
                self.entries.clear();
            }
        }
        self.entries.insert(key, (value, now.saturating_add(ttl_s)));
    }

    /// Drops `key`'s value.
    pub fn forget<Q>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.entries.remove(key);
    }

    /// How many entries it holds, expired ones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn entries_last_their_time_and_the_map_its_bound() {
        let mut map = Expiring::new(3);
        map.put("a", 1, 30, 100);
        assert_eq!(map.get("a", 129), Some(1));
        assert_eq!(map.get("a", 130), None);
        map.put("zero", 1, 0, 100);
        assert_eq!(map.get("zero", 100), None);
        map.put("b", 2, 10, 100);
        map.put("c", 3, 10, 100);
        // Full: "a" has not expired at 101, so everything goes for "d".
        map.put("d", 4, 10, 101);
        assert_eq!((map.len(), map.get("d", 101)), (1, Some(4)));
        map.put("e", 5, 1, 101);
        map.put("f", 6, 100, 101);
        // Full again at 200: the expired "d" and "e" go, "f" stays.
        map.put("g", 7, 10, 200);
        assert_eq!((map.len(), map.get("f", 200)), (2, Some(6)));
    }
}
