//! Synthetic chest phantoms: the built-in data wherever no real images are given.
//!
//! Every patient is drawn from `(seed, index)` alone: a [`BodyType`] and an [`Anatomy`]
//! (thorax size, heart, diaphragm, lung density, pose, contrast, nodules, a vessel tree) in
//! normalized body coordinates — `u` left–right (patient's left > 0), `w` anterior (−1) to
//! posterior (+1), `t` height (0 abdomen, 1 lung apex). The same anatomy renders as
//! - [`chest_xray`]: a PA radiograph `[H, W, 1]` in [0, 1] (lungs, ribs, clavicles, heart,
//!   spine, diaphragm, shoulders), by analytic attenuation along `w`;
//! - [`chest_ct`]: an axial CT volume `[X, Y, Z]` in Hounsfield units (air, fat, muscle, lung
//!   parenchyma, heart, aorta, airways, spine, ribs, sternum, vessels, nodules), big enough
//!   for the LUNA16 cube extractor (default 384×384×112).

use std::f32::consts::PI;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::rng::{GenesisRng, stream};
use crate::volume::{Metadata, Modality, Units, Volume, VolumeError};

/// Body habitus: a coarse, visible class that self-discovery should recover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BodyType {
    /// Narrow, long thorax, small upright heart, thin chest wall.
    Slim,
    /// Medium proportions.
    Average,
    /// Wide thorax, large transverse heart, thick soft tissue, high diaphragm.
    Broad,
    /// Emphysematous barrel chest: deep round thorax, dark hyperinflated lungs, flat low
    /// diaphragm, narrow heart.
    Barrel,
}

impl BodyType {
    /// All body types, in index order.
    pub const ALL: [BodyType; 4] = [Self::Slim, Self::Average, Self::Broad, Self::Barrel];

    /// The body type of patient `index` (types cycle, so any 4 consecutive patients cover all).
    pub fn of_index(index: u64) -> Self {
        Self::ALL[(index % 4) as usize]
    }
}

/// A small spherical lesion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Nodule {
    /// Centre `(u, w, t)`.
    pub centre: [f32; 3],
    /// Radius in millimetres.
    pub radius_mm: f32,
}

impl Nodule {
    /// Normalized squared distance of the radiograph point `(u, t)` to the nodule's projected
    /// ellipse (< 1 inside).
    fn xray_distance(&self, u: f32, t: f32) -> f32 {
        let r = self.radius_mm / 154.0;
        ((u - self.centre[0]).powi(2) + ((t - self.centre[2]) * 1.8).powi(2)) / (r * r)
    }
}

/// One vessel segment `(from, to)` in `(u, w, t)` with its radius in millimetres.
type Segment = ([f32; 3], [f32; 3], f32);

/// Everything that varies between patients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anatomy {
    /// Body type.
    pub body: BodyType,
    /// Half-width of the thoracic cavity (u).
    pub thorax_width: f32,
    /// Half-depth of the thoracic cavity (w).
    pub thorax_depth: f32,
    /// Chest wall thickness (u/w units).
    pub wall: f32,
    /// Height of the lung apex (t).
    pub apex: f32,
    /// Height of the diaphragm at the lung bases (t).
    pub diaphragm: f32,
    /// Height of the diaphragm domes above their bases (t).
    pub dome: f32,
    /// Heart scale (1 = average).
    pub heart: f32,
    /// Lung parenchyma density in HU.
    pub lung_hu: f32,
    /// In-plane rotation in radians.
    pub rotation: f32,
    /// Shift of the patient `(u, t)` in the field.
    pub shift: [f32; 2],
    /// Zoom (> 1 = patient larger in the field).
    pub zoom: f32,
    /// Radiograph exposure (attenuation scale) and gamma.
    pub exposure: [f32; 2],
    /// Lesions.
    pub nodules: Vec<Nodule>,
    /// Pulmonary vessel tree.
    vessels: Vec<Segment>,
}

/// A rendered phantom with the anatomy it was drawn from.
#[derive(Debug, Clone)]
pub struct Phantom {
    /// The image or volume.
    pub volume: Volume,
    /// The patient's anatomy (its `body` is the class to recover).
    pub anatomy: Anatomy,
}

/// Linear ramp from 0 at `a` to 1 at `b`, clamped.
fn ramp(a: f32, b: f32, x: f32) -> f32 {
    ((x - a) / (b - a)).clamp(0.0, 1.0)
}

/// Smooth step from 0 at `a` to 1 at `b`.
fn smooth(a: f32, b: f32, x: f32) -> f32 {
    let s = ramp(a, b, x);
    s * s * (3.0 - 2.0 * s)
}

/// Half the chord of the ellipse `(x/a)² + (y/b)² < 1` along y at `x` (0 outside).
fn half_chord(x: f32, a: f32, b: f32) -> f32 {
    let q = 1.0 - (x / a) * (x / a);
    if q > 0.0 { b * q.sqrt() } else { 0.0 }
}

