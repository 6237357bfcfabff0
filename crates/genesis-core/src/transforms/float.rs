//! Branch-free float helpers for the vectorised voxel loops (`floor` and float-to-integer
//! conversions are libm calls or need saturation fix-ups on baseline x86-64, which keep
//! loops from vectorising).

/// 2²³: adding it to a float in `[0, 2²³)` leaves its integer part in the low mantissa bits.
const TWO_23: f32 = 8_388_608.0;

/// The integer-valued `f ∈ [0, 2²³)` as an index (branch-free: its bits after adding 2²³).
#[inline]
pub(crate) fn exact_index(f: f32) -> u32 {
    (f + TWO_23).to_bits().wrapping_sub(TWO_23.to_bits())
}

/// Floor of `c ∈ [−2²², 2²²]`, branch-free so that loops over it vectorise (`floor` is a libm
/// call on baseline x86-64): adding 1.5·2²³ rounds to the nearest integer. Outside that range
/// the result is meaningless (callers check first).
#[inline]
pub(crate) fn floor_small(c: f32) -> f32 {
    const MAGIC: f32 = 1.5 * TWO_23;
    let nearest = (c + MAGIC) - MAGIC;
    if nearest > c { nearest - 1.0 } else { nearest }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_free_floor_matches_floor() {
        for c in [0.0f32, 0.25, 0.5, 0.999_999_9, 1.0, 1.5, 2.5, 3.499_999_8, 63.99, 4_194_303.5]
            .into_iter()
            .flat_map(|c| [c, -c, -c - 0.5])
        {
            assert_eq!(floor_small(c), c.floor(), "{c}");
        }
        for i in [0u32, 1, 77, 8_388_607] {
            assert_eq!(exact_index(i as f32), i);
        }
    }
}
