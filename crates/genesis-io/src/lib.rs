//! genesis-io
