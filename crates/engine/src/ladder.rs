//! One side's price-to-level index: a dense ladder of slots indexed by price, with an occupancy
//! bitmap and the best slot cached, so that finding, adding and removing a level near the touch is
//! O(1) and walking from the best price skips 64 empty prices per word.
//!
//! The ladder is a window of prices that grows to cover what the side holds. When the side would
//! span more than [`MAX_SPAN`] prices (an order far from all others) the index turns into a
//! `BTreeMap` until the side is empty again: always correct, fast in the common case.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use crate::types::Price;

/// A slot holding no level.
const NO_LEVEL: u32 = u32::MAX;

/// The widest ladder, in prices (1 MiB of slots and 32 KiB of bitmap per side at most).
pub(crate) const MAX_SPAN: usize = 1 << 18;
/// The first window around the first price.
const FIRST_SPAN: usize = 1 << 12;

/// Price to level index for one side; `high_first` for bids (the best is the highest price).
#[derive(Clone, Debug)]
pub(crate) struct PriceIndex {
    high_first: bool,
    /// Price of slot 0 (ladder mode).
    base: i64,
    slots: Vec<u32>,
    bits: Vec<u64>,
    len: usize,
    /// The best occupied slot, valid when `len > 0` (ladder mode).
    best: usize,
    /// Tree mode, for a side too spread out for a ladder.
    tree: Option<BTreeMap<Price, u32>>,
}

impl PriceIndex {
    /// An empty index; bids pass `high_first`.
    pub fn new(high_first: bool) -> PriceIndex {
        PriceIndex {
            high_first,
            base: 0,
            slots: Vec::new(),
            bits: Vec::new(),
            len: 0,
            best: 0,
            tree: None,
        }
    }

    /// How many levels.
    pub fn len(&self) -> usize {
        match &self.tree {
            Some(t) => t.len(),
            None => self.len,
        }
    }

    fn slot_of(&self, price: Price) -> Option<usize> {
        let offset = price.0.checked_sub(self.base)?;
        let slot = usize::try_from(offset).ok()?;
        (slot < self.slots.len()).then_some(slot)
    }

    fn price_of(&self, slot: usize) -> Price {
        Price(self.base + slot as i64)
    }

    fn is_better(&self, a: usize, b: usize) -> bool {
        if self.high_first {
            a > b
        } else {
            a < b
        }
    }

    /// The level at a price.
    pub fn get(&self, price: Price) -> Option<u32> {
        match &self.tree {
            Some(t) => t.get(&price).copied(),
            None => self
                .slot_of(price)
                .and_then(|s| self.slots.get(s).copied())
                .filter(|&l| l != NO_LEVEL),
        }
    }

    /// The best price and its level.
    pub fn best(&self) -> Option<(Price, u32)> {
        match &self.tree {
            Some(t) => {
                let entry = if self.high_first {
                    t.last_key_value()
                } else {
                    t.first_key_value()
                };
                entry.map(|(p, l)| (*p, *l))
            }
            None if self.len == 0 => None,
            None => self
                .slots
                .get(self.best)
                .map(|&l| (self.price_of(self.best), l)),
        }
    }

    /// Adds a level at a price that has none.
    pub fn insert(&mut self, price: Price, level: u32) {
        if let Some(t) = &mut self.tree {
            t.insert(price, level);
            return;
        }
        let slot = match self.slot_of(price) {
            Some(slot) => slot,
            None => match self.rewindow(price) {
                Some(slot) => slot,
                None => {
                    self.become_tree().insert(price, level);
                    return;
                }
            },
        };
        if let Some(s) = self.slots.get_mut(slot) {
            *s = level;
        }
        if let Some(w) = self.bits.get_mut(slot / 64) {
            *w |= 1 << (slot % 64);
        }
        if self.len == 0 || self.is_better(slot, self.best) {
            self.best = slot;
        }
        self.len += 1;
    }

