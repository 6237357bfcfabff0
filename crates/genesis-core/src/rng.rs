//! Seeded, named, portable random generators.
//!
//! Every random draw in the project comes from a [`GenesisRng`] built by [`stream`] from a
//! run seed, a stream name (what the draws are for) and a position (e.g. epoch and sample
//! index). ChaCha8 is portable, so the same seed gives the same bytes natively and in wasm,
//! on any thread, in any order of generation.

pub use rand::{Rng, RngExt, SeedableRng};

/// The generator used everywhere: ChaCha8, portable and fast enough for per-voxel noise.
pub type GenesisRng = rand::rngs::ChaCha8Rng;

/// SplitMix64 finaliser: a bijective 64-bit mix used to combine seed parts.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a hash of a stream name, stable across platforms and releases.
fn name_hash(name: &str) -> u64 {
    name.bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// A generator for the draws named `name` at position `parts` (e.g. `[epoch, index]`) of a run
/// seeded with `seed`. Distinct names or positions give independent streams.
pub fn stream(seed: u64, name: &str, parts: &[u64]) -> GenesisRng {
    let mut state = mix(seed ^ name_hash(name));
    for &p in parts {
        state = mix(state ^ mix(p));
    }
    let mut key = [0u8; 32];
    for (i, chunk) in key.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&mix(state.wrapping_add(i as u64)).to_le_bytes());
    }
    GenesisRng::from_seed(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_inputs_same_stream_and_different_inputs_differ() {
        let a: u64 = stream(7, "transforms", &[0, 1]).next_u64();
        assert_eq!(a, stream(7, "transforms", &[0, 1]).next_u64());
        assert_ne!(a, stream(7, "transforms", &[1, 0]).next_u64());
        assert_ne!(a, stream(7, "phantom", &[0, 1]).next_u64());
        assert_ne!(a, stream(8, "transforms", &[0, 1]).next_u64());
    }

    const PINNED: u64 = 0x8132_67ab_e54f_b5ac;

    #[test]
    fn stream_values_are_pinned() {
        // Pinned so that any change to seeding (which would silently change every dataset and
        // every published figure) fails loudly. Update only on purpose.
        let v = stream(42, "pinned", &[3]).next_u64();
        assert_eq!(v, PINNED);
    }
}
