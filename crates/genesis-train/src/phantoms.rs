//! Phantom patients rendered in parallel: radiographs in 2-D, normalized CT in 3-D.

use std::sync::Arc;

use genesis_core::Volume;
use genesis_core::phantom::{PhantomConfig, chest_ct, chest_xray};
use genesis_io::Conventions;

use crate::recipe::Dim;

/// Renders phantoms `0..count` of `seed` on `workers` threads: `(body type, volume in [0, 1])`.
pub fn render_phantoms(
    seed: u64,
    count: usize,
    dim: Dim,
    cfg: PhantomConfig,
    workers: usize,
) -> anyhow::Result<Vec<(String, Volume)>> {
    let render = Arc::new(move |index: u64| -> anyhow::Result<(String, Volume)> {
        let phantom = match dim {
            Dim::D2 => chest_xray(seed, index, &cfg)?,
            Dim::D3 => {
                let mut p = chest_ct(seed, index, &cfg)?;
                Conventions::default().normalize(&mut p.volume);
                p
            }
        };
        let body = serde_json::to_value(phantom.anatomy.body)?;
        Ok((body.as_str().unwrap_or("unknown").to_owned(), phantom.volume))
    });
    let workers = workers.clamp(1, count.max(1));
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let render = Arc::clone(&render);
            std::thread::spawn(move || {
                (w..count)
                    .step_by(workers)
                    .map(|i| render(i as u64).map(|v| (i, v)))
                    .collect::<anyhow::Result<Vec<_>>>()
            })
        })
        .collect();
    let mut all = Vec::with_capacity(count);
    for h in handles {
        all.extend(h.join().map_err(|_| anyhow::anyhow!("a phantom renderer panicked"))??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, v)| v).collect())
}
