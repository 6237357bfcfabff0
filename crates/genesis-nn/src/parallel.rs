//! Work split across rayon's pool natively and run in order on one thread on the web.

#[cfg(not(target_family = "wasm"))]
mod imp {
    use rayon::prelude::*;

    /// gemm's threading: rayon's pool.
    pub fn gemm_parallelism() -> gemm::Parallelism {
        gemm::Parallelism::Rayon(0)
    }

    /// `f(0..parts)`, collected in order.
    pub fn map<T: Send>(parts: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
        (0..parts).into_par_iter().map(f).collect()
    }

    /// `f(index, item)` for every item.
    pub fn for_each<T: Send>(items: Vec<T>, f: impl Fn(usize, T) + Sync + Send) {
        items.into_par_iter().enumerate().for_each(|(i, item)| f(i, item));
    }
}

#[cfg(target_family = "wasm")]
mod imp {
    /// gemm's threading: none.
    pub fn gemm_parallelism() -> gemm::Parallelism {
        gemm::Parallelism::None
    }

    /// `f(0..parts)`, collected in order.
    pub fn map<T>(parts: usize, f: impl Fn(usize) -> T) -> Vec<T> {
        (0..parts).map(f).collect()
    }

    /// `f(index, item)` for every item.
    pub fn for_each<T>(items: Vec<T>, f: impl Fn(usize, T)) {
        items.into_iter().enumerate().for_each(|(i, item)| f(i, item));
    }
}

pub(crate) use imp::{for_each, gemm_parallelism, map};
