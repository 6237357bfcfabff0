//! genesis-nn
