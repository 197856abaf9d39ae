//! Sliding anti-replay window (RFC 6479 style, as in boringtun's `noise/session.rs`): a bitmap
//! of the last `WINDOW` counters below the highest one seen. `check` is cheap and runs before
//! decryption; `mark` runs only after the tag verified, so forgeries cannot move the window.

use crate::{Error, Result};

const WORD_BITS: u64 = 64;
const WORDS: usize = 32;
/// Frames accepted out of order: counters down to `highest - WINDOW + 1`.
pub const WINDOW: u64 = WORD_BITS * WORDS as u64; // 2048

/// Replay window over 64-bit frame counters.
#[derive(Clone, Debug, Default)]
pub struct ReplayWindow {
    /// One past the highest counter accepted so far (0 = none yet).
    next: u64,
    bitmap: [u64; WORDS],
}

impl ReplayWindow {
    /// A window that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// `Err(Replay)` if `counter` was seen or is older than the window allows.
    pub fn check(&self, counter: u64) -> Result<()> {
        if counter >= self.next {
            return Ok(());
        }
        if self.next - counter > WINDOW || self.bit(counter) {
            return Err(Error::Replay(counter));
        }
        Ok(())
    }

    /// Records `counter` as received (call after `check` and a successful decryption).
    pub fn mark(&mut self, counter: u64) {
        if counter >= self.next {
            self.advance(counter + 1);
        }
        let (word, bit) = Self::slot(counter);
        self.bitmap[word] |= 1 << bit;
    }

    fn advance(&mut self, new_next: u64) {
        // Clear the slots of counters now inside the window but never seen.
        let gap = new_next - self.next;
        if gap >= WINDOW {
            self.bitmap = [0; WORDS];
        } else {
            for c in self.next..new_next {
                let (word, bit) = Self::slot(c);
                self.bitmap[word] &= !(1 << bit);
            }
        }
        self.next = new_next;
    }

    fn bit(&self, counter: u64) -> bool {
        let (word, bit) = Self::slot(counter);
        self.bitmap[word] & (1 << bit) != 0
    }

    fn slot(counter: u64) -> (usize, u64) {
        (((counter / WORD_BITS) % WORDS as u64) as usize, counter % WORD_BITS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(w: &mut ReplayWindow, c: u64) -> bool {
        let ok = w.check(c).is_ok();
        if ok {
            w.mark(c);
        }
        ok
    }

    #[test]
    fn in_order_then_duplicates() {
        let mut w = ReplayWindow::new();
        for c in 0..5000 {
            assert!(accept(&mut w, c));
        }
        assert!(!accept(&mut w, 4999));
        assert!(!accept(&mut w, 0));
    }

    #[test]
    fn reorder_inside_window_accepted_once() {
        let mut w = ReplayWindow::new();
        assert!(accept(&mut w, 3000));
        assert!(accept(&mut w, 3000 - WINDOW + 1), "oldest slot inside the window");
        assert!(!accept(&mut w, 3000 - WINDOW), "just outside the window");
        for c in (1000..3000).rev() {
            assert!(accept(&mut w, c), "{c}");
            assert!(!accept(&mut w, c), "{c} twice");
        }
    }

    #[test]
    fn big_jump_forgets_old_bits() {
        let mut w = ReplayWindow::new();
        for c in 0..100 {
            assert!(accept(&mut w, c));
        }
        assert!(accept(&mut w, 1_000_000));
        assert!(accept(&mut w, 1_000_000 - 5));
        assert!(!accept(&mut w, 99));
        // Slots reused after the jump start empty: counter 1_000_000 - 2048 + 64 maps to a slot
        // that held an old counter before.
        assert!(accept(&mut w, 1_000_000 - WINDOW + 64));
    }

    #[test]
    fn check_without_mark_does_not_move() {
        let mut w = ReplayWindow::new();
        assert!(w.check(10).is_ok());
        assert!(w.check(10).is_ok());
        w.mark(10);
        assert_eq!(w.check(10), Err(Error::Replay(10)));
    }
}
