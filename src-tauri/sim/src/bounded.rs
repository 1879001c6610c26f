//! A map that keeps at most `cap` entries: inserting beyond it evicts the oldest insertion.
//! The sim keeps what strangers can make it keep (pending sign-ins, tokens, authorization codes,
//! idempotent answers) in these, so memory stays bounded however long it runs; expiry by time is
//! the owner's `retain` (see `State::prune`).

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

pub struct Bounded<K, V> {
    cap: usize,
    next: u64,
    map: HashMap<K, (u64, V)>,
    /// Insertion number → key, oldest first.
    order: BTreeMap<u64, K>,
}

impl<K: Hash + Eq + Clone, V> Bounded<K, V> {
    /// At most `cap` entries (a cap of 0 is taken as 1).
    pub fn new(cap: usize) -> Self {
        Self { cap: cap.max(1), next: 0, map: HashMap::new(), order: BTreeMap::new() }
    }

    /// Inserts (or replaces, which counts as the newest), then evicts the oldest beyond the cap.
    pub fn insert(&mut self, key: K, value: V) {
        let seq = self.next;
        self.next += 1;
        if let Some((old, _)) = self.map.insert(key.clone(), (seq, value)) {
            self.order.remove(&old);
        }
        self.order.insert(seq, key);
        while self.map.len() > self.cap {
            let Some((_, oldest)) = self.order.pop_first() else { break };
            self.map.remove(&oldest);
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key).map(|(_, v)| v)
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get_mut(key).map(|(_, v)| v)
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.contains_key(key)
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (seq, v) = self.map.remove(key)?;
        self.order.remove(&seq);
        Some(v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.map.values_mut().map(|(_, v)| v)
    }

    /// Keeps only the entries for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        let order = &mut self.order;
        self.map.retain(|_, (seq, v)| {
            let kept = keep(v);
            if !kept {
                order.remove(seq);
            }
            kept
        });
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Bounded;

    #[test]
    fn evicts_the_oldest_beyond_the_cap() {
        let mut m = Bounded::new(2);
        m.insert("a", 1);
        m.insert("b", 2);
        m.insert("a", 3); // a is now the newest
        m.insert("c", 4);
        assert_eq!((m.get("a"), m.get("b"), m.get("c")), (Some(&3), None, Some(&4)));
        m.retain(|v| *v > 3);
        assert_eq!(m.len(), 1);
        m.insert("d", 5);
        m.insert("e", 6);
        assert_eq!((m.get("c"), m.get("d"), m.get("e")), (None, Some(&5), Some(&6)));
        assert_eq!(m.remove("d"), Some(5));
        assert_eq!(m.len(), 1);
    }
}
