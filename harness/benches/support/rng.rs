//! A small deterministic generator (xorshift64*), so every run of a bench generates the same
//! input. Shared by the benches with `#[path = "support/rng.rs"] mod rng;`.

pub struct Rng(pub u64);

impl Rng {
    /// Seeded with the same constant everywhere.
    pub fn seeded() -> Self {
        Rng(0x9E37_79B9_7F4A_7C15)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
