//! The allocator: mimalloc, told to keep the memory it frees.
//!
//! Training and the transforms free and allocate the same large buffers over and over (a
//! sample's input and target, a convolution's temporaries). Handing freed pages back to the
//! system makes every reuse fault them in and zero them again: with glibc's malloc that cost
//! ≈ 250 µs of every 64×64×32 transformed sample, and with mimalloc's default purge delay
//! (1 s) ≈ 20 % of a UNet3d training step. The process keeps its peak footprint instead.

use libmimalloc_sys::{mi_option_get, mi_option_set, mi_option_t};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in the `mi_option_e` of the pinned mimalloc (v3 `mimalloc.h`): how
/// long freed memory waits before it is returned to the system, in milliseconds; −1 never
/// returns it.
const PURGE_DELAY: mi_option_t = 15;

/// The pinned mimalloc's default purge delay (v3 `options.c`), checked before the option is
/// changed so that a different numbering leaves the allocator as it is.
const DEFAULT_PURGE_DELAY_MS: std::ffi::c_long = 1000;

/// Stops mimalloc from returning freed memory to the system (left as it is if the option
/// numbering ever differs from the one checked here).
pub fn keep_freed_memory() {
    // SAFETY: reading and setting an option are plain loads and stores in mimalloc, valid at
    // any time and from any thread.
    unsafe {
        if mi_option_get(PURGE_DELAY) == DEFAULT_PURGE_DELAY_MS {
            mi_option_set(PURGE_DELAY, -1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_memory_is_kept() {
        keep_freed_memory();
        // SAFETY: reading an option is a plain load.
        assert_eq!(unsafe { mi_option_get(PURGE_DELAY) }, -1);
    }
}