impl Anatomy {
    /// Draws the anatomy of patient `index` of a run seeded `seed` (body type cycles).
    pub fn sample(seed: u64, index: u64) -> Self {
        Self::sample_body(seed, index, BodyType::of_index(index))
    }

    /// Draws an anatomy of the given body type.
    pub fn sample_body(seed: u64, index: u64, body: BodyType) -> Self {
        let mut rng = stream(seed, "phantom", &[index]);
        let mut jitter = |v: f32, rel: f32| v * (1.0 + rng.random_range(-rel..=rel));
        // Baselines per body type: width, depth, wall, diaphragm, dome, heart, lung HU.
        let (w, d, wall, dia, dome, heart, lung) = match body {
            BodyType::Slim => (0.64, 0.46, 0.05, 0.30, 0.11, 0.82, -845.0),
            BodyType::Average => (0.74, 0.52, 0.08, 0.33, 0.11, 1.0, -840.0),
            BodyType::Broad => (0.80, 0.56, 0.13, 0.38, 0.12, 1.15, -820.0),
            BodyType::Barrel => (0.76, 0.70, 0.07, 0.22, 0.04, 0.78, -905.0),
        };
        let mut a = Anatomy {
            body,
            thorax_width: jitter(w, 0.05),
            thorax_depth: jitter(d, 0.05),
            wall: jitter(wall, 0.15),
            apex: jitter(0.92, 0.02),
            diaphragm: jitter(dia, 0.08),
            dome: jitter(dome, 0.15),
            heart: jitter(heart, 0.07),
            lung_hu: lung + jitter(1.0, 1.0) * 10.0 - 10.0,
            rotation: 0.0,
            shift: [0.0; 2],
            zoom: jitter(1.0, 0.04),
            exposure: [jitter(1.0, 0.12), jitter(1.0, 0.12)],
            nodules: Vec::new(),
            vessels: Vec::new(),
        };
        a.rotation = rng.random_range(-0.06..=0.06);
        a.shift = [rng.random_range(-0.05..=0.05), rng.random_range(-0.03..=0.03)];
        let count = if rng.random_bool(0.5) { rng.random_range(1..=3) } else { 0 };
        for _ in 0..count {
            let side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            let centre = [
                side * rng.random_range(0.3..0.55) * a.thorax_width,
                rng.random_range(-0.4..0.4) * a.thorax_depth,
                rng.random_range(a.diaphragm + a.dome + 0.05..a.apex - 0.12),
            ];
            a.nodules.push(Nodule { centre, radius_mm: rng.random_range(3.0..9.0) });
        }
        for side in [-1.0f32, 1.0] {
            let hilum = [side * 0.17, 0.05, 0.56];
            for k in 0..5 {
                let angle = -2.2 + k as f32 * 1.1 + rng.random_range(-0.3..0.3);
                let dir = [
                    side * angle.cos().abs().max(0.3),
                    rng.random_range(-0.6..0.6),
                    angle.sin() * 0.8,
                ];
                a.grow_vessel(&mut rng, hilum, dir, 4.5, 4);
            }
        }
        a
    }

