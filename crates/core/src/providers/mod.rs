//! The vendor calls: one module per provider, each with its own typed error mapped from the
//! vendor's documented codes to a localized message with the vendor's suggested action.

pub mod aliyun;
pub mod platform;
pub mod zego;
