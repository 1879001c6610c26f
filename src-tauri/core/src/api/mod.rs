//! One module per API resource, each reached from `Client` (`client.credits().balance()`).

pub mod actions;
pub mod budget;
pub mod calls;
pub mod coordination;
pub mod credits;
pub mod inbound;
pub mod messages;
pub mod notifications;
pub mod subscription;
pub mod users;