    /// Adds a vessel from `start` along `dir` and, `depth` times, two thinner branches.
    fn grow_vessel(
        &mut self,
        rng: &mut GenesisRng,
        start: [f32; 3],
        dir: [f32; 3],
        radius: f32,
        depth: u32,
    ) {
        let norm = (dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]).sqrt().max(1e-3);
        let len = 0.05 + 0.04 * depth as f32;
        let end = [0, 1, 2].map(|i| {
            start[i] + dir[i] / norm * len * [self.thorax_width, self.thorax_depth, 0.5][i]
        });
        self.vessels.push((start, end, radius));
        if depth > 0 {
            for _ in 0..2 {
                let turn = [0, 1, 2].map(|i| dir[i] / norm + rng.random_range(-0.6..0.6));
                self.grow_vessel(rng, end, turn, radius * 0.7, depth - 1);
            }
        }
    }

    /// Body coordinates `(u, t)` at the centre of pixel `(row, col)` of an `n`-pixel
    /// radiograph: field coordinates, then the patient's pose.
    fn xray_pixel(&self, row: usize, col: usize, n: usize) -> (f32, f32) {
        let (sin, cos) = self.rotation.sin_cos();
        let fu = (col as f32 + 0.5) / n as f32 * 2.3 - 1.15 - self.shift[0];
        let ft = 1.12 - (row as f32 + 0.5) / n as f32 * 1.2 - self.shift[1];
        let u = (cos * fu - sin * (ft - 0.5)) / self.zoom;
        let t = (sin * fu + cos * (ft - 0.5)) / self.zoom + 0.5;
        (u, t)
    }

    /// Height of the diaphragm surface under `(u, w)`; the right dome (u < 0) sits higher.
    fn diaphragm_at(&self, u: f32, w: f32) -> f32 {
        let side = if u < 0.0 { 0.025 } else { 0.0 };
        let du = (u.abs() - 0.42 * self.thorax_width) / (0.55 * self.thorax_width);
        let dw = (w + 0.1) / self.thorax_depth;
        let dome = (1.0 - du * du - 0.5 * dw * dw).max(0.0);
        // Posterior recesses dip lower.
        self.diaphragm + side + self.dome * dome - 0.05 * ramp(0.3, 1.0, w / self.thorax_depth)
    }

    /// Height of the lung apex above `u` (rounded domes over each lung).
    fn apex_at(&self, u: f32) -> f32 {
        let d = (u.abs() - 0.42 * self.thorax_width) / self.thorax_width;
        self.apex - 0.9 * d * d
    }

    /// Cavity half-axes at height `t` (the lungs taper towards the apex).
    fn cavity_at(&self, t: f32) -> (f32, f32) {
        let taper = ramp(self.apex + 0.02, self.apex - 0.28, t).sqrt();
        (self.thorax_width * (0.35 + 0.65 * taper), self.thorax_depth * (0.45 + 0.55 * taper))
    }

    /// Heart: centre `(u, w, t)` and radii.
    fn heart_geometry(&self) -> ([f32; 3], [f32; 3]) {
        let h = self.heart;
        let wide = if self.body == BodyType::Broad { 1.1 } else { 1.0 };
        ([0.1 * h, -0.18, self.diaphragm + 0.1 * h], [0.3 * h * wide, 0.28 * h, 0.2 * h])
    }

    /// Normalized ellipsoid distance of `p` to the heart (< 1 inside).
    fn heart_distance(&self, p: [f32; 3]) -> f32 {
        let (c, r) = self.heart_geometry();
        (0..3).map(|i| ((p[i] - c[i]) / r[i]).powi(2)).sum()
    }

    /// True inside a lung at `(u, w, t)`.
    fn in_lung(&self, u: f32, w: f32, t: f32) -> bool {
        let (cu, cw) = self.cavity_at(t);
        let inside = (u / cu).powi(2) + (w / cw).powi(2) < 1.0;
        let mid = 0.09 + 0.05 * ramp(0.6, 0.3, t);
        let mediastinum =
            (u / mid).powi(2) + ((w + 0.05) / (0.8 * self.thorax_depth)).powi(2) < 1.0;
        let spine = (u / 0.2).powi(2) + ((w - 0.85 * self.thorax_depth) / 0.3).powi(2) < 1.0;
        inside
            && t < self.apex_at(u)
            && t > self.diaphragm_at(u, w)
            && !mediastinum
            && !spine
            && self.heart_distance([u, w, t]) > 1.0
    }
}

/// Options of the renderers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhantomConfig {
    /// Radiograph side in pixels.
    pub size_2d: usize,
    /// CT shape `[X, Y, Z]`.
    pub shape_3d: [usize; 3],
    /// CT voxel spacing in mm.
    pub spacing_3d: [f64; 3],
}

impl Default for PhantomConfig {
    fn default() -> Self {
        Self { size_2d: 256, shape_3d: [384, 384, 112], spacing_3d: [0.8, 0.8, 2.5] }
    }
}

/// A small, fast, seeded noise source (xorshift) for per-voxel texture.
struct Noise(u64);

impl Noise {
    /// Roughly Gaussian noise with unit variance (sum of four uniforms).
    fn next(&mut self) -> f32 {
        let mut s = 0.0;
        for _ in 0..4 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            s += (self.0 >> 40) as f32 / (1u64 << 24) as f32;
        }
        (s - 2.0) * 1.732
    }
}

/// Renders patient `index` as a PA chest radiograph of `cfg.size_2d` pixels in [0, 1].
pub fn chest_xray(seed: u64, index: u64, cfg: &PhantomConfig) -> Result<Phantom, VolumeError> {
    let anatomy = Anatomy::sample(seed, index);
    let n = cfg.size_2d;
    crate::volume::voxel_count([n, n, 1])?;
    let a = &anatomy;
    let attenuation: Vec<f32> = (0..n * n)
        .map(|p| {
            let (u, t) = a.xray_pixel(p / n, p % n, n);
            xray_attenuation(a, u, t)
        })
        .collect();
    let mut rng = stream(seed, "phantom-noise", &[index]);
    let mut noise = Noise(rng.random::<u64>() | 1);
    let [exposure, gamma] = a.exposure;
    let blurred = box_blur(&attenuation, n, n);
    let pixels = blurred
        .iter()
        .map(|&att| {
            let v = (1.0 - (-1.2 * exposure * att).exp()).powf(gamma) + 0.012 * noise.next();
            v.clamp(0.0, 1.0)
        })
        .collect();
    let meta = Metadata { modality: Modality::Xray, units: Units::Unit, ..Metadata::default() };
    Ok(Phantom { volume: Volume::image(n, n, pixels)?.with_meta(meta), anatomy })
}

