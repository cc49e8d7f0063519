//! The order store and the books: a slab of resting orders, each linked into its price level's
//! FIFO queue and into its account's list of open orders, so that a cancel by id costs one hash
//! lookup and a few pointer updates, never a scan.
//!
//! Levels live in a `BTreeMap<Price, LevelQueue>` per side: the best bid is the last key, the best
//! ask the first (O(log n)), and depth is an in-order walk.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::types::{Level, Order, OrderId, Price, Qty, Side};

/// "No node": the end of a linked list.
pub(crate) const NIL: u32 = u32::MAX;

/// A resting order and its links.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub order: Order,
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
    pub head: u32,
    pub tail: u32,
    /// Sum of the remaining quantity of the orders at this level.
    pub qty: i64,
    pub count: u32,
}

/// Both sides of one symbol's book.
#[derive(Debug, Default)]
pub(crate) struct Book {
    pub bids: BTreeMap<Price, LevelQueue>,
    pub asks: BTreeMap<Price, LevelQueue>,
}

impl Book {
    /// The levels of one side.
    pub fn side(&self, side: Side) -> &BTreeMap<Price, LevelQueue> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    /// The levels of one side, mutably.
    pub fn side_mut(&mut self, side: Side) -> &mut BTreeMap<Price, LevelQueue> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// The best price level of one side and its queue.
    pub fn best(&self, side: Side) -> Option<(Price, LevelQueue)> {
        let levels = self.side(side);
        let entry = match side {
            Side::Buy => levels.last_key_value(),
            Side::Sell => levels.first_key_value(),
        };
        entry.map(|(p, l)| (*p, *l))
    }

    /// The best level of one side as public depth.
    pub fn best_level(&self, side: Side) -> Option<Level> {
        self.best(side).map(|(price, l)| Level {
            price,
            qty: Qty(l.qty),
            order_count: l.count,
        })
    }

    /// The top `n` levels of one side, best first.
    pub fn top(&self, side: Side, n: usize) -> Vec<Level> {
        let to_level = |(p, l): (&Price, &LevelQueue)| Level {
            price: *p,
            qty: Qty(l.qty),
            order_count: l.count,
        };
        match side {
            Side::Buy => self.bids.iter().rev().take(n).map(to_level).collect(),
            Side::Sell => self.asks.iter().take(n).map(to_level).collect(),
        }
    }

    /// Whether the best bid is below the best ask (or a side is empty).
    pub fn is_uncrossed(&self) -> bool {
        match (self.bids.last_key_value(), self.asks.first_key_value()) {
            (Some((bid, _)), Some((ask, _))) => bid < ask,
            _ => true,
        }
    }
}

/// Every resting order of every symbol, in a slab with a free list, indexed by id.
#[derive(Debug, Default)]
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

    /// Appends node `idx` at the tail of a level's queue.
    pub fn push_back(&mut self, level: &mut LevelQueue, idx: u32) {
        let tail = level.tail;
        if let Some(node) = self.get_mut(idx) {
            node.prev = tail;
            node.next = NIL;
            level.qty += node.order.remaining_qty().0;
        }
        match self.get_mut(tail) {
            Some(t) => t.next = idx,
            None => level.head = idx,
        }
        level.tail = idx;
        level.count += 1;
    }

    /// Unlinks node `idx` from a level's queue (its quantity must already be out of the total, or
    /// is taken out here: `remaining` is what it still held).
    pub fn unlink(&mut self, level: &mut LevelQueue, idx: u32, remaining: i64) {
        let (prev, next) = match self.get(idx) {
            Some(n) => (n.prev, n.next),
            None => return,
        };
        match self.get_mut(prev) {
            Some(p) => p.next = next,
            None => level.head = next,
        }
        match self.get_mut(next) {
            Some(n) => n.prev = prev,
            None => level.tail = prev,
        }
        level.qty -= remaining;
        level.count -= 1;
    }
}
