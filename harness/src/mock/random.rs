//! A small, fast pseudo-random generator (SplitMix64) for generated values. Not for secrets:
//! it only has to make mock values vary. Seeded from a random UUID (the OS's randomness) or,
//! in tests, from a fixed number.

/// SplitMix64.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Default for Rng {
    fn default() -> Self {
        Rng::new()
    }
}

impl Rng {
    /// Seeded from the operating system's randomness.
    pub fn new() -> Self {
        let (a, b) = uuid::Uuid::new_v4().as_u64_pair();
        Rng(a ^ b.rotate_left(17))
    }

    /// The same sequence for the same seed.
    pub fn seeded(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Multiply-shift: unbiased enough for mock values, no division.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `min..=max` (either order).
    pub fn between(&mut self, min: i64, max: i64) -> i64 {
        let (lo, hi) = if min <= max { (min, max) } else { (max, min) };
        let span = (hi as i128 - lo as i128 + 1) as u128;
        if span > u128::from(u64::MAX) {
            return self.next_u64() as i64;
        }
        (lo as i128 + i128::from(self.below(span as u64))) as i64
    }

    /// One of `items` (`None` when empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            return None;
        }
        items.get(self.below(items.len() as u64) as usize)
    }

    pub fn bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_in_range_and_varies() {
        let mut rng = Rng::seeded(7);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            let n = rng.between(-3, 3);
            assert!((-3..=3).contains(&n));
            seen.insert(n);
        }
        assert_eq!(seen.len(), 7);
        assert_eq!(rng.between(5, 5), 5);
        assert_eq!(rng.below(0), 0);
        assert!(rng.pick::<u8>(&[]).is_none());
        let full = rng.between(i64::MIN, i64::MAX);
        let _ = full;
    }
}
