//! A few results kept per thread (per Worker isolate, per page), for values computed again
//! and again from the same few inputs: a token's EIP-712 domain separator, the EIP-55
//! checksums of the gateway's own addresses and of its latest payers. Each costs one
//! Keccak-256 permutation or more, a few percent of a payment's verification in WASM.

use std::cell::RefCell;

/// The results of the last `N` keys asked for; the oldest goes first. Lookups compare keys
/// one by one, so `N` stays small.
pub(crate) struct Kept<K, V, const N: usize>(RefCell<Vec<(K, V)>>);

impl<K: PartialEq + Clone, V: Copy, const N: usize> Kept<K, V, N> {
    pub(crate) const fn new() -> Self {
        Self(RefCell::new(Vec::new()))
    }

    /// `compute(key)`, or the result kept from an earlier call with an equal key.
    pub(crate) fn get_or_compute(&self, key: &K, compute: impl FnOnce(&K) -> V) -> V {
        if let Some((_, value)) = self.0.borrow().iter().find(|(kept, _)| kept == key) {
            return *value;
        }
        let value = compute(key);
        let mut kept = self.0.borrow_mut();
        if kept.len() == N {
            kept.remove(0);
        }
        kept.push((key.clone(), value));
        value
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn keeps_the_last_n_and_computes_the_rest() {
        let kept = Kept::<u32, u32, 3>::new();
        let computed = Cell::new(0);
        let square = |key: &u32| {
            computed.set(computed.get() + 1);
            key * key
        };
        for key in [1, 2, 3] {
            assert_eq!(kept.get_or_compute(&key, square), key * key);
        }
        assert_eq!(computed.get(), 3);
        // All three kept: none computed again.
        for key in [3, 1, 2] {
            assert_eq!(kept.get_or_compute(&key, square), key * key);
        }
        assert_eq!(computed.get(), 3);
        // A fourth pushes out the oldest (1), which is then computed again and pushes out 2.
        assert_eq!(kept.get_or_compute(&4, square), 16);
        assert_eq!(kept.get_or_compute(&1, square), 1);
        assert_eq!(computed.get(), 5);
        assert_eq!(kept.get_or_compute(&3, square), 9);
        assert_eq!(computed.get(), 5);
        assert_eq!(kept.get_or_compute(&2, square), 4);
        assert_eq!(computed.get(), 6);
    }
}