    /// Removes the level at a price.
    pub fn remove(&mut self, price: Price) {
        if let Some(t) = &mut self.tree {
            t.remove(&price);
            if t.is_empty() {
                self.tree = None;
                self.len = 0;
            }
            return;
        }
        let Some(slot) = self.slot_of(price) else {
            return;
        };
        if self.slots.get(slot).is_none_or(|&l| l == NO_LEVEL) {
            return;
        }
        if let Some(s) = self.slots.get_mut(slot) {
            *s = NO_LEVEL;
        }
        if let Some(w) = self.bits.get_mut(slot / 64) {
            *w &= !(1 << (slot % 64));
        }
        self.len -= 1;
        if self.len > 0 && slot == self.best {
            let mut next = None;
            let _ = self.walk_slots(slot, |s| {
                next = Some(s);
                ControlFlow::Break(())
            });
            self.best = next.unwrap_or(0);
        }
    }

    /// Visits the levels best first until `f` breaks.
    pub fn for_each_best_first(&self, mut f: impl FnMut(Price, u32) -> ControlFlow<()>) {
        match &self.tree {
            Some(t) => {
                let visit = |(p, l): (&Price, &u32)| f(*p, *l);
                let _ = if self.high_first {
                    t.iter().rev().try_for_each(visit)
                } else {
                    t.iter().try_for_each(visit)
                };
            }
            None if self.len == 0 => {}
            None => {
                let _ = self.walk_slots(self.best, |s| {
                    let level = self.slots.get(s).copied().unwrap_or(NO_LEVEL);
                    f(self.price_of(s), level)
                });
            }
        }
    }

    /// Visits occupied slots from `from` (included) toward worse prices.
    fn walk_slots(
        &self,
        from: usize,
        mut f: impl FnMut(usize) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let words = self.bits.len();
        let mut w = from / 64;
        // The bits of the first word at or worse than `from`.
        let bit = from % 64;
        let mut mask = if self.high_first {
            u64::MAX >> (63 - bit)
        } else {
            u64::MAX << bit
        };
        while w < words {
            let mut word = self.bits.get(w).copied().unwrap_or(0) & mask;
            while word != 0 {
                let b = if self.high_first {
                    63 - word.leading_zeros() as usize
                } else {
                    word.trailing_zeros() as usize
                };
                word &= !(1u64 << b);
                f(w * 64 + b)?;
            }
            mask = u64::MAX;
            if self.high_first {
                if w == 0 {
                    break;
                }
                w -= 1;
            } else {
                w += 1;
            }
        }
        ControlFlow::Continue(())
    }

    /// Moves the ladder to cover `price` as well as every level it holds; the new slot of
    /// `price`, or `None` when that would span more than [`MAX_SPAN`] prices.
    fn rewindow(&mut self, price: Price) -> Option<usize> {
        let (lo, hi) = if self.len == 0 {
            (price.0, price.0)
        } else {
            let mut lo = price.0;
            let mut hi = price.0;
            let _ = self.walk_slots(self.best, |s| {
                let p = self.base + s as i64;
                lo = lo.min(p);
                hi = hi.max(p);
                ControlFlow::Continue(())
            });
            (lo, hi)
        };
        let span = usize::try_from(hi.checked_sub(lo)?).ok()? + 1;
        if span > MAX_SPAN {
            return None;
        }
        // Room on both sides, in whole bitmap words.
        let room = (span * 2).clamp(FIRST_SPAN, MAX_SPAN);
        let margin = ((room - span) / 2) as i64;
        let base = lo.checked_sub(margin)?;
        let base = base.checked_sub(base.rem_euclid(64))?;
        let needed = usize::try_from(hi.checked_sub(base)?).ok()? + 1;
        let size = needed.max(room).next_multiple_of(64);
        let mut slots = vec![NO_LEVEL; size];
        let mut bits = vec![0u64; size / 64];
        let mut best = None;
        let _ = self.walk_slots(self.best, |s| {
            let Ok(ns) = usize::try_from(self.base + s as i64 - base) else {
                return ControlFlow::Continue(());
            };
            if let (Some(dst), Some(src)) = (slots.get_mut(ns), self.slots.get(s)) {
                *dst = *src;
            }
            if let Some(word) = bits.get_mut(ns / 64) {
                *word |= 1 << (ns % 64);
            }
            best.get_or_insert(ns);
            ControlFlow::Continue(())
        });
        self.base = base;
        self.slots = slots;
        self.bits = bits;
        if let Some(b) = best {
            self.best = b;
        }
        self.slot_of(price)
    }