/// A 3×3 box blur (edges clamped): softens the analytic edges like a detector would.
fn box_blur(src: &[f32], h: usize, w: usize) -> Vec<f32> {
    let at = |r: usize, c: usize| src[r.min(h - 1) * w + c.min(w - 1)];
    let mut out = vec![0.0; src.len()];
    for r in 0..h {
        for c in 0..w {
            let mut s = 0.0;
            for dr in 0..3 {
                for dc in 0..3 {
                    s += at((r + dr).saturating_sub(1), (c + dc).saturating_sub(1));
                }
            }
            out[r * w + c] = s / 9.0;
        }
    }
    out
}

/// Attenuation along the AP ray through `(u, t)` (soft-tissue path units plus bone).
fn xray_attenuation(a: &Anatomy, u: f32, t: f32) -> f32 {
    let tw = a.thorax_width;
    // Body outline: chest, shoulders above the apex, neck at the top.
    let shoulders =
        smooth(a.apex - 0.25, a.apex - 0.02, t) * (1.0 - smooth(a.apex + 0.04, a.apex + 0.1, t));
    let neck = smooth(a.apex + 0.04, a.apex + 0.1, t);
    let half_width = (tw + a.wall + 0.03) * (1.0 - neck) + 0.2 * neck + 0.25 * shoulders;
    let depth = a.thorax_depth + a.wall;
    let body = half_chord(u, half_width, depth);
    // Lungs: integrate the cavity chord minus mediastinum and heart.
    let (cu, cw) = a.cavity_at(t);
    let mut lung = 0.0;
    let top = a.apex_at(u);
    if t < top + 0.02 && u.abs() > 0.08 {
        let chord = half_chord(u, cu, cw);
        let dia = a.diaphragm_at(u, 0.0);
        let base = smooth(dia - 0.01, dia + 0.02, t) * smooth(top + 0.01, top - 0.03, t);
        let (hc, hr) = a.heart_geometry();
        let q = 1.0 - ((u - hc[0]) / hr[0]).powi(2) - ((t - hc[2]) / hr[2]).powi(2);
        let heart = if q > 0.0 { 2.0 * hr[1] * q.sqrt() } else { 0.0 };
        lung = (2.0 * chord - 1.3 * heart).max(0.0) * base * smooth(0.08, 0.15, u.abs());
    }
    let lung_air = -a.lung_hu / 1000.0;
    let mut att = 2.0 * body - lung * lung_air;
    // Abdomen below the diaphragm is denser; a gastric bubble under the left dome.
    att += 0.15 * smooth(0.02, -0.04, t - a.diaphragm_at(u, 0.0)) * (body > 0.0) as u8 as f32;
    let bubble = ((u - 0.4 * tw) / 0.12).powi(2) + ((t - a.diaphragm + 0.06) / 0.05).powi(2);
    if bubble < 1.0 {
        att -= 0.25 * (1.0 - bubble);
    }
    att + xray_bone(a, u, t) + xray_vessels(a, u, t)
}

/// Bone along the AP ray: spine, ribs, clavicles, humeral heads.
fn xray_bone(a: &Anatomy, u: f32, t: f32) -> f32 {
    let tw = a.thorax_width;
    let mut bone = 0.0;
    // Spine: vertebral bodies with disc spaces, pedicles.
    if u.abs() < 0.075 && t < a.apex + 0.2 {
        let phase = (t / 0.066).fract();
        bone += 0.55
            * smooth(0.075, 0.05, u.abs())
            * (0.55 + 0.45 * smooth(0.0, 0.12, phase) * smooth(1.0, 0.85, phase));
        let ped = ((u.abs() - 0.045) / 0.018).powi(2) + ((phase - 0.5) / 0.22).powi(2);
        bone += 0.25 * (1.0 - ped).max(0.0);
    }
    // Ribs: posterior arcs from the spine rising then falling laterally, anterior arcs
    // (fainter) running down and medially.
    let au = u.abs();
    for k in 0..10 {
        let tk = a.apex - 0.01 - k as f32 * 0.066;
        let s = (au - 0.07) / (tw - 0.05);
        if (0.0..=1.05).contains(&s) {
            let curve = tk + 0.05 * (PI * s.min(1.0)).sin() - 0.09 * s * s;
            let d = (t - curve).abs() / 0.017;
            if d < 1.0 {
                bone += 0.2 * (0.6 + 0.4 * d * d) * smooth(1.05, 0.95, s);
            }
        }
        let sa = (tw - au) / (tw - 0.28);
        if (0.0..=1.0).contains(&sa) {
            let curve = tk - 0.09 - 0.2 * sa + 0.03 * (PI * sa).sin();
            let d = (t - curve).abs() / 0.014;
            if d < 1.0 {
                bone += 0.12 * (1.0 - d * d) * smooth(1.0, 0.8, sa);
            }
        }
    }
    // Clavicles: gentle S from the sternal notch out to the shoulders.
    let s = (au - 0.05) / (tw + 0.05);
    if (0.0..=1.0).contains(&s) {
        let curve = a.apex + 0.03 + 0.06 * s - 0.02 * (2.0 * PI * s).sin();
        let d = (t - curve).abs() / 0.022;
        if d < 1.0 {
            bone += 0.45 * (0.6 + 0.4 * d * d);
        }
    }
    // Humeral heads at the shoulders.
    let head = ((au - tw - 0.16) / 0.1).powi(2) + ((t - a.apex + 0.04) / 0.09).powi(2);
    if head < 1.0 {
        bone += 0.5 * (1.0 - head).sqrt();
    }
    bone
}

