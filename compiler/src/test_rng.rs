//! A xorshift generator for the unit tests: the same random instances on every run.

/// xorshift64 state (never 0).
pub struct Rng(pub u64);

impl Rng {
    /// A number in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}
