//! Holding a province's records compactly: [`KeyIndex`] finds records by a
//! text key (户编号, 证件号码) without copying the keys — the table holds
//! small handles (record indexes) with 32 bits of hash, and the key of a
//! handle is read from the record itself (8–12 bytes an entry instead of a
//! 24-byte key and a value, for two million households and seven million
//! members); [`Chunked`] grows a list without a doubled copy.

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

pub struct KeyIndex<T> {
    /// Each handle with 32 bits of its key's hash: growing the table and
    /// most failed comparisons need no visit to the record (in a province
    /// those visits are cache misses, a third of the read time).
    table: HashTable<(T, u32)>,
}

/// 32 bits of the key's hash, and the table hash spread from them.
fn hash(key: &str) -> u32 {
    (FxBuildHasher.hash_one(key) >> 32) as u32
}

fn spread(h: u32) -> u64 {
    u64::from(h).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl<T: Copy> KeyIndex<T> {
    pub fn with_capacity(n: usize) -> Self {
        KeyIndex {
            table: HashTable::with_capacity(n),
        }
    }

    /// The handle stored under `key` (`key_of` reads a handle's key).
    pub fn get<'k>(&self, key: &str, key_of: impl Fn(&T) -> &'k str) -> Option<T> {
        let h = hash(key);
        self.table
            .find(spread(h), |(t, th)| *th == h && key_of(t) == key)
            .map(|(t, _)| *t)
    }

    /// Store `value` under `key` unless the key is there already; returns
    /// the handle already stored, if any.
    pub fn insert<'k>(&mut self, key: &str, value: T, key_of: impl Fn(&T) -> &'k str) -> Option<T> {
        let h = hash(key);
        if let Some((t, _)) = self
            .table
            .find(spread(h), |(t, th)| *th == h && key_of(t) == key)
        {
            return Some(*t);
        }
        self.table
            .insert_unique(spread(h), (value, h), |(_, th)| spread(*th));
        None
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

/// A list that grows in fixed chunks, so it never holds a doubled copy of
/// itself while growing (a `Vec` of seven million members briefly holds
/// 1.5 times its size when it doubles); [`Chunked::into_vec`] makes the
/// exact-size `Vec`, freeing each chunk as it is moved.
pub struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

/// Bytes per chunk: above the size glibc always maps from (and returns to)
/// the system, so a chunk moved into the final `Vec` frees its memory at
/// once; pages never written are never resident.
const CHUNK_BYTES: usize = 64 << 20;

impl<T> Chunked<T> {
    const CHUNK: usize = if std::mem::size_of::<T>() == 0 {
        1 << 16
    } else {
        let n = CHUNK_BYTES / std::mem::size_of::<T>();
        if n == 0 {
            1
        } else {
            n
        }
    };
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    pub fn push(&mut self, x: T) {
        if self.chunks.last().is_none_or(|c| c.len() == Self::CHUNK) {
            self.chunks.push(Vec::with_capacity(Self::CHUNK));
        }
        if let Some(c) = self.chunks.last_mut() {
            c.push(x);
        }
        self.len += 1;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, i: usize) -> &T {
        &self.chunks[i / Self::CHUNK][i % Self::CHUNK]
    }

    pub fn last(&self) -> Option<&T> {
        self.chunks.last().and_then(|c| c.last())
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    pub fn into_vec(self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        for c in self.chunks {
            out.extend(c);
        }
        out
    }
}

/// The items in order, each chunk freed once passed.
impl<T> IntoIterator for Chunked<T> {
    type Item = T;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Vec<T>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.chunks.into_iter().flatten()
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

    #[test]
    fn chunked_keeps_order_across_chunks() {
        let mut c: Chunked<usize> = Chunked::default();
        let chunk = Chunked::<usize>::CHUNK;
        let n = chunk * 2 + 5;
        for i in 0..n {
            c.push(i);
        }
        assert_eq!(c.len(), n);
        assert_eq!(*c.get(chunk + 1), chunk + 1);
        assert_eq!(c.last(), Some(&(n - 1)));
        let v = c.into_vec();
        assert_eq!(v.len(), n);
        assert!(v.iter().enumerate().all(|(i, x)| i == *x));
    }
}
