//! The order store and the books: a slab of resting orders, each linked into its price level's
//! FIFO queue and into its account's list of open orders, so that a cancel by id costs one hash
//! lookup and a few pointer updates, never a scan.
//!
//! Levels live in a slab per book, found by price through a [`PriceIndex`] per side (a ladder
//! indexed by price with the best cached: O(1) near the touch), and an order reaches its own level
//! directly by index.

use std::ops::ControlFlow;

use rustc_hash::FxHashMap;

use crate::ladder::PriceIndex;
use crate::types::{Level, Order, OrderId, Price, Qty, Side};

/// A level total as the wire carries it: an `i64` quantity, saturated in the absurd case of a
/// level holding more than `i64::MAX` lots in total.
pub(crate) fn published(qty: i128) -> i64 {
    i64::try_from(qty).unwrap_or(i64::MAX)
}

/// "No node": the end of a linked list.
pub(crate) const NIL: u32 = u32::MAX;

/// A resting order and its links.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub order: Order,
    /// The level it rests at (index into its book's levels).
    pub level: u32,
    /// Previous and next order at the same price level (FIFO: head is oldest).
    pub prev: u32,
    pub next: u32,
    /// Previous and next open order of the same account (oldest first).
    pub acct_prev: u32,
    pub acct_next: u32,
}

/// One price level: a FIFO of slab nodes with its aggregated quantity.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LevelQueue {
    pub price: Price,
    pub head: u32,
    pub tail: u32,
    /// Sum of the remaining quantity of the orders at this level, in `i128` so that no number of
    /// orders can overflow it (published through [`published`]).
    pub qty: i128,
    pub count: u32,
}

/// Both sides of one symbol's book: price to level index, and the levels in a slab of their own
/// so that a fill or a cancel reaches its level through the order, without a tree lookup.
#[derive(Clone, Debug)]
pub(crate) struct Book {
    bids: PriceIndex,
    asks: PriceIndex,
    levels: Vec<LevelQueue>,
    free_levels: Vec<u32>,
}

impl Book {
    /// An empty book.
    pub fn new() -> Book {
        Book {
            bids: PriceIndex::new(true),
            asks: PriceIndex::new(false),
            levels: Vec::new(),
            free_levels: Vec::new(),
        }
    }

