//! genesis-web