    /// Turns the ladder into a tree holding the same levels.
    fn become_tree(&mut self) -> &mut BTreeMap<Price, u32> {
        let mut tree = BTreeMap::new();
        if self.len > 0 {
            let _ = self.walk_slots(self.best, |s| {
                if let Some(&l) = self.slots.get(s) {
                    tree.insert(Price(self.base + s as i64), l);
                }
                ControlFlow::Continue(())
            });
        }
        self.slots = Vec::new();
        self.bits = Vec::new();
        self.len = 0;
        self.tree.insert(tree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random inserts and removes against a `BTreeMap`, with prices drawn from `spread` around
    /// `center`: every answer must agree.
    fn agree_with_a_tree(high_first: bool, center: i64, spread: u64, seed: u64) {
        let mut index = PriceIndex::new(high_first);
        let mut tree: BTreeMap<Price, u32> = BTreeMap::new();
        let mut x = seed;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for step in 0..4_000u32 {
            let price = Price(center + next(spread) as i64 - (spread / 2) as i64);
            if next(3) == 0 && !tree.is_empty() {
                let nth = next(tree.len() as u64) as usize;
                let p = *tree.keys().nth(nth).unwrap();
                tree.remove(&p);
                index.remove(p);
            } else if let std::collections::btree_map::Entry::Vacant(slot) = tree.entry(price) {
                slot.insert(step);
                index.insert(price, step);
            }
            let best = if high_first {
                tree.last_key_value()
            } else {
                tree.first_key_value()
            };
            assert_eq!(index.best(), best.map(|(p, l)| (*p, *l)), "step {step}");
            assert_eq!(index.len(), tree.len());
            assert_eq!(index.get(price), tree.get(&price).copied());
            if step % 97 == 0 {
                let mut seen = Vec::new();
                index.for_each_best_first(|p, l| {
                    seen.push((p, l));
                    ControlFlow::Continue(())
                });
                let mut want: Vec<_> = tree.iter().map(|(p, l)| (*p, *l)).collect();
                if high_first {
                    want.reverse();
                }
                assert_eq!(seen, want, "step {step}");
            }
        }
    }

    #[test]
    fn a_narrow_side_stays_a_ladder_and_agrees() {
        for (high_first, seed) in [(true, 1), (false, 2)] {
            agree_with_a_tree(high_first, 5_000_000, 3_000, seed);
        }
    }

    #[test]
    fn a_side_that_moves_rewindows_and_agrees() {
        for (high_first, seed) in [(true, 3), (false, 4)] {
            agree_with_a_tree(high_first, 100, 200_000, seed);
        }
    }

    #[test]
    fn a_side_too_wide_for_a_ladder_becomes_a_tree_and_back() {
        for (high_first, seed) in [(true, 5), (false, 6)] {
            agree_with_a_tree(high_first, 1 << 40, 1 << 30, seed);
        }
        let mut index = PriceIndex::new(false);
        index.insert(Price(1), 1);
        index.insert(Price(i64::MAX), 2);
        assert!(index.tree.is_some());
        assert_eq!(index.best(), Some((Price(1), 1)));
        index.remove(Price(1));
        index.remove(Price(i64::MAX));
        assert!(index.tree.is_none() && index.best().is_none());
        index.insert(Price(7), 3);
        assert_eq!(
            (index.best(), index.tree.is_none()),
            (Some((Price(7), 3)), true)
        );
    }
}