    fn side(&self, side: Side) -> &PriceIndex {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut PriceIndex {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// Visits one side's levels best first (price, level index) until `f` breaks.
    pub fn for_each_level(&self, side: Side, f: impl FnMut(Price, u32) -> ControlFlow<()>) {
        self.side(side).for_each_best_first(f)
    }

    /// How many levels one side has.
    pub fn level_count(&self, side: Side) -> usize {
        self.side(side).len()
    }

    /// A level by index.
    pub fn level(&self, idx: u32) -> Option<&LevelQueue> {
        self.levels.get(idx as usize)
    }

    /// The best price of one side and its level index.
    pub fn best(&self, side: Side) -> Option<(Price, u32)> {
        self.side(side).best()
    }

    fn public(&self, idx: u32) -> Option<Level> {
        self.level(idx).map(|l| Level {
            price: l.price,
            qty: Qty(published(l.qty)),
            order_count: l.count,
        })
    }

    /// The best level of one side as public depth.
    pub fn best_level(&self, side: Side) -> Option<Level> {
        self.best(side).and_then(|(_, idx)| self.public(idx))
    }

    /// The top `n` levels of one side, best first.
    pub fn top(&self, side: Side, n: usize) -> Vec<Level> {
        let mut levels = Vec::with_capacity(n.min(self.level_count(side)));
        self.for_each_level(side, |_, idx| {
            if levels.len() >= n {
                return ControlFlow::Break(());
            }
            levels.extend(self.public(idx));
            ControlFlow::Continue(())
        });
        levels
    }

    /// Whether the best bid is below the best ask (or a side is empty).
    pub fn is_uncrossed(&self) -> bool {
        match (self.bids.best(), self.asks.best()) {
            (Some((bid, _)), Some((ask, _))) => bid < ask,
            _ => true,
        }
    }

    /// Appends node `idx` at the tail of its price level, creating the level when new; returns the
    /// level's new total.
    pub fn push(&mut self, slab: &mut Slab, idx: u32, side: Side, price: Price) -> i64 {
        let next_free = self.free_levels.last().copied();
        let fresh = LevelQueue {
            price,
            head: NIL,
            tail: NIL,
            qty: 0,
            count: 0,
        };
        let new_idx = next_free.unwrap_or(self.levels.len() as u32);
        let existing = self.side(side).get(price);
        let level_idx = existing.unwrap_or(new_idx);
        if existing.is_none() {
            self.side_mut(side).insert(price, new_idx);
            match next_free {
                Some(_) => {
                    self.free_levels.pop();
                    if let Some(l) = self.levels.get_mut(new_idx as usize) {
                        *l = fresh;
                    }
                }
                None => self.levels.push(fresh),
            }
        }
        let Some(level) = self.levels.get_mut(level_idx as usize) else {
            return 0;
        };
        let tail = level.tail;
        if let Some(node) = slab.get_mut(idx) {
            node.level = level_idx;
            node.prev = tail;
            node.next = NIL;
            level.qty += i128::from(node.order.remaining_qty().0);
        }
        match slab.get_mut(tail) {
            Some(t) => t.next = idx,
            None => level.head = idx,
        }
        level.tail = idx;
        level.count += 1;
        published(level.qty)
    }

    /// Unlinks node `idx` (still holding its remaining quantity) from its level, removing the
    /// level when it empties; returns the level's new total.
    pub fn unlink(&mut self, slab: &mut Slab, idx: u32) -> i64 {
        let Some(node) = slab.get(idx).copied() else {
            return 0;
        };
        let Some(level) = self.levels.get_mut(node.level as usize) else {
            return 0;
        };
        match slab.get_mut(node.prev) {
            Some(p) => p.next = node.next,
            None => level.head = node.next,
        }
        match slab.get_mut(node.next) {
            Some(n) => n.prev = node.prev,
            None => level.tail = node.prev,
        }
        level.qty -= i128::from(node.order.remaining_qty().0);
        level.count -= 1;
        if level.count > 0 {
            return published(level.qty);
        }
        let price = level.price;
        self.side_mut(node.order.side).remove(price);
        self.free_levels.push(node.level);
        0
    }

    /// Takes `qty` off a level's total (a partial fill or an amend); returns the new total.
    pub fn reduce(&mut self, level_idx: u32, qty: i64) -> i64 {
        match self.levels.get_mut(level_idx as usize) {
            Some(level) => {
                level.qty -= i128::from(qty);
                published(level.qty)
            }
            None => 0,
        }
    }
}

/// Every resting order of every symbol, in a slab with a free list, indexed by id.
#[derive(Clone, Debug, Default)]
pub(crate) struct Slab {
    nodes: Vec<Node>,
    free: Vec<u32>,
    by_id: FxHashMap<OrderId, u32>,
}

impl Slab {
    /// Stores an order (unlinked) and returns its node index.
    pub fn insert(&mut self, order: Order) -> u32 {
        let node = Node {
            order,
            level: NIL,
            prev: NIL,
            next: NIL,
            acct_prev: NIL,
            acct_next: NIL,
        };
        let idx = match self.free.pop() {
            Some(idx) => {
                if let Some(slot) = self.nodes.get_mut(idx as usize) {
                    *slot = node;
                }
                idx
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        self.by_id.insert(order.id, idx);
        idx
    }

    /// Forgets a node (already unlinked from every list) and returns its order.
    pub fn remove(&mut self, idx: u32) -> Option<Order> {
        let order = self.nodes.get(idx as usize)?.order;
        self.by_id.remove(&order.id);
        self.free.push(idx);
        Some(order)
    }

    /// The node index of an open order.
    pub fn find(&self, id: OrderId) -> Option<u32> {
        self.by_id.get(&id).copied()
    }

    /// A node by index.
    pub fn get(&self, idx: u32) -> Option<&Node> {
        self.nodes.get(idx as usize)
    }

    /// A node by index, mutably.
    pub fn get_mut(&mut self, idx: u32) -> Option<&mut Node> {
        self.nodes.get_mut(idx as usize)
    }

    /// How many orders are open.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Every open order's node index (in no particular order).
    pub fn indices(&self) -> impl Iterator<Item = u32> + '_ {
        self.by_id.values().copied()
    }
}
