//! Per-thread recycling of large temporary `f32` buffers.
//!
//! Handing a large buffer back to the allocator lets it return the pages to the system, and
//! the next sample then faults them in and zeroes them again: a measurable share of a
//! transform's time. Transforms take their temporaries from here and give them back, so each
//! thread reuses the same memory sample after sample (at most [`KEEP`] buffers are kept).

use std::cell::RefCell;

/// Most buffers kept per thread.
const KEEP: usize = 16;

thread_local! {
    static POOL: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer with room for `len` values (the smallest kept one that fits, if any).
fn take(len: usize) -> Vec<f32> {
    let kept = POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let best = (0..pool.len())
            .filter(|&i| pool[i].capacity() >= len)
            .min_by_key(|&i| pool[i].capacity());
        best.map(|i| pool.swap_remove(i))
    });
    let mut buffer = kept.unwrap_or_else(|| Vec::with_capacity(len));
    buffer.clear();
    buffer
}

/// An empty buffer with room for `capacity` values, to be filled by pushing.
pub fn empty(capacity: usize) -> Vec<f32> {
    take(capacity)
}

/// A buffer of `len` zeros.
pub fn zeroed(len: usize) -> Vec<f32> {
    let mut buffer = take(len);
    buffer.resize(len, 0.0);
    buffer
}

/// A copy of `data`.
pub fn copy(data: &[f32]) -> Vec<f32> {
    let mut buffer = take(data.len());
    buffer.extend_from_slice(data);
    buffer
}

/// Gives `buffer` back for reuse by later [`empty`], [`zeroed`] and [`copy`] calls on this
/// thread.
pub fn recycle(buffer: Vec<f32>) {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < KEEP {
            pool.push(buffer);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_and_start_clean() {
        let mut a = zeroed(1000);
        a[5] = 3.0;
        let ptr = a.as_ptr();
        recycle(a);
        let b = zeroed(800);
        assert_eq!(b.as_ptr(), ptr);
        assert!(b.len() == 800 && b.iter().all(|&v| v == 0.0));
        let c = copy(&[1.0, 2.0]);
        assert_eq!(c, vec![1.0, 2.0]);
    }
}
