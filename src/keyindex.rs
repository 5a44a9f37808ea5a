//! Finding records by a text key (户编号, 证件号码) without copying the
//! keys: the table holds small handles (record indexes) and the key of a
//! handle is read from the record itself. Four to eight bytes an entry
//! instead of a 24-byte key and a value: in a province, two million
//! households and seven million members.

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

pub struct KeyIndex<T> {
    table: HashTable<T>,
}

fn hash(key: &str) -> u64 {
    FxBuildHasher.hash_one(key)
}

impl<T: Copy> KeyIndex<T> {
    pub fn with_capacity(n: usize) -> Self {
        KeyIndex {
            table: HashTable::with_capacity(n),
        }
    }

    /// The handle stored under `key` (`key_of` reads a handle's key).
    pub fn get<'k>(&self, key: &str, key_of: impl Fn(&T) -> &'k str) -> Option<T> {
        self.table.find(hash(key), |t| key_of(t) == key).copied()
    }

    /// Store `value` under `key` unless the key is there already; returns
    /// the handle already stored, if any.
    pub fn insert<'k>(&mut self, key: &str, value: T, key_of: impl Fn(&T) -> &'k str) -> Option<T> {
        let h = hash(key);
        if let Some(t) = self.table.find(h, |t| key_of(t) == key) {
            return Some(*t);
        }
        self.table.insert_unique(h, value, |t| hash(key_of(t)));
        None
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_the_records_own_keys_and_keeps_the_first() {
        let ids = ["A1", "B2", "A1", "C3"];
        let mut ix: KeyIndex<u32> = KeyIndex::with_capacity(0);
        let firsts: Vec<Option<u32>> = (0..ids.len() as u32)
            .map(|i| ix.insert(ids[i as usize], i, |&k| ids[k as usize]))
            .collect();
        assert_eq!(firsts, [None, None, Some(0), None]);
        assert_eq!(ix.len(), 3);
        assert_eq!(ix.get("C3", |&k| ids[k as usize]), Some(3));
        assert_eq!(ix.get("Z9", |&k| ids[k as usize]), None);
    }
}