/// Lung markings (vessels) and nodules projected along AP.
fn xray_vessels(a: &Anatomy, u: f32, t: f32) -> f32 {
    let mut v = 0.0;
    for &(p, q, radius) in &a.vessels {
        let r = radius * 0.0035;
        let (du, dt) = (q[0] - p[0], q[2] - p[2]);
        let len2 = du * du + dt * dt;
        let s = if len2 > 0.0 {
            (((u - p[0]) * du + (t - p[2]) * dt) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (eu, et) = (u - p[0] - s * du, t - p[2] - s * dt);
        let d2 = (eu * eu + et * et) / (r * r);
        if d2 < 1.0 {
            v += 0.1 * (1.0 - d2).sqrt() * radius / 4.0;
        }
    }
    for n in &a.nodules {
        let d2 = n.xray_distance(u, t);
        if d2 < 1.0 {
            v += 0.35 * (1.0 - d2).sqrt();
        }
    }
    v
}

/// The nodule mask of a radiograph of `anatomy` with `size` pixels a side (the size
/// [`chest_xray`] was rendered at): 1 where a nodule's projected ellipse covers the pixel
/// centre, 0 elsewhere — the ground truth of the synthetic nodule segmentation task.
pub fn xray_nodule_mask(anatomy: &Anatomy, size: usize) -> Result<Volume, VolumeError> {
    crate::volume::voxel_count([size, size, 1])?;
    let pixels = (0..size * size)
        .map(|p| {
            let (u, t) = anatomy.xray_pixel(p / size, p % size, size);
            let inside = anatomy.nodules.iter().any(|n| n.xray_distance(u, t) < 1.0);
            f32::from(u8::from(inside))
        })
        .collect();
    Volume::image(size, size, pixels)
}

/// Renders patient `index` as an axial chest CT in Hounsfield units.
pub fn chest_ct(seed: u64, index: u64, cfg: &PhantomConfig) -> Result<Phantom, VolumeError> {
    render_ct(seed, index, cfg, None)
}

/// Renders patient `index` as [`chest_ct`] does, with its nodule mask: 1 on the voxels a
/// nodule was drawn on (its ellipsoid within the lung), 0 elsewhere — the ground truth of the
/// synthetic 3-D nodule segmentation task.
pub fn chest_ct_with_nodule_mask(
    seed: u64,
    index: u64,
    cfg: &PhantomConfig,
) -> Result<(Phantom, Volume), VolumeError> {
    let mut mask = Volume::filled(cfg.shape_3d, 0.0)?;
    let phantom = render_ct(seed, index, cfg, Some(&mut mask))?;
    let mask = mask.with_meta(Metadata { units: Units::Unit, ..phantom.volume.meta.clone() });
    Ok((phantom, mask))
}

/// Renders the CT of patient `index`, marking its nodule voxels in `mask` when given.
fn render_ct(
    seed: u64,
    index: u64,
    cfg: &PhantomConfig,
    mask: Option<&mut Volume>,
) -> Result<Phantom, VolumeError> {
    let anatomy = Anatomy::sample(seed, index);
    let [nx, ny, nz] = cfg.shape_3d;
    let mut volume = Volume::filled(cfg.shape_3d, -1000.0)?;
    let a = &anatomy;
    let (sin, cos) = a.rotation.sin_cos();
    // Height of slice z: the field spans t ∈ [0.22, 1.0] (lung bases to apex, like a chest CT).
    let heights: Vec<f32> = (0..nz).map(|z| 0.22 + 0.78 * (z as f32 + 0.5) / nz as f32).collect();
    let mut rng = stream(seed, "phantom-noise", &[index, 3]);
    let mut noise = Noise(rng.random::<u64>() | 1);
    let data = volume.data_mut();
    for x in 0..nx {
        for y in 0..ny {
            let fu = (x as f32 + 0.5) / nx as f32 * 2.0 - 1.0 - a.shift[0];
            let fw = (y as f32 + 0.5) / ny as f32 * 2.0 - 1.0 - a.shift[1];
            let u = (cos * fu - sin * fw) / a.zoom;
            let w = (sin * fu + cos * fw) / a.zoom;
            let column = &mut data[(x * ny + y) * nz..(x * ny + y + 1) * nz];
            for (hu, &t) in column.iter_mut().zip(&heights) {
                *hu = ct_tissue(a, u, w, t) + 12.0 * noise.next();
            }
        }
    }
    stamp_vessels_and_nodules(&mut volume, a, cfg, &heights, mask);
    let meta = Metadata {
        spacing: cfg.spacing_3d,
        origin: [0.0; 3],
        modality: Modality::Ct,
        units: Units::Hounsfield,
    };
    Ok(Phantom { volume: volume.with_meta(meta), anatomy })
}

/// Tissue at `(u, w, t)` in HU before vessels, nodules and noise.
fn ct_tissue(a: &Anatomy, u: f32, w: f32, t: f32) -> f32 {
    let (tw, td) = (a.thorax_width, a.thorax_depth);
    // Patient table under the back.
    if w > td + a.wall + 0.08 && w < td + a.wall + 0.12 && u.abs() < 0.9 {
        return 200.0;
    }
    let outer = (u / (tw + a.wall)).powi(2) + (w / (td + a.wall)).powi(2);
    if outer >= 1.0 {
        return -1000.0;
    }
    let cavity = (u / tw).powi(2) + (w / td).powi(2);
    if cavity >= 1.0 {
        // Chest wall: ribs in the inner half, then muscle, then subcutaneous fat.
        let depth = (outer.sqrt() - cavity.sqrt()) / (1.0 - cavity.sqrt()).max(1e-3);
        let angle = w.atan2(u.abs()); // −π/2 anterior … +π/2 posterior
        let rib_t = t + 0.23 * (1.0 - (angle + PI / 2.0) / PI);
        if cavity < 1.0 + 2.5 * a.wall
            && (rib_t / 0.066).fract() < 0.3
            && t < a.apex + 0.02
            && t > a.diaphragm - 0.08
        {
            return if (rib_t / 0.066).fract() < 0.06 || (rib_t / 0.066).fract() > 0.24 {
                900.0
            } else {
                350.0
            };
        }
        if u.abs() < 0.06 && w < 0.0 && t > a.diaphragm && t < a.apex {
            return 500.0; // sternum
        }
        return if depth > 0.55 { -100.0 } else { 45.0 };
    }
    // Spine: vertebral body, cortex, canal.
    let (su, sw) = (u / 0.1, (w - 0.78 * td) / 0.1);
    let spine = su * su + sw * sw;
    if spine < 1.0 {
        let disc = (t / 0.066).fract() < 0.18;
        return if disc {
            80.0
        } else if spine > 0.75 {
            800.0
        } else {
            280.0
        };
    }
    if u.abs() < 0.025 && w > 0.78 * td + 0.18 && w < 0.78 * td + 0.36 {
        return 450.0; // spinous process
    }
    let canal = (u / 0.045).powi(2) + ((w - 0.78 * td - 0.14) / 0.045).powi(2);
    if canal < 1.0 {
        return 20.0;
    }
    // Airways: trachea splitting into the main bronchi.
    let carina = 0.66;
    if t > carina && (u / 0.055).powi(2) + ((w - 0.05) / 0.055).powi(2) < 1.0 {
        return if t < a.apex + 0.1 { -1000.0 } else { -990.0 };
    }
    if t > carina - 0.08 && t <= carina {
        let off = (carina - t) * 2.2;
        let bronchus = ((u.abs() - off) / 0.04).powi(2) + ((w - 0.05) / 0.04).powi(2);
        if bronchus < 1.0 {
            return -1000.0;
        }
    }
    // Descending aorta left of the spine, ascending aorta above the heart.
    let desc = ((u - 0.12) / 0.065).powi(2) + ((w - 0.55 * td) / 0.065).powi(2);
    if desc < 1.0 && t > a.diaphragm - 0.1 && t < a.apex - 0.15 {
        return 45.0;
    }
    let (hc, _) = a.heart_geometry();
    let asc = ((u - 0.02) / 0.07).powi(2) + ((w + 0.05) / 0.07).powi(2);
    if asc < 1.0 && t > hc[2] && t < a.apex - 0.18 {
        return 45.0;
    }
    let heart = a.heart_distance([u, w, t]);
    if heart < 1.0 {
        // Myocardium around blood pool, epicardial fat at the rim.
        return if heart > 0.85 {
            -80.0
        } else if heart > 0.55 {
            55.0
        } else {
            40.0
        };
    }
    if t <= a.diaphragm_at(u, w) {
        // Abdomen: liver on the right, stomach with an air cap on the left.
        let stomach = ((u - 0.4 * tw) / 0.18).powi(2) + ((w + 0.15) / 0.2).powi(2);
        if stomach < 1.0 {
            return if t > a.diaphragm - 0.05 { -1000.0 } else { 25.0 };
        }
        return if u < 0.15 { 60.0 } else { 35.0 };
    }
    if a.in_lung(u, w, t) {
        // Denser towards the dependent (posterior) lung.
        return a.lung_hu + 60.0 * ramp(0.0, td, w).powi(2);
    }
    35.0 // mediastinal soft tissue
}

/// Lung voxels are below this many HU (parenchyma ≈ −850, soft tissue ≥ −100).
const LUNG_BELOW_HU: f32 = -500.0;

/// Adds the vessel tree and nodules, inside the lungs only, by stamping ellipsoids in voxel
/// space; sets to 1 in `mask`, when given, the nodule voxels that were lung before any
/// stamping (so a vessel crossing a nodule counts as nodule: both are bright there).
fn stamp_vessels_and_nodules(
    volume: &mut Volume,
    a: &Anatomy,
    cfg: &PhantomConfig,
    heights: &[f32],
    mask: Option<&mut Volume>,
) {
    let [nx, ny, nz] = cfg.shape_3d;
    let sp = cfg.spacing_3d.map(|s| s as f32);
    let (sin, cos) = a.rotation.sin_cos();
    // Body (u, w, t) → voxel coordinates (inverse of the sampling in `chest_ct`).
    let to_voxel = |p: [f32; 3]| -> [f32; 3] {
        let (u, w) = (p[0] * a.zoom, p[1] * a.zoom);
        let fu = cos * u + sin * w + a.shift[0];
        let fw = -sin * u + cos * w + a.shift[1];
        let t0 = heights.first().copied().unwrap_or(0.0);
        let dt = if nz > 1 { heights[1] - t0 } else { 1.0 };
        [(fu + 1.0) / 2.0 * nx as f32 - 0.5, (fw + 1.0) / 2.0 * ny as f32 - 0.5, (p[2] - t0) / dt]
    };
    let ellipsoid = |centre: [f32; 3], radius_mm: f32, visit: &mut dyn FnMut(usize)| {
        let r = [0, 1, 2].map(|i| (radius_mm / sp[i]).max(0.5));
        let lo = [0, 1, 2].map(|i| (centre[i] - r[i]).floor().max(0.0) as usize);
        let hi = [nx, ny, nz];
        let hi = [0, 1, 2].map(|i| ((centre[i] + r[i]).ceil().max(0.0) as usize + 1).min(hi[i]));
        for x in lo[0]..hi[0] {
            for y in lo[1]..hi[1] {
                for z in lo[2]..hi[2] {
                    let d: f32 = [x, y, z]
                        .iter()
                        .enumerate()
                        .map(|(i, &c)| ((c as f32 - centre[i]) / r[i]).powi(2))
                        .sum();
                    if d < 1.0 {
                        visit((x * ny + y) * nz + z);
                    }
                }
            }
        }
    };
    if let Some(mask) = mask {
        for n in &a.nodules {
            ellipsoid(to_voxel(n.centre), n.radius_mm, &mut |i| {
                if volume.data()[i] < LUNG_BELOW_HU {
                    mask.data_mut()[i] = 1.0;
                }
            });
        }
    }
    let data = volume.data_mut();
    let mut paint = |centre: [f32; 3], radius_mm: f32, hu: f32| {
        ellipsoid(centre, radius_mm, &mut |i| {
            if data[i] < LUNG_BELOW_HU {
                data[i] = hu;
            }
        });
    };
    for &(p, q, radius) in &a.vessels {
        let (pv, qv) = (to_voxel(p), to_voxel(q));
        let steps = (0..3).map(|i| ((qv[i] - pv[i]) * sp[i]).abs()).fold(0.0f32, f32::max);
        let n = steps.ceil().max(1.0) as usize;
        for s in 0..=n {
            let f = s as f32 / n as f32;
            paint([0, 1, 2].map(|i| pv[i] + f * (qv[i] - pv[i])), radius * 0.6, 30.0);
        }
    }
    for n in &a.nodules {
        paint(to_voxel(n.centre), n.radius_mm, 35.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_phantom_and_types_cycle() {
        let cfg = PhantomConfig { size_2d: 64, ..PhantomConfig::default() };
        let a = chest_xray(7, 3, &cfg).unwrap();
        assert_eq!(a.volume, chest_xray(7, 3, &cfg).unwrap().volume);
        assert_ne!(a.volume, chest_xray(8, 3, &cfg).unwrap().volume);
        assert_eq!(a.anatomy.body, BodyType::Barrel);
        let bodies: Vec<_> = (0..4).map(|i| Anatomy::sample(1, i).body).collect();
        assert_eq!(bodies, BodyType::ALL);
    }

    #[test]
    fn radiograph_has_dark_lungs_bright_spine_and_unit_range() {
        let cfg = PhantomConfig::default();
        for index in 0..4 {
            let p = chest_xray(1, index, &cfg).unwrap();
            let v = &p.volume;
            assert_eq!(v.shape(), [256, 256, 1]);
            let (lo, hi) = v.min_max();
            assert!(lo >= 0.0 && hi <= 1.0);
            // Mean over a patch: right lung (image left) vs mediastinum/spine, mid height.
            let patch = |r0: usize, c0: usize| {
                let mut s = 0.0;
                for r in r0..r0 + 10 {
                    for c in c0..c0 + 10 {
                        s += v.get(r, c, 0);
                    }
                }
                s / 100.0
            };
            let (lung, spine, outside) = (patch(100, 65), patch(100, 123), patch(5, 2));
            assert!(lung + 0.1 < spine, "patient {index}: lung {lung} spine {spine}");
            assert!(outside < lung, "patient {index}: outside {outside} lung {lung}");
        }
    }

    #[test]
    fn nodule_mask_covers_the_drawn_nodules() {
        let cfg = PhantomConfig { size_2d: 160, ..PhantomConfig::default() };
        let (mut with, mut inside, mut beside) = (0, 0.0, 0.0);
        for index in 0..16 {
            let p = chest_xray(3, index, &cfg).unwrap();
            let mask = xray_nodule_mask(&p.anatomy, 160).unwrap();
            let pixels: Vec<usize> = (0..160 * 160).filter(|&i| mask.data()[i] > 0.5).collect();
            assert_eq!(pixels.is_empty(), p.anatomy.nodules.is_empty(), "patient {index}");
            // Each ellipse covers about π·r_u·r_t pixels (r_t = r_u / 1.8; 2.3 × 1.2 field).
            let area: f32 = p
                .anatomy
                .nodules
                .iter()
                .map(|n| {
                    let r = n.radius_mm / 154.0 * p.anatomy.zoom;
                    PI * (r / 2.3 * 160.0) * (r / 1.8 / 1.2 * 160.0)
                })
                .sum();
            let count = pixels.len() as f32;
            assert!(count <= area * 1.3 + 4.0, "patient {index}: {count} px for area {area}");
            with += usize::from(!pixels.is_empty());
            // The nodules brighten the radiograph where the mask says (vs 12 pixels aside).
            for &i in &pixels {
                inside += p.volume.data()[i];
                beside += p.volume.data()[i - 12];
            }
        }
        assert!((4..=12).contains(&with), "{with} of 16 patients have nodules");
        assert!(inside > beside, "inside {inside} vs beside {beside}");
    }

    #[test]
    fn ct_nodule_mask_covers_the_drawn_nodules() {
        let cfg = PhantomConfig { shape_3d: [96, 96, 40], ..PhantomConfig::default() };
        let mut with = 0;
        for index in 0..8 {
            let (p, mask) = chest_ct_with_nodule_mask(5, index, &cfg).unwrap();
            assert_eq!(p.volume, chest_ct(5, index, &cfg).unwrap().volume, "same rendering");
            let voxels: Vec<usize> =
                (0..mask.data().len()).filter(|&i| mask.data()[i] > 0.5).collect();
            assert_eq!(voxels.is_empty(), p.anatomy.nodules.is_empty(), "patient {index}");
            with += usize::from(!voxels.is_empty());
            // At most the nodules' ellipsoid volumes (4/3 π r³ in voxels), and every masked
            // voxel is drawn as tissue (a nodule or a vessel) inside the dark lung.
            let volume: f32 = p
                .anatomy
                .nodules
                .iter()
                .map(|n| {
                    let r = cfg.spacing_3d.map(|s| (n.radius_mm / s as f32).max(0.5));
                    4.0 / 3.0 * PI * r[0] * r[1] * r[2]
                })
                .sum();
            assert!(voxels.len() as f32 <= volume * 1.3 + 8.0, "{} for {volume}", voxels.len());
            assert!(voxels.iter().all(|&i| (29.0..=36.0).contains(&p.volume.data()[i])));
        }
        assert!((2..=7).contains(&with), "{with} of 8 patients have nodules");
    }

    #[test]
    fn ct_has_air_lung_soft_tissue_and_bone() {
        let cfg = PhantomConfig { shape_3d: [96, 96, 28], ..PhantomConfig::default() };
        let p = chest_ct(2, 1, &cfg).unwrap();
        let v = &p.volume;
        assert_eq!((v.meta.modality, v.meta.units), (Modality::Ct, Units::Hounsfield));
        let count = |lo: f32, hi: f32| {
            v.data().iter().filter(|&&h| h >= lo && h < hi).count() as f32 / v.data().len() as f32
        };
        assert!(count(-1100.0, -950.0) > 0.05, "air");
        assert!(count(-950.0, -700.0) > 0.05, "lung");
        assert!(count(-150.0, 150.0) > 0.1, "soft tissue");
        assert!(count(250.0, 1200.0) > 0.002, "bone");
    }
}
