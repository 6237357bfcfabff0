//! Exact brute-force nearest neighbours by Euclidean distance (spec §4.3 step 2).
//!
//! Distances come from one matrix product per block of queries: ‖q − p‖² = ‖q‖² + ‖p‖² −
//! 2 q·p, accumulated in `f64` so that the ranking matches a direct evaluation. There is no
//! approximate index: every point is compared with every query.

/// Queries handled per block of the Gram product (keeps the block in cache).
const QUERY_BLOCK: usize = 32;

/// Row-major points of a fixed dimension (one embedding per patient).
#[derive(Debug, Clone, PartialEq)]
pub struct Points<'a> {
    data: &'a [f32],
    dim: usize,
}

/// One neighbour of a query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// Index of the point.
    pub index: usize,
    /// Euclidean distance to the query.
    pub distance: f64,
}

/// Input that cannot be searched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KnnError {
    /// The data length is not a multiple of the dimension, or the dimension is zero.
    #[error("{len} values do not split into points of dimension {dim}")]
    Shape {
        /// Number of values.
        len: usize,
        /// Point dimension.
        dim: usize,
    },
    /// A point holds NaN or infinity.
    #[error("point {0} holds a NaN or infinite coordinate")]
    NotFinite(usize),
    /// A query index is out of range.
    #[error("query {query} is not one of the {count} points")]
    Query {
        /// The query index.
        query: usize,
        /// Number of points.
        count: usize,
    },
}

impl<'a> Points<'a> {
    /// Wraps `data` as points of dimension `dim`, checking the shape and finiteness.
    pub fn new(data: &'a [f32], dim: usize) -> Result<Self, KnnError> {
        if dim == 0 || !data.len().is_multiple_of(dim) {
            return Err(KnnError::Shape { len: data.len(), dim });
        }
        if let Some(bad) = data.chunks_exact(dim).position(|p| p.iter().any(|v| !v.is_finite())) {
            return Err(KnnError::NotFinite(bad));
        }
        Ok(Self { data, dim })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    /// True without points.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Point `i`.
    pub fn point(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    fn squared_norms(&self) -> Vec<f64> {
        self.data
            .chunks_exact(self.dim)
            .map(|p| p.iter().map(|&v| f64::from(v).powi(2)).sum())
            .collect()
    }

    /// Squared distances `[queries.len(), self.len()]`, row-major, computed block by block as
    /// Gram products.
    pub fn squared_distances(&self, queries: &[usize]) -> Result<Vec<f64>, KnnError> {
        let n = self.len();
        if let Some(&query) = queries.iter().find(|&&q| q >= n) {
            return Err(KnnError::Query { query, count: n });
        }
        let norms = self.squared_norms();
        let mut out = vec![0.0; queries.len() * n];
        for (block, rows) in queries.chunks(QUERY_BLOCK).zip(out.chunks_mut(QUERY_BLOCK * n)) {
            for (j, p) in self.data.chunks_exact(self.dim).enumerate() {
                for (r, &q) in block.iter().enumerate() {
                    let dot: f64 = self
                        .point(q)
                        .iter()
                        .zip(p)
                        .map(|(&a, &b)| f64::from(a) * f64::from(b))
                        .sum();
                    rows[r * n + j] = (norms[q] + norms[j] - 2.0 * dot).max(0.0);
                }
            }
        }
        Ok(out)
    }

    /// The `k` points nearest to point `query` (itself first, at distance 0), nearest first;
    /// ties keep the lower index first. `k` is capped at the number of points.
    pub fn nearest(&self, query: usize, k: usize) -> Result<Vec<Neighbour>, KnnError> {
        let distances = self.squared_distances(&[query])?;
        let mut order: Vec<usize> = (0..self.len()).collect();
        // The query is at distance 0 by definition (rounding may leave a tiny residue).
        let key = |i: usize| if i == query { -1.0 } else { distances[i] };
        order.sort_by(|&a, &b| key(a).total_cmp(&key(b)).then(a.cmp(&b)));
        order.truncate(k.min(self.len()));
        Ok(order
            .into_iter()
            .map(|index| Neighbour { index, distance: key(index).max(0.0).sqrt() })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{RngExt, stream};

    #[test]
    fn gram_distances_match_direct_evaluation() {
        let mut rng = stream(3, "knn-test", &[]);
        let data: Vec<f32> = (0..70 * 9).map(|_| rng.random_range(-2.0..2.0)).collect();
        let points = Points::new(&data, 9).unwrap();
        let queries: Vec<usize> = (0..70).collect();
        let d = points.squared_distances(&queries).unwrap();
        for q in [0, 33, 69] {
            for j in 0..70 {
                let direct: f64 = points
                    .point(q)
                    .iter()
                    .zip(points.point(j))
                    .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                    .sum();
                assert!((d[q * 70 + j] - direct).abs() < 1e-9, "{q} {j}");
            }
        }
    }

    #[test]
    fn nearest_sorts_by_distance_with_the_query_first() {
        let data = [0.0, 0.0, 3.0, 0.0, 1.0, 0.0, -1.0, 0.0, 10.0, 10.0];
        let points = Points::new(&data, 2).unwrap();
        let found = points.nearest(0, 4).unwrap();
        let indices: Vec<usize> = found.iter().map(|n| n.index).collect();
        // Points 2 and 3 tie at distance 1: the lower index comes first.
        assert_eq!(indices, [0, 2, 3, 1]);
        assert_eq!(found[3].distance, 3.0);
        assert_eq!(points.nearest(4, 99).unwrap().len(), 5);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(Points::new(&[1.0; 5], 2), Err(KnnError::Shape { len: 5, dim: 2 }));
        assert_eq!(Points::new(&[1.0, f32::NAN], 1), Err(KnnError::NotFinite(1)));
        let points = Points::new(&[1.0, 2.0], 1).unwrap();
        assert_eq!(points.nearest(2, 1), Err(KnnError::Query { query: 2, count: 2 }));
    }
}
