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
        Self { device: Device::flex(), adapter: None, notice }
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
                Backend { device, adapter: Some(name), notice: None }
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
}
