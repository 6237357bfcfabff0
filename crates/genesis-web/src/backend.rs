//! Run-time backend choice: WebGPU on a hardware adapter, Flex (CPU) otherwise.

use burn::tensor::Device;

/// What the visitor (or a test) asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendPreference {
    /// WebGPU when a hardware adapter exists, else Flex.
    Auto,
    /// WebGPU even on a software (fallback) adapter; Flex only if WebGPU fails.
    WebGpu,
    /// The pure-Rust CPU backend.
    Flex,
}

impl BackendPreference {
    /// Parses `auto`, `webgpu` or `flex` (case-insensitive).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(Self::Auto),
            "webgpu" | "gpu" => Ok(Self::WebGpu),
            "flex" | "cpu" => Ok(Self::Flex),
            other => Err(format!("unknown backend '{other}': use auto, webgpu or flex")),
        }
    }
}

/// The device in use and how it was chosen.
pub struct Backend {
    device: Device,
    adapter: Option<String>,
    notice: Option<String>,
    /// The largest buffer the WebGPU device may bind, in bytes (`None` on Flex).
    buffer_limit: Option<u64>,
}

impl Backend {
    /// Initialises the preferred backend, falling back to Flex with a notice on failure.
    pub async fn init(preference: BackendPreference) -> Self {
        crate::run_static_constructors();
        match preference {
            BackendPreference::Flex => Self::flex(None),
            BackendPreference::Auto | BackendPreference::WebGpu => webgpu(preference).await,
        }
    }

    fn flex(notice: Option<String>) -> Self {
        Self { device: Device::flex(), adapter: None, notice, buffer_limit: None }
    }

    /// This backend when a buffer of `bytes` fits its limits, else Flex with a notice naming
    /// `what` needs it (WebGPU binds at most `maxStorageBufferBindingSize` bytes per buffer).
    pub fn holding(self, bytes: u64, what: &str) -> Self {
        match self.buffer_limit {
            Some(limit) if bytes > limit => Self::flex(Some(format!(
                "{what} needs a {:.0} MB buffer, over this WebGPU device's {:.0} MB limit: using CPU (Flex).",
                bytes as f64 / 1e6,
                limit as f64 / 1e6
            ))),
            _ => self,
        }
    }

    /// The burn device.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// `"WebGPU: <adapter>"` or `"CPU (Flex)"`.
    pub fn label(&self) -> String {
        match &self.adapter {
            Some(name) => format!("WebGPU: {name}"),
            None => "CPU (Flex)".to_string(),
        }
    }

    /// Why the backend differs from what was asked, if it does.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }
}

#[cfg(target_family = "wasm")]
async fn webgpu(preference: BackendPreference) -> Backend {
    use burn::tensor::wgpu::wgpu::DeviceType;
    match Device::wgpu_options().init_with_setup_async().await {
        Ok((device, setup)) => {
            let info = setup.adapter.get_info();
            let software = info.device_type == DeviceType::Cpu;
            let name = if info.name.is_empty() { format!("{:?}", info.backend) } else { info.name };
            if software && preference == BackendPreference::Auto {
                Backend::flex(Some(format!(
                    "The only WebGPU adapter ({name}) is a software fallback, slower than the CPU \
                     backend: using CPU (Flex). Choose WebGPU to override."
                )))
            } else {
                let limits = setup.device.limits();
                let limit =
                    u64::from(limits.max_storage_buffer_binding_size).min(limits.max_buffer_size);
                Backend { device, adapter: Some(name), notice: None, buffer_limit: Some(limit) }
            }
        }
        Err(e) => Backend::flex(Some(format!("WebGPU is unavailable ({e}): using CPU (Flex)."))),
    }
}

#[cfg(not(target_family = "wasm"))]
async fn webgpu(_preference: BackendPreference) -> Backend {
    Backend::flex(Some("WebGPU exists only in the browser build: using CPU (Flex).".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_preferences() {
        assert_eq!(BackendPreference::parse("WebGPU"), Ok(BackendPreference::WebGpu));
        assert_eq!(BackendPreference::parse(""), Ok(BackendPreference::Auto));
        assert_eq!(BackendPreference::parse("cpu"), Ok(BackendPreference::Flex));
        assert!(BackendPreference::parse("cuda").is_err());
    }

    #[test]
    fn a_buffer_over_the_limit_falls_back_to_flex_with_a_notice() {
        let gpu = |limit| Backend { buffer_limit: Some(limit), ..Backend::flex(None) };
        assert!(gpu(1 << 27).holding(1 << 20, "the model").notice().is_none());
        let over = gpu(1 << 27).holding(300_000_000, "the model's largest tensor");
        assert_eq!(over.buffer_limit, None);
        let notice = over.notice().unwrap();
        assert!(notice.contains("300 MB") && notice.contains("134 MB"), "{notice}");
        assert!(Backend::flex(None).holding(u64::MAX, "x").notice().is_none(), "Flex has no limit");
    }
}
