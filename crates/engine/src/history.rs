//! Bounded histories: a ring that keeps the newest `limit` items and overwrites the oldest in
//! place, so a full history costs one write per item and never moves its contents.

/// The newest `limit` items pushed, oldest forgotten first.
#[derive(Clone, Debug)]
pub(crate) struct Ring<T> {
    buf: Vec<T>,
    /// Where the oldest item is once the ring is full (the next to be overwritten).
    head: usize,
    limit: usize,
}

impl<T: Copy> Ring<T> {
    /// An empty ring keeping at most `limit` items (none when `limit` is 0).
    pub fn new(limit: usize) -> Ring<T> {
        Ring {
            buf: Vec::new(),
            head: 0,
            limit,
        }
    }

    /// Adds an item, forgetting the oldest when full; returns the item forgotten (or, with a
    /// limit of 0, the item itself).
    pub fn push(&mut self, item: T) -> Option<T> {
        if self.buf.len() < self.limit {
            self.buf.push(item);
            None
        } else if let Some(slot) = self.buf.get_mut(self.head) {
            let forgotten = std::mem::replace(slot, item);
            self.head += 1;
            if self.head == self.buf.len() {
                self.head = 0;
            }
            Some(forgotten)
        } else {
            Some(item)
        }
    }

    /// The newest item, to correct it.
    pub fn newest_mut(&mut self) -> Option<&mut T> {
        let newest = if self.buf.len() < self.limit || self.head == 0 {
            self.buf.len().checked_sub(1)?
        } else {
            self.head - 1
        };
        self.buf.get_mut(newest)
    }

    /// How many items are kept.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// The items, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + '_ {
        let (newer, older) = self.buf.split_at(self.head.min(self.buf.len()));
        older.iter().chain(newer.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::Ring;

    #[test]
    fn keeps_the_newest_in_order() {
        let mut r = Ring::new(3);
        for i in 0..7 {
            r.push(i);
        }
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [4, 5, 6]);
        assert_eq!(r.iter().rev().copied().collect::<Vec<_>>(), [6, 5, 4]);
        assert_eq!(r.len(), 3);
        *r.newest_mut().unwrap() = 60;
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [4, 5, 60]);
        r.push(7);
        *r.newest_mut().unwrap() = 70;
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [5, 60, 70]);
        let mut none = Ring::new(0);
        none.push(1);
        assert_eq!((none.len(), none.newest_mut()), (0, None));
        let mut partial = Ring::new(5);
        partial.push(1);
        partial.push(2);
        assert_eq!(partial.iter().copied().collect::<Vec<_>>(), [1, 2]);
    }
}
